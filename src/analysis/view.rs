//! The analysis as people read it: one customer's figures with a sentence explaining each, and
//! the shop's RFM report. The API serves these as JSON (in English); the console renders them in
//! the staff member's language from the same label catalogue.

use chrono_tz::Tz;
use serde::Serialize;

use super::*;
use crate::i18n::{self, Catalog, Lang};
use crate::store::{self, ReadTx};

/// A figure with its one-line explanation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Explained<T> {
    pub value: T,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Scores {
    pub r: u8,
    pub f: u8,
    pub m: u8,
    /// The combined frequency-and-money score the group map reads.
    pub fm: u8,
    pub days_since_last_order: i32,
    pub orders: u32,
    pub spent: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Predictions {
    /// `model` (BG/NBD + Gamma-Gamma fitted on this shop) or `shop_average` (too few orders to fit).
    pub basis: String,
    /// How sure the prediction is: `low`, `medium` or `high`.
    pub confidence: String,
    pub explanation: String,
    pub probability_alive: Option<f64>,
    pub expected_orders_30: f64,
    pub expected_orders_90: f64,
    pub expected_orders_365: f64,
    pub expected_order_value: f64,
    pub predicted_clv_365: f64,
    /// YYYY-MM-DD: the median next order date if the customer is still active.
    pub expected_next_order: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    /// YYYY-MM-DD of the run that saw the change.
    pub date: String,
    /// The day compared with.
    pub since: String,
    pub group: Option<(String, String)>,
    pub spend_tier: Option<(Option<String>, Option<String>)>,
    pub churn_risk: Option<(Option<String>, Option<String>)>,
    /// "Loyal → At risk".
    pub text: String,
}

/// `GET /api/v1/customers/{id}/analysis`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerAnalysis {
    pub customer: u64,
    /// The analysed day (YYYY-MM-DD, shop time) and instant.
    pub date: String,
    pub as_of: String,
    /// RFM group (`champions`, …, `prospects`).
    pub rfm_segment: Explained<String>,
    pub scores: Option<Explained<Scores>>,
    pub spend_tier: Option<Explained<String>>,
    pub churn_risk: Option<Explained<String>>,
    pub predictions: Option<Predictions>,
    /// Net spend so far.
    pub historic_clv: f64,
    /// Group, tier and risk changes, newest first.
    pub history: Vec<ChangeView>,
}

/// The latest completed day and its summary.
pub fn latest(read: &ReadTx) -> Result<Option<(i32, AnalysisRun)>, store::Error> {
    read.analysis_run_on_or_before(i32::MAX)
}

/// A customer's row on a day (the latest when `day` is None).
pub fn row_of(read: &ReadTx, customer: u64, day: i32) -> Result<Option<AnalysisRow>, store::Error> {
    Ok(read
        .analysis_chunk::<AnalysisChunk>(day, customer)?
        .and_then(|(_, c)| c.rows.into_iter().find(|r| r.customer == customer)))
}

fn fill(template: &str, pairs: &[(&str, String)]) -> String {
    let mut s = template.to_string();
    for (k, v) in pairs {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// Why shop averages stand in for the models, in `t`'s words, told from the run's counts and
/// which models it fitted (the run's own reasons, the API's `fallback`, are English and carry the
/// fitting's error); empty when both models were fitted.
pub fn fallback_reasons(t: &Catalog, buyers: u64, repeat_buyers: u64, bgnbd: bool, gamma_gamma: bool) -> Vec<String> {
    let counts = |key: &str| {
        fill(
            t.get(key),
            &[
                ("buyers", i18n::number(buyers as f64, 0)),
                ("repeat", i18n::number(repeat_buyers as f64, 0)),
                ("min_buyers", MIN_BUYERS.to_string()),
                ("min_repeat", MIN_REPEAT_BUYERS.to_string()),
            ],
        )
    };
    let too_few = |n: u64, min: usize| n < min as u64;
    let reason = if !bgnbd {
        if too_few(buyers, MIN_BUYERS) || too_few(repeat_buyers, MIN_REPEAT_BUYERS) {
            counts("analysis.fallback_few_buyers")
        } else {
            t.get("analysis.fallback_bgnbd_failed").to_string()
        }
    } else if !gamma_gamma {
        if too_few(repeat_buyers, MIN_REPEAT_BUYERS) {
            counts("analysis.fallback_few_repeat")
        } else {
            t.get("analysis.fallback_gamma_gamma_failed").to_string()
        }
    } else {
        return Vec::new();
    };
    vec![reason]
}

pub fn group_label(t: &Catalog, code: u8) -> String {
    match RfmGroup::from_code(code) {
        Some(g) => t.get(&format!("analysis.group.{}", g.as_str())).to_string(),
        None => "—".into(),
    }
}

pub fn level_label(t: &Catalog, code: u8) -> String {
    match Level::from_code(code) {
        Some(l) => t.get(&format!("analysis.level.{}", l.as_str())).to_string(),
        None => "—".into(),
    }
}

/// One customer's analysis, explained in the catalogue's language. None before the first run.
pub fn customer_analysis(
    read: &ReadTx,
    customer: u64,
    tz: Tz,
    lang: Lang,
) -> Result<Option<CustomerAnalysis>, store::Error> {
    let t = Catalog::for_lang(lang);
    let Some((day, run)) = latest(read)? else {
        return Ok(None);
    };
    let Some(row) = row_of(read, customer, day)? else {
        return Ok(None);
    };
    let money = |v: f64| i18n::money(v, None, lang);
    let group = row.group().unwrap_or(RfmGroup::Prospects);
    let rfm_segment = Explained {
        value: group.as_str().to_string(),
        explanation: format!(
            "{}: {}",
            group_label(t, row.group),
            t.get(&format!("analysis.about.{}", group.as_str()))
        ),
    };
    let history = history(read, customer, t)?;
    if row.orders == 0 {
        return Ok(Some(CustomerAnalysis {
            customer,
            date: day_date(day).to_string(),
            as_of: i18n::datetime(run.as_of, tz),
            rfm_segment,
            scores: None,
            spend_tier: None,
            churn_risk: None,
            predictions: None,
            historic_clv: 0.0,
            history,
        }));
    }
    let days_since = day - row.last_day;
    let fm = rfm::fm_score(row.f, row.m);
    let scores = Explained {
        explanation: fill(
            t.get("analysis.explain_scores"),
            &[
                ("r", row.r.to_string()),
                ("f", row.f.to_string()),
                ("m", row.m.to_string()),
                ("fm", fm.to_string()),
                ("days", days_since.to_string()),
                ("orders", row.orders.to_string()),
                ("spent", money(row.spent)),
            ],
        ),
        value: Scores {
            r: row.r,
            f: row.f,
            m: row.m,
            fm,
            days_since_last_order: days_since,
            orders: row.orders,
            spent: row.spent,
        },
    };
    let tier = Explained {
        value: row.tier().map_or("", Level::as_str).to_string(),
        explanation: fill(
            t.get("analysis.explain_tier"),
            &[
                ("clv", money(f64::from(row.clv_365))),
                ("high", money(run.cuts.tier_high_above)),
                ("low", money(run.cuts.tier_low_below)),
            ],
        ),
    };
    let basis = row.basis();
    let churn = Explained {
        value: row.churn().map_or("", Level::as_str).to_string(),
        explanation: if run.bgnbd.is_some() {
            fill(
                t.get(if row.purchase_days > 1 {
                    "analysis.explain_churn"
                } else {
                    "analysis.explain_churn_once"
                }),
                &[("p", format!("{:.0}", f64::from(row.p_alive) * 100.0))],
            )
        } else {
            fill(t.get("analysis.explain_churn_recency"), &[("r", row.r.to_string())])
        },
    };
    let next = (row.next_order_days.is_finite() && row.next_order_days < 3650.0)
        .then(|| day_date(day + row.next_order_days.round() as i32).to_string());
    let mut explanation = match basis {
        Basis::ShopAverage if run.bgnbd.is_some() => fill(
            t.get("analysis.explain_new_customer"),
            &[("days", (day - row.first_day).to_string())],
        ),
        Basis::ShopAverage => fill(
            t.get("analysis.explain_fallback"),
            &[(
                "reason",
                fallback_reasons(
                    t,
                    run.buyers,
                    run.repeat_buyers,
                    run.bgnbd.is_some(),
                    run.gamma_gamma.is_some(),
                )
                .join("; "),
            )],
        ),
        _ => fill(
            t.get("analysis.explain_model"),
            &[(
                "buyers",
                i18n::number(run.bgnbd.as_ref().map_or(0.0, |m| m.customers as f64), 0),
            )],
        ),
    };
    explanation.push(' ');
    explanation.push_str(&fill(
        t.get("analysis.explain_clv"),
        &[
            ("orders", format!("{:.2}", row.orders_365)),
            ("value", money(f64::from(row.order_value))),
            ("clv", money(f64::from(row.clv_365))),
        ],
    ));
    if let Some(next) = &next {
        explanation.push(' ');
        explanation.push_str(&fill(t.get("analysis.explain_next"), &[("date", next.clone())]));
    }
    let predictions = Predictions {
        basis: basis.as_str().into(),
        confidence: row.confidence().map_or("low", Level::as_str).into(),
        explanation,
        probability_alive: row.p_alive.is_finite().then_some(f64::from(row.p_alive)),
        expected_orders_30: f64::from(row.orders_30),
        expected_orders_90: f64::from(row.orders_90),
        expected_orders_365: f64::from(row.orders_365),
        expected_order_value: f64::from(row.order_value),
        predicted_clv_365: f64::from(row.clv_365),
        expected_next_order: next,
    };
    Ok(Some(CustomerAnalysis {
        customer,
        date: day_date(day).to_string(),
        as_of: i18n::datetime(run.as_of, tz),
        rfm_segment,
        scores: Some(scores),
        spend_tier: Some(tier),
        churn_risk: Some(churn),
        predictions: Some(predictions),
        historic_clv: row.spent,
        history,
    }))
}

fn history(read: &ReadTx, customer: u64, t: &Catalog) -> Result<Vec<ChangeView>, store::Error> {
    let level = |c: u8| Level::from_code(c).map(|l| l.as_str().to_string());
    let mut out: Vec<ChangeView> = read
        .analysis_changes_of::<AnalysisChange>(customer)?
        .into_iter()
        .map(|(day, c)| {
            let mut parts = Vec::new();
            if c.group.0 != c.group.1 {
                parts.push(format!("{} → {}", group_label(t, c.group.0), group_label(t, c.group.1)));
            }
            if c.tier.0 != c.tier.1 {
                parts.push(format!(
                    "{}: {} → {}",
                    t.get("analysis.spend_tier"),
                    level_label(t, c.tier.0),
                    level_label(t, c.tier.1)
                ));
            }
            if c.churn.0 != c.churn.1 {
                parts.push(format!(
                    "{}: {} → {}",
                    t.get("analysis.churn_risk"),
                    level_label(t, c.churn.0),
                    level_label(t, c.churn.1)
                ));
            }
            ChangeView {
                date: day_date(day).to_string(),
                since: day_date(c.since).to_string(),
                group: (c.group.0 != c.group.1).then(|| {
                    let name = |g: u8| RfmGroup::from_code(g).map_or("none", RfmGroup::as_str).to_string();
                    (name(c.group.0), name(c.group.1))
                }),
                spend_tier: (c.tier.0 != c.tier.1).then(|| (level(c.tier.0), level(c.tier.1))),
                churn_risk: (c.churn.0 != c.churn.1).then(|| (level(c.churn.0), level(c.churn.1))),
                text: parts.join(" · "),
            }
        })
        .collect();
    out.reverse();
    Ok(out)
}

/// A bucket with its change since an earlier day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BucketView {
    pub name: String,
    pub label: String,
    pub customers: u64,
    /// Share of all customers analysed (0–1).
    pub share: f64,
    pub revenue: f64,
    /// Share of all net revenue (0–1).
    pub revenue_share: f64,
    /// Change in customers since the day before, and since about a month before.
    pub change_since_previous: Option<i64>,
    pub change_since_month: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GridView {
    pub r: u8,
    pub fm: u8,
    pub group: String,
    pub label: String,
    pub customers: u64,
    pub revenue_share: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupRule {
    pub name: String,
    pub label: String,
    /// What the group means.
    pub about: String,
    /// The (R, FM) cells that make it, e.g. "R5 · FM4–5".
    pub cells: String,
}

/// `GET /api/v1/reports/rfm`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RfmReport {
    pub date: String,
    pub as_of: String,
    pub customers: u64,
    pub buyers: u64,
    pub repeat_buyers: u64,
    pub revenue: f64,
    /// The R × FM grid, R5 first.
    pub grid: Vec<GridView>,
    pub groups: Vec<BucketView>,
    pub spend_tiers: Vec<BucketView>,
    pub churn_risk: Vec<BucketView>,
    pub moved_since_previous: Option<Moves>,
    pub moved_since_month: Option<Moves>,
    pub cuts: Cuts,
    /// The group map: which cells make each group and what it means.
    pub group_rules: Vec<GroupRule>,
    pub bgnbd: Option<FittedModel>,
    pub gamma_gamma: Option<FittedModel>,
    /// Why shop averages stand in for a model, when they do.
    pub fallback: Vec<String>,
    pub predicted_orders_365: f64,
    pub predicted_revenue_365: f64,
    /// Milliseconds per phase of the run.
    #[schema(value_type = Vec<Object>)]
    pub timings: Vec<(String, u64)>,
}

/// The report of the latest day, or None before the first run.
pub fn rfm_report(read: &ReadTx, tz: Tz, lang: Lang) -> Result<Option<RfmReport>, store::Error> {
    let t = Catalog::for_lang(lang);
    let Some((day, run)) = latest(read)? else {
        return Ok(None);
    };
    let previous = read.analysis_run_on_or_before::<AnalysisRun>(day - 1)?;
    let month = read.analysis_run_on_or_before::<AnalysisRun>(day - 30)?;
    let total = run.customers.max(1) as f64;
    let revenue = if run.revenue > 0.0 { run.revenue } else { 1.0 };
    let buckets = |now: &[Bucket], pick: fn(&AnalysisRun) -> &Vec<Bucket>, label: &dyn Fn(&str) -> String| {
        now.iter()
            .map(|b| {
                let before = |r: &Option<(i32, AnalysisRun)>| {
                    r.as_ref().map(|(_, r)| {
                        let old = pick(r).iter().find(|o| o.name == b.name).map_or(0, |o| o.customers);
                        b.customers as i64 - old as i64
                    })
                };
                BucketView {
                    name: b.name.clone(),
                    label: label(&b.name),
                    customers: b.customers,
                    share: b.customers as f64 / total,
                    revenue: b.revenue,
                    revenue_share: b.revenue / revenue,
                    change_since_previous: before(&previous),
                    change_since_month: before(&month),
                }
            })
            .collect::<Vec<_>>()
    };
    let group_name = |n: &str| t.get(&format!("analysis.group.{n}")).to_string();
    let level_name = |n: &str| t.get(&format!("analysis.level.{n}")).to_string();
    let grid = run
        .grid
        .iter()
        .map(|c| {
            let g = RfmGroup::of_scores(c.r, c.fm);
            GridView {
                r: c.r,
                fm: c.fm,
                group: g.as_str().into(),
                label: group_name(g.as_str()),
                customers: c.customers,
                revenue_share: c.revenue / revenue,
            }
        })
        .collect();
    Ok(Some(RfmReport {
        date: day_date(day).to_string(),
        as_of: i18n::datetime(run.as_of, tz),
        customers: run.customers,
        buyers: run.buyers,
        repeat_buyers: run.repeat_buyers,
        revenue: run.revenue,
        grid,
        groups: buckets(&run.groups, |r| &r.groups, &group_name),
        spend_tiers: buckets(&run.tiers, |r| &r.tiers, &level_name),
        churn_risk: buckets(&run.churn, |r| &r.churn, &level_name),
        moved_since_previous: run.moved_since_previous.clone(),
        moved_since_month: run.moved_since_month.clone(),
        cuts: run.cuts.clone(),
        group_rules: group_rules(t),
        bgnbd: run.bgnbd.clone(),
        gamma_gamma: run.gamma_gamma.clone(),
        fallback: run.fallback.clone(),
        predicted_orders_365: run.predicted_orders_365,
        predicted_revenue_365: run.predicted_revenue_365,
        timings: run.timings.clone(),
    }))
}

/// The group map written out from [`RfmGroup::of_scores`] itself, so the page cannot disagree
/// with the code.
pub fn group_rules(t: &Catalog) -> Vec<GroupRule> {
    RfmGroup::ALL
        .iter()
        .map(|&g| {
            let mut by_r: Vec<String> = Vec::new();
            for r in (1..=5u8).rev() {
                let fms: Vec<u8> = (1..=5u8).filter(|&fm| RfmGroup::of_scores(r, fm) == g).collect();
                if let (Some(lo), Some(hi)) = (fms.first(), fms.last()) {
                    by_r.push(if lo == hi {
                        format!("R{r} · FM{lo}")
                    } else {
                        format!("R{r} · FM{lo}–{hi}")
                    });
                }
            }
            GroupRule {
                name: g.as_str().into(),
                label: t.get(&format!("analysis.group.{}", g.as_str())).into(),
                about: t.get(&format!("analysis.about.{}", g.as_str())).into(),
                cells: if g == RfmGroup::Prospects {
                    t.get("analysis.no_orders").into()
                } else {
                    by_r.join(", ")
                },
            }
        })
        .collect()
}
