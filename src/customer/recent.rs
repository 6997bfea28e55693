//! Recent touches in memory: per (kind, item), every view, cart and checkout of the last
//! [`HORIZON_DAYS`] days as (time, customer row), in time order. "Viewed the perfume category
//! twice in 14 days" then counts a window of one list instead of reading each candidate's events
//! from redb (2.2 s at a million customers, most of it point reads).
//!
//! Built after the columns from the per-customer event index (the events of the horizon, read in
//! sequence order), then kept by the writer's notices, whose touches carry the sequence of their
//! event: a touch at or below the build's snapshot is already in. Purchases are not here: the
//! order time index answers those.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use roaring::RoaringBitmap;
use serde::Deserialize;
use serde_json::Value;

use crate::store::{self, ReadTx, Store};

/// How far back the build reads; windows that start earlier are answered the slow way.
pub const HORIZON_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;
/// Times are seconds since 2020-01-01 UTC, to fit a u32.
const EPOCH_S: i64 = 1_577_836_800;

fn secs(at_ms: i64) -> Option<u32> {
    u32::try_from(at_ms.div_euclid(1000) - EPOCH_S).ok()
}

#[derive(Default)]
pub struct Recent {
    /// Whether the lists hold every touch since `horizon`.
    ready: bool,
    /// Unix millis: the lists are complete from here on (when ready).
    horizon: i64,
    /// The last event sequence the build read; notices at or below it are in already.
    built_seq: u64,
    items: HashMap<String, u32>,
    /// (kind, item) → (seconds since 2020, row), in time order.
    lists: HashMap<(u8, u32), Vec<(u32, u32)>>,
    /// Rows merged into another customer, by that customer's id: their touches count for it.
    merged: HashMap<u32, u64>,
    /// Touches told before the build was merged in: (kind, item, time, seq, row).
    pending: Vec<(u8, String, i64, u64, u32)>,
}

impl Recent {
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// Whether a window from `start` (unix millis) can be answered here.
    pub fn covers(&self, start: i64) -> bool {
        self.ready && start >= self.horizon
    }

    fn push(&mut self, kind: u8, item: &str, at: i64, row: u32) {
        let Some(t) = secs(at) else { return };
        let next = self.items.len() as u32;
        let id = *self.items.entry(item.to_string()).or_insert(next);
        let list = self.lists.entry((kind, id)).or_default();
        // Events mostly arrive in time order; a backfilled one is put in its place.
        if list.last().is_none_or(|&(last, _)| last <= t) {
            list.push((t, row));
        } else {
            let at = list.partition_point(|&(x, _)| x <= t);
            list.insert(at, (t, row));
        }
    }

    /// Adds what a notice told of one customer's row.
    pub fn apply(&mut self, row: u32, touches: &[(u8, String, i64, u64)], merged_into: Option<u64>) {
        if let Some(into) = merged_into {
            self.merged.insert(row, into);
        }
        for (kind, item, at, seq) in touches {
            if !self.ready {
                self.pending.push((*kind, item.clone(), *at, *seq, row));
            } else if *seq > self.built_seq {
                self.push(*kind, item, *at, row);
            }
        }
    }

    /// Takes in a build, and the touches told meanwhile that it does not hold.
    pub fn merge(&mut self, built: Recent) {
        let pending = std::mem::take(&mut self.pending);
        let merged = std::mem::take(&mut self.merged);
        *self = built;
        self.merged.extend(merged);
        for (kind, item, at, seq, row) in pending {
            if seq > self.built_seq {
                self.push(kind, &item, at, row);
            }
        }
        self.ready = true;
    }

    /// How many times each customer (by row; merged rows count for the customer they joined)
    /// touched any of `keys` in this way in [start, end]: rows with at least `min` of them.
    pub fn at_least(
        &self,
        kind: u8,
        keys: impl IntoIterator<Item = impl AsRef<str>>,
        start: i64,
        end: i64,
        min: u32,
        rows: &HashMap<u64, u32>,
    ) -> RoaringBitmap {
        let (from, to) = (secs(start).unwrap_or(0), secs(end).unwrap_or(u32::MAX));
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for key in keys {
            let Some(id) = self.items.get(key.as_ref()) else {
                continue;
            };
            let Some(list) = self.lists.get(&(kind, *id)) else {
                continue;
            };
            let first = list.partition_point(|&(t, _)| t < from);
            for &(t, row) in &list[first..] {
                if t > to {
                    break;
                }
                *counts.entry(self.owner(row, rows)).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|&(_, n)| n >= min)
            .map(|(row, _)| row)
            .collect()
    }

    /// The row whose customer a row's touches belong to now (following merges).
    fn owner(&self, mut row: u32, rows: &HashMap<u64, u32>) -> u32 {
        for _ in 0..16 {
            match self.merged.get(&row).and_then(|id| rows.get(id)) {
                Some(&next) if next != row => row = next,
                _ => break,
            }
        }
        row
    }
}

/// The fields of an event the build needs.
#[derive(Deserialize)]
struct Touched {
    #[serde(default)]
    event: Option<String>,
    /// The time the interests counted it at.
    timestamp: i64,
    #[serde(default)]
    properties: Value,
}

fn kind_of(event: &str) -> Option<u8> {
    Some(match event {
        "Product Viewed" | "Product Clicked" => 0,
        "Product Added" => 1,
        "Checkout Started" | "Checkout Step Completed" | "Payment Info Entered" => 2,
        _ => return None,
    })
}

/// Reads the touches of the last [`HORIZON_DAYS`] days before `now` from the store, by the rows of
/// `rows`, counted as the interests count them (each product line: the product and every level of
/// its category). None when `stop` turned true.
pub fn build(
    store: &Store,
    rows: &HashMap<u64, u32>,
    now: i64,
    stop: &AtomicBool,
) -> Result<Option<Recent>, store::Error> {
    let read = store.read()?;
    let horizon = now - HORIZON_DAYS * DAY_MS;
    let mut recent = Recent {
        horizon,
        built_seq: read.last_seq()?,
        ..Recent::default()
    };
    // The events of the horizon, by the current owner of each (merges rewrite the index).
    let mut wanted: Vec<(u64, u64)> = Vec::new();
    let mut n = 0u64;
    read.for_each_customer_event_key(|customer, at, seq| {
        if at >= horizon && seq <= recent.built_seq {
            wanted.push((seq, customer));
        }
        n += 1;
        !(n.is_multiple_of(100_000) && stop.load(Ordering::Relaxed))
    })?;
    if stop.load(Ordering::Relaxed) {
        return Ok(None);
    }
    wanted.sort_unstable();
    let mut categories: HashMap<String, Option<String>> = HashMap::new();
    for (i, (seq, customer)) in wanted.into_iter().enumerate() {
        if i % 100_000 == 0 && stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(&row) = rows.get(&customer) else { continue };
        let Some(e) = read.event_as::<Touched>(seq)? else {
            continue;
        };
        let Some(kind) = e.event.as_deref().and_then(kind_of) else {
            continue;
        };
        let at = e.timestamp;
        for (id, category) in lines(&read, &e.properties, &mut categories)? {
            recent.push(kind, &format!("p:{id}"), at, row);
            for level in category
                .as_deref()
                .map(crate::catalog::category_levels)
                .unwrap_or_default()
            {
                recent.push(kind, &format!("c:{level}"), at, row);
            }
        }
    }
    Ok(Some(recent))
}

/// An event's product lines as the writer reads them: (product id, category of the line or else
/// of the catalogue product).
fn lines(
    read: &ReadTx,
    props: &Value,
    categories: &mut HashMap<String, Option<String>>,
) -> Result<Vec<(String, Option<String>)>, store::Error> {
    let items = crate::catalog::products_of_value(props);
    let mut out = Vec::with_capacity(items.len());
    for p in items {
        let Some(id) = crate::catalog::product_id_with(p, |sku| read.product_id_by_sku(sku))? else {
            continue;
        };
        let category = match p
            .get("category")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => Some(c.to_string()),
            None => match categories.get(&id) {
                Some(c) => c.clone(),
                None => {
                    let c = read.product(&id)?.and_then(|p| p.category);
                    categories.insert(id.clone(), c.clone());
                    c
                }
            },
        };
        out.push((id, category));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_790_000_000_000;
    const MIN: i64 = 60_000;

    fn touch(kind: u8, item: &str, at: i64, seq: u64) -> (u8, String, i64, u64) {
        (kind, item.to_string(), at, seq)
    }

    #[test]
    fn counts_a_window_follows_merges_and_skips_what_the_build_holds() {
        let rows: HashMap<u64, u32> = HashMap::from([(10, 0), (11, 1), (12, 2)]);
        let mut live = Recent::default();
        // Told while the build runs: seq 5 is in the build, seq 7 is not.
        live.apply(0, &[touch(0, "c:향수", T0, 5)], None);
        live.apply(0, &[touch(0, "c:향수", T0 + MIN, 7)], None);
        let mut built = Recent {
            horizon: T0 - DAY_MS,
            built_seq: 6,
            ..Recent::default()
        };
        built.push(0, "c:향수", T0, 0);
        built.push(0, "c:향수", T0 - 2 * MIN, 1);
        built.push(0, "c:향수", T0 + 3 * MIN, 1);
        live.merge(built);
        assert!(live.ready() && live.covers(T0) && !live.covers(T0 - 2 * DAY_MS));
        let at_least = |r: &Recent, min, start, end| -> Vec<u32> {
            r.at_least(0, ["c:향수"], start, end, min, &rows).iter().collect()
        };
        // Row 0: T0 and T0+1m (not twice T0); row 1: T0-2m and T0+3m (the backfill in its place).
        assert_eq!(at_least(&live, 2, T0 - DAY_MS, T0 + DAY_MS), [0, 1]);
        assert_eq!(at_least(&live, 2, T0, T0 + DAY_MS), [0]);
        assert_eq!(at_least(&live, 1, T0 + 2 * MIN, T0 + DAY_MS), [1]);
        assert_eq!(at_least(&live, 1, T0 - DAY_MS, T0 - 5 * MIN), Vec::<u32>::new());
        // Row 1 is merged into customer 12 (row 2): its touches count there, with row 2's own.
        live.apply(1, &[], Some(12));
        live.apply(2, &[touch(0, "c:향수", T0 + 4 * MIN, 9)], None);
        assert_eq!(at_least(&live, 3, T0 - DAY_MS, T0 + DAY_MS), [2]);
        // Another kind, another item: nothing.
        assert!(
            live.at_least(1, ["c:향수"], T0 - DAY_MS, T0 + DAY_MS, 1, &rows)
                .is_empty()
        );
        assert!(
            live.at_least(0, ["c:초콜릿"], T0 - DAY_MS, T0 + DAY_MS, 1, &rows)
                .is_empty()
        );
    }
}
