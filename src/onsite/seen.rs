//! What each visitor saw of each message, and each message's counts, kept from the ordinary track
//! events the storefront script sends (`Message Viewed`, `Message Clicked`, `Message Closed`,
//! each with `message_id`), and from orders (a conversion: an order within the message's
//! attribution window after a view or click). Written in the writer's transaction by `track`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::MessageRecord;
use crate::store::{self, Tx};

/// One visitor and one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub views: u32,
    #[serde(default)]
    pub first_view_at: Option<i64>,
    #[serde(default)]
    pub last_view_at: Option<i64>,
    #[serde(default)]
    pub clicks: u32,
    #[serde(default)]
    pub last_click_at: Option<i64>,
    #[serde(default)]
    pub closed_at: Option<i64>,
    /// "7일간 보지 않기": not shown before this time.
    #[serde(default)]
    pub snoozed_until: Option<i64>,
    #[serde(default)]
    pub converted_at: Option<i64>,
    /// The variant the visitor saw (CONTRACT §9 will split them).
    #[serde(default)]
    pub variant: Option<String>,
}

/// A message's counts in one quarter of an hour (so that any shop's day, in any time zone, is a
/// sum of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Times shown (at least half of it on screen).
    pub views: u64,
    /// Visitors who saw it for the first time.
    pub viewers: u64,
    pub clicks: u64,
    /// Visitors who clicked for the first time.
    pub clickers: u64,
    pub closes: u64,
    pub conversions: u64,
    pub revenue: f64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.views += o.views;
        self.viewers += o.viewers;
        self.clicks += o.clicks;
        self.clickers += o.clickers;
        self.closes += o.closes;
        self.conversions += o.conversions;
        self.revenue += o.revenue;
    }

    fn per_viewer(&self, n: u64) -> f64 {
        if self.viewers == 0 {
            0.0
        } else {
            n as f64 / self.viewers as f64
        }
    }

    /// Unique clickers over unique viewers.
    pub fn click_rate(&self) -> f64 {
        self.per_viewer(self.clickers)
    }

    /// Conversions over unique viewers.
    pub fn conversion_rate(&self) -> f64 {
        self.per_viewer(self.conversions)
    }
}

/// A message's counts over all time.
pub fn total(read: &crate::store::ReadTx, message: u64) -> Result<Counts, store::Error> {
    let mut sum = Counts::default();
    for (_, c) in read.onsite_counts_between::<Counts>(message, i64::MIN, i64::MAX)? {
        sum.add(&c);
    }
    Ok(sum)
}

/// A message's counts per day of the shop's time zone: the `days` days up to and including
/// `today` (a day number of `analysis::local_day`), oldest first, days without a view included;
/// and their sum.
pub fn per_day(
    read: &crate::store::ReadTx,
    message: u64,
    tz: chrono_tz::Tz,
    today: i32,
    days: u32,
) -> Result<(Vec<(chrono::NaiveDate, Counts)>, Counts), store::Error> {
    use crate::analysis::{day_date, day_start, local_day};
    let first = today - days as i32 + 1;
    let start = |day: i32| day_start(tz, day_date(day));
    let from = start(first).div_euclid(BUCKET_MS);
    let to = start(today + 1).div_euclid(BUCKET_MS);
    let mut out: Vec<(chrono::NaiveDate, Counts)> = (first..=today).map(|d| (day_date(d), Counts::default())).collect();
    let mut total = Counts::default();
    for (bucket, c) in read.onsite_counts_between::<Counts>(message, from, to)? {
        let day = local_day(bucket * BUCKET_MS, tz);
        if let Some((_, slot)) = out.get_mut((day - first) as usize) {
            slot.add(&c);
        }
        total.add(&c);
    }
    Ok((out, total))
}

/// The length of a counting bucket.
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// What the script reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Viewed,
    Clicked,
    Closed,
}

impl Report {
    pub fn of_event(name: &str) -> Option<Report> {
        match name {
            "Message Viewed" => Some(Report::Viewed),
            "Message Clicked" => Some(Report::Clicked),
            "Message Closed" => Some(Report::Closed),
            _ => None,
        }
    }
}

fn bump(tx: &mut Tx, message: u64, at: i64, f: impl FnOnce(&mut Counts)) -> Result<(), store::Error> {
    let bucket = at.div_euclid(BUCKET_MS);
    let mut c: Counts = tx.onsite_counts(message, bucket)?.unwrap_or_default();
    f(&mut c);
    tx.put_onsite_counts(message, bucket, &c)
}

/// Records a `Message Viewed|Clicked|Closed` event of `customer`. Events naming no message this
/// store has (a deleted one, a made-up id) change nothing.
pub fn record(
    tx: &mut Tx,
    customer: u64,
    report: Report,
    props: &Map<String, Value>,
    at: i64,
) -> Result<(), store::Error> {
    let Some(message) = props.get("message_id").and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }) else {
        return Ok(());
    };
    if tx.onsite_message::<serde::de::IgnoredAny>(message)?.is_none() {
        return Ok(());
    }
    let mut seen: Seen = tx.onsite_seen(customer, message)?.unwrap_or_default();
    if let Some(v) = props.get("variant").and_then(Value::as_str) {
        seen.variant = Some(v.chars().take(32).collect());
    }
    match report {
        Report::Viewed => {
            let first = seen.views == 0;
            seen.views += 1;
            seen.first_view_at.get_or_insert(at);
            seen.last_view_at = seen.last_view_at.max(Some(at));
            bump(tx, message, at, |c| {
                c.views += 1;
                c.viewers += u64::from(first);
            })?;
        }
        Report::Clicked => {
            let first = seen.clicks == 0;
            seen.clicks += 1;
            seen.last_click_at = seen.last_click_at.max(Some(at));
            bump(tx, message, at, |c| {
                c.clicks += 1;
                c.clickers += u64::from(first);
            })?;
        }
        Report::Closed => {
            seen.closed_at = seen.closed_at.max(Some(at));
            if let Some(days) = props.get("dont_show_days").and_then(Value::as_u64).filter(|d| *d > 0) {
                let until = at + days.min(365) as i64 * 86_400_000;
                seen.snoozed_until = seen.snoozed_until.max(Some(until));
            }
            bump(tx, message, at, |c| c.closes += 1)?;
        }
    }
    tx.put_onsite_seen(customer, message, &seen)
}

/// An order of `customer` at `at` for `amount`: each message they saw or clicked within its
/// attribution window, and that has not converted them before, counts it.
pub fn order(tx: &mut Tx, customer: u64, amount: f64, at: i64) -> Result<(), store::Error> {
    for (message, mut seen) in tx.onsite_seen_of::<Seen>(customer)? {
        if seen.converted_at.is_some() {
            continue;
        }
        let Some(rec) = tx.onsite_message::<MessageRecord>(message)? else {
            continue;
        };
        let window = i64::from(rec.definition.attribution_days) * 86_400_000;
        let touched = seen.last_click_at.max(seen.last_view_at);
        if touched.is_some_and(|t| t <= at && at - t <= window) {
            seen.converted_at = Some(at);
            tx.put_onsite_seen(customer, message, &seen)?;
            bump(tx, message, at, |c| {
                c.conversions += 1;
                c.revenue += amount;
            })?;
        }
    }
    Ok(())
}
