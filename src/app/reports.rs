//! The web-analytics reports as both edges ask for them: the range and filters read and checked
//! (a wrong one named), the segment's members made, the reports' tables brought up to the log,
//! and the report read.

use std::sync::atomic::AtomicBool;

use chrono::{Datelike, NaiveDate, TimeZone};

use super::AppState;
use crate::error::{ErrorCode, HasCode};
use crate::reports::Dim;
use crate::reports::cohorts::{self, Cohort, Repeat};
use crate::reports::funnel::{self, DEFAULT_STEPS, Step};
use crate::reports::products::ProductItem;
use crate::reports::query::{self, Days, Filters, Interval, Item, Overview, Totals};
use crate::segment::saved::{SegmentError, current_members};
use crate::store;

/// The longest range a report covers, in days (three years and a leap day).
pub const MAX_DAYS: i64 = 1_096;
/// The longest range of cohorts, in months.
pub const MAX_MONTHS: i32 = 36;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{1}")]
    Field(&'static str, String),
    #[error("the reports are being built from the event log (at the first start of this version); try again shortly")]
    NotReady,
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl HasCode for ReportError {
    fn code(&self) -> ErrorCode {
        match self {
            ReportError::Field(..) => ErrorCode::InvalidField,
            ReportError::NotReady => ErrorCode::NotReady,
            ReportError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ReportError::Field(f, _) => Some(f),
            _ => None,
        }
    }
}

fn wrong(field: &'static str, message: impl Into<String>) -> ReportError {
    ReportError::Field(field, message.into())
}

/// What a report was asked for, as typed.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub from: Option<String>,
    pub to: Option<String>,
    pub segment_id: Option<u64>,
    pub source: Option<String>,
    pub device: Option<String>,
    pub page: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Today in the shop's zone.
pub fn today(st: &AppState) -> NaiveDate {
    st.tz
        .timestamp_millis_opt(st.now_ms())
        .single()
        .map_or_else(NaiveDate::default, |t| t.date_naive())
}

fn date(field: &'static str, s: &Option<String>) -> Result<Option<NaiveDate>, ReportError> {
    match nonempty(s) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| wrong(field, format!("`{field}` must be a date, YYYY-MM-DD (got {s:?})"))),
    }
}

/// The range asked for (default: the 30 days to today), checked.
pub fn days(st: &AppState, a: &Asked) -> Result<Days, ReportError> {
    let to = date("to", &a.to)?.unwrap_or_else(|| today(st));
    let from = date("from", &a.from)?.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(wrong("from", format!("`from` ({from}) is after `to` ({to})")));
    }
    let days = Days { from, to };
    if days.len() > MAX_DAYS {
        return Err(wrong(
            "to",
            format!(
                "a report spans at most {MAX_DAYS} days; {from} to {to} is {} days",
                days.len()
            ),
        ));
    }
    Ok(days)
}

/// The filters asked for, checked, with the segment's members made.
pub fn filters(st: &AppState, read: &store::ReadTx, a: &Asked) -> Result<Filters, ReportError> {
    let device = nonempty(&a.device).map(|d| d.to_ascii_lowercase());
    if let Some(d) = &device
        && !["desktop", "mobile", "tablet"].contains(&d.as_str())
    {
        return Err(wrong(
            "device",
            format!("`device` is desktop, mobile or tablet (got {d:?})"),
        ));
    }
    let members = match a.segment_id {
        None => None,
        Some(id) => Some(st.with_env(read, |env| current_members(env, id)).map_err(|e| match e {
            SegmentError::Store(e) => ReportError::Store(e),
            SegmentError::NotFound(id) => wrong("segment_id", format!("no segment {id}")),
            e => wrong(
                "segment_id",
                format!("segment {}: {e}", a.segment_id.unwrap_or_default()),
            ),
        })?),
    };
    Ok(Filters {
        members,
        source: nonempty(&a.source),
        device,
        page: nonempty(&a.page),
    })
}

/// Brings the reports' tables up to the log; `NotReady` while they are first built.
fn caught_up(st: &AppState) -> Result<(), ReportError> {
    // Waits for a catch-up under way; a first build is the follower's to make.
    if !st.reports.catch_up(&AtomicBool::new(false), false)? {
        return Err(ReportError::NotReady);
    }
    Ok(())
}

pub fn overview(st: &AppState, a: &Asked, interval: Option<&str>) -> Result<Overview, ReportError> {
    let days = days(st, a)?;
    let interval = match interval.map(str::trim).filter(|s| !s.is_empty()) {
        None => Interval::Day,
        Some(s) => Interval::parse(s)
            .ok_or_else(|| wrong("interval", format!("`interval` is day, week or month (got {s:?})")))?,
    };
    caught_up(st)?;
    let read = st.store.read()?;
    let f = filters(st, &read, a)?;
    Ok(query::overview(&read, days, interval, &f)?)
}

pub fn breakdown(st: &AppState, a: &Asked, by: Option<&str>, limit: Option<usize>) -> Result<Vec<Item>, ReportError> {
    let names: Vec<&str> = Dim::BREAKDOWNS.iter().map(|d| d.as_str()).collect();
    let by = match by.map(str::trim).filter(|s| !s.is_empty()) {
        None => return Err(wrong("by", format!("`by` is required: one of {}", names.join(", ")))),
        Some(s) => {
            Dim::parse(s).ok_or_else(|| wrong("by", format!("`by` is one of {} (got {s:?})", names.join(", "))))?
        }
    };
    let limit = limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(wrong("limit", "`limit` is 1 to 1000"));
    }
    let days = days(st, a)?;
    caught_up(st)?;
    let read = st.store.read()?;
    let f = filters(st, &read, a)?;
    Ok(query::breakdown(&read, days, by, &f, limit)?)
}

/// The funnel and the hours it allowed.
pub fn funnel(
    st: &AppState,
    a: &Asked,
    steps: Option<Vec<String>>,
    within_hours: Option<u32>,
) -> Result<(Vec<Step>, u32), ReportError> {
    let steps = steps.unwrap_or_else(|| DEFAULT_STEPS.iter().map(|s| s.to_string()).collect());
    if !(2..=10).contains(&steps.len()) {
        return Err(wrong(
            "steps",
            format!("a funnel has 2 to 10 steps (got {})", steps.len()),
        ));
    }
    if let Some(i) = steps.iter().position(|s| s.trim().is_empty()) {
        return Err(ReportError::Field("steps", format!("`steps[{i}].event` is empty")));
    }
    let within = within_hours.unwrap_or(24);
    if !(1..=2_160).contains(&within) {
        return Err(wrong("within_hours", "`within_hours` is 1 to 2160 (90 days)"));
    }
    let days = days(st, a)?;
    caught_up(st)?;
    let read = st.store.read()?;
    let f = filters(st, &read, a)?;
    let start = crate::analysis::day_start(st.tz, days.from);
    let end = crate::analysis::day_start(st.tz, days.to + chrono::Duration::days(1)) - 1;
    let steps: Vec<String> = steps.into_iter().map(|s| s.trim().to_string()).collect();
    let out = funnel::funnel(&read, &steps, days, (start, end), within as i64 * 3_600_000, &f)?;
    Ok((out, within))
}

fn month(field: &'static str, s: Option<&str>) -> Result<Option<i32>, ReportError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => cohorts::parse_month(s)
            .map(Some)
            .ok_or_else(|| wrong(field, format!("`{field}` must be a month, YYYY-MM (got {s:?})"))),
    }
}

pub fn cohorts(st: &AppState, from: Option<&str>, to: Option<&str>) -> Result<(Vec<Cohort>, Vec<Repeat>), ReportError> {
    let today = today(st);
    let this_month = (today.year() - 1970) * 12 + today.month0() as i32;
    let to = month("to", to)?.unwrap_or(this_month);
    let from = month("from", from)?.unwrap_or(to - 11);
    if from > to {
        return Err(wrong("from", "`from` is after `to`"));
    }
    if to - from + 1 > MAX_MONTHS {
        return Err(wrong("to", format!("cohorts span at most {MAX_MONTHS} months")));
    }
    caught_up(st)?;
    let read = st.store.read()?;
    Ok(cohorts::cohorts(&read, from, to, this_month.max(to))?)
}

/// The top products of a range (the filters do not apply: the per-product days are the shop's).
pub fn products(st: &AppState, a: &Asked, limit: Option<usize>) -> Result<Vec<ProductItem>, ReportError> {
    let limit = limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(wrong("limit", "`limit` is 1 to 1000"));
    }
    let days = days(st, a)?;
    Ok(crate::reports::products::products(&st.store.read()?, days, limit)?)
}

/// Today so far, and the same day a week before by the same time; None while the reports'
/// tables are first built.
pub fn so_far(st: &AppState) -> Result<Option<(Totals, Totals)>, ReportError> {
    match caught_up(st) {
        Err(ReportError::NotReady) => return Ok(None),
        other => other?,
    }
    let (now, day) = (st.now_ms(), today(st));
    let week = chrono::Duration::days(7);
    let read = st.store.read()?;
    Ok(Some((
        crate::reports::today::day(&read, day)?,
        crate::reports::today::so_far(&read, day - week, now - week.num_milliseconds())?,
    )))
}

/// Who is on the shop now, and today so far against the same time last week (None while the
/// reports' tables are first built).
pub fn live(st: &AppState) -> Result<(crate::reports::live::Live, Option<(Totals, Totals)>), ReportError> {
    let live = st.reports.live(st.now_ms())?;
    Ok((live, so_far(st)?))
}
