//! Reports ▸ Cohorts: customers by the month of their first order and the share who ordered again
//! in each month after, as a heat map; the repeat-purchase rate over time as a chart.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::{Outcome, Picked, count, csv_failed, csv_response, status_of, tabs};
use crate::app::AppState;
use crate::app::reports::{self as app_reports, ReportError};
use crate::i18n;
use crate::reports::cohorts::{Cohort, Repeat};
use crate::web::chart::{self, SeriesChart, SeriesText};
use crate::web::frame::Frame;
use crate::web::{Staff, failed, render};

/// A cohort's row: its month, size and each month's share with its shade.
pub struct CohortRow {
    pub cohort: String,
    pub customers: String,
    /// (share shown, the cell's shade 0–1 as CSS alpha).
    pub months: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "reports/cohorts.html")]
struct CohortsPage {
    f: Frame,
    tabs: Vec<(&'static str, String, String)>,
    tab: &'static str,
    out: Outcome<()>,
    from: String,
    to: String,
    /// The header's "Month 1", "Month 2", …
    month_heads: Vec<String>,
    rows: Vec<CohortRow>,
    chart: Option<SeriesChart>,
    repeat: Vec<(String, String, String, String)>,
    csv: String,
}

async fn read(st: &AppState, q: &Picked) -> Result<(Vec<Cohort>, Vec<Repeat>), ReportError> {
    let state = st.clone();
    let (from, to) = (q.get("from").map(str::to_string), q.get("to").map(str::to_string));
    st.store
        .call(move |_| app_reports::cohorts(&state, from.as_deref(), to.as_deref()))
        .await
}

pub async fn show(State(st): State<AppState>, staff: Staff, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let q = Picked::new(pairs);
    let t = staff.t;
    let out = match Outcome::of(read(&st, &q).await) {
        Ok(o) => o,
        Err(e) => return failed(staff.lang, &e),
    };
    let mut page = CohortsPage {
        tabs: tabs(t, &q),
        tab: "cohorts",
        out: Outcome::NotReady,
        from: q.get("from").unwrap_or_default().to_string(),
        to: q.get("to").unwrap_or_default().to_string(),
        month_heads: Vec::new(),
        rows: Vec::new(),
        chart: None,
        repeat: Vec::new(),
        csv: q.at("/reports/cohorts.csv"),
        f: Frame::new(&staff, "reports"),
    };
    let status = status_of(&out);
    page.out = match out {
        Outcome::Shown((cohorts, repeat)) => {
            if let (Some(first), Some(last)) = (cohorts.first(), cohorts.last()) {
                page.from = first.cohort.clone();
                page.to = last.cohort.clone();
            }
            let widest = cohorts.iter().map(|c| c.months.len()).max().unwrap_or(0);
            page.month_heads = (1..=widest)
                .map(|n| t.get("reports.month_n").replace("{n}", &n.to_string()))
                .collect();
            // Shades run to the highest share in the table, so a shop whose repeat rates are a few
            // percent still sees where they are higher.
            let top = cohorts
                .iter()
                .flat_map(|c| c.months.iter().copied())
                .fold(0.0, f64::max)
                .max(0.0001);
            page.rows = cohorts
                .iter()
                .map(|c| CohortRow {
                    cohort: c.cohort.clone(),
                    customers: count(c.customers),
                    months: c
                        .months
                        .iter()
                        .map(|&s| {
                            let shown = if c.customers == 0 {
                                String::new()
                            } else {
                                i18n::percent(s)
                            };
                            (shown, format!("{:.2}", s / top * 0.85 + 0.05))
                        })
                        .collect(),
                })
                .collect();
            let dates: Vec<String> = repeat.iter().map(|r| r.month.clone()).collect();
            let rates: Vec<f64> = repeat.iter().map(|r| r.repeat_rate).collect();
            let pct = |v: f64| i18n::percent(v);
            page.chart = Some(chart::series(
                &SeriesText {
                    id: "repeat",
                    about: t.get("reports.repeat_chart"),
                    now_label: t.get("reports.repeat_rate"),
                    before_label: "",
                    format: &pct,
                },
                &dates,
                &rates,
                &[],
                false,
            ));
            page.repeat = repeat
                .iter()
                .map(|r| {
                    (
                        r.month.clone(),
                        count(r.customers),
                        count(r.returning),
                        i18n::percent(r.repeat_rate),
                    )
                })
                .collect();
            Outcome::Shown(())
        }
        Outcome::Wrong(m) => Outcome::Wrong(m),
        Outcome::NotReady => Outcome::NotReady,
    };
    (status, render(&page)).into_response()
}

pub async fn csv(State(st): State<AppState>, staff: Staff, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let q = Picked::new(pairs);
    match read(&st, &q).await {
        Ok((cohorts, _)) => {
            let widest = cohorts.iter().map(|c| c.months.len()).max().unwrap_or(0);
            let mut header = vec!["cohort".to_string(), "customers".to_string()];
            header.extend((1..=widest).map(|n| format!("month_{n}")));
            let mut rows = vec![header];
            for c in &cohorts {
                let mut row = vec![c.cohort.clone(), c.customers.to_string()];
                row.extend(c.months.iter().map(|s| s.to_string()));
                rows.push(row);
            }
            let name = match (cohorts.first(), cohorts.last()) {
                (Some(a), Some(b)) => format!("dangol-cohorts-{}-{}.csv", a.cohort, b.cohort),
                _ => "dangol-cohorts.csv".to_string(),
            };
            csv_response(&name, rows)
        }
        Err(e) => csv_failed(staff.lang, e),
    }
}
