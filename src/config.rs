//! Command line and environment. Every flag has a `DANGOL_*` twin (CONTRACT §1).

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

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
    /// Rebuild the search indexes (products, customer interests) from the store. The server must
    /// be stopped.
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

/// A secret read from the environment or a flag. Debug never prints it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory holding dangol.redb, the search index and backups.
    #[arg(long, env = "DANGOL_DATA_DIR", default_value = "./data/store")]
    pub data_dir: PathBuf,
    /// The shop's time zone: "today", "midnight" and quiet hours are counted in it.
    #[arg(long, env = "DANGOL_TIMEZONE", default_value = "Asia/Seoul")]
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "DANGOL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// On an empty store, load the demo shop first.
    #[arg(long, env = "DANGOL_DEMO")]
    pub demo: bool,
    /// Customers in the demo shop loaded by --demo.
    #[arg(long, env = "DANGOL_DEMO_CUSTOMERS", default_value_t = 2000)]
    pub demo_customers: usize,
    /// Accepted as a bearer key on the whole admin API. Never logged.
    #[arg(long, env = "DANGOL_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<Secret>,
    /// Accepted as a write key on the tracking API. Never logged.
    #[arg(long, env = "DANGOL_WRITE_KEY", hide_env_values = true)]
    pub write_key: Option<Secret>,
    /// Password of the first admin user `admin`, used only if no user exists yet. Never logged.
    #[arg(long, env = "DANGOL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// For tests of the scheduler: the job runner's clock starts at this instant (RFC 3339) and
    /// runs on from there.
    #[arg(long, env = "DANGOL_NOW", hide = true)]
    pub now: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl Config {
    /// A configuration for tests: a data dir of the test's own, fixed keys, UTC+9.
    pub fn for_tests(dir: &Path) -> Config {
        Config {
            store: StoreArgs {
                data_dir: dir.to_path_buf(),
                timezone: chrono_tz::Asia::Seoul,
            },
            listen: "127.0.0.1:0".into(),
            demo: false,
            demo_customers: 2000,
            master_key: Some(Secret("test-master-key".into())),
            write_key: Some(Secret("test-write-key".into())),
            admin_password: Some(Secret("test-admin-password".into())),
            now: None,
        }
    }
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
    Ingest(crate::bench::IngestOptions),
    /// Time from start to serving on an existing store (e.g. the 1,000,000-customer demo shop),
    /// with the store's size and the server's resident memory.
    Startup(crate::bench::StartupOptions),
    /// The nightly analysis on a generated shop of N customers and M orders: time and peak memory.
    Analyze(crate::bench::analyze::AnalyzeOptions),
    /// The live count of five typical segment rules on an existing store (e.g. the demo shop).
    Segments(crate::bench::segments::SegmentsOptions),
    /// Search quality on the judged Korean/English test set (recall, precision) and, with
    /// `--data-dir`, the speed of interest search on that store.
    Search(crate::bench::search::SearchOptions),
    /// Issuing unique coupon codes to a segment of N customers, then validating them.
    Coupons(crate::bench::coupons::CouponOptions),
    /// Recommendations: the offline evaluation (hit rate and NDCG at 10 per strategy against
    /// bestsellers) on a store, Complete Journey or an orders CSV; request latency; the nightly
    /// build over N orders.
    Recommend(crate::bench::recommend::RecommendOptions),
    /// A one-off email campaign to N customers: personalised messages with recommendations
    /// handed to an SMTP sink on loopback, the outbox's bookkeeping included (messages/s).
    Send(crate::bench::send::SendOptions),
}
