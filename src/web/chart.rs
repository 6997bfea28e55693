//! The console's charts, drawn as SVG by the templates from the numbers made here: the per-day
//! bar chart of two counts side by side (sent and conversions of a campaign, impressions and
//! clicks of an on-site message), and the series of one figure over time (the reports' visitors
//! and revenue), as a line over an area or as bars, with the period before as a dashed line.

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

/// One point of a series: where it is drawn and what hovering it says.
pub struct SeriesPoint {
    /// The point's centre and height (the line's vertex), and its bar.
    pub x: String,
    pub y: String,
    pub bar_x: String,
    pub bar_w: String,
    pub bar_h: String,
    /// The slot that answers hovering: from `slot_x`, `slot_w` wide.
    pub slot_x: String,
    pub slot_w: String,
    pub title: String,
}

/// A figure over time (`templates/series_chart.html`).
pub struct SeriesChart {
    /// The figure's element id and name.
    pub id: String,
    pub about: String,
    pub bars: bool,
    /// The line's `points` and the area's path under it; the period before's `points` (empty
    /// when there is none).
    pub line: String,
    pub area: String,
    pub before: String,
    pub points: Vec<SeriesPoint>,
    /// Horizontal grid lines: (y, label), from 0 up.
    pub y_ticks: Vec<(String, String)>,
    /// Dates under the axis: (x, label, anchor).
    pub x_ticks: Vec<(String, String, &'static str)>,
    /// The legend's two names (this period, the period before).
    pub now_label: String,
    pub before_label: String,
}

/// The smallest "round" number at or above `v` whose quarters are round too (1, 2, 4, 6 or 8
/// times a power of ten), so the grid's four lines read 15, 30, 45, 60 rather than 12.5.
fn round_up(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&r| r >= v * 0.999_999)
        .unwrap_or(10.0 * p)
}

/// A date as an axis shows it: without the year when the whole series is in one year, without
/// the day when every point is a month's first ("2026-03-01" → "03-01", or "2026-03").
fn short_date(date: &str, all: &[String]) -> String {
    let monthly = all.len() > 1 && all.iter().all(|d| d.ends_with("-01"));
    let one_year = all.iter().all(|d| d.get(..5) == date.get(..5));
    match (monthly, one_year) {
        (true, _) => date.get(..7).unwrap_or(date).to_string(),
        (false, true) => date.get(5..).unwrap_or(date).to_string(),
        (false, false) => date.to_string(),
    }
}

/// How a series is named and labelled.
pub struct SeriesText<'a> {
    pub id: &'a str,
    pub about: &'a str,
    pub now_label: &'a str,
    pub before_label: &'a str,
    /// A value as its tick and tooltip show it.
    pub format: &'a dyn Fn(f64) -> String,
}

/// The chart of `values` at `dates` (oldest first), with `before` (the period before, point for
/// point; may be shorter or empty) dashed behind; bars instead of a line when `bars`.
pub fn series(text: &SeriesText, dates: &[String], values: &[f64], before: &[f64], bars: bool) -> SeriesChart {
    let n = values.len().max(1);
    let top = round_up(values.iter().chain(before).copied().fold(0.0, f64::max));
    let slot = CHART_W / n as f64;
    let x_of = |i: usize| slot * (i as f64 + 0.5);
    let y_of = |v: f64| CHART_H - v / top * CHART_H;
    let fmt = text.format;
    let points: Vec<SeriesPoint> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let bar_w = (slot * 0.7).max(1.0);
            let mut title = format!(
                "{}: {} {}",
                dates.get(i).map_or("", String::as_str),
                text.now_label,
                fmt(v)
            );
            if let Some(b) = before.get(i) {
                title.push_str(&format!(" · {} {}", text.before_label, fmt(*b)));
            }
            SeriesPoint {
                x: format!("{:.1}", x_of(i)),
                y: format!("{:.1}", y_of(v)),
                bar_x: format!("{:.1}", x_of(i) - bar_w / 2.0),
                bar_w: format!("{bar_w:.1}"),
                bar_h: format!("{:.1}", CHART_H - y_of(v)),
                slot_x: format!("{:.1}", slot * i as f64),
                slot_w: format!("{slot:.1}"),
                title,
            }
        })
        .collect();
    let line = points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let area = match (points.first(), points.last()) {
        (Some(first), Some(last)) => format!("M{},{CHART_H} L{line} L{},{CHART_H} Z", first.x, last.x),
        _ => String::new(),
    };
    let before_line = before
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, &v)| format!("{:.1},{:.1}", x_of(i), y_of(v)))
        .collect::<Vec<_>>()
        .join(" ");
    let y_ticks = (0..=4)
        .map(|k| {
            let v = top * k as f64 / 4.0;
            (format!("{:.1}", y_of(v)), fmt(v))
        })
        .collect();
    // The first and last dates, and three between them.
    let last = dates.len().saturating_sub(1);
    let mut at: Vec<usize> = (0..=4).map(|k| k * last / 4).collect();
    at.dedup();
    let x_ticks = at
        .into_iter()
        .filter_map(|i| {
            let (x, anchor) = match i {
                0 => (0.0, "start"),
                i if i == last => (CHART_W, "end"),
                i => (x_of(i), "middle"),
            };
            Some((format!("{x:.1}"), short_date(dates.get(i)?, dates), anchor))
        })
        .collect();
    SeriesChart {
        id: text.id.to_string(),
        about: text.about.to_string(),
        bars,
        line,
        area,
        before: before_line,
        points,
        y_ticks,
        x_ticks,
        now_label: text.now_label.to_string(),
        before_label: text.before_label.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_scaled_to_a_round_top_with_the_period_before() {
        let dates: Vec<String> = ["2026-12-01", "2026-12-02", "2026-12-03"].map(String::from).to_vec();
        let fmt = |v: f64| format!("{v}");
        let text = SeriesText {
            id: "visitors",
            about: "Visitors",
            now_label: "This period",
            before_label: "Before",
            format: &fmt,
        };
        let c = series(&text, &dates, &[0.0, 80.0, 40.0], &[100.0, 20.0], false);
        // 100 is the highest of both periods: the top is 100, ticks every 25.
        let ticks: Vec<&str> = c.y_ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ticks, ["0", "25", "50", "75", "100"]);
        assert_eq!(c.line, "120.0,160.0 360.0,32.0 600.0,96.0");
        assert_eq!(c.before, "120.0,0.0 360.0,128.0");
        assert_eq!(c.area, "M120.0,160 L120.0,160.0 360.0,32.0 600.0,96.0 L600.0,160 Z");
        assert_eq!(c.points[1].title, "2026-12-02: This period 80 · Before 20");
        assert_eq!(c.points[2].title, "2026-12-03: This period 40");
        assert_eq!(c.points[1].bar_h, "128.0");
        let xs: Vec<(&str, &str)> = c.x_ticks.iter().map(|t| (t.1.as_str(), t.2)).collect();
        assert_eq!(xs, [("12-01", "start"), ("12-02", "middle"), ("12-03", "end")]);
        let months: Vec<String> = ["2025-12-01", "2026-01-01"].map(String::from).to_vec();
        assert_eq!(short_date("2026-01-01", &months), "2026-01");
        assert_eq!(
            (
                round_up(0.0),
                round_up(3.0),
                round_up(50.0),
                round_up(120.0),
                round_up(7_300.0)
            ),
            (1.0, 4.0, 60.0, 200.0, 8_000.0)
        );
    }

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
