//! Cohorts (CONTRACT §8): customers by the shop-local month of their first order, and the share
//! who ordered again in each month after; and the repeat-purchase rate of each month.

use crate::store::{self, ReadTx};

/// One first-order month.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Cohort {
    /// `YYYY-MM`.
    pub cohort: String,
    pub customers: u64,
    /// The share of them who ordered in month 1, 2, … after it, up to `until`.
    pub months: Vec<f64>,
}

/// One month's customers who ordered, and how many of them had ordered before.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Repeat {
    /// `YYYY-MM`.
    pub month: String,
    pub customers: u64,
    pub returning: u64,
    /// Returning ÷ customers.
    pub repeat_rate: f64,
}

/// Months since 1970-01 as `YYYY-MM`.
pub fn month_name(m: i32) -> String {
    format!("{:04}-{:02}", 1970 + m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// `YYYY-MM` as months since 1970-01.
pub fn parse_month(s: &str) -> Option<i32> {
    let (y, m) = s.split_once('-')?;
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    ((1..=12).contains(&m) && (1970..=9999).contains(&y) && y.to_string().len() == 4).then_some((y - 1970) * 12 + m - 1)
}

fn ratio(a: u32, b: u32) -> f64 {
    super::rollup::ratio(a as f64, b as f64)
}

/// The cohorts whose first order fell in [from, to], each followed up to `until` (the current
/// month); and each month's repeat rate.
pub fn cohorts(read: &ReadTx, from: i32, to: i32, until: i32) -> Result<(Vec<Cohort>, Vec<Repeat>), store::Error> {
    let cells = read.web_cohorts(i32::MIN..=to)?;
    let get = |c: i32, m: i32| {
        cells
            .binary_search_by_key(&(c, m), |(k, _)| *k)
            .map_or(0, |i| cells[i].1)
    };
    let mut out = Vec::new();
    for c in from..=to {
        let size = get(c, c);
        out.push(Cohort {
            cohort: month_name(c),
            customers: size as u64,
            months: (c + 1..=until).map(|m| ratio(get(c, m), size)).collect(),
        });
    }
    let mut repeat = Vec::new();
    for m in from..=to {
        let (mut all, mut returning) = (0u32, 0u32);
        for ((c, month), n) in &cells {
            if *month == m && *c <= m {
                all += n;
                if *c < m {
                    returning += n;
                }
            }
        }
        repeat.push(Repeat {
            month: month_name(m),
            customers: all as u64,
            returning: returning as u64,
            repeat_rate: ratio(returning, all),
        });
    }
    Ok((out, repeat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_and_read_back() {
        assert_eq!(month_name(0), "1970-01");
        assert_eq!(month_name(671), "2025-12");
        assert_eq!(parse_month("2025-12"), Some(671));
        assert_eq!(parse_month("2025-13"), None);
        assert_eq!(parse_month("25-01"), None);
    }
}
