//! Building the reports' tables from the whole log: at the first start of a build that has them,
//! when the shop's zone changed, and by `dangol reindex`. The log is read once in order, each
//! event slimmed to what a visit needs (its strings numbered), then each customer's events are cut
//! into visits and the visits written day by day with their cells.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::follow::{Changes, MARK, Mark, VERSION, local_month, own_hosts};
use super::rollup::{Cell, Names, Row, row_of, shares};
use crate::analysis::local_day;
use crate::store::records::{EventKind, EventRecord};
use crate::store::{self, Store};
use crate::traffic::{Agents, Hit, Utm, visits};

#[derive(Deserialize)]
struct Slim {
    kind: EventKind,
    customer: u64,
    #[serde(default)]
    event: Option<String>,
    timestamp: i64,
    #[serde(default)]
    properties: Option<SlimProps>,
    #[serde(default)]
    context: Option<SlimContext>,
}

#[derive(Deserialize, Default)]
struct SlimProps {
    url: Option<Value>,
    path: Option<Value>,
    referrer: Option<Value>,
    order_id: Option<Value>,
    product_id: Option<Value>,
    id: Option<Value>,
    sku: Option<Value>,
    total: Option<Value>,
    revenue: Option<Value>,
}

#[derive(Deserialize, Default)]
struct SlimContext {
    page: Option<SlimPage>,
    campaign: Option<SlimCampaign>,
    #[serde(rename = "userAgent")]
    user_agent: Option<Value>,
}

#[derive(Deserialize, Default)]
struct SlimPage {
    url: Option<Value>,
    path: Option<Value>,
    referrer: Option<Value>,
}

#[derive(Deserialize, Default)]
struct SlimCampaign {
    source: Option<Value>,
    medium: Option<Value>,
    name: Option<Value>,
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.into(), v);
    }
}

impl Slim {
    /// The event as the few fields a hit reads, so `Hit::of` reads it as it reads any event.
    fn hit(self, seq: u64) -> Hit {
        let mut props = Map::new();
        let p = self.properties.unwrap_or_default();
        let ctx = self.context.unwrap_or_default();
        for (k, v) in [
            ("url", p.url),
            ("path", p.path),
            ("referrer", p.referrer),
            ("order_id", p.order_id),
            ("product_id", p.product_id),
            ("id", p.id),
            ("sku", p.sku),
            ("total", p.total),
            ("revenue", p.revenue),
        ] {
            put(&mut props, k, v);
        }
        let mut context = Map::new();
        if let Some(page) = ctx.page {
            let mut m = Map::new();
            put(&mut m, "url", page.url);
            put(&mut m, "path", page.path);
            put(&mut m, "referrer", page.referrer);
            context.insert("page".into(), Value::Object(m));
        }
        if let Some(c) = ctx.campaign {
            let mut m = Map::new();
            put(&mut m, "source", c.source);
            put(&mut m, "medium", c.medium);
            put(&mut m, "name", c.name);
            context.insert("campaign".into(), Value::Object(m));
        }
        put(&mut context, "userAgent", ctx.user_agent);
        let e = EventRecord {
            kind: self.kind,
            customer: self.customer,
            event: self.event,
            name: None,
            user_id: None,
            anonymous_id: None,
            previous_id: None,
            group_id: None,
            message_id: String::new(),
            timestamp: self.timestamp,
            received_at: self.timestamp,
            sent_at: None,
            properties: Value::Object(props),
            traits: Value::Null,
            context: Value::Object(context),
        };
        let mut h = Hit::of(&e);
        h.seq = seq;
        h
    }

    fn in_visits(&self) -> bool {
        crate::traffic::visit::makes_visits(self.kind, self.event.as_deref())
    }
}

/// A hit with its strings numbered, to hold a whole log's hits in memory.
struct Small {
    at: i64,
    seq: u64,
    page_view: bool,
    order_total: f64,
    strings: [u32; 10],
}

#[derive(Default)]
struct Strings {
    ids: HashMap<String, u32>,
    all: Vec<String>,
}

impl Strings {
    fn id(&mut self, s: Option<String>) -> u32 {
        let Some(s) = s else { return 0 };
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        if self.all.is_empty() {
            self.all.push(String::new());
        }
        let id = self.all.len() as u32;
        self.all.push(s.clone());
        self.ids.insert(s, id);
        id
    }

    fn get(&self, id: u32) -> Option<String> {
        (id != 0).then(|| self.all[id as usize].clone())
    }

    fn small(&mut self, h: Hit) -> Small {
        Small {
            at: h.at,
            seq: h.seq,
            page_view: h.page_view,
            order_total: h.order_total.unwrap_or(f64::NAN),
            strings: [
                self.id(h.event),
                self.id(h.url),
                self.id(h.path),
                self.id(h.referrer),
                self.id(h.campaign.source),
                self.id(h.campaign.medium),
                self.id(h.campaign.campaign),
                self.id(h.user_agent),
                self.id(h.order_id),
                self.id(h.product),
            ],
        }
    }

    fn hit(&self, s: &Small) -> Hit {
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
            campaign: Utm {
                source: g(4),
                medium: g(5),
                campaign: g(6),
            },
            user_agent: g(7),
            order_id: g(8),
            product: g(9),
        }
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
    // 1. The log, once, in order: each customer's hits.
    let mut strings = Strings::default();
    let mut hits: HashMap<u64, Vec<Small>> = HashMap::new();
    let mut events = 0u64;
    let mut after = 0u64;
    loop {
        let mut n = 0;
        read.for_each_event_as::<Slim>(after, 100_000, |seq, e| {
            after = seq;
            n += 1;
            if e.in_visits() {
                let c = e.customer;
                let small = strings.small(e.hit(seq));
                hits.entry(c).or_default().push(small);
            }
        })?;
        events += n;
        if n == 0 || after >= last {
            break;
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
    }
    // 2. What visits need besides: each order's net by the event that made it, each city.
    let mut nets: HashMap<u64, f64> = HashMap::new();
    read.for_each_order_as::<SlimOrder>(|o| {
        let refunded: f64 = o.refunds.iter().map(|r| r.amount).sum();
        nets.insert(o.seq, (o.total - refunded).max(0.0));
    })?;
    let mut cities: HashMap<u64, String> = HashMap::new();
    read.for_each_customer_as::<SlimCustomer>(|id, c| {
        if let Some(city) = c.city.map(|c| c.trim().to_string()).filter(|c| !c.is_empty())
            && hits.contains_key(&id)
        {
            cities.insert(id, city);
        }
    })?;
    // 3. Each customer's visits, by day.
    let mut names = Names::load(&read)?;
    let mut days: BTreeMap<i32, Vec<(u64, i64, Row)>> = BTreeMap::new();
    let customers: Vec<u64> = hits.keys().copied().collect();
    let mut built = Built {
        events,
        ..Built::default()
    };
    for c in customers {
        let small = hits.remove(&c).unwrap_or_default();
        let list: Vec<Hit> = small.iter().map(|s| strings.hit(s)).collect();
        for v in visits(list, &own, agents) {
            let mut n = 0;
            let mut revenue = 0.0;
            for (seq, _) in &v.order_events {
                if let Some(net) = nets.get(seq) {
                    n += 1;
                    revenue += net;
                }
            }
            let row = row_of(&v, cities.get(&c).map(String::as_str), revenue, n, &mut names);
            days.entry(local_day(v.start, tz)).or_default().push((c, v.start, row));
            built.visits += 1;
        }
    }
    drop(strings);
    drop(read);
    // 4. Day by day: the visits and their cells.
    let mut pending = Changes {
        names: names.take_new(),
        ..Changes::default()
    };
    for (day, mut rows) in days {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        rows.sort_by_key(|(c, s, _)| (*c, *s));
        let mut cells: HashMap<(crate::reports::Dim, u32), Cell> = HashMap::new();
        let mut i = 0;
        while i < rows.len() {
            let c = rows[i].0;
            let j = rows[i..].iter().position(|r| r.0 != c).map_or(rows.len(), |k| i + k);
            let mine: Vec<&Row> = rows[i..j].iter().map(|r| &r.2).collect();
            let starts: Vec<i64> = rows[i..j].iter().map(|r| r.1).collect();
            for (key, (part, bought)) in shares(&mine, &starts) {
                let cell = cells.entry(key).or_default();
                cell.apply(&part, 1);
                if part.visits > 0 {
                    cell.visitors.insert(c);
                }
                if bought {
                    cell.buyers.insert(c);
                }
            }
            pending.customer_days.push((c, day, true));
            i = j;
        }
        for ((dim, value), cell) in cells {
            pending.cells.push(((day, dim as u8, value), Some(cell)));
        }
        for (c, s, row) in rows {
            pending.visits.push(((day, c, s), Some(row)));
        }
        built.days += 1;
        if pending.visits.len() > 50_000 {
            let ch = std::sync::Arc::new(std::mem::take(&mut pending));
            store.write_blocking(move |tx| ch.write(tx))?;
        }
    }
    // 5. Cohorts: each customer's order months.
    let read = store.read()?;
    let mut months: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
    read.for_each_order_of_customers(|c, at, _, _| {
        let m = local_month(at, tz);
        let list = months.entry(c).or_default();
        if !list.contains(&m) {
            list.push(m);
        }
    })?;
    let mut cohorts: BTreeMap<(i32, i32), u32> = BTreeMap::new();
    for (c, mut list) in months {
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
    let ch = std::sync::Arc::new(pending);
    store.write_blocking(move |tx| ch.write(tx))?;
    Ok(Some(built))
}
