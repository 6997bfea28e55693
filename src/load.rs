//! Loading data in bulk: CSV imports (CLI and API) and the demo shop. Both turn their input
//! into Segment messages and product objects and apply them through the same `track` and
//! `catalog` code as live traffic, so an imported order is an order like any other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::Serialize;

use crate::import::{self, Kind, RowError};
use crate::store::{self, Store, Tx};
use crate::track::{self, Message};
use crate::{catalog, demo};

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
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
}

enum Prepared {
    Products(Vec<catalog::ProductInput>),
    Messages(Vec<Message>),
}

/// Parses a CSV and checks every row; nothing is written yet.
fn prepare(
    kind: Kind,
    input: impl std::io::Read,
    tz: chrono_tz::Tz,
) -> Result<(Prepared, ImportReport), import::Error> {
    let parsed = import::parse(kind, input, tz)?;
    let mut report = ImportReport {
        rows: parsed.rows,
        skipped: parsed.skipped,
        errors: parsed.errors,
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
            // imports three, not five.
            let (mut imported, mut dup) = (0, 0);
            for m in items {
                let counts = m.event.as_deref() != Some("Order Refunded");
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
/// row error means nothing is written.
pub async fn import(
    store: &Store,
    kind: Kind,
    csv: Vec<u8>,
    strict: bool,
    tz: chrono_tz::Tz,
) -> Result<ImportReport, import::Error> {
    import_with(store, kind, csv, strict, tz, usize::MAX, &ImportProgress::default()).await
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

/// Imports running or finished on this server, by id (kept in memory: an import that a restart
/// cut short is finished by uploading the file again, which skips what was already applied).
pub type ImportJobs = Arc<Mutex<HashMap<String, Arc<ImportProgress>>>>;

/// Imports a CSV in transactions of `IMPORT_CHUNK` rows, reporting progress. Every row is checked
/// before anything is written (with `strict`, any error means nothing is); a file cut short by a
/// crash is resumable by row, since importing it again skips the rows already in (messages by
/// their id, products by upsert).
pub async fn import_in_chunks(
    store: &Store,
    kind: Kind,
    csv: Vec<u8>,
    strict: bool,
    tz: chrono_tz::Tz,
    progress: &ImportProgress,
) -> Result<ImportReport, import::Error> {
    import_with(store, kind, csv, strict, tz, IMPORT_CHUNK, progress).await
}

/// Checks every row, then applies the accepted ones `chunk` rows a transaction.
async fn import_with(
    store: &Store,
    kind: Kind,
    csv: Vec<u8>,
    strict: bool,
    tz: chrono_tz::Tz,
    chunk: usize,
    progress: &ImportProgress,
) -> Result<ImportReport, import::Error> {
    let (prepared, mut report) = tokio::task::spawn_blocking(move || prepare(kind, csv.as_slice(), tz))
        .await
        .expect("import parser panicked")?;
    if strict && !report.errors.is_empty() {
        report.rejected = true;
        return Ok(report);
    }
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
    Ok(report)
}

/// Imports a CSV file into a store no server holds (`dangol import`): every row checked, then
/// the accepted ones applied in one transaction; with `strict`, nothing when any row has an error.
pub fn import_file(
    store: &Store,
    kind: Kind,
    input: impl std::io::Read,
    strict: bool,
    tz: chrono_tz::Tz,
) -> Result<ImportReport, import::Error> {
    let (prepared, mut report) = prepare(kind, input, tz)?;
    if strict && !report.errors.is_empty() {
        report.rejected = true;
        return Ok(report);
    }
    let now = store.now_ms();
    let (imported, duplicates) = store.write_blocking(move |tx| apply(tx, &prepared, None, now))?;
    report.imported = imported;
    report.duplicates = duplicates;
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
