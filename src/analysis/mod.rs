//! The nightly customer analysis: RFM scores and groups, the BG/NBD and Gamma-Gamma models of
//! repeat purchases and order value fitted on the shop's own orders, predicted lifetime value,
//! spend tiers and churn risk; each night's result kept as a dated snapshot.
//!
//! A run reads one consistent snapshot of the store, computes every customer's row, writes the
//! rows for its day in chunks (invisible until the run is complete), and then, in the job's final
//! transaction, the day's summary, who changed group, and the pruning of old days. Readers always
//! use the latest day that has a summary, so a run that stops half way is never half visible.

pub mod model;
pub mod rfm;
mod run;
pub mod view;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use rfm::RfmGroup;
pub use run::{RunOptions, analyse};

/// The job's name in the runner and the API (`POST /api/v1/jobs/analysis/run`).
pub const JOB: &str = "analysis";

/// How many customers one stored chunk holds.
pub const CHUNK: usize = 4096;

/// Days kept whole; older days are kept only as each month's first analysed day.
pub const KEEP_DAILY: i32 = 35;
/// How long monthly snapshots are kept.
pub const KEEP_MONTHLY: i32 = 760;

/// Churn risk cut points on the probability of being alive: below `HIGH` is high risk, below
/// `MEDIUM` is medium, the rest low.
pub const CHURN_HIGH_BELOW: f64 = 0.3;
pub const CHURN_MEDIUM_BELOW: f64 = 0.7;
/// Spend tier cut points on the predicted 365-day spend, as percentiles among buyers (Shopify's).
pub const TIER_HIGH_ABOVE: f64 = 0.7;
pub const TIER_LOW_BELOW: f64 = 0.1;
/// The model is fitted only with at least this many buyers, of which this many bought again.
pub const MIN_BUYERS: usize = 20;
pub const MIN_REPEAT_BUYERS: usize = 5;
/// A one-time buyer whose order is younger than this many days gets the models' average for a new
/// customer, labelled as the shop average: their own history says too little yet.
pub const NEW_CUSTOMER_DAYS: i32 = 30;
/// Above this many buyers the models are fitted on a sample of this size (chosen by id hash).
pub const FIT_SAMPLE: usize = 200_000;

/// One customer on one day. Stored positionally: new fields go at the end with a default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRow {
    pub customer: u64,
    /// Orders not wholly refunded.
    pub orders: u32,
    /// Distinct shop-local days with an order (the models count one purchase per day).
    pub purchase_days: u32,
    /// Net spend so far: the historic lifetime value.
    pub spent: f64,
    /// First and last purchase day (days since 1970-01-01, shop time); 0 without orders.
    pub first_day: i32,
    pub last_day: i32,
    /// RFM scores 1–5, 0 without orders.
    pub r: u8,
    pub f: u8,
    pub m: u8,
    /// `RfmGroup::code`.
    pub group: u8,
    /// `Level::code` of the spend tier and of the churn risk; 0 without orders.
    pub tier: u8,
    pub churn: u8,
    /// `Basis::code`: how the predictions were made.
    pub basis: u8,
    /// `Level::code` of how sure the prediction is.
    pub confidence: u8,
    /// Probability the customer is still active; NaN when unknown.
    pub p_alive: f32,
    /// Expected orders in the next 30, 90 and 365 days.
    pub orders_30: f32,
    pub orders_90: f32,
    pub orders_365: f32,
    /// Expected value of a future order.
    pub order_value: f32,
    /// Predicted spend in the next 365 days (expected orders × expected value, undiscounted).
    pub clv_365: f32,
    /// Median days from the run to the next order if the customer is active; NaN when unknown.
    pub next_order_days: f32,
}

impl AnalysisRow {
    pub fn group(&self) -> Option<RfmGroup> {
        RfmGroup::from_code(self.group)
    }
    pub fn tier(&self) -> Option<Level> {
        Level::from_code(self.tier)
    }
    pub fn churn(&self) -> Option<Level> {
        Level::from_code(self.churn)
    }
    pub fn basis(&self) -> Basis {
        Basis::from_code(self.basis)
    }
    pub fn confidence(&self) -> Option<Level> {
        Level::from_code(self.confidence)
    }
}

/// Low / medium / high: spend tiers, churn risk and confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Low, Level::Medium, Level::High];
    pub fn code(self) -> u8 {
        self as u8 + 1
    }
    pub fn from_code(code: u8) -> Option<Level> {
        Level::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// How a customer's predictions were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// No orders: nothing to predict from.
    None,
    /// The BG/NBD and Gamma-Gamma models fitted on this shop's orders.
    Model,
    /// The shop's averages stand in, and say so: too few orders in the shop to fit the models
    /// (the shop's repeat-purchase rate and order value), or too little history of the customer's
    /// own (the fitted models' average for a new customer).
    ShopAverage,
}

impl Basis {
    pub fn code(self) -> u8 {
        match self {
            Basis::None => 0,
            Basis::Model => 1,
            Basis::ShopAverage => 2,
        }
    }
    pub fn from_code(code: u8) -> Basis {
        match code {
            1 => Basis::Model,
            2 => Basis::ShopAverage,
            _ => Basis::None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::None => "none",
            Basis::Model => "model",
            Basis::ShopAverage => "shop_average",
        }
    }
}

/// A day's chunk of rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnalysisChunk {
    pub rows: Vec<AnalysisRow>,
}

/// A change of a customer's group, tier or churn risk between two analysed days.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnalysisChange {
    /// The day compared with.
    #[serde(default)]
    pub since: i32,
    #[serde(default)]
    pub group: (u8, u8),
    #[serde(default)]
    pub tier: (u8, u8),
    #[serde(default)]
    pub churn: (u8, u8),
}

/// A fitted model's parameters with their standard errors.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FittedModel {
    /// (name, value, standard error when the Hessian allowed one).
    #[schema(value_type = Vec<Object>)]
    pub params: Vec<(String, f64, Option<f64>)>,
    pub log_likelihood: f64,
    /// Customers the fit used.
    pub customers: u64,
    pub iterations: u64,
    pub converged: bool,
}

/// One cell of the R × FM grid.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GridCell {
    pub r: u8,
    pub fm: u8,
    pub customers: u64,
    /// Net spend of the cell's customers so far.
    pub revenue: f64,
}

/// A count per group, tier or risk level, with the net spend of those customers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bucket {
    pub name: String,
    pub customers: u64,
    pub revenue: f64,
}

/// How customers moved between RFM groups (and tiers and risk levels) between two days.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Moves {
    /// The earlier day (YYYY-MM-DD).
    pub since: String,
    /// (from group, to group, customers) for every pair with someone in it, from ≠ to.
    #[schema(value_type = Vec<Object>)]
    pub groups: Vec<(String, String, u64)>,
    pub tier_changes: u64,
    pub churn_changes: u64,
    /// Customers in both days.
    pub compared: u64,
}

/// The score thresholds of a run, for explaining scores.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cuts {
    /// Days since the last order at most this many for R = 2, 3, 4, 5.
    pub recency_days: Vec<Option<f64>>,
    /// Orders at least this many for F = 2, 3, 4, 5.
    pub frequency: Vec<Option<f64>>,
    /// Net spend at least this much for M = 2, 3, 4, 5.
    pub monetary: Vec<Option<f64>>,
    /// Predicted 365-day spend above which the tier is high, and below which it is low.
    pub tier_high_above: f64,
    pub tier_low_below: f64,
}

/// The summary of one completed day: what the API's RFM report and the Analysis page show.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnalysisRun {
    #[serde(default)]
    pub day: i32,
    /// The instant analysed (unix millis).
    #[serde(default)]
    pub as_of: i64,
    #[serde(default)]
    pub customers: u64,
    #[serde(default)]
    pub buyers: u64,
    #[serde(default)]
    pub repeat_buyers: u64,
    #[serde(default)]
    pub orders: u64,
    #[serde(default)]
    pub revenue: f64,
    #[serde(default)]
    pub bgnbd: Option<FittedModel>,
    #[serde(default)]
    pub gamma_gamma: Option<FittedModel>,
    /// Why the shop averages stand in for a model, when they do.
    #[serde(default)]
    pub fallback: Vec<String>,
    #[serde(default)]
    pub shop_order_value: f64,
    /// Repeat purchases per customer-day of the shop (the shop-average purchase rate).
    #[serde(default)]
    pub shop_daily_rate: f64,
    #[serde(default)]
    pub grid: Vec<GridCell>,
    #[serde(default)]
    pub groups: Vec<Bucket>,
    #[serde(default)]
    pub tiers: Vec<Bucket>,
    #[serde(default)]
    pub churn: Vec<Bucket>,
    #[serde(default)]
    pub cuts: Cuts,
    #[serde(default)]
    pub predicted_orders_365: f64,
    #[serde(default)]
    pub predicted_revenue_365: f64,
    #[serde(default)]
    pub moved_since_previous: Option<Moves>,
    #[serde(default)]
    pub moved_since_month: Option<Moves>,
    /// Milliseconds spent reading, fitting, scoring and writing.
    #[serde(default)]
    pub timings: Vec<(String, u64)>,
}

/// The shop-local date of `ms` as YYYY-MM-DD.
pub fn local_date(ms: i64, tz: Tz) -> String {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Days since 1970-01-01 of the shop-local date of `ms`.
pub fn local_day(ms: i64, tz: Tz) -> i32 {
    let date = tz
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default();
    (date - NaiveDate::default()).num_days() as i32
}

/// The first instant of a day in the shop's time zone, as unix millis. Where a clock change
/// skips midnight, the day starts when the clocks jump.
pub fn day_start(tz: Tz, day: NaiveDate) -> i64 {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (0..=8)
        .find_map(|quarter| {
            tz.from_local_datetime(&(midnight + chrono::Duration::minutes(15 * quarter)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc().timestamp_millis(), |t| t.timestamp_millis())
}

/// The date of a day number.
pub fn day_date(day: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(i64::from(day))
}

/// Of stored `days` (oldest first), those past keeping on `today`: every day of the last `daily`
/// days is kept, and before that each month's first stored day for `monthly` days.
pub fn days_to_drop(days: &[i32], today: i32, daily: i32, monthly: i32) -> Vec<i32> {
    use chrono::Datelike;
    let mut last_month = None;
    let mut drop = Vec::new();
    for &day in days {
        let date = day_date(day);
        let month = (date.year(), date.month());
        let first_of_month = last_month != Some(month);
        last_month = Some(month);
        let age = today - day;
        if !(age <= daily || (first_of_month && age <= monthly)) {
            drop.push(day);
        }
    }
    drop
}

/// The job to register with the runner: the nightly analysis at 00:00 shop time.
pub fn job() -> crate::jobs::Job {
    crate::jobs::Job {
        name: JOB,
        about: "RFM, spend tiers, churn risk and predicted lifetime value of every customer",
        schedule: crate::jobs::Schedule::DailyAt(chrono::NaiveTime::MIN),
        body: std::sync::Arc::new(|store, ctx| run::analyse(store, ctx.now, ctx.tz, &RunOptions::default())),
    }
}

/// Removes a customer from every stored day (erasure). Called in the erasing transaction.
pub fn erase(tx: &mut crate::store::Tx, customer: u64) -> Result<(), crate::store::Error> {
    for day in tx.analysis_days()? {
        if let Some((first, mut chunk)) = tx.analysis_chunk::<AnalysisChunk>(day, customer)?
            && let Ok(i) = chunk.rows.binary_search_by_key(&customer, |r| r.customer)
        {
            chunk.rows.remove(i);
            tx.put_analysis_chunk(day, first, &chunk)?;
        }
    }
    tx.delete_analysis_changes_of(customer)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_days_are_kept_whole_and_older_ones_monthly() {
        let day = |s: &str| {
            (chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap() - NaiveDate::default()).num_days() as i32
        };
        let today = day("2026-11-22");
        let days: Vec<i32> = (day("2026-08-01")..=today).collect();
        let dropped = days_to_drop(&days, today, 35, 760);
        // Every day since 18 Oct stays; before that only 1 Aug, 1 Sep, 1 Oct.
        let kept: Vec<String> = days
            .iter()
            .filter(|d| !dropped.contains(d))
            .map(|d| day_date(*d).to_string())
            .take(4)
            .collect();
        assert_eq!(kept, ["2026-08-01", "2026-09-01", "2026-10-01", "2026-10-18"]);
        assert_eq!(days.len() - dropped.len(), 3 + 36);
        // Past the monthly horizon even a month's first day goes.
        assert_eq!(
            days_to_drop(&[day("2024-01-01")], today, 35, 760),
            vec![day("2024-01-01")]
        );
    }
}
