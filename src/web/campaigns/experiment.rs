//! The experiment card of a campaign's page (CONTRACT §9): the verdict in words, each arm's
//! figures against the control with their intervals, the sample-ratio alert and the smallest lift
//! the sizes can see.

use crate::experiment::report::{ArmReport, ExperimentReport};
use crate::i18n::{self, Catalog, Lang};

/// One arm's row.
pub struct ArmRow {
    pub key: String,
    pub control: bool,
    pub assigned: String,
    pub exposed: String,
    pub converted: String,
    /// The rate and, beneath it, Wilson's interval.
    pub rate: String,
    pub rate_ci: String,
    pub revenue_per: String,
    /// Against the control: the relative lift, the absolute one's interval (in points), the
    /// chance to beat it and the p-value; empty for the control.
    pub lift: String,
    pub lift_ci: String,
    pub chance: String,
    pub p_value: String,
    pub revenue_p: String,
    /// Better or worse than the control with p < 0.05 ("up", "down"), else empty.
    pub tone: &'static str,
}

/// One arm's line in the chart of rates over days: its cumulative rate and Wilson's interval as
/// a band around it, in the SVG's coordinates.
pub struct ArmLine {
    pub key: String,
    pub color: &'static str,
    pub line: String,
    pub band: String,
}

/// Each arm's cumulative conversion rate over days, with its interval (server-drawn SVG).
pub struct RateChart {
    pub lines: Vec<ArmLine>,
    /// Grid lines from 0 up: (y, label).
    pub y_ticks: Vec<(String, String)>,
    pub first_day: String,
    pub last_day: String,
}

/// The arms' colours: the variants, then the hold-out in grey.
const COLORS: [&str; 8] = [
    "#3b5bdb", "#2f9e44", "#e8590c", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d",
];
const HOLDOUT_COLOR: &str = "#868e96";
const CHART_W: f64 = 720.0;
const CHART_H: f64 = 160.0;

/// The chart of each arm's cumulative rate; None with fewer than two days.
fn rate_chart(e: &ExperimentReport, t: &Catalog) -> Option<RateChart> {
    if e.days.len() < 2 {
        return None;
    }
    let top = e
        .days
        .iter()
        .flat_map(|d| d.arms.iter().map(|a| a.ci95.map_or(a.conversion_rate, |c| c[1])))
        .fold(0.0f64, f64::max);
    // A round top in percent: 1, 2, 5, 10, 20, 50 or 100 %.
    let top = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
        .into_iter()
        .find(|&r| r >= top)
        .unwrap_or(1.0);
    let n = e.days.len();
    let x = |i: usize| i as f64 * CHART_W / (n - 1) as f64;
    let y = |r: f64| CHART_H - (r / top).min(1.0) * CHART_H;
    let lines = e
        .arms
        .iter()
        .enumerate()
        .map(|(arm, a)| {
            let at = |i: usize| e.days[i].arms.get(arm);
            let line: Vec<String> = (0..n)
                .filter_map(|i| at(i).map(|p| format!("{:.1},{:.1}", x(i), y(p.conversion_rate))))
                .collect();
            let upper = (0..n).filter_map(|i| {
                at(i)
                    .and_then(|p| p.ci95)
                    .map(|c| format!("{:.1},{:.1}", x(i), y(c[1])))
            });
            let lower: Vec<String> = (0..n)
                .filter_map(|i| {
                    at(i)
                        .and_then(|p| p.ci95)
                        .map(|c| format!("{:.1},{:.1}", x(i), y(c[0])))
                })
                .collect();
            let band: Vec<String> = upper.chain(lower.into_iter().rev()).collect();
            ArmLine {
                key: name(&a.key, t),
                color: if a.key == crate::experiment::HOLDOUT {
                    HOLDOUT_COLOR
                } else {
                    COLORS[arm % COLORS.len()]
                },
                line: line.join(" "),
                band: band.join(" "),
            }
        })
        .collect();
    Some(RateChart {
        lines,
        y_ticks: (0..=4)
            .map(|k| {
                let r = top * f64::from(k) / 4.0;
                (format!("{:.1}", y(r)), i18n::percent(r))
            })
            .collect(),
        first_day: e.days[0].day.clone(),
        last_day: e.days[n - 1].day.clone(),
    })
}

pub struct ExperimentView {
    pub chart: Option<RateChart>,
    /// The verdict in words.
    pub verdict: String,
    pub verdict_kind: String,
    /// Said when the split is not what the weights ask (χ² p < 0.001).
    pub srm_alert: Option<String>,
    pub arms: Vec<ArmRow>,
    pub about: String,
}

/// A relative change with its sign: "+38%", "−12.5%".
fn signed_percent(share: f64) -> String {
    let p = i18n::percent(share.abs());
    if share > 0.0 {
        format!("+{p}")
    } else if share < 0.0 {
        format!("−{p}")
    } else {
        p
    }
}

/// A difference of rates in percentage points: "+1.2%p".
fn points(d: f64) -> String {
    let n = i18n::number(d.abs() * 100.0, 2);
    if d < 0.0 {
        format!("−{n}%p")
    } else {
        format!("+{n}%p")
    }
}

/// A chance as a share, never "100.0%" or "0.0%": data never makes either certain.
fn chance(c: f64) -> String {
    if c > 0.999 {
        "> 99.9%".into()
    } else if c < 0.001 {
        "< 0.1%".into()
    } else {
        i18n::percent(c)
    }
}

/// A p-value with three decimals, "< 0.001" below.
fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        i18n::number(p, 3)
    }
}

fn row(a: &ArmReport, control: &str, t: &Catalog, lang: Lang) -> ArmRow {
    let ci = |c: Option<[f64; 2]>| {
        c.map_or(String::new(), |[lo, hi]| {
            format!("{} – {}", i18n::percent(lo), i18n::percent(hi))
        })
    };
    let is_control = a.key == control;
    let significant = a.p_value.is_some_and(|p| p < 0.05);
    let lift_abs = a.lift.as_ref().map(|l| l.abs);
    ArmRow {
        key: name(&a.key, t),
        control: is_control,
        assigned: i18n::number(a.assigned as f64, 0),
        exposed: i18n::number(a.exposed as f64, 0),
        converted: i18n::number(a.converted as f64, 0),
        rate: i18n::percent(a.conversion_rate),
        rate_ci: ci(a.ci95),
        revenue_per: i18n::money(a.revenue_per_assigned, None, lang),
        lift: match &a.lift {
            None => String::new(),
            Some(l) => l.rel.map_or_else(|| points(l.abs), signed_percent),
        },
        lift_ci: a
            .lift
            .as_ref()
            .and_then(|l| l.ci95)
            .map_or(String::new(), |[lo, hi]| format!("{} – {}", points(lo), points(hi))),
        chance: a.chance_to_beat_control.map_or(String::new(), chance),
        p_value: a.p_value.map_or(String::new(), p_value),
        revenue_p: a.revenue_p_value.map_or(String::new(), p_value),
        tone: match (significant, lift_abs) {
            (true, Some(d)) if d > 0.0 => "up",
            (true, Some(d)) if d < 0.0 => "down",
            _ => "",
        },
    }
}

/// An arm's name as the page shows it: the hold-out in words.
fn name(key: &str, t: &Catalog) -> String {
    if key == crate::experiment::HOLDOUT {
        t.get("experiments.holdout").to_string()
    } else {
        key.to_string()
    }
}

/// The card of a campaign's experiment.
pub fn view(e: &ExperimentReport, t: &Catalog, lang: Lang) -> ExperimentView {
    let mde = e.mde_rel.map(signed_percent);
    let verdict = match (e.verdict.as_str(), &e.winner) {
        ("winner", Some(w)) => t
            .get(if w == crate::experiment::HOLDOUT {
                "experiments.verdict_holdout_won"
            } else {
                "experiments.verdict_winner"
            })
            .replace("{arm}", &name(w, t))
            .replace("{chance}", &chance(e.winner_chance.unwrap_or(0.0))),
        ("too_small", _) => t.get("experiments.verdict_too_small").to_string(),
        _ => match &mde {
            Some(m) => t.get("experiments.verdict_no_difference").replace("{mde}", m),
            None => t.get("experiments.verdict_no_difference_plain").to_string(),
        },
    };
    ExperimentView {
        chart: rate_chart(e, t),
        verdict,
        verdict_kind: e.verdict.clone(),
        srm_alert: e
            .srm_p_value
            .filter(|p| *p < 0.001)
            .map(|p| t.get("experiments.srm_alert").replace("{p}", &format!("{p:.1e}"))),
        arms: e.arms.iter().map(|a| row(a, &e.control, t, lang)).collect(),
        about: t.get("experiments.about").replace("{control}", &name(&e.control, t)),
    }
}

/// The planning hint before launch: split as the design says, the `reachable` people can show a
/// relative difference of at least this much from the control's rate, if 2 % (or 5 %) convert
/// (the minimum detectable lift at α 0.05 and power 0.8, CONTRACT §9).
pub fn plan(d: &crate::experiment::Design, reachable: u64, t: &Catalog) -> String {
    let shares = d.shares();
    let control = d.control();
    let size = |i: usize| (reachable as f64 * shares[i]).floor() as u64;
    let smallest_other = (0..shares.len()).filter(|&i| i != control).map(size).min();
    let n_c = size(control);
    let at = |p: f64| {
        smallest_other
            .and_then(|n_t| crate::experiment::stats::mde_rel(((p * n_c as f64).round() as u64, n_c), n_t))
            .filter(|m| m.is_finite())
            .map_or_else(|| t.get("experiments.plan_none").to_string(), signed_percent)
    };
    t.get("experiments.plan")
        .replace("{n}", &i18n::number(reachable as f64, 0))
        .replace("{at2}", &at(0.02))
        .replace("{at5}", &at(0.05))
}
