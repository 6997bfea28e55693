//! Evaluating a rule. Every condition yields a bitmap of customer-column rows; `all`, `any` and
//! `not` are bitmap and, or and and-not (DESIGN.md §6). Profile conditions read the in-memory
//! columns; the analysis fields read the day's snapshot (cached per day); activity in a window
//! reads the order and event indexes of redb, and per-customer history only for the candidates
//! that the all-time interest counts leave.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use chrono_tz::Tz;
use roaring::RoaringBitmap;
use serde_json::Value;

use super::rule::{Condition, Item, Recency, Rule, TouchKind, TraitTest};
use crate::analysis::{self, AnalysisChunk, Level};
use crate::customer::columns::Columns;
use crate::store::{self, ReadTx};

/// What an evaluation reads.
pub struct Env<'a> {
    pub cols: &'a Columns,
    pub read: &'a ReadTx,
    pub tz: Tz,
    /// The instant "today" and the windows are counted from (unix millis).
    pub now: i64,
    pub days: &'a AnalysisDays,
    /// The product index, for `interest` conditions (None: match words in the catalogue directly).
    pub search: Option<&'a crate::search::Search>,
    /// What customers hold, kept in memory, for the coupon attributes (None: read every hold).
    pub holds: Option<&'a crate::coupon::Holdings>,
}

impl Env<'_> {
    /// Every customer's coupon holds: the kept copy, or one read now.
    fn hold_index(&self) -> Result<std::sync::Arc<crate::coupon::HoldIndex>, store::Error> {
        match self.holds {
            Some(h) => h.current(),
            None => crate::coupon::HoldIndex::build(self.read).map(std::sync::Arc::new),
        }
    }
}

/// The rows of `rule`'s members.
pub fn evaluate(rule: &Rule, env: &Env) -> Result<RoaringBitmap, store::Error> {
    Ok(match rule {
        Rule::All(rules) => {
            let mut out: Option<RoaringBitmap> = None;
            for r in rules {
                let b = evaluate(r, env)?;
                out = Some(match out {
                    Some(acc) => acc & b,
                    None => b,
                });
                if out.as_ref().is_some_and(RoaringBitmap::is_empty) {
                    break;
                }
            }
            out.unwrap_or_default()
        }
        Rule::Any(rules) => {
            let mut out = RoaringBitmap::new();
            for r in rules {
                out |= evaluate(r, env)?;
            }
            out
        }
        Rule::Not(r) => &env.cols.live - evaluate(r, env)?,
        Rule::Cond(c) => condition(c, env)?,
    })
}

/// Unix millis of 00:00 shop time, `days - 1` days before the day of `now`: the start of a window
/// of `days` days, today included.
pub fn window_start(now: i64, tz: Tz, days: u32) -> i64 {
    let today = tz
        .timestamp_millis_opt(now)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let first = today - chrono::Duration::days(i64::from(days.max(1)) - 1);
    tz.from_local_datetime(&first.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or(i64::MIN)
}

/// The live rows that pass `keep`.
fn scan(cols: &Columns, keep: impl Fn(usize) -> bool) -> RoaringBitmap {
    RoaringBitmap::from_sorted_iter(cols.live.iter().filter(|&r| keep(r as usize))).expect("sorted")
}

/// The live rows of the customers in `ids` that pass `keep`; customers absent from `ids` get the
/// default value, so a count of zero can match too.
fn per_customer<V: Default + Copy>(cols: &Columns, ids: &HashMap<u64, V>, keep: impl Fn(V) -> bool) -> RoaringBitmap {
    let zero = keep(V::default());
    scan(cols, |r| match ids.get(&cols.ids[r]) {
        Some(v) => keep(*v),
        None => zero,
    })
}

fn recency(times: &[i64], r: Recency, env: &Env) -> RoaringBitmap {
    let (n, within) = match r {
        Recency::Within(n) => (n, true),
        Recency::NotWithin(n) => (n, false),
    };
    let start = window_start(env.now, env.tz, n);
    scan(env.cols, |row| {
        let t = times[row];
        t != i64::MIN && (t >= start) == within
    })
}

/// A bitmap of rows in any order (sorted first: roaring builds fastest from sorted rows).
fn rows_bitmap(mut rows: Vec<u32>) -> RoaringBitmap {
    rows.sort_unstable();
    rows.dedup();
    RoaringBitmap::from_sorted_iter(rows).expect("sorted and deduplicated")
}

fn condition(c: &Condition, env: &Env) -> Result<RoaringBitmap, store::Error> {
    let cols = env.cols;
    Ok(match c {
        Condition::SignedUp(r) => recency(&cols.signed_up, *r, env),
        Condition::LastSeen(r) => recency(&cols.last_seen, *r, env),
        Condition::LastOrder(r) => recency(&cols.last_order, *r, env),
        Condition::OrdersCount { cmp, days: None } => scan(cols, |r| cmp.matches(f64::from(cols.orders[r]))),
        Condition::TotalSpent { cmp, days: None } => scan(cols, |r| cmp.matches(cols.spent[r])),
        Condition::OrdersCount { cmp, days: Some(d) } => {
            let window = orders_in_window(env, *d)?;
            per_customer(cols, &window, |(n, _): (u32, f64)| cmp.matches(f64::from(n)))
        }
        Condition::TotalSpent { cmp, days: Some(d) } => {
            let window = orders_in_window(env, *d)?;
            per_customer(cols, &window, |(_, sum): (u32, f64)| cmp.matches(sum))
        }
        Condition::AvailableCoupons(cmp) => {
            // Everyone holding nothing has 0; the holders by their count.
            let coupons: HashMap<u64, crate::coupon::CouponRecord> = env.read.coupons()?.into_iter().collect();
            let holds = env.hold_index()?;
            let (mut matching, mut other) = (Vec::new(), Vec::new());
            for (customer, n) in holds.available(&coupons, env.now) {
                if let Some(&row) = cols.rows.get(&customer) {
                    if cmp.matches(f64::from(n)) {
                        &mut matching
                    } else {
                        &mut other
                    }
                    .push(row);
                }
            }
            if cmp.matches(0.0) {
                &cols.live - rows_bitmap(other)
            } else {
                rows_bitmap(matching) & &cols.live
            }
        }
        Condition::CouponCode(text) => {
            let needle = crate::coupon::normalise(text);
            let holds = env.hold_index()?;
            let rows = holds.with_code(&needle).filter_map(|c| cols.rows.get(&c).copied());
            rows_bitmap(rows.collect()) & &cols.live
        }
        Condition::Customers(ids) => {
            let rows = ids.iter().filter_map(|c| cols.rows.get(c).copied());
            rows_bitmap(rows.collect()) & &cols.live
        }
        Condition::TagsHas(tag) => cols.tags.get(tag).map(|b| b & &cols.live).unwrap_or_default(),
        Condition::TagsHasAny(tags) => {
            let mut out = RoaringBitmap::new();
            for tag in tags {
                if let Some(b) = cols.tags.get(tag) {
                    out |= b;
                }
            }
            out & &cols.live
        }
        Condition::City(names) | Condition::Country(names) => {
            let wanted: HashSet<u32> = names.iter().filter_map(|n| cols.place_id(n)).collect();
            let column = if matches!(c, Condition::City(_)) {
                &cols.city
            } else {
                &cols.country
            };
            scan(cols, |r| wanted.contains(&column[r]))
        }
        Condition::Consent { channel, granted } => {
            let given = &cols.consents[*channel as usize] & &cols.live;
            if *granted { given } else { &cols.live - given }
        }
        Condition::Touch {
            kind,
            item,
            min_count,
            days,
        } => touch(env, *kind, item, *min_count, *days)?,
        Condition::Interest { text, days } => interest(env, text, *days)?,
        Condition::Event { name, cmp, days } => {
            let (from, to) = match days {
                Some(d) => (window_start(env.now, env.tz, *d), env.now),
                None => (i64::MIN, i64::MAX),
            };
            let mut counts: HashMap<u64, u32> = HashMap::new();
            let mut err = None;
            env.read.for_each_event_key(from, to, |customer, _, seq| {
                if err.is_some() {
                    return;
                }
                match env.read.event(seq) {
                    Ok(Some(e)) if e.event.as_deref() == Some(name.as_str()) => {
                        *counts.entry(customer).or_default() += 1
                    }
                    Ok(_) => {}
                    Err(e) => err = Some(e),
                }
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            per_customer(cols, &counts, |n: u32| cmp.matches(f64::from(n)))
        }
        Condition::Trait { name, test } => {
            #[derive(serde::Deserialize)]
            struct Traits {
                #[serde(default)]
                traits: std::collections::BTreeMap<String, Value>,
            }
            let mut hits = RoaringBitmap::new();
            env.read.for_each_customer_as::<Traits>(|id, rec| {
                if let Some(&row) = cols.rows.get(&id)
                    && cols.live.contains(row)
                    && trait_matches(rec.traits.get(name), test)
                {
                    hits.insert(row);
                }
            })?;
            hits
        }
        Condition::RfmSegment { groups, days_ago } => {
            let codes: Vec<u8> = groups.iter().map(|g| g.code()).collect();
            on_day(env, *days_ago, |d, r| d.group.get(r).is_some_and(|g| codes.contains(g)))?
        }
        Condition::SpendTier { tiers, days_ago } => {
            let codes: Vec<u8> = tiers.iter().map(|l| l.code()).collect();
            on_day(env, *days_ago, |d, r| d.tier.get(r).is_some_and(|t| codes.contains(t)))?
        }
        Condition::ChurnRisk { levels, days_ago } => {
            let codes: Vec<u8> = levels.iter().map(|l: &Level| l.code()).collect();
            on_day(env, *days_ago, |d, r| d.churn.get(r).is_some_and(|t| codes.contains(t)))?
        }
        Condition::PredictedClv { cmp, days_ago } => on_day(env, *days_ago, |d, r| {
            d.clv
                .get(r)
                .is_some_and(|v| v.is_finite() && cmp.matches(f64::from(*v)))
        })?,
        Condition::ProbabilityAlive { cmp, days_ago } => on_day(env, *days_ago, |d, r| {
            d.p_alive
                .get(r)
                .is_some_and(|v| v.is_finite() && cmp.matches(f64::from(*v)))
        })?,
    })
}

/// Orders (not wholly refunded) and their amounts per customer, placed in the last `days` days.
fn orders_in_window(env: &Env, days: u32) -> Result<HashMap<u64, (u32, f64)>, store::Error> {
    let start = window_start(env.now, env.tz, days);
    let mut out: HashMap<u64, (u32, f64)> = HashMap::new();
    env.read.for_each_order_between(start, env.now, |customer, _, amount| {
        if amount > 0.0 {
            let e = out.entry(customer).or_default();
            e.0 += 1;
            e.1 += amount;
        }
    })?;
    Ok(out)
}

fn trait_matches(value: Option<&Value>, test: &TraitTest) -> bool {
    let as_number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let loosely_equal = |a: &Value, b: &Value| match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => a == b,
        },
    };
    match (test, value) {
        (TraitTest::Exists, v) => v.is_some_and(|v| !v.is_null()),
        (_, None | Some(Value::Null)) => matches!(test, TraitTest::Ne(_)),
        (TraitTest::Eq(want), Some(v)) => loosely_equal(v, want),
        (TraitTest::Ne(want), Some(v)) => !loosely_equal(v, want),
        (TraitTest::Contains(part), Some(v)) => match v {
            Value::String(s) => s.to_lowercase().contains(&part.to_lowercase()),
            Value::Array(a) => a
                .iter()
                .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(part))),
            _ => false,
        },
        (TraitTest::Ge(n), Some(v)) => as_number(v).is_some_and(|x| x >= *n),
        (TraitTest::Le(n), Some(v)) => as_number(v).is_some_and(|x| x <= *n),
    }
}

fn touch_code(kind: TouchKind) -> u8 {
    match kind {
        TouchKind::Viewed => 0,
        TouchKind::Carted => 1,
        TouchKind::Checkout => 2,
        TouchKind::Purchased => 3,
    }
}

/// The interest keys (`p:ID`, `c:CATEGORY`) an item of a rule names: a product by id, else every
/// product with that name (any case); a category by its path ("향수" or "향수/여성향수").
fn item_keys(read: &ReadTx, item: &Item) -> Result<HashSet<String>, store::Error> {
    Ok(match item {
        Item::Product(p) => {
            if read.product(p)?.is_some() {
                HashSet::from([format!("p:{p}")])
            } else {
                let wanted = p.to_lowercase();
                let mut keys = HashSet::new();
                for_each_product(read, |prod| {
                    if prod.name.to_lowercase() == wanted {
                        keys.insert(format!("p:{}", prod.id));
                    }
                })?;
                // An id the catalogue does not know may still be in interests from events.
                keys.insert(format!("p:{p}"));
                keys
            }
        }
        Item::Category(c) => match crate::catalog::category_levels(c).pop() {
            Some(path) => HashSet::from([format!("c:{path}")]),
            None => HashSet::new(),
        },
    })
}

fn for_each_product(
    read: &ReadTx,
    mut f: impl FnMut(&crate::store::records::ProductRecord),
) -> Result<(), store::Error> {
    let mut after = String::new();
    loop {
        let page = read.products_after(&after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        page.iter().for_each(&mut f);
    }
    Ok(())
}

fn touch(
    env: &Env,
    kind: TouchKind,
    item: &Item,
    min_count: u32,
    days: Option<u32>,
) -> Result<RoaringBitmap, store::Error> {
    let keys = item_keys(env.read, item)?;
    let code = touch_code(kind);
    let start = days.map(|d| window_start(env.now, env.tz, d));
    // Views, carts and checkouts of the last 90 days are in memory with their times.
    if let Some(start) = start
        && kind != TouchKind::Purchased
        && env.cols.recent.covers(start)
    {
        let rows = env
            .cols
            .recent
            .at_least(code, &keys, start, env.now, min_count.max(1), &env.cols.rows);
        return Ok(rows & &env.cols.live);
    }
    // All-time counts per customer; within a window they bound the count from above.
    // Everyone who ever touched the item, from the columns; then their counts and last times.
    let mut candidates = touchers_of(env, &[code], &keys)?;
    let cols = env.cols;
    if start.is_none() && min_count <= 1 {
        return Ok(candidates);
    }
    if let Some(start) = start {
        // Who touched something in the window was seen in it.
        candidates &= recently_seen(cols, start);
    }
    let mut all_time: HashMap<u64, u32> = HashMap::new();
    for row in &candidates {
        let customer = cols.ids[row as usize];
        for key in &keys {
            if let Some((count, last)) = env.read.interest(customer, code, key)?
                && start.is_none_or(|s| last >= s)
            {
                *all_time.entry(customer).or_default() += count;
            }
        }
    }
    let Some(start) = start else {
        return Ok(per_customer(cols, &all_time, |n: u32| n >= min_count));
    };
    if min_count <= 1 {
        // A touch in the window is exactly a last touch in it.
        return Ok(all_time.keys().filter_map(|c| cols.rows.get(c).copied()).collect());
    }
    let mut hits = RoaringBitmap::new();
    for (customer, upper) in all_time {
        if upper < min_count {
            continue;
        }
        let Some(&row) = cols.rows.get(&customer) else { continue };
        if cols.live.contains(row) && touches_in_window(env, customer, kind, item, &keys, start)? >= min_count {
            hits.insert(row);
        }
    }
    Ok(hits)
}

/// How many times a customer touched the item in [start, now], counted as the interest counts
/// are: once per matching product line of a matching event (or order, for purchases).
fn touches_in_window(
    env: &Env,
    customer: u64,
    kind: TouchKind,
    item: &Item,
    keys: &HashSet<String>,
    start: i64,
) -> Result<u32, store::Error> {
    let read = env.read;
    let matches_line = |product_id: &str, category: Option<&str>| -> Result<bool, store::Error> {
        Ok(match item {
            Item::Product(_) => keys.contains(&format!("p:{product_id}")),
            Item::Category(_) => {
                let category = match category {
                    Some(c) => Some(c.to_string()),
                    None => read.product(product_id)?.and_then(|p| p.category),
                };
                category.is_some_and(|c| {
                    crate::catalog::category_levels(&c)
                        .iter()
                        .any(|level| keys.contains(&format!("c:{level}")))
                })
            }
        })
    };
    let mut n = 0;
    if kind == TouchKind::Purchased {
        for id in read.order_ids_of(customer)? {
            let Some(order) = read.order(&id)? else { continue };
            if order.placed_at < start || order.placed_at > env.now {
                continue;
            }
            for line in &order.lines {
                if matches_line(&line.product_id, line.category.as_deref())? {
                    n += 1;
                }
            }
        }
        return Ok(n);
    }
    let names: &[&str] = match kind {
        TouchKind::Viewed => &["Product Viewed", "Product Clicked"],
        TouchKind::Carted => &["Product Added"],
        _ => &["Checkout Started", "Checkout Step Completed", "Payment Info Entered"],
    };
    /// The two fields of an event this needs.
    #[derive(serde::Deserialize)]
    struct Touched {
        #[serde(default)]
        event: Option<String>,
        #[serde(default)]
        properties: Value,
    }
    for e in read.customer_events_between_as::<Touched>(customer, start, env.now)? {
        if !e.event.as_deref().is_some_and(|name| names.contains(&name)) {
            continue;
        }
        for line in crate::catalog::products_of_value(&e.properties) {
            let Some(id) = crate::catalog::id_text(line, "product_id") else {
                continue;
            };
            if matches_line(&id, line.get("category").and_then(Value::as_str))? {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Customers who viewed, carted, checked out or bought products (or categories) that match `text`
/// in the product index (name, category path, brand, tags; Korean and English analysed alike);
/// within the last `days` days when given.
fn interest(env: &Env, text: &str, days: Option<u32>) -> Result<RoaringBitmap, store::Error> {
    let keys = match env.search.filter(|s| s.products_ready()) {
        Some(search) => search
            .fresh(env.read)
            .and_then(|()| search.products.matching_keys(text))
            .map_err(|e| match e {
                crate::search::Error::Store(e) => e,
                e => store::Error::Io(std::sync::Arc::new(std::io::Error::other(e.to_string()))),
            })?,
        None => interest_keys_by_substring(env.read, text)?,
    };
    let start = days.map_or(i64::MIN, |d| window_start(env.now, env.tz, d));
    let mut candidates = touchers_of(env, &[0, 1, 2, 3], &keys)?;
    if start == i64::MIN {
        return Ok(candidates);
    }
    candidates &= recently_seen(env.cols, start);
    // Within a window: a candidate's interests, for the last time of each.
    let mut hits = RoaringBitmap::new();
    for row in &candidates {
        let customer = env.cols.ids[row as usize];
        let recent = env
            .read
            .interests_of(customer)?
            .into_iter()
            .any(|i| i.last >= start && keys.contains(&i.item));
        if recent {
            hits.insert(row);
        }
    }
    Ok(hits)
}

/// Before the product index has caught up after a start: the products whose name, category,
/// brand or tags contain `text` (any case), and the categories whose path does.
fn interest_keys_by_substring(read: &ReadTx, text: &str) -> Result<HashSet<String>, store::Error> {
    let needle = text.trim().to_lowercase();
    let mut keys: HashSet<String> = HashSet::new();
    for_each_product(read, |p| {
        let hay = [Some(p.name.as_str()), p.category.as_deref(), p.brand.as_deref()];
        let hit = hay.iter().flatten().any(|s| s.to_lowercase().contains(&needle))
            || p.tags.iter().any(|t| t.to_lowercase().contains(&needle));
        if hit {
            keys.insert(format!("p:{}", p.id));
        }
        if let Some(c) = &p.category {
            for level in crate::catalog::category_levels(c) {
                if level.to_lowercase().contains(&needle) {
                    keys.insert(format!("c:{level}"));
                }
            }
        }
    })?;
    Ok(keys)
}

/// The live rows of everyone who ever touched one of `keys` in one of the `kinds` of way.
fn touchers_of(env: &Env, kinds: &[u8], keys: &HashSet<String>) -> Result<RoaringBitmap, store::Error> {
    let mut out = RoaringBitmap::new();
    if env.cols.touches_ready() {
        for key in keys {
            for &kind in kinds {
                if let Some(b) = env.cols.touchers(kind, key) {
                    out |= b;
                }
            }
        }
    } else {
        // Right after a start, until the columns know who touched what: read every interest.
        env.read.for_each_interest(|customer, kind, key, _, _| {
            if kinds.contains(&kind)
                && keys.contains(key)
                && let Some(&row) = env.cols.rows.get(&customer)
            {
                out.insert(row);
            }
            true
        })?;
    }
    Ok(out & &env.cols.live)
}

/// The live rows last seen at or after `start`.
fn recently_seen(cols: &Columns, start: i64) -> RoaringBitmap {
    scan(cols, |r| cols.last_seen[r] >= start)
}

/// One analysed day's figures, by column row.
pub struct DayColumns {
    pub day: i32,
    pub group: Vec<u8>,
    pub tier: Vec<u8>,
    pub churn: Vec<u8>,
    pub p_alive: Vec<f32>,
    pub clv: Vec<f32>,
}

/// What a cached day is kept by: the day, the run's instant, and the columns' size.
type DayKey = (i32, i64, usize);

/// The analysed days the rules have asked for, the last few.
#[derive(Default)]
pub struct AnalysisDays {
    cache: Mutex<Vec<(DayKey, Arc<DayColumns>)>>,
}

impl AnalysisDays {
    /// The stored day `days_ago` days before today (the latest day on or before it), as columns.
    pub fn get(&self, env: &Env, days_ago: u32) -> Result<Option<Arc<DayColumns>>, store::Error> {
        let day = if days_ago == 0 {
            match analysis::view::latest(env.read)? {
                Some((day, _)) => day,
                None => return Ok(None),
            }
        } else {
            let target = analysis::local_day(env.now, env.tz) - days_ago as i32;
            match env.read.analysis_days()?.into_iter().rev().find(|d| *d <= target) {
                Some(day) => day,
                None => return Ok(None),
            }
        };
        let Some(run) = env.read.analysis_run::<analysis::AnalysisRun>(day)? else {
            return Ok(None);
        };
        let key = (day, run.as_of, env.cols.ids.len());
        if let Some((_, d)) = self.cache.lock().expect("not poisoned").iter().find(|(k, _)| *k == key) {
            return Ok(Some(d.clone()));
        }
        let n = env.cols.ids.len();
        let mut d = DayColumns {
            day,
            group: vec![0; n],
            tier: vec![0; n],
            churn: vec![0; n],
            p_alive: vec![f32::NAN; n],
            clv: vec![f32::NAN; n],
        };
        env.read.for_each_analysis_chunk::<AnalysisChunk>(day, |chunk| {
            for row in chunk.rows {
                if let Some(&r) = env.cols.rows.get(&row.customer) {
                    let r = r as usize;
                    d.group[r] = row.group;
                    d.tier[r] = row.tier;
                    d.churn[r] = row.churn;
                    d.p_alive[r] = row.p_alive;
                    d.clv[r] = if row.orders > 0 { row.clv_365 } else { f32::NAN };
                }
            }
        })?;
        let d = Arc::new(d);
        let mut cache = self.cache.lock().expect("not poisoned");
        cache.retain(|(k, _)| k.2 == n);
        cache.push((key, d.clone()));
        if cache.len() > 4 {
            cache.remove(0);
        }
        Ok(Some(d))
    }
}

fn on_day(env: &Env, days_ago: u32, keep: impl Fn(&DayColumns, usize) -> bool) -> Result<RoaringBitmap, store::Error> {
    Ok(match env.days.get(env, days_ago)? {
        Some(d) => scan(env.cols, |r| keep(&d, r)),
        None => RoaringBitmap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_at_midnight_shop_time_today_included() {
        let tz = chrono_tz::Asia::Seoul;
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        // 00:30 on 3 Nov in Seoul: a 1-day window starts at 00:00 that day, a 7-day one on 28 Oct.
        let now = at("2026-11-03T00:30:00+09:00");
        assert_eq!(window_start(now, tz, 1), at("2026-11-03T00:00:00+09:00"));
        assert_eq!(window_start(now, tz, 7), at("2026-10-28T00:00:00+09:00"));
    }

    #[test]
    fn traits_compare_loosely_as_stored() {
        use serde_json::json;
        assert!(trait_matches(Some(&json!("Gold")), &TraitTest::Eq(json!("gold"))));
        assert!(trait_matches(Some(&json!("30")), &TraitTest::Ge(18.0)));
        assert!(trait_matches(None, &TraitTest::Ne(json!("x"))));
        assert!(!trait_matches(None, &TraitTest::Exists));
        assert!(trait_matches(
            Some(&json!(["a", "B"])),
            &TraitTest::Contains("b".into())
        ));
        assert!(!trait_matches(Some(&json!(true)), &TraitTest::Ge(1.0)));
    }
}
