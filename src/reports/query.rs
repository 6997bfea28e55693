//! The overview and the breakdowns (CONTRACT §8), read from the days' cells; with a segment, or
//! more than one filter, from the visits of the range (with a segment alone, or with one value,
//! the visitors and buyers still come from the cells: those among the segment's members).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use roaring::RoaringTreemap;

use super::rollup::{ALL, BOTS, Cell, Dim, Row, RowFigures, ratio};
use crate::store::{self, ReadTx};

/// What a report is limited to.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// A segment's members.
    pub members: Option<RoaringTreemap>,
    pub source: Option<String>,
    pub device: Option<String>,
    pub page: Option<String>,
}

impl Filters {
    fn named(&self) -> Vec<(Dim, &str)> {
        let mut out = Vec::new();
        if let Some(s) = &self.source {
            out.push((Dim::Source, s.as_str()));
        }
        if let Some(d) = &self.device {
            out.push((Dim::Device, d.as_str()));
        }
        if let Some(p) = &self.page {
            out.push((Dim::Page, p.as_str()));
        }
        out
    }
}

/// How a report reads what the filters let through.
enum Plan<'f> {
    /// Read the cells of one dimension value.
    Cell(Dim, u32),
    /// A segment's members, and at most one named value: read the visits for the counts and sums,
    /// and take the visitors and buyers from that value's cells (all visits' when none) as those
    /// among the members.
    Members(&'f RoaringTreemap, Option<(Dim, u32)>),
    /// Read the visits.
    Scan(Option<&'f RoaringTreemap>, Vec<(Dim, u32)>),
    /// A named value was never seen: nothing can match.
    Nothing,
}

fn plan<'f>(read: &ReadTx, f: &'f Filters) -> Result<Plan<'f>, store::Error> {
    let mut ids = Vec::new();
    for (dim, name) in f.named() {
        match read.web_name_id(name)? {
            Some(id) => ids.push((dim, id)),
            None => return Ok(Plan::Nothing),
        }
    }
    Ok(match (&f.members, ids.as_slice()) {
        (None, []) => Plan::Cell(Dim::All, ALL),
        (None, [(dim, id)]) => Plan::Cell(*dim, *id),
        (Some(m), []) => Plan::Members(m, None),
        (Some(m), [value]) => Plan::Members(m, Some(*value)),
        (members, _) => Plan::Scan(members.as_ref(), ids),
    })
}

/// The figures of a period.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    /// Bounces ÷ visits.
    pub bounce_rate: f64,
    /// The mean visit's duration, in seconds.
    pub visit_duration_s: f64,
    pub pages_per_visit: f64,
    pub orders: u64,
    /// The net of the visits' orders (total less refunds).
    pub revenue: f64,
    /// Visitors with an order ÷ visitors.
    pub conversion_rate: f64,
}

impl Totals {
    pub fn of(c: &Cell) -> Totals {
        let visits = c.visits as f64;
        Totals {
            visitors: c.visitors.len(),
            visits: c.visits,
            pageviews: c.pageviews,
            bounce_rate: ratio(c.bounces as f64, visits),
            visit_duration_s: if c.visits == 0 {
                0.0
            } else {
                (c.duration_ms as f64 / visits / 100.0).round() / 10.0
            },
            pages_per_visit: ratio(c.pageviews as f64, visits),
            orders: c.orders,
            revenue: (c.revenue * 100.0).round() / 100.0,
            conversion_rate: ratio(c.buyers.len() as f64, c.visitors.len() as f64),
        }
    }
}

/// A range of shop-local days, both ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn day_number(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

impl Days {
    pub fn numbers(&self) -> std::ops::RangeInclusive<i32> {
        day_number(self.from)..=day_number(self.to)
    }

    #[allow(clippy::len_without_is_empty)] // a range holds at least its first day
    pub fn len(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length that ends the day before `from`.
    pub fn previous(&self) -> Days {
        let to = self.from - chrono::Duration::days(1);
        Days {
            from: to - chrono::Duration::days(self.len() - 1),
            to,
        }
    }
}

/// How the series is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "day" => Some(Interval::Day),
            "week" => Some(Interval::Week),
            "month" => Some(Interval::Month),
            _ => None,
        }
    }

    /// The first day of the bucket `d` falls in (weeks start on Monday).
    fn bucket(self, d: NaiveDate) -> NaiveDate {
        match self {
            Interval::Day => d,
            Interval::Week => d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64),
            Interval::Month => d.with_day(1).expect("day 1 exists"),
        }
    }
}

/// The per-day cells of a range for the filters: one per day that has visits.
fn day_cells(read: &ReadTx, days: Days, f: &Filters) -> Result<(HashMap<i32, Cell>, u64), store::Error> {
    let mut out: HashMap<i32, Cell> = HashMap::new();
    let mut bots = 0;
    read.for_each_web_cell(days.numbers(), Dim::All as u8, |_, value, bytes| {
        if value == BOTS {
            bots += ReadTx::decode_web::<Cell>("web_days", bytes)?.visits;
        }
        Ok(())
    })?;
    match plan(read, f)? {
        Plan::Nothing => {}
        Plan::Cell(dim, id) => {
            for day in days.numbers() {
                if let Some(cell) = read.web_cell::<Cell>((day, dim as u8, id))? {
                    out.insert(day, cell);
                }
            }
        }
        Plan::Members(members, value) => {
            let each = |out: &mut HashMap<i32, Cell>, day, _, start, row: &RowFigures| {
                out.entry(day).or_default().add_figures(start, row);
            };
            let ids: Vec<(Dim, u32)> = value.into_iter().collect();
            // Each part holds days of its own.
            for part in scan(read, days, Some(members), &ids, RowFigures::read, each)? {
                out.extend(part);
            }
            let (dim, id) = value.unwrap_or((Dim::All, ALL));
            for (&day, cell) in &mut out {
                if let Some(all) = read.web_cell::<Cell>((day, dim as u8, id))? {
                    cell.visitors = all.visitors & members;
                    cell.buyers = all.buyers & members;
                }
            }
        }
        Plan::Scan(members, ids) => {
            let each = |out: &mut HashMap<i32, Cell>, day, c, start, row: &RowFigures| {
                out.entry(day).or_default().add_visit(c, start, row);
            };
            for part in scan(read, days, members, &ids, RowFigures::read, each)? {
                out.extend(part);
            }
        }
    }
    Ok((out, bots))
}

/// Runs of the days of `days`, one for each core (fewer for a short range), in order.
fn runs(days: Days) -> Vec<Days> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
    let n = cores.min(days.len()).max(1);
    (0..n)
        .map(|k| Days {
            from: days.from + chrono::Duration::days(days.len() * k / n),
            to: days.from + chrono::Duration::days(days.len() * (k + 1) / n - 1),
        })
        .collect()
}

/// Every visit of the range that passes the filters (bots' left out), read on every core, each a
/// run of the days: `f(part, day, customer, start, row)` gathers into that run's part. Returns the
/// parts in day order. `row_of` reads a row from its bytes: [`RowFigures::read`] unless the
/// steps are needed.
pub(super) fn scan<T: Default + Send, S>(
    read: &ReadTx,
    days: Days,
    members: Option<&RoaringTreemap>,
    ids: &[(Dim, u32)],
    row_of: fn(&[u8]) -> Result<Row<S>, store::Error>,
    f: impl Fn(&mut T, i32, u64, i64, &Row<S>) + Sync,
) -> Result<Vec<T>, store::Error> {
    let f = &f;
    std::thread::scope(|s| {
        let runs: Vec<_> = runs(days)
            .into_iter()
            .map(|run| {
                s.spawn(move || {
                    let mut part = T::default();
                    read.for_each_web_visit(run.numbers(), |day, c, start, bytes| {
                        if members.is_some_and(|m| !m.contains(c)) {
                            return Ok(true);
                        }
                        let row = row_of(bytes)?;
                        if !row.bot && ids.iter().all(|(dim, id)| row.has(*dim, *id)) {
                            f(&mut part, day, c, start, &row);
                        }
                        Ok(true)
                    })?;
                    Ok(part)
                })
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("a scan of the visits does not panic"))
            .collect()
    })
}

impl Cell {
    /// Adds one visit of customer `c`.
    pub fn add_visit<S>(&mut self, c: u64, start: i64, row: &Row<S>) {
        self.visitors.insert(c);
        if row.orders > 0 {
            self.buyers.insert(c);
        }
        self.add_figures(start, row);
    }

    /// Adds one visit's counts and sums, not its visitor.
    pub fn add_figures<S>(&mut self, start: i64, row: &Row<S>) {
        self.visits += 1;
        self.pageviews += row.pageviews() as u64;
        self.bounces += row.bounce as u64;
        self.duration_ms += (row.end - start).max(0) as u64;
        self.orders += row.orders as u64;
        self.revenue += row.revenue;
    }
}

/// A point of the series.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Point {
    /// The first day of the day, week (Monday) or month.
    pub date: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// The overview: totals, a series, the period before.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub totals: Totals,
    pub series: Vec<Point>,
    pub previous: Totals,
    /// Bots' visits in the range, left out of everything above.
    pub bots_left_out: u64,
}

pub fn overview(read: &ReadTx, days: Days, interval: Interval, f: &Filters) -> Result<Overview, store::Error> {
    let (cells, bots) = day_cells(read, days, f)?;
    let mut total = Cell::default();
    let mut buckets: Vec<(NaiveDate, Cell)> = Vec::new();
    let mut d = days.from;
    while d <= days.to {
        let b = interval.bucket(d).max(days.from);
        if buckets.last().is_none_or(|(x, _)| *x != b) {
            buckets.push((b, Cell::default()));
        }
        if let Some(cell) = cells.get(&day_number(d)) {
            buckets.last_mut().expect("pushed").1.merge(cell);
            total.merge(cell);
        }
        d += chrono::Duration::days(1);
    }
    let (prev, _) = day_cells(read, days.previous(), f)?;
    let mut previous = Cell::default();
    for cell in prev.values() {
        previous.merge(cell);
    }
    Ok(Overview {
        totals: Totals::of(&total),
        series: buckets
            .iter()
            .map(|(date, cell)| Point {
                date: date.format("%Y-%m-%d").to_string(),
                totals: Totals::of(cell),
            })
            .collect(),
        previous: Totals::of(&previous),
        bots_left_out: bots,
    })
}

/// One value of a breakdown.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Item {
    pub value: String,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub bounce_rate: f64,
    pub orders: u64,
    pub revenue: f64,
    /// `exit_page` only: the visits that left from the page ÷ the page's views.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_rate: Option<f64>,
}

/// The top `limit` values of `by` over the range, most visitors first.
pub fn breakdown(read: &ReadTx, days: Days, by: Dim, f: &Filters, limit: usize) -> Result<Vec<Item>, store::Error> {
    let by_value = values(read, days, by, f)?;
    let pages = if by == Dim::ExitPage {
        Some(values(read, days, Dim::Page, f)?)
    } else {
        None
    };
    // Most visitors, visits, page views first; ties by the value's name, so the order does not
    // hang on the numbers names were given (a rebuild gives others). Only the values that can
    // make the top `limit` are named.
    let rank = |c: &Cell| std::cmp::Reverse((c.visitors.len(), c.visits, c.pageviews));
    let mut items: Vec<(u32, Cell)> = by_value.into_iter().collect();
    items.sort_by_key(|(_, c)| rank(c));
    if let Some(last) = items.get(limit.saturating_sub(1)).map(|(_, c)| rank(c)) {
        items.retain(|(_, c)| rank(c) <= last);
    }
    let mut named: Vec<(String, u32, Cell)> = Vec::with_capacity(items.len());
    for (id, cell) in items {
        named.push((read.web_name(id)?.unwrap_or_default(), id, cell));
    }
    named.sort_by(|a, b| rank(&a.2).cmp(&rank(&b.2)).then_with(|| a.0.cmp(&b.0)));
    named.truncate(limit);
    let mut out = Vec::with_capacity(named.len());
    for (value, id, cell) in named {
        let t = Totals::of(&cell);
        out.push(Item {
            value,
            visitors: t.visitors,
            visits: t.visits,
            pageviews: t.pageviews,
            bounce_rate: t.bounce_rate,
            orders: t.orders,
            revenue: t.revenue,
            exit_rate: pages
                .as_ref()
                .map(|p| ratio(cell.visits as f64, p.get(&id).map_or(0.0, |c| c.pageviews as f64))),
        });
    }
    Ok(out)
}

/// Each value of `by` over the range, its days' cells merged.
fn values(read: &ReadTx, days: Days, by: Dim, f: &Filters) -> Result<HashMap<u32, Cell>, store::Error> {
    match plan(read, f)? {
        Plan::Nothing => Ok(HashMap::new()),
        Plan::Cell(Dim::All, _) => merged_cells(read, days, by),
        Plan::Cell(dim, id) => values_scanned(read, days, by, None, &[(dim, id)], true),
        Plan::Members(members, None) => {
            let mut out = values_scanned(read, days, by, Some(members), &[], false)?;
            let all = merged_cells(read, days, by)?;
            for (value, cell) in &mut out {
                if let Some(all) = all.get(value) {
                    cell.visitors = &all.visitors & members;
                    cell.buyers = &all.buyers & members;
                }
            }
            Ok(out)
        }
        Plan::Members(members, Some(value)) => values_scanned(read, days, by, Some(members), &[value], true),
        Plan::Scan(members, ids) => values_scanned(read, days, by, members, &ids, true),
    }
}

/// Each value's cells of `by` over the range, merged.
fn merged_cells(read: &ReadTx, days: Days, by: Dim) -> Result<HashMap<u32, Cell>, store::Error> {
    let mut out: HashMap<u32, Cell> = HashMap::new();
    read.for_each_web_cell(days.numbers(), by as u8, |_, value, bytes| {
        let cell: Cell = ReadTx::decode_web("web_days", bytes)?;
        match out.get_mut(&value) {
            Some(c) => c.merge(&cell),
            None => {
                out.insert(value, cell);
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Each value of `by` over the visits of the range that pass the filters; with their visitors
/// and buyers when `visitors`, else only the counts and sums.
fn values_scanned(
    read: &ReadTx,
    days: Days,
    by: Dim,
    members: Option<&RoaringTreemap>,
    ids: &[(Dim, u32)],
    visitors: bool,
) -> Result<HashMap<u32, Cell>, store::Error> {
    let add = |cell: &mut Cell, c: u64, start: i64, row: &RowFigures| {
        if visitors {
            cell.add_visit(c, start, row);
        } else {
            cell.add_figures(start, row);
        }
    };
    let each = |out: &mut HashMap<u32, Cell>, _, c, start, row: &RowFigures| {
        if by == Dim::Page {
            let mut seen: Vec<u32> = Vec::new();
            for &p in &row.pages {
                if seen.contains(&p) {
                    continue;
                }
                seen.push(p);
                let cell = out.entry(p).or_default();
                add(cell, c, start, row);
                // A page's views are its own, not the visit's.
                cell.pageviews -= row.pageviews() as u64;
                cell.pageviews += row.pages.iter().filter(|q| **q == p).count() as u64;
            }
        } else {
            let v = row.value(by);
            if v != 0 {
                add(out.entry(v).or_default(), c, start, row);
            }
        }
    };
    let mut out: HashMap<u32, Cell> = HashMap::new();
    for part in scan(read, days, members, ids, RowFigures::read, each)? {
        for (value, cell) in part {
            match out.get_mut(&value) {
                Some(c) => c.merge(&cell),
                None => {
                    out.insert(value, cell);
                }
            }
        }
    }
    Ok(out)
}
