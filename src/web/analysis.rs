//! Customers ▸ Analysis: the latest nightly analysis of the whole shop (the RFM grid, the groups,
//! spend tiers and churn risk with their changes, moves between groups, the fitted models), and
//! the Analysis card of a customer's page. Both only lay out what `crate::analysis::view`
//! computes; its sentences are already in the staff member's language.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::frame::Frame;
use super::{Staff, render};
use crate::analysis::view::{self, BucketView, CustomerAnalysis, GroupRule, RfmReport};
use crate::analysis::{FittedModel, Level, Moves, RfmGroup};
use crate::app::AppState;
use crate::i18n::{self, Catalog, Lang};
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new().route("/customers/analysis", get(show))
}

/// Moves between groups shown per comparison, the largest first.
const TOP_MOVES: usize = 10;

/// A group's label by its snake_case name; "—" for a name the catalogue has no group for (the
/// runner writes "none" for a customer who was not analysed).
fn group_name(t: &Catalog, name: &str) -> String {
    match RfmGroup::parse(name) {
        Some(g) => t.get(&format!("analysis.group.{}", g.as_str())).to_string(),
        None => "—".into(),
    }
}

/// A level's label ("low", "medium", "high"); "—" when empty.
fn level_name(t: &Catalog, name: &str) -> String {
    match Level::parse(name) {
        Some(l) => t.get(&format!("analysis.level.{}", l.as_str())).to_string(),
        None => "—".into(),
    }
}

// --- the customer's Analysis card ---------------------------------------------------------------

/// A figure with the sentence that explains it (shown muted under it; may be empty).
pub struct Explained {
    pub label: &'static str,
    pub value: String,
    pub explanation: String,
}

/// A customer's analysis as the profile shows it.
pub enum CustomerCard {
    /// No analysis has run yet, or the customer came after the latest run.
    NotYet,
    /// Analysed, with figures (none for a prospect, who has no orders).
    Analysed {
        as_of: String,
        /// `g-…`: the group's colour class.
        group_class: String,
        group: String,
        group_explanation: String,
        prospect: bool,
        /// Scores, spend tier and churn risk.
        figures: Vec<Explained>,
        /// The predictions, and the one explanation the view gives for them all.
        predictions: Vec<(&'static str, String)>,
        predictions_explanation: String,
        /// "2026-11-03: Loyal → At risk", newest first.
        history: Vec<String>,
    },
}

impl CustomerCard {
    pub fn new(analysis: Option<CustomerAnalysis>, t: &'static Catalog, lang: Lang) -> CustomerCard {
        let Some(a) = analysis else {
            return CustomerCard::NotYet;
        };
        let money = |v: f64| i18n::money(v, None, lang);
        let orders = |v: f64| i18n::number(v, 2);
        let mut figures = Vec::new();
        if let Some(s) = &a.scores {
            let v = &s.value;
            figures.push(Explained {
                label: t.get("analysis.rfm"),
                value: format!("R{} · F{} · M{} (FM {})", v.r, v.f, v.m, v.fm),
                explanation: s.explanation.clone(),
            });
        }
        for (label, e) in [
            ("analysis.spend_tier", &a.spend_tier),
            ("analysis.churn_risk", &a.churn_risk),
        ] {
            if let Some(e) = e {
                figures.push(Explained {
                    label: t.get(label),
                    value: level_name(t, &e.value),
                    explanation: e.explanation.clone(),
                });
            }
        }
        let mut predictions = Vec::new();
        let mut predictions_explanation = String::new();
        if let Some(p) = &a.predictions {
            predictions = vec![
                (
                    t.get("analysis.probability_alive"),
                    p.probability_alive.map_or_else(|| "—".into(), i18n::percent),
                ),
                (t.get("analysis.orders_30"), orders(p.expected_orders_30)),
                (t.get("analysis.orders_90"), orders(p.expected_orders_90)),
                (t.get("analysis.orders_365"), orders(p.expected_orders_365)),
                (t.get("analysis.order_value"), money(p.expected_order_value)),
                (t.get("analysis.clv_365"), money(p.predicted_clv_365)),
                (t.get("analysis.historic_clv"), money(a.historic_clv)),
                (
                    t.get("analysis.next_order"),
                    p.expected_next_order.clone().unwrap_or_else(|| "—".into()),
                ),
                (
                    t.get("analysis.basis"),
                    format!(
                        "{} · {} {}",
                        t.find(&format!("analysis.basis_{}", p.basis)).unwrap_or(&p.basis),
                        t.get("analysis.confidence"),
                        level_name(t, &p.confidence)
                    ),
                ),
            ];
            predictions_explanation = p.explanation.clone();
        }
        CustomerCard::Analysed {
            as_of: a.as_of,
            group_class: format!("g-{}", a.rfm_segment.value),
            group: group_name(t, &a.rfm_segment.value),
            group_explanation: a.rfm_segment.explanation,
            prospect: a.scores.is_none(),
            figures,
            predictions,
            predictions_explanation,
            history: a
                .history
                .into_iter()
                .map(|h| format!("{}: {}", h.date, h.text))
                .collect(),
        }
    }
}

// --- the Analysis page --------------------------------------------------------------------------

/// A group, tier or risk level with its bar.
pub struct Bar {
    /// The colour class: `g-at_risk`, `tier-high`, `churn-low`.
    pub class: String,
    pub label: String,
    pub customers: String,
    pub share: String,
    pub revenue_share: String,
    /// The bar's width in percent, for the style attribute.
    pub width: String,
    pub since_previous: String,
    pub since_month: String,
    /// The builder with these customers' rule: who they are, as a segment to save.
    pub href: String,
}

pub struct Cell {
    pub class: String,
    pub label: String,
    pub customers: String,
    pub revenue_share: String,
    /// The customers of the cell's group (a cell is a part of its group).
    pub href: String,
}

pub struct GridRow {
    pub r: u8,
    pub cells: Vec<Cell>,
}

pub struct Move {
    pub from_class: String,
    pub from: String,
    pub to_class: String,
    pub to: String,
    pub customers: String,
}

pub struct MovesView {
    /// The day compared with.
    pub since: String,
    pub moves: Vec<Move>,
    pub compared: String,
    pub tier_changes: String,
    pub churn_changes: String,
}

pub struct ModelView {
    pub name: &'static str,
    /// (name, value, standard error or "—").
    pub params: Vec<(String, String, String)>,
    pub customers: String,
    pub log_likelihood: String,
    pub converged: bool,
}

pub struct ReportView {
    pub as_of: String,
    pub headline: Vec<(&'static str, String)>,
    /// R5 first, each row FM1..FM5.
    pub grid: Vec<GridRow>,
    /// (class, label) of each group on the grid.
    pub legend: Vec<(String, String)>,
    pub groups: Vec<Bar>,
    pub group_map: Vec<(String, GroupRule)>,
    pub tiers: Vec<Bar>,
    pub churn: Vec<Bar>,
    pub moved_since_previous: Option<MovesView>,
    pub moved_since_month: Option<MovesView>,
    pub models: Vec<ModelView>,
    pub fallback: Vec<String>,
}

#[derive(Template)]
#[template(path = "analysis/index.html")]
struct AnalysisPage {
    f: Frame,
    /// None before the first run.
    report: Option<ReportView>,
}

async fn show(State(st): State<AppState>, staff: Staff) -> Response {
    let (tz, lang) = (st.tz, staff.lang);
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> { view::rfm_report(&s.read()?, tz, lang) })
        .await;
    match res {
        Ok(report) => render(&AnalysisPage {
            f: Frame::new(&staff, "customers"),
            report: report.map(|r| report_view(r, staff.t, lang)),
        }),
        Err(e) => super::failed(lang, &e),
    }
}

/// The segment builder started with the rule `attr = value` (and a name), where its live count
/// and latest matches show the customers behind a figure, ready to save as a segment.
pub fn customers_behind(attr: &str, value: &str, name: &str) -> String {
    let rule = serde_json::json!({"attr": attr, "op": "=", "value": value}).to_string();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("rule", &rule);
    q.append_pair("name", name);
    format!("/segments/new?{}", q.finish())
}

fn bars(buckets: &[BucketView], prefix: &str, attr: &str) -> Vec<Bar> {
    buckets
        .iter()
        .map(|b| Bar {
            href: customers_behind(attr, &b.name, &b.label),
            class: format!("{prefix}-{}", b.name),
            label: b.label.clone(),
            customers: i18n::number(b.customers as f64, 0),
            share: i18n::percent(b.share),
            revenue_share: i18n::percent(b.revenue_share),
            width: format!("{:.1}", (b.share * 100.0).clamp(0.0, 100.0)),
            since_previous: i18n::change(b.change_since_previous),
            since_month: i18n::change(b.change_since_month),
        })
        .collect()
}

fn moves(m: Option<Moves>, t: &Catalog) -> Option<MovesView> {
    let n = |v: u64| i18n::number(v as f64, 0);
    m.map(|m| MovesView {
        // The runner lists them largest first.
        moves: m
            .groups
            .iter()
            .take(TOP_MOVES)
            .map(|(from, to, count)| Move {
                from_class: format!("g-{from}"),
                from: group_name(t, from),
                to_class: format!("g-{to}"),
                to: group_name(t, to),
                customers: n(*count),
            })
            .collect(),
        since: m.since,
        compared: n(m.compared),
        tier_changes: n(m.tier_changes),
        churn_changes: n(m.churn_changes),
    })
}

/// A model parameter: enough digits for small shape parameters, thousands separators for the
/// money-scaled ones (Gamma-Gamma's v).
fn param(v: f64) -> String {
    let decimals = match v.abs() {
        a if a >= 1000.0 => 0,
        a if a >= 1.0 => 3,
        _ => 4,
    };
    i18n::number(v, decimals)
}

fn model(name: &'static str, m: Option<FittedModel>) -> Option<ModelView> {
    m.map(|m| ModelView {
        name,
        params: m
            .params
            .into_iter()
            .map(|(p, v, se)| (p, param(v), se.map_or_else(|| "—".into(), param)))
            .collect(),
        customers: i18n::number(m.customers as f64, 0),
        log_likelihood: i18n::number(m.log_likelihood, 1),
        converged: m.converged,
    })
}

fn report_view(rep: RfmReport, t: &'static Catalog, lang: Lang) -> ReportView {
    let n = |v: u64| i18n::number(v as f64, 0);
    // Lay the grid out by (R, FM) rather than trust the order of the cells; a cell the run did
    // not write is an empty one of the group the map gives it.
    let grid: Vec<GridRow> = (1..=5u8)
        .rev()
        .map(|r| GridRow {
            r,
            cells: (1..=5u8)
                .map(|fm| match rep.grid.iter().find(|c| c.r == r && c.fm == fm) {
                    Some(c) => Cell {
                        class: format!("g-{}", c.group),
                        label: c.label.clone(),
                        customers: n(c.customers),
                        revenue_share: i18n::percent(c.revenue_share),
                        href: customers_behind("rfm_segment", &c.group, &c.label),
                    },
                    None => {
                        let g = RfmGroup::of_scores(r, fm);
                        Cell {
                            href: customers_behind("rfm_segment", g.as_str(), &group_name(t, g.as_str())),
                            class: format!("g-{}", g.as_str()),
                            label: group_name(t, g.as_str()),
                            customers: "0".into(),
                            revenue_share: i18n::percent(0.0),
                        }
                    }
                })
                .collect(),
        })
        .collect();
    let legend = rep
        .group_rules
        .iter()
        .filter(|g| {
            grid.iter()
                .flat_map(|row| &row.cells)
                .any(|c| c.class == format!("g-{}", g.name))
        })
        .map(|g| (format!("g-{}", g.name), g.label.clone()))
        .collect();
    let fallback = view::fallback_reasons(
        t,
        rep.buyers,
        rep.repeat_buyers,
        rep.bgnbd.is_some(),
        rep.gamma_gamma.is_some(),
    );
    ReportView {
        headline: vec![
            (t.get("analysis.customers"), n(rep.customers)),
            (t.get("analysis.buyers"), n(rep.buyers)),
            (t.get("analysis.repeat_buyers"), n(rep.repeat_buyers)),
            (
                t.get("analysis.predicted_orders"),
                i18n::number(rep.predicted_orders_365, 0),
            ),
            (
                t.get("analysis.predicted_revenue"),
                i18n::money(rep.predicted_revenue_365, None, lang),
            ),
        ],
        grid,
        legend,
        groups: bars(&rep.groups, "g", "rfm_segment"),
        group_map: rep
            .group_rules
            .into_iter()
            .map(|g| (format!("g-{}", g.name), g))
            .collect(),
        tiers: bars(&rep.spend_tiers, "tier", "spend_tier"),
        churn: bars(&rep.churn_risk, "churn", "churn_risk"),
        moved_since_previous: moves(rep.moved_since_previous, t),
        moved_since_month: moves(rep.moved_since_month, t),
        models: [model("BG/NBD", rep.bgnbd), model("Gamma-Gamma", rep.gamma_gamma)]
            .into_iter()
            .flatten()
            .collect(),
        fallback,
        as_of: rep.as_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::view::{BucketView, GridView};
    use crate::analysis::{Cuts, FittedModel, Moves};

    fn frame() -> Frame {
        Frame {
            t: Catalog::for_lang(Lang::En),
            lang: "en",
            user: "admin".into(),
            role: "owner".into(),
            csrf: "token".into(),
            active: "customers",
            path: "/customers/analysis".into(),
            can_change: true,
        }
    }

    fn bucket(name: &str, customers: u64, previous: Option<i64>, month: Option<i64>) -> BucketView {
        BucketView {
            name: name.into(),
            label: name.into(),
            customers,
            share: customers as f64 / 100.0,
            revenue: 0.0,
            revenue_share: 0.25,
            change_since_previous: previous,
            change_since_month: month,
        }
    }

    fn report() -> RfmReport {
        let t = Catalog::for_lang(Lang::En);
        RfmReport {
            date: "2026-11-03".into(),
            as_of: "2026-11-03 00:00".into(),
            customers: 100,
            buyers: 60,
            repeat_buyers: 20,
            revenue: 1000.0,
            // One cell only: the rest are laid out empty.
            grid: vec![GridView {
                r: 5,
                fm: 5,
                group: "champions".into(),
                label: "Champions".into(),
                customers: 7,
                revenue_share: 0.5,
            }],
            groups: vec![bucket("champions", 7, Some(12), Some(-3))],
            spend_tiers: vec![bucket("high", 18, Some(0), None)],
            churn_risk: vec![bucket("high", 9, None, None)],
            moved_since_previous: Some(Moves {
                since: "2026-11-02".into(),
                groups: vec![("loyal".into(), "at_risk".into(), 4), ("none".into(), "new".into(), 1)],
                tier_changes: 2,
                churn_changes: 1,
                compared: 90,
            }),
            moved_since_month: None,
            cuts: Cuts::default(),
            group_rules: view::group_rules(t),
            bgnbd: Some(FittedModel {
                params: vec![("r".into(), 0.2431, Some(0.0123)), ("alpha".into(), 4.4136, None)],
                log_likelihood: -1234.5,
                customers: 60,
                iterations: 200,
                converged: false,
            }),
            gamma_gamma: None,
            fallback: vec!["only 3 repeat buyers".into()],
            predicted_orders_365: 42.4,
            predicted_revenue_365: 123_456.0,
            timings: Vec::new(),
        }
    }

    #[test]
    fn the_analysis_page_lays_out_the_report() {
        let t = Catalog::for_lang(Lang::En);
        let page = AnalysisPage {
            f: frame(),
            report: Some(report_view(report(), t, Lang::En)),
        };
        let html = page.render().unwrap();
        // 25 cells, the missing ones empty but coloured by the group map.
        assert_eq!(html.matches("<td class=\"g-").count(), 25);
        // Each cell opens the customers of its group in the segment builder.
        assert!(html.contains(
            "<td class=\"g-dormant\"><a href=\"/segments/new?rule=%7B%22attr%22%3A%22rfm_segment%22%2C%22op%22%3A%22%3D%22%2C%22value%22%3A%22dormant%22%7D&#38;name=Dormant\""
        ));
        assert!(html.contains("<span class=\"cell-label\">Dormant</span>"));
        assert!(html.contains("<b class=\"cell-count\">7</b><span class=\"small\">50.0%</span>"));
        // Signed changes, and a dash with nothing to compare with.
        assert!(html.contains("<td class=\"num\">+12</td><td class=\"num\">−3</td>"));
        assert!(html.contains("<td class=\"num\">0</td><td class=\"num\">—</td>"));
        assert!(html.contains("style=\"width: 7.0%\""));
        // Moves: labels, an unknown group as a dash, and the missing comparison explained.
        assert!(html.contains("Loyal → <span class=\"swatch g-at_risk\"></span>At risk</td><td class=\"num\">4</td>"));
        assert!(html.contains("— → <span class=\"swatch g-new\"></span>New"));
        assert!(html.contains(t.get("analysis.moves_none")));
        // The model, its missing standard error and the fallback reason.
        assert!(html.contains("<td class=\"num\">0.2431</td><td class=\"num\">0.0123</td>"));
        assert!(html.contains("<td class=\"num\">4.414</td><td class=\"num\">—</td>"));
        assert!(html.contains(t.get("analysis.not_converged")));
        assert!(html.contains("order value: the Gamma-Gamma model could not be fitted"));
        assert!(
            !html.contains("only 3 repeat buyers"),
            "the run's own reason is the API's"
        );
        assert!(html.contains("₩123,456"));
        assert!(!html.contains(">?<"), "a label is missing");
    }

    #[test]
    fn the_customer_card_labels_each_figure() {
        use crate::analysis::view::{ChangeView, Explained as Ex, Predictions, Scores};
        let t = Catalog::for_lang(Lang::En);
        let ex = |v: &str, e: &str| Ex {
            value: v.to_string(),
            explanation: e.to_string(),
        };
        let a = CustomerAnalysis {
            customer: 1,
            date: "2026-11-03".into(),
            as_of: "2026-11-03 00:00".into(),
            rfm_segment: ex("at_risk", "At risk: no recent order."),
            scores: Some(Ex {
                value: Scores {
                    r: 2,
                    f: 4,
                    m: 3,
                    fm: 4,
                    days_since_last_order: 120,
                    orders: 5,
                    spent: 300.0,
                },
                explanation: "why scores".into(),
            }),
            spend_tier: Some(ex("high", "why tier")),
            churn_risk: Some(ex("medium", "why churn")),
            predictions: Some(Predictions {
                basis: "model".into(),
                confidence: "low".into(),
                explanation: "why predictions".into(),
                probability_alive: Some(0.456),
                expected_orders_30: 0.1,
                expected_orders_90: 0.3,
                expected_orders_365: 1.234,
                expected_order_value: 59_000.0,
                predicted_clv_365: 72_806.0,
                expected_next_order: None,
            }),
            historic_clv: 300_000.0,
            history: vec![ChangeView {
                date: "2026-11-03".into(),
                since: "2026-11-02".into(),
                group: Some(("loyal".into(), "at_risk".into())),
                spend_tier: None,
                churn_risk: None,
                text: "Loyal → At risk".into(),
            }],
        };
        let CustomerCard::Analysed {
            group_class,
            group,
            prospect,
            figures,
            predictions,
            history,
            ..
        } = CustomerCard::new(Some(a), t, Lang::En)
        else {
            panic!("analysed");
        };
        assert_eq!(
            (group_class.as_str(), group.as_str(), prospect),
            ("g-at_risk", "At risk", false)
        );
        let values: Vec<&str> = figures.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(values, ["R2 · F4 · M3 (FM 4)", "High", "Medium"]);
        assert_eq!(figures[1].explanation, "why tier");
        let value = |label: &str| predictions.iter().find(|(l, _)| *l == t.get(label)).unwrap().1.clone();
        assert_eq!(value("analysis.probability_alive"), "45.6%");
        assert_eq!(value("analysis.orders_365"), "1.23");
        assert_eq!(value("analysis.order_value"), "₩59,000");
        assert_eq!(value("analysis.next_order"), "—");
        assert_eq!(value("analysis.basis"), "model · Confidence Low");
        assert_eq!(history, ["2026-11-03: Loyal → At risk"]);
        assert!(matches!(CustomerCard::new(None, t, Lang::En), CustomerCard::NotYet));
    }

    #[test]
    fn before_the_first_run_the_page_says_so() {
        let page = AnalysisPage {
            f: frame(),
            report: None,
        };
        let html = page.render().unwrap();
        assert!(html.contains(Catalog::for_lang(Lang::En).get("analysis.not_yet")));
        assert!(!html.contains("rfm-grid"));
    }
}
