//! `dangol bench coupons`: issuing unique codes to every member of a segment of N customers
//! (`POST /api/v1/coupons/{id}/issue`), then `POST /v1/coupons/validate` with those codes, on a
//! server started on a fresh store, timed at the client on loopback.

use std::time::Instant;

use clap::Args;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct CouponOptions {
    /// Customers in the store, all of them in the segment the coupon is issued to.
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    /// Validations timed.
    #[arg(long, default_value_t = 5_000)]
    pub validations: usize,
}

pub async fn run(opts: CouponOptions) -> anyhow::Result<()> {
    let dir = super::tempfile_dir(&None)?;
    let mut config = Config::for_tests(&dir.path);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth("test-master-key")
    };
    // The customers, 500 identifies a batch.
    let started = Instant::now();
    for chunk in (0..opts.customers).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"type": "identify", "userId": format!("m{i}"), "traits": {"email": format!("m{i}@example.com")}}))
            .collect();
        client
            .post(format!("{base}/v1/batch"))
            .basic_auth("test-write-key", Some(""))
            .json(&json!({"batch": batch}))
            .send()
            .await?
            .error_for_status()?;
    }
    println!(
        "dangol bench coupons — {} customers written in {:.1} s",
        opts.customers,
        started.elapsed().as_secs_f64()
    );
    // Everyone, as a live segment (evaluated at the issue).
    let seg: Value = admin(reqwest::Method::POST, "/segments")
        .json(&json!({"name": "everyone", "live": true, "rule": {"attr": "orders_count", "op": "=", "value": 0}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let coupon: Value = admin(reqwest::Method::POST, "/coupons")
        .json(
            &json!({"name": "win-back", "discount": {"type": "percent", "percent": 15, "cap": 10000},
                      "min_order": 20000, "valid_days": 14, "segments": [seg["id"]]}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    // The columns are built in the background after the start: wait for them.
    loop {
        let stats: Value = admin(reqwest::Method::GET, "/stats").send().await?.json().await?;
        if stats["columns_ready"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let issued: Value = admin(reqwest::Method::POST, &format!("/coupons/{}/issue", coupon["id"]))
        .json(&json!({"segment": seg["id"], "prefix": "WB-"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let secs = started.elapsed().as_secs_f64();
    let codes: Vec<(String, String)> = issued["codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        format!("m{}", c["customer"].as_u64().unwrap_or(1) - 1),
                        c["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let unique: std::collections::HashSet<&str> = codes.iter().map(|(_, c)| c.as_str()).collect();
    println!(
        "issue unique codes to a segment of {}: {} codes ({} distinct) in {secs:.2} s",
        opts.customers,
        codes.len(),
        unique.len()
    );
    anyhow::ensure!(!codes.is_empty(), "no codes were issued: {issued}");
    let mut times = Vec::with_capacity(opts.validations);
    let mut at_server = Vec::with_capacity(opts.validations);
    let mut valid = 0;
    for i in 0..opts.validations {
        let (user, code) = &codes[(i * 7919) % codes.len()];
        let t = Instant::now();
        let res = client
            .post(format!("{base}/v1/coupons/validate"))
            .basic_auth("test-write-key", Some(""))
            .json(
                &json!({"code": code, "userId": user, "lines": [{"product_id": "P1", "price": 30000, "quantity": 1}]}),
            )
            .send()
            .await?
            .error_for_status()?;
        at_server.extend(super::server_ms(&res));
        let body: Value = res.json().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        valid += usize::from(body["valid"] == true);
    }
    times.sort_by(f64::total_cmp);
    at_server.sort_by(f64::total_cmp);
    let p = super::quantile;
    println!(
        "validate (segment-restricted coupon, unique code, one line), {} calls ({} valid): server p50 {:.2} ms, p99 {:.2} ms; client p50 {:.2} ms, p99 {:.2} ms",
        times.len(),
        valid,
        p(&at_server, 0.5),
        p(&at_server, 0.99),
        p(&times, 0.5),
        p(&times, 0.99),
    );
    // The segment attributes read from the holds: every one of the N customers holds a code.
    for rule in [
        json!({"attr": "orders_count", "op": "=", "value": 0}),
        json!({"attr": "available_coupons", "op": ">=", "value": 1}),
        json!({"all": [{"attr": "available_coupons", "op": ">=", "value": 1},
                       {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}}]}),
        json!({"attr": "coupon_codes", "op": "contains", "value": "WB-"}),
    ] {
        let mut took = Vec::new();
        let mut count = Value::Null;
        for _ in 0..20 {
            let res = admin(reqwest::Method::POST, "/segments/preview")
                .json(&json!({"rule": rule, "sample": 0}))
                .send()
                .await?
                .error_for_status()?;
            took.extend(super::server_ms(&res));
            count = res.json::<Value>().await?["count"].clone();
        }
        took.sort_by(f64::total_cmp);
        println!(
            "segment preview {rule}: {count} members, server p50 {:.1} ms",
            p(&took, 0.5)
        );
    }
    server.stop().await?;
    Ok(())
}
