//! What the reports keep: one `Row` per visit and, per shop-local day, one `Cell` per dimension
//! value with the counts and sums of the visits that carry it and their visitors and buyers as
//! roaring bitmaps, so that distinct visitors over any range are exact unions. The strings rows
//! and cells name are numbered once (`Names`).

use std::collections::HashMap;

use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};

use crate::store::{self, ReadTx};
use crate::traffic::Visit;

/// `a ÷ b` rounded to four places; 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        (a / b * 10_000.0).round() / 10_000.0
    }
}

/// A dimension of the breakdowns (CONTRACT §8's `by`), with its number in the cells' keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// Every visit (value 0); bots' visits are counted apart under value 1.
    All = 0,
    Page = 1,
    EntryPage = 2,
    ExitPage = 3,
    Source = 4,
    Referrer = 5,
    UtmSource = 6,
    UtmMedium = 7,
    UtmCampaign = 8,
    Device = 9,
    Browser = 10,
    Os = 11,
    City = 12,
    Channel = 13,
}

impl Dim {
    pub const BREAKDOWNS: [Dim; 13] = [
        Dim::Page,
        Dim::EntryPage,
        Dim::ExitPage,
        Dim::Source,
        Dim::Referrer,
        Dim::UtmSource,
        Dim::UtmMedium,
        Dim::UtmCampaign,
        Dim::Device,
        Dim::Browser,
        Dim::Os,
        Dim::City,
        Dim::Channel,
    ];

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::BREAKDOWNS.into_iter().find(|d| d.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::All => "all",
            Dim::Page => "page",
            Dim::EntryPage => "entry_page",
            Dim::ExitPage => "exit_page",
            Dim::Source => "source",
            Dim::Referrer => "referrer",
            Dim::UtmSource => "utm_source",
            Dim::UtmMedium => "utm_medium",
            Dim::UtmCampaign => "utm_campaign",
            Dim::Device => "device",
            Dim::Browser => "browser",
            Dim::Os => "os",
            Dim::City => "city",
            Dim::Channel => "channel",
        }
    }
}

/// The value of the all-visits cell, and of the bots' cell beside it.
pub const ALL: u32 = 0;
pub const BOTS: u32 = 1;

/// One visit as the reports keep it (compact MessagePack, positional: new fields go at the end
/// with `#[serde(default)]`). Strings are ids in `Names`; 0 is "none". `S` is how its track events
/// are held: a list, or not at all as in [`RowFigures`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row<S = Vec<(u32, u32, u32)>> {
    pub end: i64,
    pub events: u32,
    pub bounce: bool,
    pub bot: bool,
    pub orders: u32,
    /// The net of its orders (total less refunds).
    pub revenue: f64,
    pub source: u32,
    pub channel: u32,
    pub referrer: u32,
    pub utm_source: u32,
    pub utm_medium: u32,
    pub utm_campaign: u32,
    pub device: u32,
    pub browser: u32,
    pub os: u32,
    /// The visitor's city when the visit was read (from the profile).
    pub city: u32,
    /// Every page view's path, in order: the first is the entry, the last the exit.
    pub pages: Vec<u32>,
    /// Its track events in order: (name, millis after the visit's start, product).
    pub steps: S,
}

/// A visit's row without its track events, which only the funnel reads: what the scans of the
/// overview and breakdowns read (a month of visits is a million rows), field by field up to its
/// pages, the rest left unread.
pub type RowFigures = Row<()>;

impl RowFigures {
    pub fn read(bytes: &[u8]) -> Result<RowFigures, store::Error> {
        Row::read_with(bytes, |_| Ok(()))
    }
}

impl Row {
    /// A whole row, read field by field as [`RowFigures::read`] reads its leading ones: the
    /// funnel's scan, where serde's generic decoding was a third of the time.
    pub fn read_all(bytes: &[u8]) -> Result<Row, store::Error> {
        Row::read_with(bytes, |r| r.u32_triples())
    }
}

impl<S> Row<S> {
    fn read_with(
        bytes: &[u8],
        steps: impl FnOnce(&mut store::codec::Leading) -> Result<S, store::Error>,
    ) -> Result<Row<S>, store::Error> {
        let mut r = store::codec::Leading::new("web_visits", bytes)?;
        Ok(Row {
            end: r.i64()?,
            events: r.u32()?,
            bounce: r.bool()?,
            bot: r.bool()?,
            orders: r.u32()?,
            revenue: r.f64()?,
            source: r.u32()?,
            channel: r.u32()?,
            referrer: r.u32()?,
            utm_source: r.u32()?,
            utm_medium: r.u32()?,
            utm_campaign: r.u32()?,
            device: r.u32()?,
            browser: r.u32()?,
            os: r.u32()?,
            city: r.u32()?,
            pages: r.u32s()?,
            steps: steps(&mut r)?,
        })
    }
}

impl<S> Row<S> {
    pub fn pageviews(&self) -> u32 {
        self.pages.len() as u32
    }

    /// The value this visit has in a dimension; for pages, see [`Row::pages`].
    pub fn value(&self, dim: Dim) -> u32 {
        match dim {
            Dim::All => ALL,
            Dim::Page | Dim::EntryPage => self.pages.first().copied().unwrap_or(0),
            Dim::ExitPage => self.pages.last().copied().unwrap_or(0),
            Dim::Source => self.source,
            Dim::Referrer => self.referrer,
            Dim::UtmSource => self.utm_source,
            Dim::UtmMedium => self.utm_medium,
            Dim::UtmCampaign => self.utm_campaign,
            Dim::Device => self.device,
            Dim::Browser => self.browser,
            Dim::Os => self.os,
            Dim::City => self.city,
            Dim::Channel => self.channel,
        }
    }

    /// Whether the visit carries `value` in `dim` (for pages: viewed it at all).
    pub fn has(&self, dim: Dim, value: u32) -> bool {
        match dim {
            Dim::Page => self.pages.contains(&value),
            _ => self.value(dim) == value,
        }
    }
}

impl Row {
    /// Gives every name the row holds the id `ids[id]` (see [`Names::ids_in`]).
    pub fn renumber(&mut self, ids: &[u32]) {
        let to = |id: &mut u32| *id = ids[*id as usize];
        for id in [
            &mut self.source,
            &mut self.channel,
            &mut self.referrer,
            &mut self.utm_source,
            &mut self.utm_medium,
            &mut self.utm_campaign,
            &mut self.device,
            &mut self.browser,
            &mut self.os,
            &mut self.city,
        ] {
            to(id);
        }
        self.pages.iter_mut().for_each(to);
        for (name, _, product) in &mut self.steps {
            to(name);
            to(product);
        }
    }
}

/// A visit's share of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Part {
    pub visits: u32,
    pub pageviews: u32,
    pub bounces: u32,
    pub duration_ms: u64,
    pub orders: u32,
    pub revenue: f64,
}

impl Part {
    fn add(&mut self, o: &Part) {
        self.visits += o.visits;
        self.pageviews += o.pageviews;
        self.bounces += o.bounces;
        self.duration_ms += o.duration_ms;
        self.orders += o.orders;
        self.revenue += o.revenue;
    }
}

/// One day's figures for one dimension value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    #[serde(with = "treemap_bytes")]
    pub visitors: RoaringTreemap,
    #[serde(with = "treemap_bytes")]
    pub buyers: RoaringTreemap,
    pub visits: u64,
    pub pageviews: u64,
    pub bounces: u64,
    pub duration_ms: u64,
    pub orders: u64,
    pub revenue: f64,
}

mod treemap_bytes {
    use roaring::RoaringTreemap;
    use serde::{Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(t: &RoaringTreemap, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(t.serialized_size());
        t.serialize_into(&mut bytes).expect("a Vec takes any write");
        s.serialize_bytes(&bytes)
    }

    struct Bytes;

    impl de::Visitor<'_> for Bytes {
        type Value = RoaringTreemap;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a serialized roaring treemap")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RoaringTreemap, E> {
            RoaringTreemap::deserialize_from(v).map_err(E::custom)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RoaringTreemap, D::Error> {
        d.deserialize_bytes(Bytes)
    }
}

impl Cell {
    /// Adds (`sign` 1) or takes out (-1) a customer's share.
    pub fn apply(&mut self, p: &Part, sign: i64) {
        let f = |a: u64, b: u32| (a as i64 + sign * b as i64).max(0) as u64;
        self.visits = f(self.visits, p.visits);
        self.pageviews = f(self.pageviews, p.pageviews);
        self.bounces = f(self.bounces, p.bounces);
        self.duration_ms = (self.duration_ms as i64 + sign * p.duration_ms as i64).max(0) as u64;
        self.orders = f(self.orders, p.orders);
        self.revenue += sign as f64 * p.revenue;
        if self.revenue.abs() < 1e-6 {
            self.revenue = 0.0;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.visits == 0 && self.visitors.is_empty()
    }

    /// Adds another day's cell: counts add, visitor sets unite.
    pub fn merge(&mut self, o: &Cell) {
        self.visitors |= &o.visitors;
        self.buyers |= &o.buyers;
        self.visits += o.visits;
        self.pageviews += o.pageviews;
        self.bounces += o.bounces;
        self.duration_ms += o.duration_ms;
        self.orders += o.orders;
        self.revenue += o.revenue;
    }
}

/// A customer's visits of one day, as their share of every cell they touch: (dim, value) → (the
/// share, whether they bought in a visit that carries it).
pub fn shares(rows: &[&Row], starts: &[i64]) -> HashMap<(Dim, u32), (Part, bool)> {
    let mut out: HashMap<(Dim, u32), (Part, bool)> = HashMap::new();
    for (row, start) in rows.iter().zip(starts) {
        if row.bot {
            let e = out.entry((Dim::All, BOTS)).or_default();
            e.0.visits += 1;
            e.0.pageviews += row.pageviews();
            continue;
        }
        let visit = Part {
            visits: 1,
            pageviews: row.pageviews(),
            bounces: row.bounce as u32,
            duration_ms: (row.end - start).max(0) as u64,
            orders: row.orders,
            revenue: row.revenue,
        };
        let bought = row.orders > 0;
        let mut add = |key: (Dim, u32), part: &Part| {
            let e = out.entry(key).or_default();
            e.0.add(part);
            e.1 |= bought;
        };
        for dim in [Dim::All]
            .into_iter()
            .chain(Dim::BREAKDOWNS)
            .filter(|d| *d != Dim::Page)
        {
            let v = row.value(dim);
            if v != 0 || dim == Dim::All {
                add((dim, v), &visit);
            }
        }
        // Each page the visit viewed: the visit once, its views of that page.
        let mut seen: Vec<u32> = Vec::new();
        for &p in &row.pages {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            let mut part = visit;
            part.pageviews = row.pages.iter().filter(|q| **q == p).count() as u32;
            add((Dim::Page, p), &part);
        }
    }
    out
}

/// The strings rows and cells number, as far as this process has seen them; new ones are
/// written with the rows that first name them.
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    /// Given since the last `take_new`.
    new: Vec<(String, u32)>,
}

impl Names {
    /// No names yet (0 stands for none).
    pub fn new() -> Names {
        Names {
            names: vec![String::new()],
            ..Names::default()
        }
    }

    pub fn load(read: &ReadTx) -> Result<Names, store::Error> {
        let mut n = Names::new();
        let mut all = read.web_names()?;
        all.sort_by_key(|(_, id)| *id);
        for (name, id) in all {
            if n.names.len() <= id as usize {
                n.names.resize(id as usize + 1, String::new());
            }
            n.names[id as usize] = name.clone();
            n.ids.insert(name, id);
        }
        Ok(n)
    }

    /// The id of `name` (0 for none or empty), given now if new.
    pub fn id(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name.filter(|s| !s.is_empty()) else {
            return 0;
        };
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        self.new.push((name.to_string(), id));
        id
    }

    pub fn take_new(&mut self) -> Vec<(String, u32)> {
        std::mem::take(&mut self.new)
    }

    /// Forgets the names given since the last `take_new` (a batch that was not written): they
    /// are the newest ids, so the next names given take them again.
    pub fn forget_new(&mut self) {
        let new = std::mem::take(&mut self.new);
        if let Some(&(_, first)) = new.first() {
            self.names.truncate(first as usize);
        }
        for (name, _) in new {
            self.ids.remove(&name);
        }
    }

    /// The id each of these names has in `to` (given there when new), by this one's id: to
    /// number rows made apart in `to`'s numbers (see [`Row::renumber`]).
    pub fn ids_in(&self, to: &mut Names) -> Vec<u32> {
        self.names
            .iter()
            .enumerate()
            .map(|(id, name)| if id == 0 { 0 } else { to.id(Some(name)) })
            .collect()
    }
}

/// A visit as a row: its strings numbered, `revenue` the net of its orders as they stand now.
pub fn row_of(v: &Visit<'_>, city: Option<&str>, revenue: f64, orders: u32, names: &mut Names) -> Row {
    let referrer = v.source.referrer.as_deref();
    Row {
        end: v.end,
        events: v.events,
        bounce: v.bounce,
        bot: v.bot,
        orders,
        revenue,
        source: names.id(Some(&v.source.name)),
        channel: names.id(Some(v.source.channel.as_str())),
        referrer: names.id(referrer),
        utm_source: names.id(v.source.utm.source.as_deref()),
        utm_medium: names.id(v.source.utm.medium.as_deref()),
        utm_campaign: names.id(v.source.utm.campaign.as_deref()),
        device: names.id(Some(v.device.as_str())),
        browser: names.id(Some(&v.browser)),
        os: names.id(Some(&v.os)),
        city: names.id(city),
        pages: v.pages.iter().map(|p| names.id(Some(p))).collect(),
        steps: v
            .steps
            .iter()
            .map(|(name, at, product)| {
                (
                    names.id(Some(name)),
                    (at - v.start).clamp(0, u32::MAX as i64) as u32,
                    names.id(product.as_deref()),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::{Agents, Hit, visits};

    #[test]
    fn names_given_by_a_batch_not_written_are_given_again() {
        let mut n = Names::new();
        assert_eq!(n.id(Some("/")), 1);
        n.take_new();
        assert_eq!((n.id(Some("/a")), n.id(Some("/b"))), (2, 3));
        n.forget_new();
        assert_eq!(n.id(Some("/b")), 2, "the forgotten ids are given again");
        assert_eq!(n.id(Some("/")), 1);
        assert_eq!(n.take_new(), vec![("/b".to_string(), 2)]);
    }

    #[test]
    fn a_row_reads_as_its_figures() {
        let row = Row {
            end: 9,
            events: 3,
            bounce: true,
            orders: 1,
            revenue: 2.5,
            source: 11,
            channel: 12,
            referrer: 13,
            utm_source: 14,
            utm_medium: 15,
            utm_campaign: 16,
            device: 17,
            browser: 18,
            os: 19,
            city: 20,
            pages: vec![4, 5],
            steps: vec![(1, 2, 3), (4, 5, 6)],
            ..Row::default()
        };
        let bytes = crate::store::codec::encode_compact(&row);
        let figures = RowFigures::read(&bytes).unwrap();
        let names = |r: &RowFigures| {
            [
                r.source,
                r.channel,
                r.referrer,
                r.utm_source,
                r.utm_medium,
                r.utm_campaign,
                r.device,
                r.browser,
                r.os,
                r.city,
            ]
        };
        assert_eq!(
            (
                figures.end,
                figures.events,
                figures.bounce,
                figures.bot,
                figures.orders,
                figures.revenue
            ),
            (9, 3, true, false, 1, 2.5)
        );
        assert_eq!(names(&figures), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
        assert_eq!(figures.pages, [4, 5]);
        let row = Row {
            end: -5,
            revenue: 1e12,
            source: u32::MAX,
            pages: Vec::new(),
            ..row
        };
        let figures = RowFigures::read(&crate::store::codec::encode_compact(&row)).unwrap();
        assert_eq!((figures.end, figures.revenue, figures.source), (-5, 1e12, u32::MAX));
        assert!(figures.pages.is_empty());
    }

    #[test]
    fn a_row_numbered_apart_and_renumbered_names_what_it_named() {
        let e: crate::store::records::EventRecord = serde_json::from_value(serde_json::json!({
            "kind": "page", "customer": 1, "message_id": "m", "timestamp": 5, "received_at": 6,
            "properties": {"url": "https://shop.example/p/1?utm_source=insta&utm_medium=paid_social&utm_campaign=w",
                           "referrer": "https://www.instagram.com/"},
            "context": {"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36"}
        }))
        .unwrap();
        let order: crate::store::records::EventRecord = serde_json::from_value(serde_json::json!({
            "kind": "track", "customer": 1, "message_id": "o", "timestamp": 9, "received_at": 9,
            "event": "Product Added", "properties": {"product_id": "P1"}
        }))
        .unwrap();
        let v = visits(vec![Hit::of(&e), Hit::of(&order)], &[], &Agents::default()).remove(0);
        // Numbered straight, and numbered apart (after other names) then renumbered.
        let mut names = Names::new();
        let straight = row_of(&v, Some("Seoul"), 0.0, 0, &mut names);
        let mut apart = Names::new();
        apart.id(Some("something else"));
        let mut row = row_of(&v, Some("Seoul"), 0.0, 0, &mut apart);
        assert_ne!(row, straight);
        row.renumber(&apart.ids_in(&mut names));
        assert_eq!(row, straight);
        assert!(row.steps[0].0 != 0 && row.steps[0].2 != 0 && row.city != 0 && row.utm_campaign != 0);
    }
}
