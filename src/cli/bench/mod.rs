//! `dangol bench …`: measurements of this build on this machine, printed as a table docs/performance.md
//! copies. Each benchmark starts its own server on loopback with a fresh store in a temp dir.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{BenchArgs, BenchWhat};
use crate::config::Config;

pub mod analyze;
pub mod coupons;
pub mod experiments;
pub mod recommend;
pub mod reports;
pub mod search;
pub mod segments;
pub mod send;
pub mod storefront;

#[derive(Debug, Clone, Args)]
pub struct IngestOptions {
    /// Events sent through /v1/batch.
    #[arg(long, default_value_t = 300_000)]
    pub batch_events: u64,
    /// Events per batch request.
    #[arg(long, default_value_t = 100)]
    pub batch_size: u64,
    /// Concurrent connections sending batches.
    #[arg(long, default_value_t = 8)]
    pub batch_connections: u64,
    /// Single /v1/track requests sent.
    #[arg(long, default_value_t = 60_000)]
    pub single_events: u64,
    /// Concurrent connections sending single events.
    #[arg(long, default_value_t = 32)]
    pub single_connections: u64,
    /// Distinct customers the events are spread over.
    #[arg(long, default_value_t = 20_000)]
    pub users: u64,
    /// Data dir for the store (default: a new temp dir, removed afterwards).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::Ingest(opts) => ingest(opts).await.map(|_| ()),
        BenchWhat::Startup(opts) => startup(opts).await,
        BenchWhat::Segments(opts) => segments::run(opts).await,
        BenchWhat::Search(opts) => search::run(opts).await,
        BenchWhat::Coupons(opts) => coupons::run(opts).await,
        BenchWhat::Recommend(opts) => recommend::run(opts).await,
        BenchWhat::Send(opts) => send::run(opts).await,
        BenchWhat::Storefront(opts) => storefront::run(opts).await,
        BenchWhat::Reports(opts) => reports::run(opts).await,
        BenchWhat::Experiments(opts) => experiments::run(opts).await,
        BenchWhat::Analyze(opts) => tokio::task::spawn_blocking(move || analyze::run(&opts)).await?,
    }
}

#[derive(Debug, Clone, Args)]
pub struct StartupOptions {
    /// The data dir to start on (made with `dangol demo --customers N`).
    #[arg(long)]
    pub data_dir: std::path::PathBuf,
    /// Starts to time.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
}

/// Resident memory of this process in bytes (Linux), read from /proc.
pub fn resident_bytes() -> Option<u64> {
    proc_status_bytes("VmRSS:")
}

/// The most resident memory this process has held, in bytes (Linux).
pub fn peak_resident_bytes() -> Option<u64> {
    proc_status_bytes("VmHWM:")
}

fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `dangol bench startup`: how long `serve` takes to answer /healthz on an existing store, and the
/// memory it holds after answering a customer list and a customer page.
pub async fn startup(opts: StartupOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.data_dir.join("dangol.redb").exists(),
        "no store in {}",
        opts.data_dir.display()
    );
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    let mut rss = 0;
    let mut counts = Value::Null;
    let mut latencies = Vec::new();
    for _ in 0..opts.runs {
        // Keys for this run only (held in memory); the store's own users are left as they are.
        let mut config = Config::for_tests(&opts.data_dir);
        config.admin_password = None;
        let server = BenchServer::start(config).await?;
        let base = server.base.clone();
        times.push(server.up_after.as_secs_f64());
        let get = |path: &str| {
            client
                .get(format!("{base}/api/v1{path}"))
                .bearer_auth("test-master-key")
                .send()
        };
        counts = get("/stats").await?.json().await?;
        let page: Value = get("/customers?limit=50").await?.json().await?;
        if let Some(id) = page["items"][0]["id"].as_u64() {
            get(&format!("/customers/{id}")).await?;
            get(&format!("/customers/{id}/events")).await?;
        }
        if latencies.is_empty() {
            latencies = console_latency(&client, &base, counts["customers"].as_u64().unwrap_or(1)).await?;
        }
        rss = rss.max(resident_bytes().unwrap_or(0));
        server.stop().await?;
    }
    times.sort_by(f64::total_cmp);
    println!("dangol bench startup — {}", opts.data_dir.display());
    println!(
        "| customers | events | orders | store | start to /healthz (median of {}) | resident memory |",
        times.len()
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {:.2} GB | {:.2} s | {:.0} MB |",
        counts["customers"],
        counts["events"],
        counts["orders"],
        counts["store_bytes"].as_f64().unwrap_or(0.0) / 1e9,
        times[times.len() / 2],
        rss as f64 / 1e6
    );
    println!();
    println!("| console page (signed in, at the server) | requests | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (name, n, p50, p99) in latencies {
        println!("| {name} | {n} | {p50:.1} | {p99:.1} |");
    }
    Ok(())
}

/// The path of the i-th request of a latency case.
type PathOf = Box<dyn Fn(u64) -> String>;

/// Signs a temporary console user in and times the customer pages: the list's first page, a
/// page deep in the list, a customer's profile, and a search by part of a Korean name. The user
/// is removed afterwards.
async fn console_latency(
    client: &reqwest::Client,
    base: &str,
    customers: u64,
) -> anyhow::Result<Vec<(String, usize, f64, f64)>> {
    let name = format!("bench-{:x}", rand::random::<u32>());
    let password = crate::track::random_id();
    let res = client
        .post(format!("{base}/api/v1/users"))
        .bearer_auth("test-master-key")
        .json(&json!({"name": name, "password": password, "role": "viewer"}))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "cannot make the bench user: {}",
        res.status()
    );
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let res = no_redirect
        .post(format!("{base}/login"))
        .header("cookie", "dangol_login_csrf=bench")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name={name}&password={password}&csrf=bench"))
        .send()
        .await?;
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("dangol_session=")
                .map(|v| v.split(';').next().unwrap_or("").to_string())
        })
        .ok_or_else(|| anyhow::anyhow!("sign-in gave no session ({})", res.status()))?;
    let cookie = format!("dangol_session={session}; dangol_lang=ko");
    let first: Value = client
        .get(format!("{base}/api/v1/customers?limit=1"))
        .bearer_auth("test-master-key")
        .send()
        .await?
        .json()
        .await?;
    let probe_name: String = first["items"][0]["name"]
        .as_str()
        .unwrap_or("김")
        .chars()
        .skip(1)
        .collect();
    let probe_email = first["items"][0]["email"]
        .as_str()
        .unwrap_or("nobody@example.com")
        .to_string();
    // The sorted lists come from the in-memory columns, built in the background after a start.
    let columns_started = Instant::now();
    loop {
        let html = client
            .get(format!("{base}/customers?sort=spent"))
            .header("cookie", &cookie)
            .send()
            .await?
            .text()
            .await?;
        if html.contains("id=\"total\"") {
            break;
        }
        anyhow::ensure!(
            columns_started.elapsed() < Duration::from_secs(300),
            "the customer columns were not built in 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "customer columns ready {:.1} s after the first page was served",
        columns_started.elapsed().as_secs_f64()
    );
    let mut out = Vec::new();
    let cases: Vec<(&str, PathOf)> = vec![
        (
            "customer list, by last seen (first page)",
            Box::new(|_| "/customers".to_string()),
        ),
        (
            "customer list, by spend",
            Box::new(|_| "/customers?sort=spent".to_string()),
        ),
        (
            "customer list, tag `vip` by orders",
            Box::new(|_| "/customers?sort=orders&tag=vip".to_string()),
        ),
        (
            "customer list, SMS consent by spend, page 20",
            Box::new(|_| "/customers?sort=spent&consent=sms&page=20".to_string()),
        ),
        (
            "customer list in id order, a page deep in the list",
            Box::new(move |i| format!("/customers?sort=id&page={}", (i * 7919) % (customers / 50).max(1))),
        ),
        (
            "customer page",
            Box::new(move |i| format!("/customers/{}", 1 + (i * 104_729) % customers.max(1))),
        ),
        (
            "customer search by part of a Korean name",
            Box::new(move |_| format!("/customers?q={}", urlencode(&probe_name))),
        ),
        (
            "customer search by an email (one match among all)",
            Box::new(move |_| format!("/customers?q={}", urlencode(&probe_email))),
        ),
    ];
    for (label, path) in cases {
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let n = 200;
        for i in 0..n {
            let t = Instant::now();
            let res = client
                .get(format!("{base}{}", path(i)))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = res.status();
            anyhow::ensure!(
                !res.url().path().starts_with("/login"),
                "{label}: the session was not accepted"
            );
            res.bytes().await?;
            anyhow::ensure!(
                status.is_success() || status == reqwest::StatusCode::NOT_FOUND,
                "{label}: {status}"
            );
            hist.record(t.elapsed().as_micros().max(1) as u64)?;
        }
        out.push((
            label.to_string(),
            n as usize,
            hist.value_at_quantile(0.5) as f64 / 1000.0,
            hist.value_at_quantile(0.99) as f64 / 1000.0,
        ));
    }
    client
        .delete(format!("{base}/api/v1/users/{name}"))
        .bearer_auth("test-master-key")
        .send()
        .await?;
    Ok(out)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One measured run.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    pub events: u64,
    pub requests: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Measured {
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

fn event(i: u64, users: u64) -> Value {
    let user = i % users;
    json!({
        "type": "track",
        "event": "Product Viewed",
        "userId": format!("bench-user-{user}"),
        "anonymousId": format!("bench-anon-{user}"),
        "messageId": format!("bench-{i}-{}", crate::track::random_id()),
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "properties": {
            "product_id": format!("P{:04}", i % 300),
            "name": "플라워 오드퍼퓸 50ml",
            "category": "향수/여성향수",
            "brand": "dangol",
            "price": 59000,
            "currency": "KRW",
            "url": format!("https://shop.example/products/P{:04}", i % 300)
        },
        "context": {"library": {"name": "dangol-bench", "version": "1"}, "userAgent": "Mozilla/5.0 (bench)", "ip": "192.0.2.1"}
    })
}

/// `dangol bench ingest`: events/s and latency of /v1/batch and of single /v1/track requests.
pub async fn ingest(opts: IngestOptions) -> anyhow::Result<Vec<Measured>> {
    let tmp = tempfile_dir(&opts.data_dir)?;
    let mut config = Config::for_tests(&tmp.path);
    config.write_key = Some(crate::config::Secret("bench-write-key".into()));
    let server = BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let counter = Arc::new(AtomicU64::new(0));

    // Batches.
    let per_conn = opts
        .batch_events
        .div_ceil(opts.batch_size)
        .div_ceil(opts.batch_connections);
    let batch = measure("/v1/batch", opts.batch_connections, per_conn, opts.batch_size, |_| {
        let (client, base, counter, size, users) = (
            client.clone(),
            base.clone(),
            counter.clone(),
            opts.batch_size,
            opts.users,
        );
        async move {
            let start = counter.fetch_add(size, Ordering::Relaxed);
            let items: Vec<Value> = (start..start + size).map(|i| event(i, users)).collect();
            let body =
                serde_json::to_vec(&json!({"batch": items, "sentAt": chrono::Utc::now().to_rfc3339()})).expect("json");
            post(&client, &format!("{base}/v1/batch"), body).await
        }
    })
    .await?;

    // Single events.
    let per_conn = opts.single_events.div_ceil(opts.single_connections);
    let single = measure("/v1/track", opts.single_connections, per_conn, 1, |_| {
        let (client, base, counter, users) = (client.clone(), base.clone(), counter.clone(), opts.users);
        async move {
            let i = counter.fetch_add(1, Ordering::Relaxed);
            let body = serde_json::to_vec(&event(i, users)).expect("json");
            post(&client, &format!("{base}/v1/track"), body).await
        }
    })
    .await?;

    // Every acknowledged event must be in the store.
    let stats: Value = client
        .get(format!("{base}/api/v1/stats"))
        .bearer_auth("test-master-key")
        .send()
        .await?
        .json()
        .await?;
    let stored = stats["events"].as_u64().unwrap_or(0);
    let sent = batch.events + single.events;
    anyhow::ensure!(
        stored == sent,
        "acknowledged {sent} events but the store holds {stored}"
    );
    server.stop().await?;

    println!(
        "dangol bench ingest — {} cores, store on {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        tmp.path.display()
    );
    println!("| endpoint | connections | events | requests | events/s | requests/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (m, conns) in [(&batch, opts.batch_connections), (&single, opts.single_connections)] {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} |",
            m.name,
            conns,
            m.events,
            m.requests,
            m.events_per_s(),
            m.requests as f64 / m.seconds,
            m.p50_ms,
            m.p99_ms
        );
    }
    println!("all {stored} acknowledged events are in the store (durable commits)");
    Ok(vec![batch, single])
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let res = client
        .post(url)
        .basic_auth("bench-write-key", Some(""))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "{url} answered {}", res.status());
    Ok(())
}

/// Runs `connections` loops of `per_conn` requests each, timing every request.
async fn measure<F, Fut>(
    name: &str,
    connections: u64,
    per_conn: u64,
    events_per_request: u64,
    make: F,
) -> anyhow::Result<Measured>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let reqs: Vec<Fut> = (0..per_conn).map(&make).collect();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            for fut in reqs {
                let t = Instant::now();
                fut.await?;
                hist.record(t.elapsed().as_micros().max(1) as u64).ok();
            }
            Ok::<_, anyhow::Error>(hist)
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await??)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests = hist.len();
    Ok(Measured {
        name: name.to_string(),
        events: requests * events_per_request,
        requests,
        seconds,
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
    })
}

/// A dangol server on loopback for a benchmark: started by `start`, stopped by `stop`.
struct BenchServer {
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// From the spawn of `serve` to its first healthy answer on /healthz.
    up_after: Duration,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl BenchServer {
    /// Serves `config` on a free loopback port and waits until /healthz answers.
    async fn start(config: Config) -> anyhow::Result<BenchServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let started = Instant::now();
        let handle = tokio::spawn(crate::server::serve(config, listener, async {
            let _ = stop_rx.await;
        }));
        wait_healthy(&base).await?;
        Ok(BenchServer {
            base,
            up_after: started.elapsed(),
            stop_tx,
            handle,
        })
    }

    /// Stops the server gracefully and waits until it has ended.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop_tx.send(());
        self.handle.await??;
        Ok(())
    }
}

pub(crate) async fn wait_healthy(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("the server did not come up")
}

/// A data dir for a benchmark: the one given, or a fresh temp dir removed on drop.
struct BenchDir {
    path: std::path::PathBuf,
    remove: bool,
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn tempfile_dir(given: &Option<std::path::PathBuf>) -> anyhow::Result<BenchDir> {
    match given {
        Some(p) => Ok(BenchDir {
            path: p.clone(),
            remove: false,
        }),
        None => {
            let path = std::env::temp_dir().join(format!("dangol-bench-{:x}", rand::random::<u64>()));
            std::fs::create_dir_all(&path)?;
            Ok(BenchDir { path, remove: true })
        }
    }
}

/// The server's own time for a response, from its `Server-Timing: app;dur=MS` header.
pub fn server_ms(res: &reqwest::Response) -> Option<f64> {
    res.headers()
        .get("server-timing")?
        .to_str()
        .ok()?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("dur="))?
        .parse()
        .ok()
}

/// The q-quantile (0..=1) of sorted values.
/// A row of a latency table, `| label | p50 | p99 | max |`, from times sorted ascending.
pub fn latency_row(label: &str, sorted: &[f64]) -> String {
    format!(
        "| {label} | {:.2} ms | {:.2} ms | {:.2} ms |",
        quantile(sorted, 0.5),
        quantile(sorted, 0.99),
        sorted.last().copied().unwrap_or(0.0)
    )
}

pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}
