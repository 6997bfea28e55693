//! `dangol bench storefront`: what the storefront costs a shop's pages.
//! - `GET /v1/messages` on a server started on `--data-dir` (a demo shop), with `--messages`
//!   active on-site messages of every kind (segment targeting, recommendation slots, coupons,
//!   social proof), asked at `--rate` requests a second by verified members on product pages,
//!   timed at the server (`Server-Timing`) and at the client;
//! - the size of `/dangol.js` gzipped;
//! - with Chromium and chromedriver installed, the time from `DOMContentLoaded` to the page event
//!   leaving the browser, on a page of the bench's own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct StorefrontOptions {
    /// The shop to time on (`dangol demo --customers 1000000 --data-dir DIR`).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Active on-site messages made for the run (removed after).
    #[arg(long, default_value_t = 20)]
    pub messages: usize,
    /// Requests a second, sent on schedule whatever the answers take (open loop).
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    #[arg(long, default_value_t = 6_000)]
    pub requests: usize,
    /// Page loads timed in Chromium (0: none).
    #[arg(long, default_value_t = 20)]
    pub page_loads: usize,
}

const MASTER: &str = "test-master-key";
const WRITE: &str = "test-write-key";

async fn admin(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = client
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(MASTER);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
    Ok(v)
}

/// The messages of the run: every kind, a third of them for a segment.
fn message_bodies(n: usize, segment: u64, coupon: u64) -> Vec<Value> {
    let kinds = [
        json!({"kind": "recommendation", "recommend": {"strategy": "recently_viewed"}, "content": {"title": "{{ customer.name }}님, 다시 보시겠어요?"}}),
        json!({"kind": "recommendation", "recommend": {"strategy": "for_you", "limit": 6}, "content": {"title": "추천 상품"}}),
        json!({"kind": "recommendation", "recommend": {"strategy": "recently_purchased"}, "content": {"title": "리뷰를 남겨 주세요"}}),
        json!({"kind": "coupon", "coupon_id": coupon, "content": {"title": "{{ coupon.discount }} 쿠폰"}}),
        json!({"kind": "social_proof", "social_proof": {"measure": "purchased_today", "minimum": 1}}),
        json!({"kind": "social_proof", "social_proof": {"measure": "viewing_now", "minimum": 1}}),
        json!({"kind": "modal", "content": {"title": "회원 전용 혜택", "html": "<p>지금 <b>10%</b></p>"}}),
        json!({"kind": "bar", "content": {"title": "무료배송", "position": "top"}}),
        json!({"kind": "slide_in", "content": {"title": "신상품"}, "triggers": [{"on": "scroll", "percent": 50}]}),
    ];
    (0..n)
        .map(|i| {
            let mut b = kinds[i % kinds.len()].clone();
            b["name"] = json!(format!("bench {i}"));
            b["display"] = json!({"frequency": {"every": "page"}, "priority": i % 5});
            b["target"] = match i % 3 {
                0 => json!({"segment_id": segment}),
                1 => json!({"urls": [{"match": "starts_with", "value": "/products/"}, {"match": "regex", "value": "/products/x\\d+", "exclude": true}]}),
                _ => json!({"devices": ["desktop"], "visitor": "returning"}),
            };
            b
        })
        .collect()
}

pub async fn run(opts: StorefrontOptions) -> anyhow::Result<()> {
    let (customers, products) = {
        let store = Store::open(&opts.data_dir)?;
        let read = store.read()?;
        let products: Vec<String> = read.products_after("", 2_000)?.into_iter().map(|p| p.id).collect();
        (read.customers_count()?, products)
    };
    anyhow::ensure!(
        !products.is_empty(),
        "the store has no products: make it with `dangol demo`"
    );
    let mut config = Config::for_tests(&opts.data_dir);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    // Time a server that is fully up: the columns build in the background after a start, and the
    // jobs a start finds due (the analysis, segments, the recommendation model) have run.
    loop {
        let stats = admin(&client, &base, reqwest::Method::GET, "/stats", None).await?;
        let jobs = admin(&client, &base, reqwest::Method::GET, "/jobs", None).await?;
        let now = chrono::Utc::now().timestamp_millis();
        let idle = jobs["items"].as_array().is_some_and(|a| {
            a.iter().all(|j| {
                j["running_since"].is_null()
                    && j["next_due"]
                        .as_str()
                        .and_then(crate::value::parse_time)
                        .is_some_and(|due| due > now)
            })
        });
        if idle && stats["columns_ready"] == true && stats["touches_ready"] == true && stats["recent_ready"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let segment = admin(
        &client,
        &base,
        reqwest::Method::POST,
        "/segments",
        Some(json!({"name": "bench: spent 100,000 or more", "live": true, "rule": {"attr": "total_spent", "op": ">=", "value": 100000}})),
    )
    .await?["id"]
        .as_u64()
        .unwrap_or_default();
    let coupon = admin(
        &client,
        &base,
        reqwest::Method::POST,
        "/coupons",
        Some(json!({"name": "bench 3,000", "discount": {"type": "fixed", "amount": 3000}})),
    )
    .await?["id"]
        .as_u64()
        .unwrap_or_default();
    let mut ids = Vec::new();
    for body in message_bodies(opts.messages, segment, coupon) {
        let id = admin(&client, &base, reqwest::Method::POST, "/messages", Some(body)).await?["id"]
            .as_u64()
            .unwrap_or_default();
        admin(
            &client,
            &base,
            reqwest::Method::POST,
            &format!("/messages/{id}/activate"),
            None,
        )
        .await?;
        ids.push(id);
    }

    // The requests: verified members on product pages, on schedule.
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let urls: Vec<String> = (0..opts.requests)
        .map(|_| {
            let user = format!("u{:07}", rng.random_range(0..customers.max(1)));
            let hash = crate::auth::user_hash("test-identity-secret", &user);
            let product = &products[rng.random_range(0..products.len())];
            format!(
                "{base}/v1/messages?userId={user}&userHash={hash}&anonymousId=bench-{user}&device=desktop&product_id={product}&url=https%3A%2F%2Fshop.example%2Fproducts%2F{product}"
            )
        })
        .collect();
    let every = Duration::from_secs_f64(1.0 / f64::from(opts.rate.max(1)));
    let results = Arc::new(std::sync::Mutex::new(Vec::with_capacity(opts.requests)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(opts.requests);
    let mut shown = 0usize;
    let shown_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for (i, url) in urls.into_iter().enumerate() {
        let due = started + every * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, results, shown_count) = (client.clone(), results.clone(), shown_count.clone());
        tasks.push(tokio::spawn(async move {
            let sent_at = i;
            let t = Instant::now();
            let Ok(res) = client.get(url).basic_auth(WRITE, Some("")).send().await else {
                return;
            };
            let server = super::server_ms(&res);
            if let Ok(v) = res.json::<Value>().await {
                let n = v["messages"].as_array().map_or(0, Vec::len);
                shown_count.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            }
            let client_ms = t.elapsed().as_secs_f64() * 1000.0;
            results.lock().expect("not poisoned").push((server, client_ms, sent_at));
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let took = started.elapsed();
    shown += shown_count.load(std::sync::atomic::Ordering::Relaxed);
    let results = results.lock().expect("not poisoned").clone();
    let mut at_server: Vec<f64> = results.iter().filter_map(|r| r.0).collect();
    let mut at_client: Vec<f64> = results.iter().map(|r| r.1).collect();
    at_server.sort_by(f64::total_cmp);
    at_client.sort_by(f64::total_cmp);
    let q = super::quantile;
    println!(
        "\n`GET /v1/messages` on {} ({customers} customers, {} products), {} active messages, {} requests at {} a second ({:.1} s), verified members on product pages:",
        opts.data_dir.display(),
        products.len(),
        ids.len(),
        results.len(),
        opts.rate,
        took.as_secs_f64()
    );
    println!("| | p50 | p99 | max |");
    println!("|---|---|---|---|");
    println!("{}", super::latency_row("at the server", &at_server));
    println!("{}", super::latency_row("at the client", &at_client));
    let slow: Vec<String> = results
        .iter()
        .filter(|r| r.0.is_some_and(|ms| ms > 50.0))
        .take(8)
        .map(|r| format!("#{} {:.0} ms", r.2, r.0.unwrap_or_default()))
        .collect();
    if !slow.is_empty() {
        println!(
            "over 50 ms at the server (first 8, by request number): {}",
            slow.join(", ")
        );
    }
    println!(
        "messages answered: {:.2} a request on average",
        shown as f64 / results.len().max(1) as f64
    );
    println!(
        "\n`/dangol.js`: {} bytes, {} bytes gzipped (at most 8,192)",
        crate::api::script::SOURCE.len(),
        crate::api::script::gzipped_len()
    );
    for id in ids {
        admin(
            &client,
            &base,
            reqwest::Method::DELETE,
            &format!("/messages/{id}"),
            None,
        )
        .await?;
    }
    if opts.page_loads > 0 {
        match page_loads(&base, opts.page_loads).await {
            Ok(ms) => {
                let mut ms = ms;
                ms.sort_by(f64::total_cmp);
                println!(
                    "\nIn Chromium, {} page loads: DOMContentLoaded to the page event sent p50 {:.1} ms, max {:.1} ms",
                    ms.len(),
                    q(&ms, 0.5),
                    ms.last().copied().unwrap_or(0.0)
                );
            }
            Err(e) => println!("\nIn Chromium: not measured ({e:#})"),
        }
    }
    server.stop().await?;
    Ok(())
}

/// The bench's page: it notes `DOMContentLoaded`, and when the script first posts to the tracking
/// API (the page event), puts the time between in its title.
const PAGE: &str = r#"<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>loading</title>
<script>
  let ready = null;
  document.addEventListener("DOMContentLoaded", () => { ready = performance.now(); });
  const note = (url) => { if (/\/v1\/(p|b)$/.test(url) && ready !== null && document.title === "loading") document.title = "ms=" + (performance.now() - ready).toFixed(2); };
  const f = window.fetch; window.fetch = (url, o) => { note(String(url)); return f(url, o); };
  const b = navigator.sendBeacon.bind(navigator); navigator.sendBeacon = (url, d) => { note(String(url)); return b(url, d); };
</script>
<script async src="DANGOL/dangol.js" data-write-key="test-write-key"></script></head>
<body><h1>상품</h1><div data-dangol-product data-id="P1" data-name="bench"></div></body></html>"#;

/// Loads the bench's page `n` times in headless Chromium through chromedriver (WebDriver over
/// HTTP); the milliseconds from `DOMContentLoaded` to the page event leaving, each load.
async fn page_loads(dangol: &str, n: usize) -> anyhow::Result<Vec<f64>> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or_else(|| anyhow::anyhow!("no Chromium (Debian's chromium and chromium-driver)"))?;
    let (shop, serving) = crate::server::serve_page(PAGE.replace("DANGOL", dangol)).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut driver = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("chromedriver: {e}"))?;
    let wd = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let result = async {
        for _ in 0..200 {
            if client.get(format!("{wd}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let session: Value = client
            .post(format!("{wd}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]}}}}))
            .send()
            .await?
            .json()
            .await?;
        let id = session["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no WebDriver session: {session}"))?
            .to_string();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            client
                .post(format!("{wd}/session/{id}/url"))
                .json(&json!({ "url": shop }))
                .send()
                .await?;
            let started = Instant::now();
            loop {
                let v: Value = client
                    .post(format!("{wd}/session/{id}/execute/sync"))
                    .json(&json!({"script": "return document.title", "args": []}))
                    .send()
                    .await?
                    .json()
                    .await?;
                if let Some(ms) = v["value"].as_str().and_then(|t| t.strip_prefix("ms=")) {
                    out.push(ms.parse()?);
                    break;
                }
                anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "the page event never left");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        client.delete(format!("{wd}/session/{id}")).send().await?;
        Ok::<_, anyhow::Error>(out)
    }
    .await;
    let _ = driver.kill();
    let _ = driver.wait();
    serving.abort();
    result
}
