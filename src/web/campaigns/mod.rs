//! Campaigns in the console: the list with the eight ready-made campaigns to start from
//! (`/campaigns`), one form for a whole campaign (`/campaigns/new?template=KEY`,
//! `/campaigns/{id}/edit`), and a campaign's page: its settings in words, the estimated audience
//! (예상규모), a linkable preview for one customer (`?preview_customer=`), a test send, Launch and
//! Pause, and the report with a per-day chart. Everything goes through the domain functions the
//! JSON API uses: `campaign::{create, update, launch, pause}`, `CampaignInput::check`,
//! `Settings::ready_to_launch`, `Sender::{estimate, preview, test_send}` and
//! `report::report`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono_tz::Tz;
use serde_json::Value;

use super::frame::Frame;
use super::{Staff, error_page, failed, render};
use crate::app::AppState;
use crate::campaign::report::{self};
use crate::campaign::templates;
use crate::campaign::{CampaignRecord, Channel, Delay, PropertyTest, Purpose, Status, Unit, When};
use crate::i18n::{self, Catalog, Lang};
use crate::store;

mod experiment;
mod form;
mod page;

use form::*;
use page::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create_submit))
        .route("/campaigns/new", get(new_page))
        .route("/campaigns/preview", post(form::live_preview))
        .route("/campaigns/{id}", get(show).post(edit_submit))
        .route("/campaigns/{id}/edit", get(edit_page))
        .route("/campaigns/{id}/launch", post(launch_submit))
        .route("/campaigns/{id}/pause", post(pause_submit))
        .route("/campaigns/{id}/test", post(test_submit))
        .route("/campaigns/{id}/recipients.csv", get(page::recipients_csv))
}

fn not_found(staff: &Staff) -> Response {
    error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"))
}

fn refuse_viewer(staff: &Staff) -> Option<Response> {
    (!staff.can_change()).then(|| error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.forbidden")))
}

fn count(n: u64) -> String {
    i18n::number(n as f64, 0)
}

// --- a campaign in words ---------------------------------------------------------------------

pub fn channel_label(t: &'static Catalog, c: Channel) -> &'static str {
    t.get(&format!("campaigns.channel_{}", c.as_str()))
}

fn status_label(t: &'static Catalog, s: Status) -> &'static str {
    t.get(&format!("campaigns.status_{}", s.as_str()))
}

fn purpose_str(p: Purpose) -> &'static str {
    match p {
        Purpose::Ad => "ad",
        Purpose::Informational => "informational",
    }
}

fn unit_str(u: Unit) -> &'static str {
    match u {
        Unit::Minutes => "minutes",
        Unit::Hours => "hours",
        Unit::Days => "days",
    }
}

fn when_kind(w: &When) -> &'static str {
    match w {
        When::Once { .. } => "once",
        When::Daily { .. } => "daily",
        When::Trigger { .. } => "trigger",
    }
}

/// "1 hour", "30 minutes", "7 days" (or as the language puts it).
fn delay_text(d: &Delay, t: &Catalog) -> String {
    let unit = unit_str(d.unit);
    let key = if d.amount == 1 {
        format!("campaigns.delay_{unit}_one")
    } else {
        format!("campaigns.delay_{unit}")
    };
    t.get(&key).replace("{n}", &d.amount.to_string())
}

/// A property test in words: the Segment spec's properties and the operators by the catalogue
/// (`total >= 50000` → "주문 금액 ≥ 50000"); a property the shop named itself stays as named.
fn property_test_text(p: &PropertyTest, t: &Catalog) -> String {
    let value = match &p.value {
        Value::String(s) => format!("“{s}”"),
        other => other.to_string(),
    };
    let property = t
        .find(&format!("events.property.{}", p.property))
        .unwrap_or(&p.property);
    format!("{property} {} {value}", op_word(&p.op, t))
}

/// A property test's operator as a person reads it (`>=` → "≥", `contains` → "포함").
fn op_word<'a>(op: &'a str, t: &'a Catalog) -> &'a str {
    match op {
        ">=" => "≥",
        "<=" => "≤",
        "!=" => "≠",
        op @ ("=" | ">" | "<") => op,
        op => t.find(&format!("events.op.{op}")).unwrap_or(op),
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// When a campaign sends, in words: "Once, at launch", "Every day at 10:00, from 2026-11-25",
/// "1 hour after “Product Added”, unless “Order Completed” comes first".
pub fn schedule_text(when: &When, t: &Catalog, tz: Tz) -> String {
    match when {
        When::Once { at } => match non_empty(at) {
            None => t.get("campaigns.when_once_launch").to_string(),
            Some(at) => {
                let shown = crate::value::parse_time(at).map_or_else(|| at.to_string(), |ms| i18n::datetime(ms, tz));
                t.get("campaigns.when_once_at").replace("{at}", &shown)
            }
        },
        When::Daily { time, start, end } => {
            let mut s = t.get("campaigns.when_daily").replace("{time}", time.trim());
            match (non_empty(start), non_empty(end)) {
                (Some(a), Some(b)) => s += &t.get("campaigns.when_between").replace("{from}", a).replace("{to}", b),
                (Some(a), None) => s += &t.get("campaigns.when_from").replace("{from}", a),
                (None, Some(b)) => s += &t.get("campaigns.when_until").replace("{to}", b),
                (None, None) => {}
            }
            s
        }
        When::Trigger {
            event,
            filter,
            delay,
            cancel_on,
            min_count,
        } => {
            let mut s = t
                .get("campaigns.when_trigger")
                .replace("{delay}", &delay_text(delay, t))
                .replace("{event}", &i18n::event_name(t, event));
            if let Some(n) = min_count {
                s += &t.get("campaigns.when_min_count").replace("{n}", &n.to_string());
            }
            if !filter.is_empty() {
                let tests: Vec<String> = filter.iter().map(|p| property_test_text(p, t)).collect();
                s += &t.get("campaigns.when_where").replace("{tests}", &tests.join(", "));
            }
            if !cancel_on.is_empty() {
                s += &t.get("campaigns.when_cancel").replace(
                    "{events}",
                    &cancel_on
                        .iter()
                        .map(|e| i18n::event_name(t, e))
                        .collect::<Vec<_>>()
                        .join("”, “"),
                );
            }
            s
        }
    }
}

/// When a campaign sends next: the one-off or daily time, "on each event" for an active trigger.
fn next_due_text(rec: &CampaignRecord, t: &Catalog, tz: Tz) -> String {
    match (&rec.definition.when, rec.status) {
        (When::Trigger { .. }, Status::Active) => t.get("campaigns.on_each_event").to_string(),
        (When::Trigger { .. }, _) | (_, Status::Draft | Status::Done) => "—".into(),
        (_, Status::Active | Status::Paused) => rec.next_due.map_or_else(|| "—".into(), |ms| i18n::datetime(ms, tz)),
    }
}

/// An RFC 3339 time (already in the shop's zone) as the console shows times.
fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

// --- the list ------------------------------------------------------------------------------

pub struct CampaignRow {
    pub id: u64,
    pub name: String,
    pub channel: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub kind: &'static str,
    pub schedule: String,
    pub next_due: String,
    pub sent: String,
    pub targeted: String,
}

/// A ready-made campaign to start from.
pub struct TemplateCard {
    pub key: &'static str,
    pub name: &'static str,
    pub about: String,
    pub channel: &'static str,
    pub schedule: String,
}

fn template_cards(t: &'static Catalog, lang: Lang, tz: Tz) -> Vec<TemplateCard> {
    templates::all()
        .into_iter()
        .map(|tpl| TemplateCard {
            key: tpl.key,
            name: match lang {
                Lang::Ko => tpl.name_ko,
                Lang::En => tpl.name_en,
            },
            about: t
                .find(&format!("campaigns.about_{}", tpl.key))
                .unwrap_or(tpl.about)
                .to_string(),
            channel: channel_label(t, tpl.input.channel),
            schedule: schedule_text(&tpl.input.when, t, tz),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "campaign/list.html")]
struct ListPage {
    f: Frame,
    rows: Vec<CampaignRow>,
    templates: Vec<TemplateCard>,
}

async fn list(State(st): State<AppState>, staff: Staff) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let mut rows = Vec::new();
            for (id, rec) in read.campaigns::<CampaignRecord>()?.into_iter().rev() {
                let r = report::report(&read, id, &rec, tz)?;
                rows.push(CampaignRow {
                    id,
                    channel: channel_label(t, rec.definition.channel),
                    status: rec.status.as_str(),
                    status_label: status_label(t, rec.status),
                    kind: t.get(&format!("campaigns.kind_{}", when_kind(&rec.definition.when))),
                    schedule: schedule_text(&rec.definition.when, t, tz),
                    next_due: next_due_text(&rec, t, tz),
                    sent: count(r.totals.sent),
                    targeted: count(r.totals.targeted),
                    name: rec.definition.name,
                });
            }
            Ok(rows)
        })
        .await;
    match res {
        Ok(rows) => render(&ListPage {
            f: Frame::new(&staff, "campaigns"),
            rows,
            templates: template_cards(t, lang, tz),
        }),
        Err(e) => failed(lang, &e),
    }
}
