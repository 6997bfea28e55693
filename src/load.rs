//! Loading data in bulk: CSV imports (console, API and CLI) and the demo shop. Both turn their
//! input into Segment messages and product objects and apply them through the same `track` and
//! `catalog` code as live traffic, so an imported order is an order like any other. Every import
//! is kept in the history (`history.rs`), with the column mapping it was read through remembered
//! for the next file with the same headers.

pub mod history;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::Serialize;

use crate::import::{self, Kind, Mapping, RowError};
use crate::store::{self, Store, Tx};
use crate::track::{self, Message};
use crate::{catalog, demo};

pub use history::{Source, Via};

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The import's entry in the history (`GET /api/v1/imports`).
    pub id: u64,
    /// Data rows read.
    pub rows: usize,
    /// Products, customers or orders applied (an order of several rows, and its refund, count
    /// once).
    pub imported: usize,
    /// Rows left out on purpose (e.g. voided orders).
    pub skipped: usize,
    /// Messages that were already in the store (the same import run twice).
    pub duplicates: usize,
    /// True when nothing was written (strict mode and errors).
    pub rejected: bool,
    /// Each rejected row: `{row, column, message}`, row 1 being the header.
    pub errors: Vec<RowError>,
    /// The column mapping the file was read through (the one given, or the one remembered for
    /// its headers); absent for our columns and Shopify's.
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub mapping: Option<Mapping>,
}

/// An import to run: the file and how to read it, and where it comes from.
pub struct ImportRequest {
    pub kind: Kind,
    pub csv: Vec<u8>,
    /// Import nothing if any row has an error.
    pub strict: bool,
    /// Read the file through this mapping (checked against its headers); without one, a file
    /// in no format we know is read through the mapping remembered for its headers, if any.
    pub mapping: Option<Mapping>,
    pub source: Source,
}

enum Prepared {
    Products(Vec<catalog::ProductInput>),
    Messages(Vec<Message>),
}

/// Parses a CSV and checks every row; nothing is written yet. `remembered` gives the mapping
/// kept for a header set, asked only when the file needs one and none was given.
fn prepare(
    kind: Kind,
    csv: &[u8],
    tz: chrono_tz::Tz,
    mapping: Option<&Mapping>,
    remembered: impl FnOnce(&[String]) -> Option<Mapping>,
) -> Result<(Prepared, ImportReport), import::Error> {
    let (parsed, used) = match mapping {
        Some(m) => (import::parse_with(kind, csv, tz, Some(m))?, Some(m.clone())),
        None => match import::parse(kind, csv, tz) {
            Err(e) if e.needs_mapping() => {
                let headers = import::mapping::headers(csv)?;
                let Some(m) = remembered(&headers) else { return Err(e) };
                (import::parse_with(kind, csv, tz, Some(&m))?, Some(m))
            }
            other => (other?, None),
        },
    };
    let mut report = ImportReport {
        rows: parsed.rows,
        skipped: parsed.skipped,
        errors: parsed.errors,
        mapping: used,
        ..Default::default()
    };
    let prepared = match kind {
        Kind::Products => {
            let mut items = Vec::new();
            for item in parsed.items {
                match serde_json::from_value::<catalog::ProductInput>(item.value) {
                    Ok(p) => match p.validate("") {
                        Ok(()) => items.push(p),
                        Err(e) => report.errors.push(RowError {
                            row: item.row,
                            column: None,
                            message: e.to_string(),
                        }),
                    },
                    Err(e) => report.errors.push(RowError {
                        row: item.row,
                        column: None,
                        message: e.to_string(),
                    }),
                }
            }
            Prepared::Products(items)
        }
        Kind::Customers | Kind::Orders => {
            let mut items = Vec::new();
            for item in parsed.items {
                match Message::parse(item.value, None, "") {
                    Ok(m) => items.push(m),
                    Err(e) => report.errors.push(RowError {
                        row: item.row,
                        column: Some(e.field.clone()),
                        message: e.message,
                    }),
                }
            }
            Prepared::Messages(items)
        }
    };
    report.errors.sort_by_key(|e| e.row);
    Ok((prepared, report))
}

impl Prepared {
    fn len(&self) -> usize {
        match self {
            Prepared::Products(items) => items.len(),
            Prepared::Messages(items) => items.len(),
        }
    }
}

/// Applies the prepared items in `range` (all of them when `None`).
fn apply(
    tx: &mut Tx,
    prepared: &Prepared,
    range: Option<std::ops::Range<usize>>,
    now: i64,
) -> Result<(usize, usize), store::Error> {
    let range = range.unwrap_or(0..prepared.len());
    match prepared {
        Prepared::Products(items) => {
            let items = &items[range];
            catalog::upsert(tx, items, "import", now).map_err(|e| match e {
                catalog::Error::Store(s) => s,
                other => unreachable!("products were validated: {other}"),
            })?;
            Ok((items.len(), 0))
        }
        Prepared::Messages(items) => {
            let items = &items[range];
            // An order's refund is part of the order: a file of three orders, two of them refunded,
            // imports three, not five; so is the buyer's name and number an order file gives.
            let (mut imported, mut dup) = (0, 0);
            for m in items {
                let counts = m.event.as_deref() != Some("Order Refunded")
                    && !(m.event.is_none()
                        && m.message_id
                            .as_deref()
                            .is_some_and(|id| id.starts_with("import-buyer-")));
                match track::apply_from(tx, m, now, "import")? {
                    track::Outcome::Duplicate { .. } => dup += counts as usize,
                    _ => imported += counts as usize,
                }
            }
            Ok((imported, dup))
        }
    }
}

/// Imports a CSV through the writer: all accepted rows in one transaction. With `strict`, any
/// row error means nothing is written. The import is kept in the history either way.
pub async fn import(store: &Store, req: ImportRequest, tz: chrono_tz::Tz) -> Result<ImportReport, import::Error> {
    import_with(store, req, tz, usize::MAX, &ImportProgress::default()).await
}

/// Rows per transaction of an import in chunks.
const IMPORT_CHUNK: usize = 5_000;

/// How an import in chunks is getting on, for a page that shows its progress.
#[derive(Default)]
pub struct ImportProgress {
    pub kind: String,
    pub started_at: i64,
    /// Rows to apply (known once the file is parsed) and rows applied so far.
    pub total: AtomicUsize,
    pub done: AtomicUsize,
    /// The outcome, once there is one.
    pub outcome: Mutex<Option<Result<ImportReport, String>>>,
}

/// A file uploaded in the console and waiting for its column mapping.
pub struct PendingUpload {
    pub kind: Kind,
    pub csv: Vec<u8>,
    pub file_name: Option<String>,
    pub strict: bool,
    pub at: i64,
}

/// The console's imports on this server (kept in memory: an import that a restart cut short is
/// finished by uploading the file again, which skips what was already applied), and the files
/// waiting for their mapping, each by id.
#[derive(Default)]
pub struct Imports {
    pub jobs: Mutex<HashMap<String, Arc<ImportProgress>>>,
    pub pending: Mutex<HashMap<String, Arc<PendingUpload>>>,
}

pub type ImportJobs = Arc<Imports>;

/// Imports a CSV in transactions of `IMPORT_CHUNK` rows, reporting progress. Every row is checked
/// before anything is written (with `strict`, any error means nothing is); a file cut short by a
/// crash is resumable by row, since importing it again skips the rows already in (messages by
/// their id, products by upsert).
pub async fn import_in_chunks(
    store: &Store,
    req: ImportRequest,
    tz: chrono_tz::Tz,
    progress: &ImportProgress,
) -> Result<ImportReport, import::Error> {
    import_with(store, req, tz, IMPORT_CHUNK, progress).await
}

/// Checks every row, then applies the accepted ones `chunk` rows a transaction; keeps the import
/// in the history and a mapping given with it for the next file with the same headers.
async fn import_with(
    store: &Store,
    req: ImportRequest,
    tz: chrono_tz::Tz,
    chunk: usize,
    progress: &ImportProgress,
) -> Result<ImportReport, import::Error> {
    let ImportRequest {
        kind,
        csv,
        strict,
        mapping,
        source,
    } = req;
    let given = mapping.clone();
    let reader = store.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let remembered = |headers: &[String]| remembered_fields(&reader, kind, headers);
        let headers = import::mapping::headers(&csv);
        prepare(kind, &csv, tz, mapping.as_ref(), remembered).map(|p| (p, headers.unwrap_or_default()))
    })
    .await
    .expect("import parser panicked");
    let ((prepared, mut report), headers) = match parsed {
        Ok(p) => p,
        Err(e) => {
            keep(
                store,
                failed_record(kind, strict, given.is_some(), &source, &e, store.now_ms()),
            )
            .await;
            return Err(e);
        }
    };
    if strict && !report.errors.is_empty() {
        report.rejected = true;
    } else {
        let total = prepared.len();
        progress.total.store(total, Ordering::Relaxed);
        let prepared = Arc::new(prepared);
        let now = store.now_ms();
        for start in (0..total).step_by(chunk) {
            let range = start..start.saturating_add(chunk).min(total);
            let (p, r) = (prepared.clone(), range.clone());
            let (imported, duplicates) = store.write(move |tx| apply(tx, &p, Some(r.clone()), now)).await?;
            report.imported += imported;
            report.duplicates += duplicates;
            progress.done.store(range.end, Ordering::Relaxed);
        }
    }
    let rec = record(kind, strict, &source, &report, store.now_ms());
    let (who, now) = (source.who.clone(), store.now_ms());
    report.id = store
        .write(move |tx| -> Result<u64, store::Error> {
            if let Some(fields) = &given {
                history::remember(tx, kind, &headers, fields, &who, now)?;
            }
            history::add(tx, &rec)
        })
        .await?;
    Ok(report)
}

/// The history's entry for an import that ran.
fn record(kind: Kind, strict: bool, source: &Source, report: &ImportReport, now: i64) -> history::ImportRecord {
    history::ImportRecord {
        at: now,
        via: source.via,
        who: source.who.clone(),
        file_name: source.file_name.clone(),
        kind: kind.as_str().to_string(),
        mapped: report.mapping.is_some(),
        strict,
        rows: report.rows,
        imported: report.imported,
        duplicates: report.duplicates,
        skipped: report.skipped,
        rejected: report.rejected,
        error_count: report.errors.len(),
        errors: report.errors.iter().take(history::KEPT_ERRORS).cloned().collect(),
        failed: None,
    }
}

/// The history's entry for a file that could not be read at all.
fn failed_record(
    kind: Kind,
    strict: bool,
    mapped: bool,
    source: &Source,
    error: &import::Error,
    now: i64,
) -> history::ImportRecord {
    history::ImportRecord {
        at: now,
        via: source.via,
        who: source.who.clone(),
        file_name: source.file_name.clone(),
        kind: kind.as_str().to_string(),
        mapped,
        strict,
        rows: 0,
        imported: 0,
        duplicates: 0,
        skipped: 0,
        rejected: true,
        error_count: 0,
        errors: Vec::new(),
        failed: Some(error.to_string()),
    }
}

/// Keeps a failed import in the history; a store that cannot write it is logged, since the
/// import's own error is what the caller is told.
async fn keep(store: &Store, rec: history::ImportRecord) {
    if let Err(e) = store.write(move |tx| history::add(tx, &rec)).await {
        tracing::warn!(error = %e, "the import history could not be written");
    }
}

/// The mapping remembered for a file of `kind` with these headers, if one is (a store that
/// cannot be read offers none: the file then asks for its mapping).
fn remembered_fields(store: &Store, kind: Kind, headers: &[String]) -> Option<Mapping> {
    let read = store.read().ok()?;
    history::remembered(&read, kind, headers)
        .ok()
        .flatten()
        .map(|m| m.fields)
}

/// Imports a CSV file into a store no server holds (`dangol import`): every row checked, then
/// the accepted ones applied in one transaction; with `strict`, nothing when any row has an error.
/// Kept in the history like the others.
pub fn import_file(store: &Store, req: ImportRequest, tz: chrono_tz::Tz) -> Result<ImportReport, import::Error> {
    let ImportRequest {
        kind,
        csv,
        strict,
        mapping,
        source,
    } = req;
    let remembered = |headers: &[String]| remembered_fields(store, kind, headers);
    let (prepared, mut report) = match prepare(kind, &csv, tz, mapping.as_ref(), remembered) {
        Ok(p) => p,
        Err(e) => {
            let rec = failed_record(kind, strict, mapping.is_some(), &source, &e, store.now_ms());
            store.write_blocking(move |tx| history::add(tx, &rec))?;
            return Err(e);
        }
    };
    let now = store.now_ms();
    if strict && !report.errors.is_empty() {
        report.rejected = true;
    } else {
        let (imported, duplicates) = store.write_blocking(move |tx| apply(tx, &prepared, None, now))?;
        report.imported = imported;
        report.duplicates = duplicates;
    }
    let rec = record(kind, strict, &source, &report, now);
    let headers = import::mapping::headers(&csv)?;
    let who = source.who.clone();
    report.id = store.write_blocking(move |tx| -> Result<u64, store::Error> {
        if let Some(fields) = &mapping {
            history::remember(tx, kind, &headers, fields, &who, now)?;
        }
        history::add(tx, &rec)
    })?;
    Ok(report)
}

#[derive(Debug, Default)]
pub struct LoadReport {
    pub products: usize,
    pub messages: usize,
    pub rejected: usize,
}

/// Messages applied per bulk transaction while loading the demo shop.
const CHUNK: usize = 20_000;

/// Loads the demo shop into a store: the catalogue, then every customer's history. Generating and
/// parsing run on a thread of their own while this one applies the previous chunk; each chunk is
/// one durable transaction, so the pages a chunk frees are reused by the next and the file does
/// not grow past what it holds.
pub fn demo(store: &Store, opts: &demo::DemoOptions) -> anyhow::Result<LoadReport> {
    let mut report = LoadReport::default();
    let products: Vec<catalog::ProductInput> = demo::products(opts)
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .context("demo products do not parse")?;
    report.products = products.len();
    let now = store.now_ms();
    store
        .bulk(true, |tx| catalog::upsert(tx, &products, "import", now))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (chunks, ready) = std::sync::mpsc::sync_channel::<Vec<Message>>(2);
    let opts = opts.clone();
    let producer = std::thread::spawn(move || {
        let (mut messages, mut rejected) = (0, 0);
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut open = true;
        demo::generate(&opts, &mut |value| {
            if !open {
                return;
            }
            match Message::parse(value, None, "") {
                Ok(m) => {
                    messages += 1;
                    chunk.push(m);
                }
                Err(e) => {
                    rejected += 1;
                    tracing::warn!(error = %e, "demo message rejected");
                }
            }
            if chunk.len() >= CHUNK {
                open = chunks
                    .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                    .is_ok();
            }
        });
        if open {
            let _ = chunks.send(chunk);
        }
        (messages, rejected)
    });
    for msgs in ready {
        store.bulk(true, |tx| {
            for m in &msgs {
                track::apply_from(tx, m, now, "demo")?;
            }
            Ok::<_, store::Error>(())
        })?;
    }
    let (messages, rejected) = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the demo generator panicked"))?;
    report.messages = messages;
    report.rejected = rejected;
    Ok(report)
}

/// The demo shop's visitors now (`serve --demo`): each visit's messages applied when they are
/// due, as the tracking API applies them, until the server stops.
pub async fn demo_live(store: Store, opts: demo::DemoOptions, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut live = demo::live::Live::new(&opts, store.now_ms() as u64);
    let mut due: std::collections::BTreeMap<(i64, u64), serde_json::Value> = Default::default();
    let (mut next_visit, mut n) = (store.now_ms(), 0u64);
    loop {
        let now = store.now_ms();
        if now >= next_visit {
            for (at, m) in live.visit(store.clock().now()) {
                n += 1;
                due.insert((at.timestamp_millis(), n), m);
            }
            next_visit = now + live.pause() as i64 * 1000;
        }
        let ready: Vec<serde_json::Value> = {
            let later = due.split_off(&(now + 1, 0));
            std::mem::replace(&mut due, later).into_values().collect()
        };
        if !ready.is_empty() {
            let received = store.now_ms();
            let applied = store
                .write(move |tx| -> Result<(), crate::store::Error> {
                    for m in &ready {
                        match crate::track::Message::parse(m.clone(), None, "") {
                            Ok(msg) => {
                                crate::track::apply_from(tx, &msg, received, "demo")?;
                            }
                            Err(e) => tracing::warn!(error = ?e, "a live demo message was refused"),
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = applied {
                tracing::warn!(error = %e, "the live demo could not write");
            }
        }
        let wait = due
            .keys()
            .next()
            .map_or(next_visit, |(at, _)| (*at).min(next_visit))
            .saturating_sub(store.now_ms())
            .clamp(50, 5_000);
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(wait as u64)) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
