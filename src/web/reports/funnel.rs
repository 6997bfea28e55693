//! Reports ▸ Funnel: how many visitors did each step in order (the shop's funnel by default, any
//! events as steps), the drop-off between steps and the products those who left had in hand.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::{Controls, Outcome, Picked, count, csv_failed, csv_response, report, status_of, tabs};
use crate::app::AppState;
use crate::app::reports::{self as app_reports, ReportError};
use crate::i18n;
use crate::reports::funnel::{DEFAULT_STEPS, Step};
use crate::web::frame::Frame;
use crate::web::{Staff, render};

/// The steps asked for (repeated `step`), else the shop's funnel; and `within_hours`.
fn asked(q: &Picked) -> Result<(Vec<String>, Option<u32>), ReportError> {
    let mut steps = q.all("step");
    if steps.is_empty() {
        steps = DEFAULT_STEPS.iter().map(|s| s.to_string()).collect();
    }
    let within = match q.get("within_hours") {
        None => None,
        Some(s) => Some(s.parse::<u32>().map_err(|_| {
            ReportError::Field(
                "within_hours",
                format!("`within_hours` must be a whole number (got {s:?})"),
            )
        })?),
    };
    Ok((steps, within))
}

/// A step as the page shows it.
pub struct StepRow {
    pub n: usize,
    pub event: String,
    pub visitors: String,
    /// Visitors as a share of the first step's, for the bar ("62.5").
    pub bar: String,
    pub from_first: String,
    pub from_previous: String,
    /// Those who went no further than this step (none after the last).
    pub dropped: String,
    /// (product name or id, visitors).
    pub left_with: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "reports/funnel.html")]
struct FunnelPage {
    f: Frame,
    c: Controls,
    tabs: Vec<(&'static str, String, String)>,
    tab: &'static str,
    action: &'static str,
    keep: Vec<(String, String)>,
    out: Outcome<()>,
    /// The step fields: what was asked and two empty ones to add more (at most 10).
    step_fields: Vec<String>,
    within: String,
    rows: Vec<StepRow>,
    csv: String,
    /// The usual events to pick a step from: (name, label).
    usual: Vec<(String, String)>,
}

/// The events a funnel's steps are usually made of, offered as the fields are typed.
const USUAL: [&str; 10] = [
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Checkout Step Completed",
    "Order Completed",
    "Signed Up",
    "Products Searched",
    "Coupon Applied",
    "Message Clicked",
];

pub async fn show(State(st): State<AppState>, staff: Staff, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let q = Picked::new(pairs);
    let wanted = asked(&q);
    let (steps, within) = wanted.as_ref().cloned().unwrap_or_default();
    let res = report(&st, &staff, &q, "/reports/funnel", move |st, c| {
        let (steps, within) = wanted?;
        let (out, within) = app_reports::funnel(st, &c.asked, Some(steps), within)?;
        // The products' names, for the products those who left had in hand.
        let read = st.store.read()?;
        let mut names = std::collections::HashMap::new();
        for s in &out {
            for p in &s.left_with {
                if !names.contains_key(&p.product_id) {
                    let name = read.product(&p.product_id)?.map(|p| p.name).unwrap_or_default();
                    names.insert(p.product_id.clone(), name);
                }
            }
        }
        Ok((out, within, names))
    })
    .await;
    let (c, out) = match res {
        Ok(r) => r,
        Err(page) => return page,
    };
    let t = staff.t;
    let mut step_fields = steps.clone();
    step_fields.extend([String::new(), String::new()]);
    step_fields.truncate(10.max(steps.len()));
    let mut page = FunnelPage {
        tabs: tabs(t, &q),
        tab: "funnel",
        action: "/reports/funnel",
        keep: q
            .all("step")
            .into_iter()
            .map(|s| ("step".to_string(), s))
            .chain(
                q.get("within_hours")
                    .map(|w| ("within_hours".to_string(), w.to_string())),
            )
            .collect(),
        out: Outcome::NotReady,
        step_fields,
        within: within.map_or_else(|| "24".into(), |w| w.to_string()),
        rows: Vec::new(),
        csv: q.at("/reports/funnel.csv"),
        usual: USUAL
            .iter()
            .map(|e| (e.to_string(), crate::i18n::event_name(t, e)))
            .collect(),
        f: Frame::new(&staff, "reports"),
        c,
    };
    let status = status_of(&out);
    page.out = match out {
        Outcome::Shown((steps, within, names)) => {
            page.within = within.to_string();
            page.rows = step_rows(t, &steps, &names);
            Outcome::Shown(())
        }
        Outcome::Wrong(m) => Outcome::Wrong(m),
        Outcome::NotReady => Outcome::NotReady,
    };
    (status, render(&page)).into_response()
}

fn step_rows(
    t: &crate::i18n::Catalog,
    steps: &[Step],
    names: &std::collections::HashMap<String, String>,
) -> Vec<StepRow> {
    let first = steps.first().map_or(0, |s| s.visitors).max(1) as f64;
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let next = steps.get(i + 1).map(|n| n.visitors);
            StepRow {
                n: i + 1,
                event: crate::i18n::event_name(t, &s.event),
                visitors: count(s.visitors),
                bar: format!("{:.1}", s.visitors as f64 / first * 100.0),
                from_first: i18n::percent(s.from_first),
                from_previous: i18n::percent(s.from_previous),
                dropped: next.map(|n| count(s.visitors.saturating_sub(n))).unwrap_or_default(),
                left_with: s
                    .left_with
                    .iter()
                    .map(|p| {
                        let name = names.get(&p.product_id).filter(|n| !n.is_empty());
                        (name.unwrap_or(&p.product_id).clone(), count(p.visitors))
                    })
                    .collect(),
            }
        })
        .collect()
}

pub async fn csv(State(st): State<AppState>, staff: Staff, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let q = Picked::new(pairs);
    let segments = match super::segments(&st).await {
        Ok(s) => s,
        Err(e) => return crate::web::failed(staff.lang, &e),
    };
    let c = match Controls::read(&q, app_reports::today(&st), segments, staff.t, "") {
        Ok(c) => c,
        Err(e) => return csv_failed(staff.lang, e),
    };
    let (steps, within) = match asked(&q) {
        Ok(a) => a,
        Err(e) => return csv_failed(staff.lang, e),
    };
    let state = st.clone();
    let asked = c.asked.clone();
    let out = st
        .store
        .call(move |_| app_reports::funnel(&state, &asked, Some(steps), within))
        .await;
    match out {
        Ok((steps, _)) => {
            let header = ["step", "event", "visitors", "from_previous", "from_first", "left_with"];
            let mut rows = vec![header.into_iter().map(str::to_string).collect::<Vec<_>>()];
            for (i, s) in steps.iter().enumerate() {
                let left: Vec<String> = s
                    .left_with
                    .iter()
                    .map(|p| format!("{} ({})", p.product_id, p.visitors))
                    .collect();
                rows.push(vec![
                    (i + 1).to_string(),
                    s.event.clone(),
                    s.visitors.to_string(),
                    s.from_previous.to_string(),
                    s.from_first.to_string(),
                    left.join("; "),
                ]);
            }
            csv_response(&format!("dangol-funnel-{}-{}.csv", c.from, c.to), rows)
        }
        Err(e) => csv_failed(staff.lang, e),
    }
}
