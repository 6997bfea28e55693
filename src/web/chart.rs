//! The console's per-day bar chart: two counts side by side for each day (sent and conversions
//! of a campaign, impressions and clicks of an on-site message), drawn as SVG by the templates
//! from the numbers made here.

use crate::i18n;

pub const CHART_W: f64 = 720.0;
pub const CHART_H: f64 = 160.0;
/// Days drawn at most (the pages' tables list them all).
pub const CHART_DAYS: usize = 60;

/// One day: its two bars, in SVG user units.
pub struct DayBar {
    pub x: String,
    pub b_x: String,
    pub width: String,
    pub a_y: String,
    pub a_h: String,
    pub b_y: String,
    pub b_h: String,
    pub title: String,
}

pub struct DayChart {
    /// What the chart shows, and its two bars' names (for `templates/chart.html`).
    pub about: String,
    pub a: String,
    pub b: String,
    pub bars: Vec<DayBar>,
    pub max: String,
    pub first: String,
    pub last: String,
}

/// One day's two counts.
pub struct Day<'a> {
    pub day: &'a str,
    pub a: u64,
    pub b: u64,
}

/// The chart of the last `CHART_DAYS` days, oldest first, titled `about`, with `a` and `b` as the
/// bars' names; None without days.
pub fn two_bars(days: &[Day], about: &str, a: &str, b: &str) -> Option<DayChart> {
    let days = &days[days.len().saturating_sub(CHART_DAYS)..];
    if days.is_empty() {
        return None;
    }
    let max = days.iter().map(|d| d.a.max(d.b)).max().unwrap_or(0).max(1) as f64;
    let slot = CHART_W / days.len().max(14) as f64;
    let width = (slot * 0.38).max(1.0);
    let count = |n: u64| i18n::number(n as f64, 0);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = i as f64 * slot + slot * 0.1;
            let a_h = d.a as f64 / max * CHART_H;
            let b_h = d.b as f64 / max * CHART_H;
            DayBar {
                x: format!("{x:.1}"),
                b_x: format!("{:.1}", x + width + slot * 0.04),
                width: format!("{width:.1}"),
                a_y: format!("{:.1}", CHART_H - a_h),
                a_h: format!("{a_h:.1}"),
                b_y: format!("{:.1}", CHART_H - b_h),
                b_h: format!("{b_h:.1}"),
                title: format!("{}: {a} {} · {b} {}", d.day, count(d.a), count(d.b)),
            }
        })
        .collect();
    Some(DayChart {
        about: about.to_string(),
        a: a.to_string(),
        b: b.to_string(),
        bars,
        max: count(max as u64),
        first: days.first().map(|d| d.day.to_string()).unwrap_or_default(),
        last: days.last().map(|d| d.day.to_string()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_counts_per_day_scaled_to_the_highest() {
        let c = two_bars(
            &[
                Day {
                    day: "2026-11-23",
                    a: 4,
                    b: 0,
                },
                Day {
                    day: "2026-11-24",
                    a: 2,
                    b: 1,
                },
            ],
            "Per day",
            "Sent",
            "Conversions",
        )
        .unwrap();
        assert_eq!(
            (c.about.as_str(), c.a.as_str(), c.b.as_str()),
            ("Per day", "Sent", "Conversions")
        );
        assert_eq!(c.bars.len(), 2);
        assert_eq!((c.bars[0].a_y.as_str(), c.bars[0].a_h.as_str()), ("0.0", "160.0"));
        assert_eq!(c.bars[1].b_h, "40.0");
        assert_eq!(c.bars[1].title, "2026-11-24: Sent 2 · Conversions 1");
        assert_eq!((c.first.as_str(), c.last.as_str()), ("2026-11-23", "2026-11-24"));
        assert!(two_bars(&[], "", "a", "b").is_none());
    }
}
