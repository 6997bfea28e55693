use clap::Parser;

// The ingest path allocates many small JSON values; glibc's malloc and free were a quarter of its
// profile (see the README's performance notes).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use dangol::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve(config) => rt.block_on(dangol::run(config)),
        Command::Import(args) => dangol::load::import_command(&args),
        Command::Demo(args) => dangol::load::demo_command(&args),
        Command::Analyze(args) => dangol::analysis::command(&args),
        Command::Reindex(args) => dangol::search::reindex_command(&args),
        Command::Bench(args) => rt.block_on(dangol::bench::run(args)),
    }
}
