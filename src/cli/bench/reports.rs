//! `dangol bench reports`: the web-analytics reports on a store (a demo shop): with `--rebuild`,
//! the reports' tables built from the whole log first (timed, with the peak memory of the process
//! so far: the build's, as no server runs yet); then the overview over 30 and 365
//! days, breakdowns (alone and with a segment), the funnel and cohorts, each timed at the server;
//! and the live report, `GET /api/v1/reports/live`, after the last five minutes were filled with a
//! busy shop's traffic (visitors on phones and desktops, some bots), sent through `/v1/batch`
//! with their own times.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct ReportsOptions {
    /// The shop to time on (`dangol demo --customers 1000000 --data-dir DIR`).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Events in the last five minutes before timing (page views and product views).
    #[arg(long, default_value_t = 6_000)]
    pub recent_events: usize,
    /// Live reports asked for.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// Times of each other report asked for.
    #[arg(long, default_value_t = 50)]
    pub report_requests: usize,
    /// Build the reports' tables from the whole log first (as `dangol reindex` does), timed.
    #[arg(long)]
    pub rebuild: bool,
}

/// Asks for one report `n` times; the times at the server, sorted.
async fn timed(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: Option<&Value>,
    n: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let req = match body {
            Some(b) => client.post(format!("{base}/api/v1{path}")).json(b),
            None => client.get(format!("{base}/api/v1{path}")),
        };
        let res = req.bearer_auth(MASTER).send().await?;
        anyhow::ensure!(
            res.status().is_success(),
            "{path}: {} {}",
            res.status(),
            res.text().await?
        );
        if let Some(ms) = super::server_ms(&res) {
            out.push(ms);
        }
        res.bytes().await?;
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// The reports other than live, each timed.
async fn time_reports(client: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<()> {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Seoul).date_naive();
    let day = |back: i64| (today - chrono::Duration::days(back)).format("%Y-%m-%d").to_string();
    let m30 = format!("from={}&to={}", day(29), day(0));
    let m365 = format!("from={}&to={}", day(364), day(0));
    let seg: Value = client
        .post(format!("{base}/api/v1/segments"))
        .bearer_auth(MASTER)
        .json(&json!({"name": "bench: bought twice", "rule": {"attr": "orders_count", "op": ">=", "value": 2}, "live": true}))
        .send()
        .await?
        .json()
        .await?;
    let seg = seg["id"].as_u64().unwrap_or(0);
    let funnel = json!({"from": day(29), "to": day(0)});
    let month = |back: u32| {
        use chrono::Datelike;
        let m = today.year() * 12 + today.month0() as i32 - back as i32;
        format!("{:04}-{:02}", m / 12, m % 12 + 1)
    };
    let cases: Vec<(String, String, Option<Value>)> = vec![
        ("overview, 30 days, by day".into(), format!("/reports/web?{m30}"), None),
        (
            "overview, 365 days, by week".into(),
            format!("/reports/web?{m365}&interval=week"),
            None,
        ),
        (
            "breakdown by page, 30 days, top 50".into(),
            format!("/reports/web/breakdown?by=page&{m30}"),
            None,
        ),
        (
            "breakdown by source, 30 days".into(),
            format!("/reports/web/breakdown?by=source&{m30}"),
            None,
        ),
        (
            "overview, 30 days, segment".into(),
            format!("/reports/web?segment_id={seg}&{m30}"),
            None,
        ),
        (
            "breakdown by source, 30 days, segment".into(),
            format!("/reports/web/breakdown?by=source&segment_id={seg}&{m30}"),
            None,
        ),
        (
            "funnel of 4 steps, 30 days".into(),
            "/reports/funnel".into(),
            Some(funnel),
        ),
        (
            "cohorts, 12 months".into(),
            format!("/reports/cohorts?from={}&to={}", month(11), month(0)),
            None,
        ),
    ];
    println!("\nReports, {n} requests each, timed at the server:");
    println!("| report | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (name, path, body) in cases {
        let t = timed(client, base, &path, body.as_ref(), n).await?;
        println!("{}", super::latency_row(&name, &t));
    }
    let overview: Value = client
        .get(format!("{base}/api/v1/reports/web?{m30}"))
        .bearer_auth(MASTER)
        .send()
        .await?
        .json()
        .await?;
    println!("30 days: {}", overview["totals"]);
    Ok(())
}

const MASTER: &str = "test-master-key";
const WRITE: &str = "test-write-key";
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-G991N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
];

pub async fn run(opts: ReportsOptions) -> anyhow::Result<()> {
    if opts.rebuild {
        let dir = opts.data_dir.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let store = crate::store::Store::open(&dir)?;
            let started = std::time::Instant::now();
            let agents = std::sync::Arc::new(crate::traffic::Agents::default());
            let reports = crate::reports::Reports::new(store, chrono_tz::Asia::Seoul, agents);
            if let Some(b) = reports.rebuild()? {
                println!(
                    "built the web reports from {b} in {:.1} s, peak resident memory {} MB",
                    started.elapsed().as_secs_f64(),
                    super::peak_resident_bytes().unwrap_or(0) / 1_000_000
                );
            }
            Ok(())
        })
        .await??;
    }
    let mut config = Config::for_tests(&opts.data_dir);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    // Time a server that has built what it builds after a start (it would share the machine).
    loop {
        let stats: Value = client
            .get(format!("{base}/api/v1/stats"))
            .bearer_auth(MASTER)
            .send()
            .await?
            .json()
            .await?;
        if ["columns_ready", "touches_ready", "recent_ready", "interest_index_ready"]
            .iter()
            .all(|k| stats[*k] == true)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The tables are built (a store without them builds them at start).
    loop {
        let res = client
            .get(format!("{base}/api/v1/reports/web"))
            .bearer_auth(MASTER)
            .send()
            .await?;
        if res.status().is_success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    time_reports(&client, &base, opts.report_requests).await?;
    // The last five minutes of a busy shop: a visitor every few events, one agent in twenty a bot.
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let now = chrono::Utc::now();
    let visitors = (opts.recent_events / 3).max(1);
    let events: Vec<Value> = (0..opts.recent_events)
        .map(|i| {
            let who = rng.random_range(0..visitors);
            let ua = if who % 20 == 0 { AGENTS[3] } else { AGENTS[who % 3] };
            let product = rng.random_range(1..=300);
            let at = now - chrono::Duration::milliseconds(rng.random_range(0..290_000));
            let path = format!("/products/P{product:04}");
            let context = json!({"userAgent": ua, "page": {"path": path, "url": format!("https://shop.example{path}")}});
            if i % 2 == 0 {
                json!({"type": "page", "anonymousId": format!("bench-live-{who}"), "timestamp": at.to_rfc3339(),
                       "properties": {"path": path, "url": format!("https://shop.example{path}")}, "context": context})
            } else {
                json!({"type": "track", "event": "Product Viewed", "anonymousId": format!("bench-live-{who}"),
                       "timestamp": at.to_rfc3339(), "properties": {"product_id": format!("P{product:04}")}, "context": context})
            }
        })
        .collect();
    for chunk in events.chunks(100) {
        let res = client
            .post(format!("{base}/v1/batch"))
            .basic_auth(WRITE, Some(""))
            .json(&json!({"batch": chunk}))
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "batch: {}", res.status());
    }
    let mut at_server = Vec::with_capacity(opts.requests);
    let mut last = Value::Null;
    for _ in 0..opts.requests {
        let res = client
            .get(format!("{base}/api/v1/reports/live"))
            .bearer_auth(MASTER)
            .send()
            .await?;
        if let Some(ms) = super::server_ms(&res) {
            at_server.push(ms);
        }
        last = res.json().await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    at_server.sort_by(f64::total_cmp);
    println!(
        "\n`GET /api/v1/reports/live` on {} after {} events in the last five minutes ({} visitors, one in twenty a bot), {} requests:",
        opts.data_dir.display(),
        opts.recent_events,
        visitors,
        at_server.len()
    );
    println!("| | p50 | p99 | max |");
    println!("|---|---|---|---|");
    println!("{}", super::latency_row("at the server", &at_server));
    println!(
        "visitors now {}, pages {}, bot events left out {}",
        last["visitors_now"],
        last["pages"].as_array().map_or(0, Vec::len),
        last["bots_left_out"]
    );
    server.stop().await
}
