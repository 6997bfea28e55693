//! The reports' follower: reads the log after the sequence it has applied and keeps the visits,
//! the days' cells and the cohorts in step, in one commit per batch with the new mark. A new
//! event at time t can only change the visits of its customer's run of events around t (no gap
//! over 30 minutes), so that run is read again and its visits replace the ones stored for it;
//! the days those visits start on are then re-shared into their cells. A merged customer's visits
//! go, and the survivor's are read again whole; an erased customer's go. Events are read slim
//! (`slim`), as the build reads them.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::rollup::{Cell, Dim, Names, Part, Row, row_of, shares};
use super::slim::Slim;
use crate::analysis::local_day;
use crate::store::records::{EventKind, EventRecord};
use crate::store::{self, ReadTx, Store, Tx};
use crate::traffic::visit::{VISIT_GAP_MS, makes_visits};
use crate::traffic::{Agents, Hit, visits};

/// The meta key of the follower's mark.
pub const MARK: &str = "web_reports";
/// Bumped when what the follower keeps changes meaning: a store with another version is rebuilt.
pub const VERSION: u32 = 1;
/// Events read per batch. A batch re-reads each changed customer's run of events and writes
/// their visits again, once however many of their events it holds: under a burst, fewer and
/// larger batches do much less (at 20,000, the ingest bench's 300,000 events over 20,000
/// visitors had each visit re-read and rewritten fifteen times).
pub const BATCH: usize = 100_000;

/// What the reports' tables were built to: the last event applied, the zone days were cut in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub applied: u64,
    pub tz: String,
    pub version: u32,
}

impl Mark {
    pub fn load(read: &ReadTx) -> Result<Option<Mark>, store::Error> {
        read.meta(MARK)
    }

    /// Whether tables built to this mark can be followed on: same zone and version, not ahead
    /// of the log (a restored backup).
    pub fn fits(&self, tz: Tz, last: u64) -> bool {
        self.tz == tz.name() && self.version == VERSION && self.applied <= last
    }
}

/// Everything one batch writes, computed from a snapshot outside the writer.
#[derive(Default)]
pub struct Changes {
    pub visits: Vec<((i32, u64, i64), Option<Row>)>,
    pub customer_days: Vec<(u64, i32, bool)>,
    pub cells: Vec<((i32, u8, u32), Option<Cell>)>,
    pub names: Vec<(String, u32)>,
    pub months: Vec<(u64, Vec<i32>)>,
    pub cohorts: Vec<((i32, i32), u32)>,
    pub mark: Option<Mark>,
}

impl Changes {
    pub fn write(&self, tx: &mut Tx) -> Result<(), store::Error> {
        tx.put_web_names(self.names.iter().map(|(name, id)| (name.as_str(), *id)))?;
        tx.put_web_visits(self.visits.iter().map(|(key, row)| (*key, row.as_ref())))?;
        tx.put_web_customer_days(self.customer_days.iter().copied())?;
        tx.put_web_cells(self.cells.iter().map(|(key, cell)| (*key, cell.as_ref())))?;
        tx.put_web_order_months(self.months.iter().map(|(c, m)| (*c, m.as_slice())))?;
        tx.put_web_cohorts(self.cohorts.iter().copied())?;
        if let Some(mark) = &self.mark {
            tx.put_meta(MARK, mark)?;
        }
        Ok(())
    }
}

/// The shop's own hosts: its `shop_url`'s.
pub fn own_hosts(read: &ReadTx) -> Result<Vec<String>, store::Error> {
    let settings = crate::campaign::settings::Settings::load(read)?;
    Ok(settings
        .shop_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .into_iter()
        .collect())
}

/// Months since 1970-01 of the shop-local date of `ms`.
pub fn local_month(ms: i64, tz: Tz) -> i32 {
    use chrono::{Datelike, TimeZone};
    let date = tz
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default();
    (date.year() - 1970) * 12 + date.month0() as i32
}

/// A visit's orders as they stand now: those whose order was made by this very event, at their
/// net (total less refunds). An `Order Completed` that made no order (a repeat of one already
/// known) is no order of this visit.
pub fn orders_of(read: &ReadTx, order_events: &[(u64, Option<Cow<str>>)]) -> Result<(u32, f64), store::Error> {
    let mut n = 0;
    let mut revenue = 0.0;
    for (seq, id) in order_events {
        let Some(id) = id else { continue };
        if let Some(order) = read.order(id)?
            && order.seq == *seq
        {
            n += 1;
            revenue += (order.total - order.refunded_amount()).max(0.0);
        }
    }
    Ok((n, revenue))
}

fn city_of(read: &ReadTx, customer: u64) -> Result<Option<String>, store::Error> {
    Ok(read
        .customer(customer)?
        .and_then(|c| c.city)
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty()))
}

/// What one batch came to.
pub enum Batch {
    /// Nothing new.
    Nothing,
    /// It gave way before it was done (its names given meanwhile are not written).
    GaveWay,
    Changes(Changes),
}

/// Reads the events after `applied` (at most [`BATCH`]) and works out what they change.
/// `gone`: customers merged or erased since the last batch. Returns the changes (with the new
/// mark). Stops between customers, having changed nothing, once `give_way` says so.
pub fn batch(
    read: &ReadTx,
    tz: Tz,
    agents: &Agents,
    names: &mut Names,
    applied: u64,
    gone: &BTreeSet<u64>,
    give_way: &dyn Fn() -> bool,
) -> Result<Batch, store::Error> {
    // The batch's events as far as they say whose visits changed: read slim, as the build reads
    // them (a refund whole, for its order id as the JSON has it).
    let mut last = None;
    let mut times: HashMap<u64, Vec<i64>> = HashMap::new();
    let mut ordered: HashSet<u64> = HashSet::new();
    let mut read_so_far = 0;
    read.for_each_event_bytes(applied.saturating_add(1)..=u64::MAX, |seq, bytes| {
        last = Some(seq);
        read_so_far += 1;
        let e = Slim::read(seq, bytes)?;
        if makes_visits(e.kind, e.event) {
            times.entry(e.customer).or_default().push(e.timestamp);
        }
        if e.kind == EventKind::Track {
            match e.event {
                Some("Order Completed") => {
                    ordered.insert(e.customer);
                }
                Some("Order Refunded") => {
                    // The refunded order's visit is worth less now.
                    let e: EventRecord = ReadTx::decode_event(seq, bytes)?;
                    let id = e.properties.get("order_id").and_then(|v| match v {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    });
                    if let Some(order) = id.map(|id| read.order(&id)).transpose()?.flatten() {
                        times.entry(order.customer).or_default().push(order.placed_at);
                    }
                }
                _ => {}
            }
        }
        Ok(read_so_far < BATCH && !give_way())
    })?;
    if give_way() {
        return Ok(Batch::GaveWay);
    }
    if last.is_none() && gone.is_empty() {
        return Ok(Batch::Nothing);
    }
    let Some(mut ch) = changes_for(read, tz, agents, names, &times, &ordered, gone, give_way)? else {
        return Ok(Batch::GaveWay);
    };
    ch.mark = Some(Mark {
        applied: last.unwrap_or(applied),
        tz: tz.name().into(),
        version: VERSION,
    });
    Ok(Batch::Changes(ch))
}

/// A customer's visits that changed: the starts of the stored ones to take out, the new ones.
#[derive(Default)]
struct Redo {
    out: Vec<(i32, i64)>,
    new: Vec<(i32, i64, Row)>,
}

/// The changes of a batch, or None when it gave way.
#[allow(clippy::too_many_arguments)] // one batch's inputs, each its own
fn changes_for(
    read: &ReadTx,
    tz: Tz,
    agents: &Agents,
    names: &mut Names,
    times: &HashMap<u64, Vec<i64>>,
    ordered: &HashSet<u64>,
    gone: &BTreeSet<u64>,
    give_way: &dyn Fn() -> bool,
) -> Result<Option<Changes>, store::Error> {
    let own = own_hosts(read)?;
    let mut redo: HashMap<u64, Redo> = HashMap::new();
    let mut whole: BTreeSet<u64> = BTreeSet::new();
    let mut months_of: BTreeSet<u64> = ordered.iter().copied().collect();
    // The gone: all their visits out; a merged one's survivor read again whole.
    for &g in gone {
        let r = redo.entry(g).or_default();
        for day in read.web_customer_days(g)? {
            for (start, _) in read.web_visits_of::<Row>(day, g)? {
                r.out.push((day, start));
            }
        }
        months_of.insert(g);
        let mut at = g;
        for _ in 0..16 {
            match read.customer(at)?.and_then(|c| c.merged_into) {
                Some(next) => at = next,
                None => break,
            }
        }
        if at != g {
            whole.insert(at);
            months_of.insert(at);
        }
    }
    for &c in &whole {
        if give_way() {
            return Ok(None);
        }
        let r = redo.entry(c).or_default();
        for day in read.web_customer_days(c)? {
            for (start, _) in read.web_visits_of::<Row>(day, c)? {
                r.out.push((day, start));
            }
        }
        let events = read.customer_event_bytes_between(c, i64::MIN, i64::MAX)?;
        let city = city_of(read, c)?;
        for v in visits(hits_of(&events)?, &own, agents) {
            let (n, revenue) = orders_of(read, &v.order_events)?;
            r.new.push((
                local_day(v.start, tz),
                v.start,
                row_of(&v, city.as_deref(), revenue, n, names),
            ));
        }
    }
    for (&c, ts) in times {
        if gone.contains(&c) || whole.contains(&c) {
            continue;
        }
        if give_way() {
            return Ok(None);
        }
        let mut ts = ts.clone();
        ts.sort_unstable();
        let mut windows: Vec<(i64, i64)> = Vec::new();
        for t in ts {
            if windows.last().is_some_and(|&(lo, hi)| t >= lo && t <= hi) {
                continue;
            }
            windows.push(read.customer_event_run(c, t, VISIT_GAP_MS)?);
        }
        windows.sort_unstable();
        windows.dedup();
        let city = city_of(read, c)?;
        let r = redo.entry(c).or_default();
        for (lo, hi) in windows {
            for day in local_day(lo, tz)..=local_day(hi, tz) {
                for (start, _) in read.web_visits_of::<Row>(day, c)? {
                    if start >= lo && start <= hi && !r.out.contains(&(day, start)) {
                        r.out.push((day, start));
                    }
                }
            }
            let events = read.customer_event_bytes_between(c, lo, hi)?;
            for v in visits(hits_of(&events)?, &own, agents) {
                if r.new.iter().any(|(_, s, _)| *s == v.start) {
                    continue;
                }
                let (n, revenue) = orders_of(read, &v.order_events)?;
                r.new.push((
                    local_day(v.start, tz),
                    v.start,
                    row_of(&v, city.as_deref(), revenue, n, names),
                ));
            }
        }
    }
    let mut ch = Changes::default();
    let mut cells: HashMap<(i32, u8, u32), Cell> = HashMap::new();
    let mut customers: Vec<u64> = redo.keys().copied().collect();
    customers.sort_unstable();
    for c in customers {
        if give_way() {
            return Ok(None);
        }
        let r = &redo[&c];
        let days: BTreeSet<i32> = r
            .out
            .iter()
            .map(|(d, _)| *d)
            .chain(r.new.iter().map(|(d, _, _)| *d))
            .collect();
        for day in days {
            let before: Vec<(i64, Row)> = read.web_visits_of(day, c)?;
            let mut after: Vec<(i64, Row)> = before
                .iter()
                .filter(|(s, _)| !r.out.contains(&(day, *s)))
                .cloned()
                .collect();
            for (d, s, row) in &r.new {
                if *d == day {
                    after.retain(|(x, _)| x != s);
                    after.push((*s, row.clone()));
                }
            }
            after.sort_by_key(|(s, _)| *s);
            if before == after {
                continue;
            }
            for (s, _) in &before {
                if !after.iter().any(|(x, _)| x == s) {
                    ch.visits.push(((day, c, *s), None));
                }
            }
            for (s, row) in &after {
                if !before.iter().any(|(x, r)| x == s && r == row) {
                    ch.visits.push(((day, c, *s), Some(row.clone())));
                }
            }
            if before.is_empty() != after.is_empty() {
                ch.customer_days.push((c, day, !after.is_empty()));
            }
            reshare(read, &mut cells, day, c, &before, &after)?;
        }
    }
    for (key, cell) in cells {
        ch.cells.push((key, (!cell.is_empty()).then_some(cell)));
    }
    cohorts(read, tz, &months_of, gone, &mut ch)?;
    ch.names = names.take_new();
    Ok(Some(ch))
}

/// The events (sequence and stored bytes) that make visits, as hits borrowing from the bytes.
pub fn hits_of(events: &[(u64, Vec<u8>)]) -> Result<Vec<Hit<'_>>, store::Error> {
    let mut hits = Vec::with_capacity(events.len());
    for (seq, bytes) in events {
        hits.extend(Slim::read(*seq, bytes)?.hit(*seq));
    }
    Ok(hits)
}

/// Takes a customer's share of one day out of the cells and puts their new one in.
fn reshare(
    read: &ReadTx,
    cells: &mut HashMap<(i32, u8, u32), Cell>,
    day: i32,
    c: u64,
    before: &[(i64, Row)],
    after: &[(i64, Row)],
) -> Result<(), store::Error> {
    let share = |rows: &[(i64, Row)]| {
        let r: Vec<&Row> = rows.iter().map(|(_, r)| r).collect();
        let s: Vec<i64> = rows.iter().map(|(s, _)| *s).collect();
        shares(&r, &s)
    };
    let old = share(before);
    let new = share(after);
    let keys: HashSet<(Dim, u32)> = old.keys().chain(new.keys()).copied().collect();
    for key in keys {
        let (o, n) = (old.get(&key), new.get(&key));
        if o == n {
            continue;
        }
        let k = (day, key.0 as u8, key.1);
        let cell = match cells.entry(k) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(read.web_cell::<Cell>(k)?.unwrap_or_default()),
        };
        let zero = (Part::default(), false);
        let (o, n) = (o.unwrap_or(&zero), n.unwrap_or(&zero));
        cell.apply(&o.0, -1);
        cell.apply(&n.0, 1);
        if n.0.visits > 0 {
            cell.visitors.insert(c);
        } else {
            cell.visitors.remove(c);
        }
        if n.1 {
            cell.buyers.insert(c);
        } else {
            cell.buyers.remove(c);
        }
    }
    Ok(())
}

/// Customers by the month of their first order: each given customer's order months read again,
/// and the cohort cells moved from their old months to their new.
fn cohorts(
    read: &ReadTx,
    tz: Tz,
    customers: &BTreeSet<u64>,
    gone: &BTreeSet<u64>,
    ch: &mut Changes,
) -> Result<(), store::Error> {
    let mut delta: HashMap<(i32, i32), i64> = HashMap::new();
    for &c in customers {
        let old = read.web_order_months(c)?;
        let new: Vec<i32> = if gone.contains(&c) {
            Vec::new()
        } else {
            let set: BTreeSet<i32> = read
                .customer_order_times(c)?
                .into_iter()
                .map(|t| local_month(t, tz))
                .collect();
            set.into_iter().collect()
        };
        if old == new {
            continue;
        }
        for (months, sign) in [(&old, -1), (&new, 1)] {
            if let Some(&first) = months.first() {
                for &m in months.iter() {
                    *delta.entry((first, m)).or_default() += sign;
                }
            }
        }
        ch.months.push((c, new));
    }
    for (key, d) in delta {
        if d != 0 {
            let n = (read.web_cohort(key)? as i64 + d).max(0) as u32;
            ch.cohorts.push((key, n));
        }
    }
    Ok(())
}

/// The follower's state between batches.
pub struct Follower {
    pub names: Names,
    pub applied: u64,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stepped {
    Applied,
    Nothing,
    GaveWay,
}

/// Applies one batch: computes from a snapshot, writes through the writer.
pub fn step(
    store: &Store,
    tz: Tz,
    agents: &Arc<Agents>,
    f: &mut Follower,
    gone: &BTreeSet<u64>,
    give_way: &dyn Fn() -> bool,
) -> Result<Stepped, store::Error> {
    let read = store.read()?;
    let ch = match batch(&read, tz, agents, &mut f.names, f.applied, gone, give_way)? {
        Batch::Nothing => return Ok(Stepped::Nothing),
        Batch::GaveWay => {
            // The names it gave are not written.
            f.names.forget_new();
            return Ok(Stepped::GaveWay);
        }
        Batch::Changes(ch) => ch,
    };
    let applied = ch.mark.as_ref().map_or(f.applied, |m| m.applied);
    let ch = Arc::new(ch);
    let res = store.write_blocking(move |tx| ch.write(tx));
    if let Err(e) = res {
        // The names given for this batch were not written: start again from the stored ones.
        f.names = Names::load(&store.read()?)?;
        return Err(e);
    }
    f.applied = applied;
    Ok(Stepped::Applied)
}
