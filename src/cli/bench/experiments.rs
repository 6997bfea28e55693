//! `dangol bench experiments`: the experiment block of a campaign's report with N people assigned
//! (two variants 50/50 and a 10 % hold-out; one in 40 people ordering within the window), timed
//! at the server and at the client on loopback. The people are assigned, and their orders counted,
//! by the functions the campaign sender and the writer use (`experiment::assign`, `goal`), in a
//! store opened before the server starts on it.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use crate::campaign::{self, CampaignInput};
use crate::config::Config;
use crate::experiment::{self, Design};
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct ExperimentOptions {
    /// People assigned.
    #[arg(long, default_value_t = 1_000_000)]
    pub assigned: u64,
    /// Requests timed.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

/// The store: the campaign, its experiment, `assigned` people assigned and one in 40 converted.
fn prepare(path: &std::path::Path, assigned: u64) -> anyhow::Result<u64> {
    let tz = chrono_tz::Asia::Seoul;
    let now = chrono::Utc::now().timestamp_millis();
    let store = Store::open(path)?;
    let input: CampaignInput = serde_json::from_value(json!({
        "name": "bench A/B", "channel": "email", "when": {"kind": "once"},
        "content": {"subject": "겨울 세일", "text": "겨울 세일입니다."},
        "variants": [{"key": "A", "weight": 50}, {"key": "B", "weight": 50, "content": {"subject": "20% 할인"}}],
        "holdout_percent": 10
    }))?;
    let design: Design = campaign::Definition::from(input.clone())
        .design(tz)
        .expect("an experiment");
    let id = store.write_blocking(move |tx| -> anyhow::Result<u64> {
        let id = campaign::create(tx, &input, now)?;
        experiment::define(tx, (experiment::CAMPAIGN, id), &design)?;
        Ok(id)
    })?;
    let key = (experiment::CAMPAIGN, id);
    let design: Design = store.read()?.experiment(key)?.expect("defined");
    let started = Instant::now();
    let ids: Vec<u64> = (1..=assigned).collect();
    for chunk in ids.chunks(20_000) {
        let (chunk, design) = (chunk.to_vec(), design.clone());
        store.write_blocking(move |tx| -> anyhow::Result<()> {
            for &c in &chunk {
                experiment::assign(tx, key, &design, c, now)?;
                if c % 40 == 0 {
                    let amount = 30_000.0 + (c % 7) as f64 * 5_000.0;
                    experiment::goal(tx, c, "Order Completed", amount, now + 3_600_000)?;
                }
            }
            Ok(())
        })?;
    }
    println!(
        "dangol bench experiments — {} people assigned (and one in 40 converted) in {:.1} s",
        assigned,
        started.elapsed().as_secs_f64()
    );
    Ok(id)
}

pub async fn run(opts: ExperimentOptions) -> anyhow::Result<()> {
    let dir = super::tempfile_dir(&None)?;
    let path = dir.path.clone();
    let assigned = opts.assigned;
    let id = tokio::task::spawn_blocking(move || prepare(&path, assigned)).await??;
    let mut config = Config::for_tests(&dir.path);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let client = reqwest::Client::new();
    println!("| request | p50 | p99 | max |");
    println!("|---|---:|---:|---:|");
    for (label, path) in [
        ("experiment (server)", format!("/api/v1/campaigns/{id}/experiment")),
        ("campaign report (server)", format!("/api/v1/campaigns/{id}/report")),
    ] {
        let mut at_server = Vec::with_capacity(opts.requests);
        let mut at_client = Vec::with_capacity(opts.requests);
        let mut last = serde_json::Value::Null;
        for _ in 0..opts.requests {
            let t = Instant::now();
            let res = client
                .get(format!("{}{path}", server.base))
                .bearer_auth("test-master-key")
                .send()
                .await?
                .error_for_status()?;
            at_server.push(super::server_ms(&res).unwrap_or(f64::NAN));
            last = res.json().await?;
            at_client.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        at_server.sort_by(f64::total_cmp);
        at_client.sort_by(f64::total_cmp);
        println!("{}", super::latency_row(label, &at_server));
        println!(
            "{}",
            super::latency_row(&label.replace("(server)", "(client)"), &at_client)
        );
        if label.starts_with("experiment") {
            let arms: Vec<String> = last["arms"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|a| format!("{} {} assigned, {} converted", a["key"], a["assigned"], a["converted"]))
                        .collect()
                })
                .unwrap_or_default();
            println!("arms: {}; verdict {}", arms.join("; "), last["verdict"]);
        }
    }
    server.stop().await?;
    Ok(())
}
