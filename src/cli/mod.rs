//! The command line: `dangol serve | import | demo | analyze | reindex | bench`. Each command
//! turns its arguments into the plain options the domain takes; nothing below this module sees a
//! clap type.

pub mod bench;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, StoreArgs};
use crate::import::Kind;
use crate::store::Store;
use crate::{analysis, demo, load, search};

#[derive(Debug, Parser)]
#[command(
    name = "dangol",
    version,
    about = "Customer analysis and marketing automation for a small online shop"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server, the scheduler and the indexes in one process.
    Serve(Config),
    /// Import a CSV file (our columns or a Shopify export) into the store. The server must be stopped.
    Import(ImportArgs),
    /// Write the demo shop into a data directory.
    Demo(DemoArgs),
    /// Run the nightly customer analysis now on a data dir. The server must be stopped.
    Analyze(AnalyzeArgs),
    /// Rebuild the search indexes (products, customer interests) and the web-analytics reports'
    /// tables from the store. The server must be stopped.
    Reindex(StoreArgs),
    /// Measure dangol on this machine.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Analyse as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// What the file holds.
    #[arg(value_parser = ["products", "customers", "orders"])]
    pub kind: String,
    /// The CSV file.
    pub file: PathBuf,
    /// Import nothing if any row has an error (default: import the valid rows, report the rest).
    #[arg(long)]
    pub strict: bool,
    /// Read a file in another shop's format through this column mapping, a JSON object of our
    /// field → the file's header, e.g. '{"order_id":"주문번호","email":"주문자 이메일",
    /// "total":"결제금액","created_at":"주문일시"}' (remembered for the next file with the same
    /// headers; without it, a remembered one is used).
    #[arg(long)]
    pub mapping: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// How many customers the demo shop has.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub customers: u64,
    /// Seed of the generator: the same seed writes the same shop.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Events/s and latency of /v1/batch and /v1/track against a server started on loopback.
    Ingest(bench::IngestOptions),
    /// Time from start to serving on an existing store (e.g. the 1,000,000-customer demo shop),
    /// with the store's size and the server's resident memory.
    Startup(bench::StartupOptions),
    /// The nightly analysis on a generated shop of N customers and M orders: time and peak memory.
    Analyze(bench::analyze::AnalyzeOptions),
    /// The live count of five typical segment rules on an existing store (e.g. the demo shop).
    Segments(bench::segments::SegmentsOptions),
    /// Search quality on the judged Korean/English test set (recall, precision) and, with
    /// `--data-dir`, the speed of interest search on that store.
    Search(bench::search::SearchOptions),
    /// Issuing unique coupon codes to a segment of N customers, then validating them.
    Coupons(bench::coupons::CouponOptions),
    /// Recommendations: the offline evaluation (hit rate and NDCG at 10 per strategy against
    /// bestsellers) on a store, Complete Journey or an orders CSV; request latency; the nightly
    /// build over N orders.
    Recommend(bench::recommend::RecommendOptions),
    /// A one-off email campaign to N customers: personalised messages with recommendations
    /// handed to an SMTP sink on loopback, the outbox's bookkeeping included (messages/s).
    Send(bench::send::SendOptions),
    /// The storefront: `GET /v1/messages` with N active on-site messages at a fixed rate on a
    /// store (p50, p99), the script's gzipped size, and in Chromium the time from
    /// DOMContentLoaded to the page event sent.
    Storefront(bench::storefront::StorefrontOptions),
    /// The experiment block of a campaign's report with N people assigned (p50, p99).
    Experiments(bench::experiments::ExperimentOptions),
    /// The web-analytics reports on a store (so far the live report after five busy minutes:
    /// p50, p99 at the server).
    Reports(bench::reports::ReportsOptions),
}

/// Runs the parsed command line to its end.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve(config) => rt.block_on(crate::server::run(config)),
        Command::Import(args) => import_command(&args),
        Command::Demo(args) => demo_command(&args),
        Command::Analyze(args) => analyze_command(&args),
        Command::Reindex(args) => reindex_command(&args),
        Command::Bench(args) => rt.block_on(bench::run(args)),
    }
}

/// `dangol import KIND FILE`: an import on a stopped server's data dir.
fn import_command(args: &ImportArgs) -> anyhow::Result<()> {
    let kind: Kind = args.kind.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let csv = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let mapping = match &args.mapping {
        Some(json) => Some(serde_json::from_str(json).context("--mapping is not a JSON object of field to header")?),
        None => None,
    };
    let store = open_for_command(&args.store.data_dir)?;
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let request = load::ImportRequest {
        kind,
        csv,
        strict: args.strict,
        mapping,
        source: load::Source {
            via: load::Via::Cli,
            who,
            file_name: args.file.file_name().map(|n| n.to_string_lossy().into_owned()),
        },
    };
    let report = load::import_file(&store, request, args.store.timezone)?;
    for e in &report.errors {
        eprintln!(
            "row {}{}: {}",
            e.row,
            e.column.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
            e.message
        );
    }
    println!(
        "{} rows read, {} imported, {} already present, {} skipped, {} errors{}",
        report.rows,
        report.imported,
        report.duplicates,
        report.skipped,
        report.errors.len(),
        if report.rejected {
            " — nothing imported (--strict)"
        } else {
            ""
        }
    );
    if report.rejected {
        anyhow::bail!("import rejected");
    }
    Ok(())
}

fn open_for_command(dir: &std::path::Path) -> anyhow::Result<Store> {
    Store::open(dir).map_err(|e| {
        let hint = if e.to_string().contains("lock") || e.to_string().contains("already open") {
            " (is `dangol serve` running on it? stop it, or POST the file to /api/v1/imports/KIND)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot open the store in {}: {e}{hint}", dir.display())
    })
}

/// `dangol demo`: writes the demo shop into a data dir.
fn demo_command(args: &DemoArgs) -> anyhow::Result<()> {
    let store = open_for_command(&args.store.data_dir)?;
    if store.read()?.customers_count()? > 0 {
        anyhow::bail!(
            "{} already holds customers: the demo shop goes into an empty store",
            args.store.data_dir.display()
        );
    }
    let started = Instant::now();
    let mut opts = demo::DemoOptions::new(args.customers as usize, store.clock().now());
    opts.seed = args.seed;
    let report = load::demo(&store, &opts)?;
    println!(
        "demo shop written to {}: {} products, {} customers, {} messages in {:.1} s; store {} MB",
        args.store.data_dir.display(),
        report.products,
        args.customers,
        report.messages,
        started.elapsed().as_secs_f64(),
        store.file_size() / 1_000_000,
    );
    Ok(())
}

/// `dangol analyze`: runs the analysis job now on a stopped server's data dir, records it like
/// the scheduler does, and prints what it found.
fn analyze_command(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let clock = match args.now {
        Some(at) => crate::clock::Clock::starting_at(at.to_utc()),
        None => crate::clock::Clock::system(),
    };
    let store = crate::store::Store::open_with_clock(&args.store.data_dir, clock)
        .with_context(|| format!("cannot open the store in {}", args.store.data_dir.display()))?;
    let runner = crate::jobs::Runner::new(store.clone(), args.store.timezone, vec![analysis::job()])?;
    let run = runner.run_blocking(analysis::JOB, crate::jobs::Trigger::Manual)?;
    println!(
        "{:?} in {:.2} s: {}",
        run.outcome,
        run.duration_ms as f64 / 1000.0,
        run.message
    );
    let read = store.read()?;
    if let Some((_, summary)) = read.analysis_run_on_or_before::<analysis::AnalysisRun>(i32::MAX)? {
        let phases: Vec<String> = summary.timings.iter().map(|(k, ms)| format!("{k} {ms} ms")).collect();
        println!("phases: {}", phases.join(", "));
    }
    if let Some(peak) = bench::peak_resident_bytes() {
        println!("peak resident memory: {} MB", peak >> 20);
    }
    anyhow::ensure!(run.outcome == crate::jobs::Outcome::Ok, "the analysis failed");
    Ok(())
}

/// `dangol reindex`: deletes `DATA_DIR/index` and builds both indexes again.
fn reindex_command(args: &StoreArgs) -> anyhow::Result<()> {
    let store =
        Store::open(&args.data_dir).with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let started = std::time::Instant::now();
    let (products, customers) = search::reindex(&store)?;
    println!(
        "indexed {products} products and categories and {customers} customers' interests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let agents = std::sync::Arc::new(crate::traffic::Agents::default());
    let reports = crate::reports::Reports::new(store.clone(), args.timezone, agents);
    if let Some(built) = reports.rebuild()? {
        println!(
            "built the web reports from {built} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
