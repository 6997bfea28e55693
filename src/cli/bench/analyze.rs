//! `dangol bench analyze`: the nightly analysis on a generated shop. The shop's purchases are
//! simulated from the BG/NBD and Gamma-Gamma processes with known parameters, so the benchmark
//! also shows how close the fit comes to the truth. The analysis runs in a child process
//! (`dangol analyze`), so its peak memory is its own.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

use crate::analysis::{AnalysisRun, day_date};
use crate::store::records::{CustomerRecord, OrderRecord, OrderStatus};
use crate::store::{self, Store};

#[derive(Debug, Clone, Args)]
pub struct AnalyzeOptions {
    /// Customers in the generated shop (15% of them never order).
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Orders to aim for (the simulation lands near it).
    #[arg(long)]
    pub orders: Option<u64>,
    /// Data dir to build the shop in, or to reuse if it holds one (default: a temp dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Nightly runs, one day apart; all but a new store's first are timed.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// The simulated truth: BG/NBD in days, Gamma-Gamma in KRW.
const TRUE_R: f64 = 0.6;
const TRUE_A: f64 = 0.8;
const TRUE_B: f64 = 3.0;
const TRUE_P: f64 = 6.0;
const TRUE_Q: f64 = 4.0;
const TRUE_GAMMA: f64 = 20_000.0;
/// Customers are acquired over this many days before the analysis instant.
const WINDOW_DAYS: f64 = 1095.0;
const DAY_MS: f64 = 86_400_000.0;

/// The instant analysed: fixed, so runs compare.
fn as_of() -> i64 {
    chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00+09:00")
        .expect("valid")
        .timestamp_millis()
}

/// One simulated customer: purchase times (days before `as_of`, ascending) and values.
fn simulate(rng: &mut ChaCha8Rng, alpha: f64) -> Vec<(f64, f64)> {
    if rng.random::<f64>() < 0.15 {
        return Vec::new();
    }
    let lambda = Gamma::new(TRUE_R, 1.0 / alpha).expect("valid").sample(rng);
    let p = Beta::new(TRUE_A, TRUE_B).expect("valid").sample(rng);
    let nu = Gamma::new(TRUE_Q, 1.0 / TRUE_GAMMA).expect("valid").sample(rng);
    let value = Gamma::new(TRUE_P, 1.0 / nu).expect("valid");
    let wait = Exp::new(lambda.max(1e-9)).expect("valid");
    let mut t = rng.random::<f64>() * WINDOW_DAYS;
    let mut out = Vec::new();
    loop {
        out.push((t, value.sample(rng).max(100.0).round()));
        // BG/NBD: a customer may drop out after each repeat purchase, not after the first.
        if out.len() > 1 && rng.random::<f64>() < p {
            break;
        }
        t += wait.sample(rng);
        if t >= WINDOW_DAYS {
            break;
        }
    }
    out
}

/// Finds the α that gives about `target` orders per customer, on a sample.
fn calibrate(seed: u64, target: f64) -> f64 {
    let mut alpha = 60.0;
    for _ in 0..6 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xca1);
        let n = 20_000;
        let orders: usize = (0..n).map(|_| simulate(&mut rng, alpha).len()).sum();
        let mean = orders as f64 / n as f64;
        // More orders need a higher rate, i.e. a smaller α; the response is sub-linear.
        alpha *= (mean / target).powf(1.5).clamp(0.2, 5.0);
    }
    alpha
}

fn build(dir: &std::path::Path, opts: &AnalyzeOptions) -> anyhow::Result<(u64, f64)> {
    let target = opts.orders.unwrap_or(opts.customers * 5) as f64 / opts.customers as f64;
    let alpha = calibrate(opts.seed, target);
    let store = Store::open(dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let end = as_of() as f64;
    let start_ms = end - WINDOW_DAYS * DAY_MS;
    let mut orders = 0u64;
    let started = Instant::now();
    let mut done = 0u64;
    while done < opts.customers {
        let n = (opts.customers - done).min(20_000);
        let batch: Vec<Vec<(f64, f64)>> = (0..n).map(|_| simulate(&mut rng, alpha)).collect();
        orders += batch.iter().map(|b| b.len() as u64).sum::<u64>();
        let first = done;
        store.bulk(false, |tx| -> Result<(), store::Error> {
            for (k, purchases) in batch.iter().enumerate() {
                let i = first + k as u64;
                let at = |t: f64| (start_ms + t * DAY_MS) as i64;
                let created = purchases
                    .first()
                    .map_or(at(WINDOW_DAYS * (i % 997) as f64 / 997.0), |p| at(p.0));
                let mut rec = CustomerRecord {
                    user_id: Some(format!("bench-{i}")),
                    created_at: created,
                    updated_at: created,
                    signed_up_at: Some(created),
                    ..Default::default()
                };
                rec.stats.first_seen = Some(created);
                rec.stats.last_seen = Some(purchases.last().map_or(created, |p| at(p.0)));
                rec.stats.orders_count = purchases.len() as u32;
                rec.stats.total_spent = purchases.iter().map(|p| p.1).sum();
                rec.stats.first_order_at = purchases.first().map(|p| at(p.0));
                rec.stats.last_order_at = purchases.last().map(|p| at(p.0));
                let id = tx.insert_customer(rec);
                tx.set_identity(&format!("u:bench-{i}"), id)?;
                for (n, (t, value)) in purchases.iter().enumerate() {
                    tx.put_order(&OrderRecord {
                        order_id: format!("B{i}-{n}"),
                        customer: id,
                        placed_at: at(*t),
                        status: OrderStatus::Completed,
                        currency: Some("KRW".into()),
                        total: *value,
                        revenue: None,
                        discount: 0.0,
                        shipping: None,
                        tax: None,
                        coupon: None,
                        lines: Vec::new(),
                        refunds: Vec::new(),
                        seq: 0,
                    })?;
                }
            }
            Ok(())
        })?;
        done += n;
        eprint!(
            "\rbuilding: {done} customers, {orders} orders, {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    store.bulk(true, |_| Ok::<_, store::Error>(()))?;
    eprintln!();
    Ok((orders, alpha))
}

pub fn run(opts: &AnalyzeOptions) -> anyhow::Result<()> {
    let bench_dir = super::tempfile_dir(&opts.data_dir)?;
    let dir = bench_dir.path.clone();
    let exists = dir.join("dangol.redb").exists() && Store::open(&dir)?.read()?.customers_count()? > 0;
    let alpha = if exists {
        eprintln!("reusing the shop in {}", dir.display());
        None
    } else {
        let (_, alpha) = build(&dir, opts)?;
        Some(alpha)
    };
    let (customers, orders, size) = {
        let store = Store::open(&dir)?;
        let read = store.read()?;
        (read.customers_count()?, read.orders_count()?, store.file_size())
    };
    let exe = std::env::current_exe()?;
    let mut times = Vec::new();
    let mut peak = String::new();
    // One run a day, as the nightly job does: from the second on, each compares with the day before
    // (who moved between groups). A reused store continues after the days it has.
    let first_day = {
        let store = Store::open(&dir)?;
        let latest: Option<(i32, AnalysisRun)> = store.read()?.analysis_run_on_or_before(i32::MAX)?;
        latest.map_or(0, |(day, _)| {
            i64::from(day + 1 - crate::analysis::local_day(as_of(), chrono_tz::Asia::Seoul)).max(0)
        })
    };
    for run in 0..i64::from(opts.runs) {
        let now = chrono::DateTime::from_timestamp_millis(as_of() + (first_day + run) * DAY_MS as i64)
            .expect("valid")
            .to_rfc3339();
        let started = Instant::now();
        let out = std::process::Command::new(&exe)
            .args(["analyze", "--data-dir"])
            .arg(&dir)
            .args(["--now", &now])
            .env("RUST_LOG", "warn")
            .output()
            .context("running dangol analyze")?;
        let secs = started.elapsed().as_secs_f64();
        let stdout = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "dangol analyze failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        peak = stdout
            .lines()
            .find_map(|l| l.strip_prefix("peak resident memory: "))
            .unwrap_or("?")
            .to_string();
        // The first night of a new store has no day before to compare with.
        if run > 0 || first_day > 0 || opts.runs == 1 {
            times.push(secs);
        }
    }
    let store = Store::open(&dir)?;
    let read = store.read()?;
    let (day, run): (i32, AnalysisRun) = read
        .analysis_run_on_or_before(i32::MAX)?
        .context("the analysis left no summary")?;
    times.sort_by(f64::total_cmp);
    println!(
        "dangol bench analyze — {customers} customers, {orders} orders, store {} MB, analysed as of {}",
        size >> 20,
        day_date(day)
    );
    println!(
        "| customers | orders | nightly analysis (median of {}) | peak memory |",
        times.len()
    );
    println!("|---|---|---|---|");
    println!("| {customers} | {orders} | {:.2} s | {peak} |", times[times.len() / 2]);
    println!("phases of the last run (ms): {:?}", run.timings);
    if let Some(m) = &run.bgnbd {
        let truth = alpha.map(|a| format!(" (simulated: r {TRUE_R}, alpha {a:.1}, a {TRUE_A}, b {TRUE_B})"));
        println!(
            "BG/NBD fitted on {}: {}{}",
            m.customers,
            fmt_params(&m.params),
            truth.unwrap_or_default()
        );
    }
    if let Some(m) = &run.gamma_gamma {
        println!(
            "Gamma-Gamma fitted on {}: {} (simulated: p {TRUE_P}, q {TRUE_Q}, gamma {TRUE_GAMMA})",
            m.customers,
            fmt_params(&m.params)
        );
    }
    for f in &run.fallback {
        println!("fallback: {f}");
    }
    Ok(())
}

fn fmt_params(params: &[(String, f64, Option<f64>)]) -> String {
    params
        .iter()
        .map(|(n, v, se)| match se {
            Some(se) => format!("{n} {v:.3} ± {se:.3}"),
            None => format!("{n} {v:.3}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
