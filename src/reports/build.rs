//! Building the reports' tables from the whole log: at the first start of a build that has them,
//! when the shop's zone changed, and by `dangol reindex`.
//!
//! 1. The log is read once, by several threads at a time, each taking the next run of sequences;
//!    each event is decoded only as far as a visit needs, its strings borrowed from the stored
//!    bytes and numbered. The log is read a page at a time, and each page read waits on the disk,
//!    so there are more readers than cores: while some wait, the others decode. Beside them, one
//!    thread reads each order's net, each customer's city and their order months (cohorts).
//! 2. Each customer's events are cut into visits, the customers shared out between the cores.
//! 3. The visits are written day by day with their cells, each batch of days worked out while the
//!    one before is written; then the days each customer has visits on, in their key's order.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use chrono_tz::Tz;
use serde::Deserialize;

use super::follow::{Changes, MARK, Mark, VERSION, local_month, own_hosts};
use super::rollup::{Cell, Dim, Names, Row, row_of, shares};
use super::slim::Slim;
use crate::analysis::local_day;
use crate::store::{self, ReadTx, Store};
use crate::traffic::{Agents, Hit, visits};

/// Events a reader of the log takes at a time.
const CHUNK: u64 = 20_000;
/// Visits written per commit.
const VISITS_PER_COMMIT: usize = 100_000;
/// Customer days written per commit.
const DAYS_PER_COMMIT: usize = 1_000_000;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Threads reading the log: three per core, so that the disk always has reads in flight.
fn readers() -> usize {
    (cores() * 3).clamp(2, 16)
}

/// A hit with its strings numbered, to hold a whole log's hits in memory. Not its order id: the
/// build finds a visit's orders by their events' sequences.
struct Small {
    at: i64,
    seq: u64,
    /// NaN when none.
    order_total: f64,
    page_view: bool,
    strings: [u32; 9],
}

/// The strings of the hits, numbered from 1 (0 is none).
struct Strings {
    ids: HashMap<Box<str>, u32>,
    all: Vec<Box<str>>,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            ids: HashMap::new(),
            all: vec!["".into()],
        }
    }

    fn id(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return 0 };
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.all.len() as u32;
        self.all.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    fn get(&self, id: u32) -> Option<Cow<'_, str>> {
        (id != 0).then(|| Cow::Borrowed(&*self.all[id as usize]))
    }

    fn small(&mut self, h: &Hit) -> Small {
        Small {
            at: h.at,
            seq: h.seq,
            page_view: h.page_view,
            order_total: h.order_total.unwrap_or(f64::NAN),
            strings: [
                self.id(h.event.as_deref()),
                self.id(h.url.as_deref()),
                self.id(h.path.as_deref()),
                self.id(h.referrer.as_deref()),
                self.id(h.campaign[0].as_deref()),
                self.id(h.campaign[1].as_deref()),
                self.id(h.campaign[2].as_deref()),
                self.id(h.user_agent.as_deref()),
                self.id(h.product.as_deref()),
            ],
        }
    }

    fn hit(&self, s: &Small) -> Hit<'_> {
        let g = |i: usize| self.get(s.strings[i]);
        Hit {
            at: s.at,
            seq: s.seq,
            page_view: s.page_view,
            order_total: (!s.order_total.is_nan()).then_some(s.order_total),
            event: g(0),
            url: g(1),
            path: g(2),
            referrer: g(3),
            campaign: [g(4), g(5), g(6)],
            user_agent: g(7),
            order_id: None,
            product: g(8),
        }
    }
}

/// What one reader of the log read: its hits by customer, their strings numbered its own way.
struct Part {
    strings: Strings,
    hits: Vec<(u64, Small)>,
    events: u64,
}

/// Reads runs of the log (taken from `next`) up to `last` until none is left.
fn read_log(read: &ReadTx, next: &AtomicU64, last: u64, stop: &AtomicBool) -> Result<Part, store::Error> {
    let mut part = Part {
        strings: Strings::new(),
        hits: Vec::new(),
        events: 0,
    };
    loop {
        let from = next.fetch_add(CHUNK, Ordering::Relaxed) + 1;
        if from > last || stop.load(Ordering::Relaxed) {
            return Ok(part);
        }
        let to = (from + CHUNK - 1).min(last);
        read.for_each_event_bytes(from..=to, |seq, bytes| {
            part.events += 1;
            let e = Slim::read(seq, bytes)?;
            if let Some(hit) = e.hit(seq) {
                part.hits.push((e.customer, part.strings.small(&hit)));
            }
            Ok(true)
        })?;
    }
}

#[derive(Deserialize)]
struct SlimOrder {
    seq: u64,
    total: f64,
    #[serde(default)]
    refunds: Vec<SlimRefund>,
}

#[derive(Deserialize)]
struct SlimRefund {
    amount: f64,
}

#[derive(Deserialize)]
struct SlimCustomer {
    #[serde(default)]
    city: Option<String>,
}

/// What visits need besides their events, and the cohorts: each order's net by the event that
/// made it, each customer's city, each customer's order months.
#[derive(Default)]
struct Besides {
    nets: HashMap<u64, f64>,
    cities: HashMap<u64, u32>,
    city_names: Vec<String>,
    months: BTreeMap<u64, Vec<i32>>,
}

fn besides(read: &ReadTx, tz: Tz) -> Result<Besides, store::Error> {
    let mut b = Besides {
        city_names: vec![String::new()],
        ..Besides::default()
    };
    read.for_each_order_as::<SlimOrder>(|o| {
        let refunded: f64 = o.refunds.iter().map(|r| r.amount).sum();
        b.nets.insert(o.seq, (o.total - refunded).max(0.0));
    })?;
    let mut ids: HashMap<String, u32> = HashMap::new();
    read.for_each_customer_as::<SlimCustomer>(|id, c| {
        if let Some(city) = c.city.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) {
            let n = *ids.entry(city).or_insert_with_key(|city| {
                b.city_names.push(city.clone());
                (b.city_names.len() - 1) as u32
            });
            b.cities.insert(id, n);
        }
    })?;
    read.for_each_order_of_customers(|c, at, _, _| {
        let m = local_month(at, tz);
        let list = b.months.entry(c).or_default();
        if !list.contains(&m) {
            list.push(m);
        }
    })?;
    Ok(b)
}

/// Visits as rows, by (day, customer, start).
type Rows = Vec<((i32, u64, i64), Row)>;

/// The visits of the customers whose hits these are (each slice sorted by customer), with names
/// numbered in `names`.
fn visits_of(
    slices: &[&[(u64, Small)]],
    strings: &Strings,
    besides: &Besides,
    own: &[String],
    agents: &Agents,
    tz: Tz,
    names: &mut Names,
) -> Rows {
    let mut out = Vec::new();
    let mut at = vec![0; slices.len()];
    loop {
        let next = slices.iter().zip(&at).filter_map(|(s, &i)| s.get(i).map(|h| h.0)).min();
        let Some(c) = next else { break };
        let mut list = Vec::new();
        for (s, i) in slices.iter().zip(&mut at) {
            while let Some((_, small)) = s.get(*i).filter(|h| h.0 == c) {
                list.push(strings.hit(small));
                *i += 1;
            }
        }
        let city = besides.cities.get(&c).map(|&n| besides.city_names[n as usize].as_str());
        for v in visits(list, own, agents) {
            let mut n = 0;
            let mut revenue = 0.0;
            for (seq, _) in &v.order_events {
                if let Some(net) = besides.nets.get(seq) {
                    n += 1;
                    revenue += net;
                }
            }
            let row = row_of(&v, city, revenue, n, names);
            out.push(((local_day(v.start, tz), c, v.start), row));
        }
    }
    out
}

/// What a build did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Built {
    pub events: u64,
    pub visits: u64,
    pub days: u64,
}

impl std::fmt::Display for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{} events: {} visits on {} days",
            self.events, self.visits, self.days
        )
    }
}

/// Builds every reports table again from the log, through the writer (the server may be taking
/// events meanwhile: they are applied after, from the mark). Returns None when stopped.
pub fn rebuild(store: &Store, tz: Tz, agents: &Agents, stop: &AtomicBool) -> Result<Option<Built>, store::Error> {
    store.write_blocking(|tx| {
        tx.clear_web()?;
        tx.delete_meta(MARK)?;
        Ok::<_, store::Error>(())
    })?;
    let read = store.read()?;
    let last = read.last_seq()?;
    let own = own_hosts(&read)?;
    let mut names = Names::load(&read)?;
    let started = Instant::now();
    let (parts, besides) = read_all(&read, last, tz, stop)?;
    drop(read);
    if stop.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut built = Built {
        events: parts.iter().map(|p| p.events).sum(),
        ..Built::default()
    };
    tracing::info!(
        events = built.events,
        seconds = started.elapsed().as_secs_f64(),
        "web reports: the log read"
    );
    let started = Instant::now();
    let rows = cut_visits(parts, &besides, &own, agents, tz, &mut names);
    built.visits = rows.len() as u64;
    tracing::info!(
        visits = built.visits,
        seconds = started.elapsed().as_secs_f64(),
        "web reports: the visits cut"
    );
    let started = Instant::now();
    let mut customer_days = Vec::new();
    let Some(days) = write_days(store, rows, names.take_new(), &mut customer_days, stop)? else {
        return Ok(None);
    };
    built.days = days;
    // The days each customer has visits on, in key order.
    customer_days.sort_unstable();
    for chunk in customer_days.chunks(DAYS_PER_COMMIT) {
        let ch = Arc::new(Changes {
            customer_days: chunk.iter().map(|&(c, day)| (c, day, true)).collect(),
            ..Changes::default()
        });
        store.write_blocking(move |tx| ch.write(tx))?;
    }
    // Cohorts: each customer's order months; and the mark.
    let mut pending = Changes::default();
    let mut cohorts: BTreeMap<(i32, i32), u32> = BTreeMap::new();
    for (c, mut list) in besides.months {
        list.sort_unstable();
        for &m in &list {
            *cohorts.entry((list[0], m)).or_default() += 1;
        }
        pending.months.push((c, list));
    }
    pending.cohorts = cohorts.into_iter().collect();
    pending.mark = Some(Mark {
        applied: last,
        tz: tz.name().into(),
        version: VERSION,
    });
    let ch = Arc::new(pending);
    store.write_blocking(move |tx| ch.write(tx))?;
    tracing::info!(
        days = built.days,
        seconds = started.elapsed().as_secs_f64(),
        "web reports: the tables written"
    );
    Ok(Some(built))
}

/// Step 1: the log up to `last`, by [`readers`] at once, and beside them what visits need besides.
fn read_all(read: &ReadTx, last: u64, tz: Tz, stop: &AtomicBool) -> Result<(Vec<Part>, Besides), store::Error> {
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..readers())
            .map(|_| s.spawn(|| read_log(read, &next, last, stop)))
            .collect();
        let besides = s.spawn(|| besides(read, tz));
        let parts = readers
            .into_iter()
            .map(|r| r.join().expect("a reader of the log does not panic"))
            .collect::<Result<Vec<Part>, _>>();
        let besides = besides.join().expect("a reader of orders does not panic");
        Ok((parts?, besides?))
    })
}

/// Step 2: each customer's visits, in (day, customer, start) order, their names numbered in `names`.
/// The readers' strings are put in one numbering and each reader's hits in customer order; then
/// the customers are shared out between the cores by id, each core numbering names its own way
/// until its rows are renumbered in `names`.
fn cut_visits(
    mut parts: Vec<Part>,
    besides: &Besides,
    own: &[String],
    agents: &Agents,
    tz: Tz,
    names: &mut Names,
) -> Rows {
    let mut strings = Strings::new();
    let renumbered: Vec<Vec<u32>> = parts
        .iter()
        .map(|p| {
            let all = p.strings.all.iter().enumerate();
            all.map(|(id, s)| if id == 0 { 0 } else { strings.id(Some(s)) })
                .collect()
        })
        .collect();
    std::thread::scope(|s| {
        for (part, ids) in parts.iter_mut().zip(&renumbered) {
            s.spawn(move || {
                part.strings = Strings::new();
                for (_, h) in &mut part.hits {
                    for id in &mut h.strings {
                        *id = ids[*id as usize];
                    }
                }
                part.hits.sort_unstable_by_key(|(c, h)| (*c, h.at, h.seq));
            });
        }
    });
    // Core k takes the customers from `starts[k]` up to the next start.
    let mut starts: Vec<u64> = {
        let cores = cores();
        let mut sample: Vec<u64> = parts
            .iter()
            .flat_map(|p| p.hits.iter().step_by(1000).map(|h| h.0))
            .collect();
        sample.sort_unstable();
        (1..cores)
            .filter_map(|k| sample.get(sample.len() * k / cores).copied())
            .collect()
    };
    starts.insert(0, 0);
    starts.dedup();
    let slices = |k: usize| -> Vec<&[(u64, Small)]> {
        parts
            .iter()
            .map(|p| {
                let a = p.hits.partition_point(|h| h.0 < starts[k]);
                let b = starts
                    .get(k + 1)
                    .map_or(p.hits.len(), |&end| p.hits.partition_point(|h| h.0 < end));
                &p.hits[a..b]
            })
            .collect()
    };
    let made: Vec<(Rows, Names)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..starts.len())
            .map(|k| {
                let slices = slices(k);
                let strings = &strings;
                s.spawn(move || {
                    let mut names = Names::new();
                    let rows = visits_of(&slices, strings, besides, own, agents, tz, &mut names);
                    (rows, names)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("cutting visits does not panic"))
            .collect()
    });
    let mut rows: Rows = Vec::with_capacity(made.iter().map(|m| m.0.len()).sum());
    for (mut part, local) in made {
        let ids = local.ids_in(names);
        for (_, row) in &mut part {
            row.renumber(&ids);
        }
        rows.append(&mut part);
    }
    rows.sort_unstable_by_key(|(key, _)| *key);
    rows
}

/// Step 3: day by day, the visits and their cells (after the names), each batch written while
/// the next is worked out; each customer's days noted in `customer_days`. Returns the days
/// written, or None when stopped.
fn write_days(
    store: &Store,
    rows: Rows,
    names: Vec<(String, u32)>,
    customer_days: &mut Vec<(u64, i32)>,
    stop: &AtomicBool,
) -> Result<Option<u64>, store::Error> {
    let mut days = 0;
    let (sender, batches) = std::sync::mpsc::sync_channel::<Changes>(1);
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> Result<(), store::Error> {
            for ch in batches {
                let ch = Arc::new(ch);
                store.write_blocking(move |tx| ch.write(tx))?;
            }
            Ok(())
        });
        let mut pending = Changes {
            names,
            ..Changes::default()
        };
        let mut rows = rows.into_iter().peekable();
        while let Some(&((day, _, _), _)) = rows.peek() {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let mut today = Vec::new();
            while let Some(r) = rows.next_if(|((d, _, _), _)| *d == day) {
                today.push(r);
            }
            let mut cells: HashMap<(Dim, u32), Cell> = HashMap::new();
            for mine in today.chunk_by(|a, b| a.0.1 == b.0.1) {
                let c = mine[0].0.1;
                let list: Vec<&Row> = mine.iter().map(|(_, r)| r).collect();
                let starts: Vec<i64> = mine.iter().map(|((_, _, s), _)| *s).collect();
                for (key, (part, bought)) in shares(&list, &starts) {
                    let cell = cells.entry(key).or_default();
                    cell.apply(&part, 1);
                    if part.visits > 0 {
                        cell.visitors.insert(c);
                    }
                    if bought {
                        cell.buyers.insert(c);
                    }
                }
                customer_days.push((c, day));
            }
            let mut cells: Vec<((i32, u8, u32), Option<Cell>)> = cells
                .into_iter()
                .map(|((dim, value), cell)| ((day, dim as u8, value), Some(cell)))
                .collect();
            cells.sort_unstable_by_key(|(key, _)| *key);
            pending.cells.append(&mut cells);
            pending
                .visits
                .extend(today.into_iter().map(|(key, row)| (key, Some(row))));
            days += 1;
            if pending.visits.len() >= VISITS_PER_COMMIT && sender.send(std::mem::take(&mut pending)).is_err() {
                break;
            }
        }
        // A failed send leaves the writer's error to its join.
        let _ = sender.send(pending);
        drop(sender);
        writer.join().expect("the reports' writer does not panic")
    })?;
    Ok((!stop.load(Ordering::Relaxed)).then_some(days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::EventRecord;

    fn stored(v: serde_json::Value) -> EventRecord {
        serde_json::from_value(v).unwrap()
    }

    /// What a hit holds, to compare.
    fn seen(h: &Hit) -> String {
        format!("{h:?}")
    }

    #[test]
    fn hits_numbered_and_read_back_are_the_same() {
        let e = stored(serde_json::json!({
            "kind": "page", "customer": 1, "message_id": "m", "timestamp": 5, "received_at": 6,
            "properties": {"url": "https://shop.example/p/1", "referrer": "https://search.naver.com/"},
            "context": {"userAgent": "UA", "campaign": {"medium": "cpc"}}
        }));
        let mut h = Hit::of(&e);
        h.seq = 3;
        let mut strings = Strings::new();
        let small = strings.small(&h);
        assert_eq!(seen(&strings.hit(&small)), seen(&h));
    }
}
