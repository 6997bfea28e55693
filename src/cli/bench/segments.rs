//! `dangol bench segments`: the live count of five typical rules (`POST /api/v1/segments/preview`)
//! against a server started on an existing store (the demo shop at 100,000 or 1,000,000 customers),
//! timed at the client on loopback.

use std::time::Instant;

use clap::Args;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct SegmentsOptions {
    /// The data dir to start on (made with `dangol demo --customers N`).
    #[arg(long)]
    pub data_dir: std::path::PathBuf,
    /// Previews per rule.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Segments saved for timing the nightly recompute (the five rules in turn), removed after.
    #[arg(long, default_value_t = 50)]
    pub nightly: usize,
}

/// The five typical rules docs/performance.md lists, by name.
pub fn typical_rules() -> Vec<(&'static str, Value)> {
    vec![
        (
            "new members without an order (Sixshop)",
            json!({"all": [
                {"attr": "signed_up_at", "op": "within_days", "value": 7},
                {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}}
            ]}),
        ),
        (
            "VIP or big spenders who take SMS",
            json!({"all": [
                {"any": [{"attr": "tags", "op": "has", "value": "vip"}, {"attr": "total_spent", "op": ">=", "value": 300000}]},
                {"attr": "sms_consent", "op": "=", "value": true}
            ]}),
        ),
        (
            "slipping: at risk or almost lost, high churn risk, email consent",
            json!({"all": [
                {"attr": "rfm_segment", "op": "in", "value": ["at_risk", "almost_lost"]},
                {"attr": "churn_risk", "op": "=", "value": "high"},
                {"attr": "email_consent", "op": "=", "value": true}
            ]}),
        ),
        (
            "lapsed repeat buyers (no visit in 30 days, 2+ orders)",
            json!({"all": [
                {"attr": "last_seen_at", "op": "not_within_days", "value": 30},
                {"attr": "orders_count", "op": ">=", "value": 2}
            ]}),
        ),
        (
            "viewed perfume twice in 14 days",
            json!({"attr": "viewed", "op": "category", "value": "향수", "min_count": 2, "days": 14}),
        ),
    ]
}

pub async fn run(opts: SegmentsOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.data_dir.join("dangol.redb").exists(),
        "no store in {}",
        opts.data_dir.display()
    );
    let mut config = Config::for_tests(&opts.data_dir);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}/api/v1{path}"))
            .bearer_auth("test-master-key")
            .json(&body)
            .send()
    };
    // An analysis to read: the store's, or the one the scheduler runs on a store's first start.
    loop {
        let report = client
            .get(format!("{base}/api/v1/reports/rfm"))
            .bearer_auth("test-master-key")
            .send()
            .await?;
        if report.status().is_success() {
            break;
        }
        let res = post("/jobs/analysis/run", json!({})).await?;
        if res.status() != 409 {
            res.error_for_status()?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Time the rules on a server that is fully up: the columns, who touched what and the recent
    // touches are built.
    loop {
        let stats: Value = client
            .get(format!("{base}/api/v1/stats"))
            .bearer_auth("test-master-key")
            .send()
            .await?
            .json()
            .await?;
        if stats["touches_ready"] == true && stats["recent_ready"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    println!("dangol bench segments — {}", opts.data_dir.display());
    println!("| rule | members | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (name, rule) in typical_rules() {
        let mut times = Vec::new();
        let mut count = 0;
        // The first preview waits for the columns built after the start (409 until then); it is
        // not timed.
        for i in 0..=opts.runs {
            let started = Instant::now();
            let mut res = post("/segments/preview", json!({"rule": rule, "sample": 10})).await?;
            while i == 0 && res.status() == 409 {
                res = post("/segments/preview", json!({"rule": rule, "sample": 10})).await?;
            }
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            let body: Value = res.error_for_status()?.json().await?;
            count = body["count"].as_u64().unwrap_or(0);
            if i > 0 {
                times.push(elapsed);
            }
        }
        times.sort_by(f64::total_cmp);
        let p = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        println!("| {name} | {count} | {:.1} | {:.1} |", p(0.5), p(0.99));
    }
    if opts.nightly > 0 {
        let rules = typical_rules();
        let mut ids = Vec::new();
        for i in 0..opts.nightly {
            let (name, rule) = &rules[i % rules.len()];
            let res: Value = post("/segments", json!({"name": format!("bench {i}: {name}"), "rule": rule}))
                .await?
                .error_for_status()?
                .json()
                .await?;
            ids.push(res["id"].as_u64().unwrap_or(0));
        }
        let started = Instant::now();
        let run: Value = post("/jobs/segments/run", json!({}))
            .await?
            .error_for_status()?
            .json()
            .await?;
        let secs = started.elapsed().as_secs_f64();
        println!();
        println!(
            "nightly recompute of {} segments: {secs:.1} s ({})",
            opts.nightly, run["message"]
        );
        for id in ids {
            client
                .delete(format!("{base}/api/v1/segments/{id}"))
                .bearer_auth("test-master-key")
                .send()
                .await?
                .error_for_status()?;
        }
    }
    server.stop().await?;
    Ok(())
}
