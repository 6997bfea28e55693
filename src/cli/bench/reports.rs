//! `dangol bench reports`: the web-analytics reports on a store (a demo shop). Built so far: the
//! live report, `GET /api/v1/reports/live`, timed at the server after the last five minutes were
//! filled with a busy shop's traffic (visitors on phones and desktops, some bots), sent through
//! `/v1/batch` with their own times.

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
    let q = super::quantile;
    println!(
        "\n`GET /api/v1/reports/live` on {} after {} events in the last five minutes ({} visitors, one in twenty a bot), {} requests:",
        opts.data_dir.display(),
        opts.recent_events,
        visitors,
        at_server.len()
    );
    println!("| | p50 | p99 | max |");
    println!("|---|---|---|---|");
    println!(
        "| at the server | {:.2} ms | {:.2} ms | {:.2} ms |",
        q(&at_server, 0.5),
        q(&at_server, 0.99),
        at_server.last().copied().unwrap_or(0.0)
    );
    println!(
        "visitors now {}, pages {}, bot events left out {}",
        last["visitors_now"],
        last["pages"].as_array().map_or(0, Vec::len),
        last["bots_left_out"]
    );
    server.stop().await
}
