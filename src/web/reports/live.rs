//! Reports ▸ Live: visitors in the last five minutes, the pages they are on, the latest events as
//! they arrive, and today so far against the same time last week. The page refreshes its live
//! part every five seconds (`static/app.js`); without JavaScript the whole page reloads.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::overview::{Figure, figures};
use super::{Picked, count, tabs};
use crate::app::AppState;
use crate::app::reports as app_reports;
use crate::i18n;
use crate::web::frame::Frame;
use crate::web::{Staff, failed, render};

/// An event as the live list shows it.
pub struct EventRow {
    pub time: String,
    pub what: String,
    pub detail: String,
    pub customer: u64,
}

#[derive(Template)]
#[template(path = "reports/live.html")]
struct LivePage {
    f: Frame,
    tabs: Vec<(&'static str, String, String)>,
    tab: &'static str,
    visitors_now: String,
    figures: Vec<Figure>,
    pages: Vec<(String, String)>,
    events: Vec<EventRow>,
    bots: String,
}

pub async fn show(State(st): State<AppState>, staff: Staff) -> Response {
    let state = st.clone();
    let (live, pace) = match st.store.call(move |_| app_reports::live(&state)).await {
        Ok(r) => r,
        Err(e) => return failed(staff.lang, &e),
    };
    let (t, lang, tz) = (staff.t, staff.lang, st.tz);
    let today = app_reports::today(&st).to_string();
    let page = LivePage {
        tabs: tabs(t, &Picked::new(Vec::new())),
        tab: "live",
        visitors_now: count(live.visitors_now),
        figures: pace
            .map(|(today, last_week)| {
                figures(t, lang, &today, &last_week)
                    .into_iter()
                    .filter(|f| ["visitors", "visits", "pageviews", "orders", "revenue"].contains(&f.key))
                    .collect()
            })
            .unwrap_or_default(),
        pages: live.pages.into_iter().map(|(p, n)| (p, count(n))).collect(),
        events: live
            .events
            .into_iter()
            .map(|e| EventRow {
                time: {
                    // Today's events by their time; older ones (sent late) with their date too.
                    let at = i18n::datetime(e.at, tz);
                    let from = if at.get(..10) == Some(today.as_str()) { 11 } else { 5 };
                    at.get(from..).unwrap_or_default().to_string()
                },
                what: i18n::event_name(t, e.event.as_deref().unwrap_or(e.kind.as_str())),
                detail: e.path.or(e.product_id).unwrap_or_default(),
                customer: e.customer,
            })
            .collect(),
        bots: if live.bots_left_out > 0 {
            t.get("reports.bots_left_out")
                .replace("{count}", &count(live.bots_left_out))
        } else {
            String::new()
        },
        f: Frame::new(&staff, "reports"),
    };
    render(&page)
}
