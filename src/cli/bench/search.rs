//! `dangol bench search`: how well and how fast search finds things.
//! - Quality: the judged Korean/English test set (`tests/data/search`) through the real product
//!   index (a store made in a temporary directory), beside tantivy's stock tokenizers and the
//!   analyser's variants, as recall, precision, F1 and recall@10 of the top 20.
//! - Speed (with `--data-dir`): `GET /api/v1/search/interest` on a server started on that store
//!   (the demo shop at 100,000 or 1,000,000 customers), timed at the client on loopback.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use tantivy::tokenizer::{LowerCaser, NgramTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

use crate::config::Config;
use crate::search::analyzer::{self, Options};
use crate::search::eval::{self, FIELD_BOOSTS, Strategy, TestSet};
use crate::search::query::{MinMatch, QueryOptions};
use crate::store::Store;
use crate::store::records::ProductRecord;

#[derive(Debug, Clone, Args)]
pub struct SearchOptions {
    /// The judged test set: products.csv and queries.json.
    #[arg(long, default_value = "tests/data/search")]
    pub test_set: PathBuf,
    /// Also time interest search on a server started on this store (e.g. the demo shop).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Searches per query when timing.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// Print each query's misses and wrong hits for dangol's own index.
    #[arg(long)]
    pub verbose: bool,
}

/// Interest queries timed on the demo shop: Korean, English, compounds, particles, categories.
const TIMED: [&str; 8] = [
    "향수",
    "플라워 향수",
    "초콜릿 선물세트",
    "향수를",
    "다크초콜릿",
    "perfume",
    "Maison Hana",
    "머스크",
];

pub async fn run(opts: SearchOptions) -> anyhow::Result<()> {
    let set = TestSet::load(&opts.test_set)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot read the test set in {}", opts.test_set.display()))?;
    let verbose = opts.verbose;
    tokio::task::spawn_blocking(move || quality(&set, verbose)).await??;
    if let Some(dir) = &opts.data_dir {
        speed(dir, opts.runs).await?;
    }
    Ok(())
}

fn quality(set: &TestSet, verbose: bool) -> anyhow::Result<()> {
    println!(
        "dangol bench search — {} products, {} judged queries, top {} hits",
        set.products.len(),
        set.queries.len(),
        eval::TOP_K
    );
    println!("| setup | recall | precision | F1 | recall@10 |");
    println!("|---|---:|---:|---:|---:|");
    let ours = own_index(set)?;
    println!("{ours}");
    let simple = || {
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .build()
    };
    let ngram = |min, max| -> tantivy::Result<TextAnalyzer> {
        Ok(TextAnalyzer::builder(NgramTokenizer::all_ngrams(min, max)?)
            .filter(LowerCaser)
            .build())
    };
    let q = QueryOptions::default();
    let (or, and) = (
        Strategy::Parser { conjunction: false },
        Strategy::Parser { conjunction: true },
    );
    let without = |strip_suffixes, bridge_bigrams| Options {
        strip_suffixes,
        bridge_bigrams,
    };
    let setups: Vec<(&str, TextAnalyzer, Strategy)> = vec![
        ("tantivy default tokenizer, QueryParser OR", simple(), or),
        ("tantivy default tokenizer, QueryParser AND", simple(), and),
        ("tantivy ngram(2,2), QueryParser OR", ngram(2, 2)?, or),
        ("tantivy ngram(2,2), QueryParser AND", ngram(2, 2)?, and),
        ("tantivy ngram(1,3), QueryParser AND", ngram(1, 3)?, and),
        ("dangol analyser, QueryParser AND", analyzer::analyzer(), and),
        (
            "dangol, no particle/ending stripping",
            analyzer::analyzer_with(without(false, true)),
            Strategy::DangolRelaxing(QueryOptions {
                analyzer: without(false, true),
                ..q
            }),
        ),
        (
            "dangol, no chatter filter",
            analyzer::analyzer(),
            Strategy::DangolRelaxing(QueryOptions {
                drop_chatter: false,
                ..q
            }),
        ),
        (
            "dangol, every word required",
            analyzer::analyzer(),
            Strategy::Dangol(QueryOptions {
                min_match: MinMatch::All,
                ..q
            }),
        ),
    ];
    let boosts = FIELD_BOOSTS.map(|(_, b)| b);
    for (label, analyzer, strategy) in setups {
        println!("{}", eval::evaluate(label, analyzer, strategy, boosts, set)?);
    }
    if verbose {
        for q in ours
            .queries
            .iter()
            .filter(|q| !q.missed.is_empty() || !q.wrong.is_empty())
        {
            println!(
                "  {:<20} P={:.2} R={:.2} missed {:?} wrong {:?}",
                q.q, q.precision, q.recall, q.missed, q.wrong
            );
        }
    }
    Ok(())
}

/// The test set through dangol's own product index, kept by its own store.
fn own_index(set: &TestSet) -> anyhow::Result<eval::Report> {
    let dir = std::env::temp_dir().join(format!("dangol-bench-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report = (|| -> anyhow::Result<eval::Report> {
        let store = Store::open(&dir)?;
        let products = set.products.clone();
        store.write_blocking(move |tx| -> Result<(), crate::store::Error> {
            for p in &products {
                let split = |s: &str| -> Vec<String> {
                    s.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                };
                let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
                tx.put_product(&ProductRecord {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    category: text(&p.category),
                    brand: text(&p.brand),
                    description: text(&p.description),
                    tags: split(&p.tags),
                    in_stock: true,
                    ..Default::default()
                })?;
            }
            Ok(())
        })?;
        let index = crate::search::ProductIndex::open(&dir.join("index").join("products-1"))?;
        index.sync(&store.read()?)?;
        Ok(eval::evaluate_with("dangol product index (as served)", set, |q| {
            Ok::<_, crate::search::Error>(
                index
                    .search(q, 200)?
                    .into_iter()
                    .filter_map(|h| h.key.strip_prefix("p:").map(str::to_string))
                    .take(eval::TOP_K)
                    .collect(),
            )
        })?)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    report
}

async fn speed(dir: &Path, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(dir.join("dangol.redb").exists(), "no store in {}", dir.display());
    let mut config = Config::for_tests(dir);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let get = |path: String| {
        client
            .get(format!("{base}/api/v1{path}"))
            .bearer_auth("test-master-key")
            .send()
    };
    let started = Instant::now();
    loop {
        let stats: Value = get("/stats".into()).await?.json().await?;
        // Timed on a server that is fully up: the background builds after a start (columns, who
        // touched what, recent touches) would share the two cores with the searches.
        let ready = [
            "interest_index_ready",
            "products_index_ready",
            "touches_ready",
            "recent_ready",
        ];
        if ready.iter().all(|k| stats[*k] == true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    println!();
    println!(
        "interest search on {} (server fully up {:.1} s after the start)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    println!("| query | window | customers matched | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|");
    for q in TIMED {
        for days in [None, Some(30)] {
            let path = match days {
                Some(d) => format!("/search/interest?q={}&days={d}&limit=20", urlencode(q)),
                None => format!("/search/interest?q={}&limit=20", urlencode(q)),
            };
            let mut times = Vec::with_capacity(runs);
            let mut total = 0;
            for _ in 0..runs.max(1) {
                let t = Instant::now();
                let body: Value = get(path.clone()).await?.error_for_status()?.json().await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                total = body["total"].as_u64().unwrap_or(0);
            }
            times.sort_by(f64::total_cmp);
            let p = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
            let window = days.map_or("all time".to_string(), |d| format!("{d} days"));
            println!("| {q} | {window} | {total} | {:.1} | {:.1} |", p(0.5), p(0.99));
        }
    }
    server.stop().await?;
    Ok(())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
