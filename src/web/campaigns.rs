//! Campaigns in the console: the list with the eight ready-made campaigns to start from
//! (`/campaigns`), one form for a whole campaign (`/campaigns/new?template=KEY`,
//! `/campaigns/{id}/edit`), and a campaign's page: its settings in words, the estimated audience
//! (예상규모), a linkable preview for one customer (`?preview_customer=`), a test send, Launch and
//! Pause, and the report with a per-day chart. Everything goes through the domain functions the
//! JSON API uses: `campaign::{create, update, launch, pause}`, `CampaignInput::check`,
//! `Settings::ready_to_launch`, `Sender::{estimate, preview, test_send}` and
//! `report::report`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::TimeZone;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::frame::Frame;
use super::segments::{RuleLine, rule_lines};
use super::{Staff, error_page, failed, refuse_change, render};
use crate::app::AppState;
use crate::campaign::report::{self, DayReport, Report};
use crate::campaign::settings::Settings;
use crate::campaign::templates;
use crate::campaign::{
    self, Audience, CampaignError, CampaignInput, CampaignRecord, Channel, Content, Delay, Goal, Late, PropertyTest,
    Purpose, RecommendSpec, Repeat, Status, Unit, When,
};
use crate::coupon::CouponRecord;
use crate::i18n::{self, Catalog, Lang};
use crate::recommend::Strategy;
use crate::segment::saved::SegmentRecord;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create_submit))
        .route("/campaigns/new", get(new_page))
        .route("/campaigns/{id}", get(show).post(edit_submit))
        .route("/campaigns/{id}/edit", get(edit_page))
        .route("/campaigns/{id}/launch", post(launch_submit))
        .route("/campaigns/{id}/pause", post(pause_submit))
        .route("/campaigns/{id}/test", post(test_submit))
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

fn property_test_text(p: &PropertyTest) -> String {
    let value = match &p.value {
        Value::String(s) => format!("“{s}”"),
        other => other.to_string(),
    };
    format!("{} {} {value}", p.property, p.op)
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
                .replace("{event}", event);
            if let Some(n) = min_count {
                s += &t.get("campaigns.when_min_count").replace("{n}", &n.to_string());
            }
            if !filter.is_empty() {
                let tests: Vec<String> = filter.iter().map(property_test_text).collect();
                s += &t.get("campaigns.when_where").replace("{tests}", &tests.join(", "));
            }
            if !cancel_on.is_empty() {
                s += &t
                    .get("campaigns.when_cancel")
                    .replace("{events}", &cancel_on.join("”, “"));
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

// --- the form ------------------------------------------------------------------------------

/// The form as typed: every field a string, shown back as it was when something is wrong.
#[derive(Debug, Clone, Default)]
struct Draft {
    csrf: String,
    name: String,
    /// The ready-made campaign it started from (kept, hidden).
    template: String,
    channel: String,
    purpose: String,
    segment_id: String,
    /// A rule in the segment rule language, as JSON.
    rule: String,
    /// `once`, `daily` or `trigger`.
    when_kind: String,
    /// Once: a `datetime-local` value in the shop's zone (empty: at launch).
    at: String,
    /// Daily: HH:MM, and the first and last days (YYYY-MM-DD).
    time: String,
    start: String,
    end: String,
    /// Trigger: the event, the delay, the cancelling events (comma separated), the count, and
    /// the property tests as JSON.
    event: String,
    delay_amount: String,
    delay_unit: String,
    cancel_on: String,
    min_count: String,
    filter: String,
    subject: String,
    text: String,
    html: String,
    template_code: String,
    coupon_id: String,
    /// Empty: no recommendations.
    recommend_strategy: String,
    recommend_limit: String,
    /// The fallback of `{{ customer.name }}`.
    fallback_name: String,
    goal_event: String,
    goal_window_hours: String,
    repeat: String,
    late: String,
}

/// A stored instant as a `datetime-local` value in the shop's zone.
fn local_input(ms: i64, tz: Tz) -> String {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

fn pretty_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

impl Draft {
    fn from_input(i: &CampaignInput, tz: Tz) -> Draft {
        let mut d = Draft {
            name: i.name.clone(),
            template: i.template.clone().unwrap_or_default(),
            channel: i.channel.as_str().into(),
            purpose: purpose_str(i.purpose).into(),
            segment_id: i.audience.segment_id.map(|s| s.to_string()).unwrap_or_default(),
            rule: i.audience.rule.as_ref().map(pretty_json).unwrap_or_default(),
            when_kind: when_kind(&i.when).into(),
            delay_amount: "1".into(),
            delay_unit: "hours".into(),
            subject: i.content.subject.clone().unwrap_or_default(),
            text: i.content.text.clone(),
            html: i.content.html.clone().unwrap_or_default(),
            template_code: i.content.template_code.clone().unwrap_or_default(),
            coupon_id: i.coupon_id.map(|c| c.to_string()).unwrap_or_default(),
            recommend_strategy: i.recommend.as_ref().map(|r| r.strategy.clone()).unwrap_or_default(),
            recommend_limit: i.recommend.as_ref().map_or(4, |r| r.limit).to_string(),
            fallback_name: i.fallbacks.get("customer.name").cloned().unwrap_or_default(),
            goal_event: i.goal.event.clone(),
            goal_window_hours: i.goal.window_hours.map(|h| h.to_string()).unwrap_or_default(),
            repeat: match i.repeat {
                Repeat::Never => "never",
                Repeat::Daily => "daily",
                Repeat::Each => "each",
            }
            .into(),
            late: match i.late {
                Late::Send => "send",
                Late::Skip => "skip",
            }
            .into(),
            ..Draft::default()
        };
        match &i.when {
            When::Once { at } => {
                d.at = non_empty(at)
                    .map(|at| crate::value::parse_time(at).map_or_else(|| at.to_string(), |ms| local_input(ms, tz)))
                    .unwrap_or_default();
            }
            When::Daily { time, start, end } => {
                d.time = time.clone();
                d.start = start.clone().unwrap_or_default();
                d.end = end.clone().unwrap_or_default();
            }
            When::Trigger {
                event,
                filter,
                delay,
                cancel_on,
                min_count,
            } => {
                d.event = event.clone();
                d.delay_amount = delay.amount.to_string();
                d.delay_unit = unit_str(delay.unit).into();
                d.cancel_on = cancel_on.join(", ");
                d.min_count = min_count.map(|n| n.to_string()).unwrap_or_default();
                d.filter = if filter.is_empty() {
                    String::new()
                } else {
                    pretty_json(filter)
                };
            }
        }
        d
    }

    /// A blank campaign: an email, sent once at launch, with the usual defaults.
    fn blank() -> Draft {
        Draft {
            channel: "email".into(),
            purpose: "ad".into(),
            when_kind: "once".into(),
            delay_amount: "1".into(),
            delay_unit: "hours".into(),
            cancel_on: "Order Completed".into(),
            recommend_limit: "4".into(),
            goal_event: "Order Completed".into(),
            repeat: "never".into(),
            late: "send".into(),
            ..Draft::default()
        }
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Draft {
        let mut d = Draft::default();
        for (k, v) in pairs {
            let slot = match k.as_str() {
                "csrf" => &mut d.csrf,
                "name" => &mut d.name,
                "template" => &mut d.template,
                "channel" => &mut d.channel,
                "purpose" => &mut d.purpose,
                "segment_id" => &mut d.segment_id,
                "rule" => &mut d.rule,
                "when_kind" => &mut d.when_kind,
                "at" => &mut d.at,
                "time" => &mut d.time,
                "start" => &mut d.start,
                "end" => &mut d.end,
                "event" => &mut d.event,
                "delay_amount" => &mut d.delay_amount,
                "delay_unit" => &mut d.delay_unit,
                "cancel_on" => &mut d.cancel_on,
                "min_count" => &mut d.min_count,
                "where" => &mut d.filter,
                "subject" => &mut d.subject,
                "text" => &mut d.text,
                "html" => &mut d.html,
                "template_code" => &mut d.template_code,
                "coupon_id" => &mut d.coupon_id,
                "recommend_strategy" => &mut d.recommend_strategy,
                "recommend_limit" => &mut d.recommend_limit,
                "fallback_name" => &mut d.fallback_name,
                "goal_event" => &mut d.goal_event,
                "goal_window_hours" => &mut d.goal_window_hours,
                "repeat" => &mut d.repeat,
                "late" => &mut d.late,
                _ => continue,
            };
            // Browsers send a textarea's line breaks as CRLF.
            *slot = v.replace("\r\n", "\n");
        }
        d
    }

    /// The API's input, or the first field that cannot be read, named as the API names it.
    /// `fallbacks` are the campaign's other fallbacks, kept as they were.
    fn input(
        &self,
        tz: Tz,
        t: &Catalog,
        mut fallbacks: BTreeMap<String, String>,
    ) -> Result<CampaignInput, (String, String)> {
        let wrong = |field: &str, key: &str| (field.to_string(), t.get(key).to_string());
        fn number<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
            let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|_| ())
        }
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        let channel = Channel::parse(&self.channel).ok_or_else(|| wrong("channel", "campaigns.error.channel"))?;
        let purpose = match self.purpose.as_str() {
            "informational" => Purpose::Informational,
            _ => Purpose::Ad,
        };
        let segment_id =
            number(&self.segment_id).map_err(|_| wrong("audience.segment_id", "campaigns.error.number"))?;
        let json = |field: &str, s: &str| -> Result<Option<Value>, (String, String)> {
            match opt(s) {
                None => Ok(None),
                Some(s) => serde_json::from_str(&s)
                    .map(Some)
                    .map_err(|e| (field.to_string(), format!("{} ({e})", t.get("campaigns.error.json")))),
            }
        };
        let rule = json("audience.rule", &self.rule)?;
        let when = match self.when_kind.as_str() {
            "daily" => When::Daily {
                time: self.time.trim().to_string(),
                start: opt(&self.start),
                end: opt(&self.end),
            },
            "trigger" => {
                let amount = number(&self.delay_amount)
                    .map_err(|_| wrong("when.delay", "campaigns.error.number"))?
                    .ok_or_else(|| wrong("when.delay", "campaigns.error.number"))?;
                let unit = match self.delay_unit.as_str() {
                    "minutes" => Unit::Minutes,
                    "days" => Unit::Days,
                    _ => Unit::Hours,
                };
                let filter: Vec<PropertyTest> = match json("when.where", &self.filter)? {
                    None => Vec::new(),
                    Some(v) => serde_json::from_value(v).map_err(|e| {
                        (
                            "when.where".to_string(),
                            format!("{} ({e})", t.get("campaigns.error.where")),
                        )
                    })?,
                };
                When::Trigger {
                    event: self.event.trim().to_string(),
                    filter,
                    delay: Delay { amount, unit },
                    cancel_on: self
                        .cancel_on
                        .split(',')
                        .map(|e| e.trim().to_string())
                        .filter(|e| !e.is_empty())
                        .collect(),
                    min_count: number(&self.min_count)
                        .map_err(|_| wrong("when.min_count", "campaigns.error.number"))?,
                }
            }
            _ => When::Once {
                at: match opt(&self.at) {
                    None => None,
                    Some(s) => Some(
                        super::coupons::local_to_rfc3339(&s, tz)
                            .ok_or_else(|| wrong("when.at", "campaigns.error.time"))?,
                    ),
                },
            },
        };
        let coupon_id = number(&self.coupon_id).map_err(|_| wrong("coupon_id", "campaigns.error.number"))?;
        let recommend = match opt(&self.recommend_strategy) {
            None => None,
            Some(strategy) => Some(RecommendSpec {
                strategy,
                limit: number(&self.recommend_limit)
                    .map_err(|_| wrong("recommend.limit", "campaigns.error.number"))?
                    .unwrap_or(4),
            }),
        };
        match opt(&self.fallback_name) {
            Some(name) => fallbacks.insert("customer.name".into(), name),
            None => fallbacks.remove("customer.name"),
        };
        Ok(CampaignInput {
            name: self.name.trim().to_string(),
            template: opt(&self.template),
            channel,
            purpose,
            audience: Audience { segment_id, rule },
            when,
            content: Content {
                subject: text(&self.subject),
                text: self.text.clone(),
                html: text(&self.html),
                template_code: opt(&self.template_code),
            },
            coupon_id,
            recommend,
            fallbacks,
            goal: Goal {
                event: self.goal_event.trim().to_string(),
                window_hours: number(&self.goal_window_hours)
                    .map_err(|_| wrong("goal.window_hours", "campaigns.error.number"))?,
            },
            repeat: match self.repeat.as_str() {
                "daily" => Repeat::Daily,
                "each" => Repeat::Each,
                _ => Repeat::Never,
            },
            late: if self.late == "skip" { Late::Skip } else { Late::Send },
        })
    }
}

/// Where on the form a field the API names sits (the id of its message is `error-SLOT`).
fn slot(field: &str) -> &'static str {
    if field.starts_with("audience.rule") {
        return "rule";
    }
    if field.starts_with("when.where") {
        return "where";
    }
    match field {
        "name" => "name",
        "channel" => "channel",
        "purpose" => "purpose",
        "audience.segment_id" => "segment_id",
        "when.at" => "at",
        "when.time" => "time",
        "when.start" => "start",
        "when.end" => "end",
        "when.event" => "event",
        "when.delay" => "delay",
        "when.min_count" => "min_count",
        "content.subject" => "subject",
        "content.text" | "content" => "text",
        "content.html" => "html",
        "content.template_code" => "template_code",
        "coupon_id" => "coupon_id",
        "recommend.strategy" => "recommend_strategy",
        "recommend.limit" => "recommend_limit",
        "goal.event" => "goal_event",
        "goal.window_hours" => "goal_window_hours",
        _ => "form",
    }
}

/// A wrong field: as the API names it, where it sits on the form, and what is wrong.
pub struct FieldError {
    pub field: String,
    pub slot: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: String, message: String) -> FieldError {
        FieldError {
            slot: slot(&field),
            field,
            message,
        }
    }
}

/// An option of a select or a radio group.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn opts(items: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(value, label)| Opt {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

fn labelled(t: &Catalog, prefix: &str, values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| (v.to_string(), t.get(&format!("{prefix}{v}")).to_string()))
        .collect()
}

#[derive(Template)]
#[template(path = "campaign/form.html")]
struct FormPage {
    f: Frame,
    d: Draft,
    channels: Vec<Opt>,
    purposes: Vec<Opt>,
    segments: Vec<Opt>,
    kinds: Vec<Opt>,
    units: Vec<Opt>,
    coupons: Vec<Opt>,
    strategies: Vec<Opt>,
    repeats: Vec<Opt>,
    lates: Vec<Opt>,
    error: Option<FieldError>,
    tz: String,
    /// The campaign being changed (None: a new one).
    editing: Option<u64>,
    /// The ready-made campaign it starts from, by name.
    template_name: Option<&'static str>,
}

impl FormPage {
    /// What is wrong at `slot`, with the field's name, if it is the wrong one.
    fn error_for(&self, slot: &str) -> Option<String> {
        match &self.error {
            Some(e) if e.slot == slot => Some(format!("{}: {}", e.field, e.message)),
            _ => None,
        }
    }
}

async fn form_page(
    st: &AppState,
    staff: &Staff,
    d: Draft,
    error: Option<FieldError>,
    editing: Option<u64>,
) -> Response {
    let t = staff.t;
    let lists = st
        .store
        .call(|s| -> Result<_, store::Error> {
            let read = s.read()?;
            let segments: Vec<(String, String)> = read
                .segments::<SegmentRecord>()?
                .into_iter()
                .map(|(id, r)| (id.to_string(), r.name))
                .collect();
            let coupons: Vec<(String, String)> = read
                .coupons::<CouponRecord>()?
                .into_iter()
                .map(|(id, c)| (id.to_string(), c.name))
                .collect();
            Ok((segments, coupons))
        })
        .await;
    let (segments, coupons) = match lists {
        Ok(l) => l,
        Err(e) => return failed(staff.lang, &e),
    };
    let none = |key: &str| (String::new(), t.get(key).to_string());
    let template_name = templates::get(&d.template).map(|tpl| match staff.lang {
        Lang::Ko => tpl.name_ko,
        Lang::En => tpl.name_en,
    });
    let page = FormPage {
        f: Frame::new(staff, "campaigns"),
        channels: opts(
            Channel::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), channel_label(t, *c).to_string())),
            &d.channel,
        ),
        purposes: opts(labelled(t, "campaigns.purpose_", &["ad", "informational"]), &d.purpose),
        segments: opts(
            std::iter::once(none("campaigns.everyone")).chain(segments),
            &d.segment_id,
        ),
        kinds: opts(
            labelled(t, "campaigns.kind_", &["once", "daily", "trigger"]),
            &d.when_kind,
        ),
        units: opts(
            labelled(t, "campaigns.unit_", &["minutes", "hours", "days"]),
            &d.delay_unit,
        ),
        coupons: opts(
            std::iter::once(none("campaigns.no_coupon")).chain(coupons),
            &d.coupon_id,
        ),
        strategies: opts(
            std::iter::once(none("campaigns.no_recommendations")).chain(Strategy::ALL.iter().map(|s| {
                (
                    s.as_str().to_string(),
                    t.get(&format!("recommend.strategy.{}", s.as_str())).to_string(),
                )
            })),
            &d.recommend_strategy,
        ),
        // "Every time" is the law's notices' own; other campaigns choose between the first two.
        repeats: opts(
            labelled(
                t,
                "campaigns.repeat_",
                if d.repeat == "each" {
                    &["never", "daily", "each"]
                } else {
                    &["never", "daily"]
                },
            ),
            &d.repeat,
        ),
        lates: opts(labelled(t, "campaigns.late_", &["send", "skip"]), &d.late),
        d,
        tz: st.tz.name().to_string(),
        editing,
        template_name,
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, render(&page)).into_response()
}

#[derive(Deserialize, Default)]
struct NewQuery {
    /// A ready-made campaign to start from.
    template: Option<String>,
}

async fn new_page(State(st): State<AppState>, staff: Staff, Query(q): Query<NewQuery>) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    let d = match q.template.as_deref().filter(|k| !k.is_empty()) {
        None => Draft::blank(),
        Some(key) => match templates::get(key) {
            Some(tpl) => Draft::from_input(&tpl.input, st.tz),
            None => return not_found(&staff),
        },
    };
    form_page(&st, &staff, d, None, None).await
}

async fn load(st: &AppState, id: u64) -> Result<Option<CampaignRecord>, store::Error> {
    st.store.call(move |s| s.read()?.campaign::<CampaignRecord>(id)).await
}

async fn edit_page(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    match load(&st, id).await {
        Ok(Some(rec)) => {
            form_page(
                &st,
                &staff,
                Draft::from_input(&CampaignInput::from(&rec.definition), st.tz),
                None,
                Some(id),
            )
            .await
        }
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

/// Creates a draft as `POST /api/v1/campaigns` does, then shows its page.
async fn create_submit(State(st): State<AppState>, staff: Staff, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    save(st, staff, pairs, None).await
}

/// Saves a campaign as `PUT /api/v1/campaigns/{id}` does.
async fn edit_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    save(st, staff, pairs, Some(id)).await
}

async fn save(st: AppState, staff: Staff, pairs: Vec<(String, String)>, editing: Option<u64>) -> Response {
    let d = Draft::from_pairs(pairs);
    if let Some(r) = refuse_change(&staff, &d.csrf) {
        return r;
    }
    // The fallbacks the form does not show are kept as they were.
    let kept = match editing {
        None => BTreeMap::new(),
        Some(id) => match load(&st, id).await {
            Ok(Some(rec)) => rec.definition.fallbacks,
            Ok(None) => return not_found(&staff),
            Err(e) => return failed(staff.lang, &e),
        },
    };
    let input = match d.input(st.tz, staff.t, kept) {
        Ok(i) => i,
        Err((field, message)) => {
            return form_page(&st, &staff, d, Some(FieldError::new(field, message)), editing).await;
        }
    };
    let (now, tz) = (st.now_ms(), st.tz);
    let saved = st
        .store
        .call(move |s| -> Result<_, CampaignError> {
            input.check(&s.read()?)?;
            Ok(input)
        })
        .await;
    let saved = match saved {
        Ok(input) => {
            st.store
                .write(move |tx| match editing {
                    Some(id) => campaign::update(tx, id, &input, now, tz).map(|()| id),
                    None => campaign::create(tx, &input, now),
                })
                .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(id) => {
            if editing.is_some() {
                st.campaigns.wake();
            }
            Redirect::to(&format!("/campaigns/{id}")).into_response()
        }
        Err(CampaignError::Field { field, message }) => {
            form_page(&st, &staff, d, Some(FieldError::new(field, message)), editing).await
        }
        Err(CampaignError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

// --- a campaign's page ---------------------------------------------------------------------

/// A message above the page: how a test send or a launch went.
pub struct Notice {
    pub ok: bool,
    /// The element's id.
    pub id: &'static str,
    pub text: String,
}

/// The message one customer would get now.
pub struct PreviewView {
    pub customer_id: u64,
    /// The customer's name and email, as far as known.
    pub who: String,
    /// The address it would go to.
    pub to: String,
    /// `send`, `hold_until` or `skip`.
    pub verdict: String,
    pub verdict_text: String,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

pub struct Stat {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
}

pub struct DayRow {
    pub day: String,
    pub targeted: String,
    pub held: String,
    pub skipped: String,
    pub sent: String,
    pub failed: String,
    pub opened: String,
    pub clicked: String,
    pub unsubscribed: String,
    pub conversions: String,
    pub revenue: String,
}

/// One day of the chart: sent and conversions side by side, in SVG user units.
pub struct DayBar {
    pub x: String,
    pub conv_x: String,
    pub width: String,
    pub sent_y: String,
    pub sent_h: String,
    pub conv_y: String,
    pub conv_h: String,
    pub title: String,
}

pub struct DayChart {
    pub bars: Vec<DayBar>,
    pub max: String,
    pub first: String,
    pub last: String,
}

pub struct ReportView {
    pub stats: Vec<Stat>,
    /// (reason, count) of the skipped messages.
    pub skipped: Vec<(String, String)>,
    /// "Order Completed within 120 hours".
    pub goal: String,
    /// Newest first.
    pub days: Vec<DayRow>,
    pub chart: Option<DayChart>,
}

const CHART_W: f64 = 720.0;
const CHART_H: f64 = 160.0;
/// Days drawn at most (the table lists them all).
const CHART_DAYS: usize = 60;

fn skip_label(t: &Catalog, reason: &str) -> String {
    t.find(&format!("campaigns.skip_{reason}"))
        .map_or_else(|| reason.to_string(), str::to_string)
}

/// The per-day chart of sent messages and conversions, oldest day first; None without days.
fn chart(days: &[DayReport], t: &Catalog) -> Option<DayChart> {
    let days = &days[days.len().saturating_sub(CHART_DAYS)..];
    if days.is_empty() {
        return None;
    }
    let max = days
        .iter()
        .map(|d| d.counts.sent.max(d.conversions))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = CHART_W / days.len().max(14) as f64;
    let width = (slot * 0.38).max(1.0);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = i as f64 * slot + slot * 0.1;
            let sent_h = d.counts.sent as f64 / max * CHART_H;
            let conv_h = d.conversions as f64 / max * CHART_H;
            DayBar {
                x: format!("{x:.1}"),
                conv_x: format!("{:.1}", x + width + slot * 0.04),
                width: format!("{width:.1}"),
                sent_y: format!("{:.1}", CHART_H - sent_h),
                sent_h: format!("{sent_h:.1}"),
                conv_y: format!("{:.1}", CHART_H - conv_h),
                conv_h: format!("{conv_h:.1}"),
                title: format!(
                    "{}: {} {} · {} {}",
                    d.day,
                    t.get("campaigns.sent"),
                    count(d.counts.sent),
                    t.get("campaigns.conversions"),
                    count(d.conversions)
                ),
            }
        })
        .collect();
    Some(DayChart {
        bars,
        max: count(max as u64),
        first: days.first().map(|d| d.day.clone()).unwrap_or_default(),
        last: days.last().map(|d| d.day.clone()).unwrap_or_default(),
    })
}

fn report_view(r: &Report, t: &'static Catalog, lang: Lang) -> ReportView {
    let money = |v: f64| i18n::money(v, None, lang);
    let c = &r.totals;
    let stat = |id: &'static str, key: &str, value: String| Stat {
        id,
        label: t.get(key),
        value,
    };
    ReportView {
        stats: vec![
            stat("total-targeted", "campaigns.targeted", count(c.targeted)),
            stat("total-held", "campaigns.held", count(c.held)),
            stat("total-skipped", "campaigns.skipped", count(c.skipped.values().sum())),
            stat("total-sent", "campaigns.sent", count(c.sent)),
            stat("total-failed", "campaigns.failed", count(c.failed)),
            stat("total-opened", "campaigns.opened", count(c.opened)),
            stat("total-clicked", "campaigns.clicked", count(c.clicked)),
            stat("total-unsubscribed", "campaigns.unsubscribed", count(c.unsubscribed)),
            stat("total-conversions", "campaigns.conversions", count(r.conversions)),
            stat(
                "total-conversion-rate",
                "campaigns.conversion_rate",
                i18n::percent(r.conversion_rate),
            ),
            stat("total-revenue", "campaigns.revenue", money(r.revenue)),
        ],
        skipped: c
            .skipped
            .iter()
            .map(|(reason, n)| (skip_label(t, reason), count(*n)))
            .collect(),
        goal: t
            .get("campaigns.goal_text")
            .replace("{event}", &r.goal)
            .replace("{hours}", &r.window_hours.to_string()),
        days: r
            .days
            .iter()
            .rev()
            .map(|d| DayRow {
                day: d.day.clone(),
                targeted: count(d.counts.targeted),
                held: count(d.counts.held),
                skipped: count(d.counts.skipped.values().sum()),
                sent: count(d.counts.sent),
                failed: count(d.counts.failed),
                opened: count(d.counts.opened),
                clicked: count(d.counts.clicked),
                unsubscribed: count(d.counts.unsubscribed),
                conversions: count(d.conversions),
                revenue: money(d.revenue),
            })
            .collect(),
        chart: chart(&r.days, t),
    }
}

#[derive(Template)]
#[template(path = "campaign/show.html")]
struct ShowPage {
    f: Frame,
    id: u64,
    name: String,
    status: &'static str,
    status_label: &'static str,
    /// The ready-made campaign it was made from, by name.
    template: Option<&'static str>,
    /// (label, value) rows of its settings in words.
    details: Vec<(&'static str, String)>,
    segment: Option<(u64, String)>,
    rule: Vec<RuleLine>,
    coupon: Option<(u64, String)>,
    subject: Option<String>,
    text: String,
    html: Option<String>,
    template_code: Option<String>,
    /// The estimate: (audience, reachable), or why there is none.
    estimate: Option<(String, String)>,
    estimate_error: Option<String>,
    /// What Launch would refuse now (the messaging settings the law or the channel needs).
    blocker: Option<String>,
    can_launch: bool,
    can_pause: bool,
    preview_query: String,
    preview: Option<PreviewView>,
    preview_error: Option<String>,
    test_to: String,
    test_customer: String,
    notice: Option<Notice>,
    report: ReportView,
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// A customer id, or a user id or email to find one, for the preview.
    preview_customer: Option<String>,
}

/// What the page shows besides the campaign: a message, the address of a test send.
#[derive(Default)]
struct Extras {
    notice: Option<Notice>,
    test_to: String,
    status: Option<StatusCode>,
}

async fn show(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Query(q): Query<ShowQuery>) -> Response {
    show_page(&st, &staff, id, q.preview_customer, Extras::default()).await
}

/// The customer `q` names: a customer id, else a user id, anonymous id or email.
fn find_customer(read: &store::ReadTx, q: &str) -> Result<Option<u64>, crate::customer::Error> {
    use crate::customer::Error as E;
    let q = q.trim();
    if let Ok(id) = q.parse::<u64>() {
        match crate::customer::get(read, id) {
            Ok((id, _)) => return Ok(Some(id)),
            Err(E::Store(e)) => return Err(E::Store(e)),
            Err(_) => {}
        }
    }
    match crate::customer::find_by_key(read, q)? {
        Some(id) => match crate::customer::get(read, id) {
            Ok((id, _)) => Ok(Some(id)),
            Err(E::Store(e)) => Err(E::Store(e)),
            Err(_) => Ok(None),
        },
        None => Ok(None),
    }
}

async fn show_page(st: &AppState, staff: &Staff, id: u64, preview_q: Option<String>, extras: Extras) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    struct Loaded {
        rec: CampaignRecord,
        settings: Settings,
        report: Report,
        segment: Option<(u64, String)>,
        rule: Vec<RuleLine>,
        coupon: Option<(u64, String)>,
        preview_customer: Option<Option<(u64, String)>>,
    }
    let q = preview_q.clone().filter(|q| !q.trim().is_empty());
    let loaded = st
        .store
        .call(move |s| -> Result<_, crate::customer::Error> {
            let read = s.read()?;
            let Some(rec) = read.campaign::<CampaignRecord>(id)? else {
                return Ok(None);
            };
            let settings = Settings::load(&read)?;
            let report = report::report(&read, id, &rec, tz)?;
            let segment = match rec.definition.audience.segment_id {
                Some(sid) => Some((
                    sid,
                    read.segment::<SegmentRecord>(sid)?
                        .map_or_else(|| format!("#{sid}"), |s| s.name),
                )),
                None => None,
            };
            let rule = match &rec.definition.audience.rule {
                Some(v) => match crate::segment::rule::Rule::parse(v) {
                    Ok(r) => rule_lines(&r, t, lang, &super::segments::product_names(&read, v)?),
                    Err(e) => vec![RuleLine {
                        depth: 0,
                        text: format!("{}: {}", e.path, e.expected),
                        group: false,
                    }],
                },
                None => Vec::new(),
            };
            let coupon = match rec.definition.coupon_id {
                Some(cid) => Some((
                    cid,
                    read.coupon::<CouponRecord>(cid)?
                        .map_or_else(|| format!("#{cid}"), |c| c.name),
                )),
                None => None,
            };
            let preview_customer = match &q {
                None => None,
                Some(q) => Some(match find_customer(&read, q)? {
                    Some(cid) => {
                        let (_, c) = crate::customer::get(&read, cid)?;
                        let who = [c.name, c.email, c.user_id]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" · ");
                        Some((cid, who))
                    }
                    None => None,
                }),
            };
            Ok(Some(Loaded {
                rec,
                settings,
                report,
                segment,
                rule,
                coupon,
                preview_customer,
            }))
        })
        .await;
    let l = match loaded {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(staff),
        Err(e) => return failed(lang, &e),
    };
    let rec = l.rec;
    let input = &rec.definition;

    // 예상규모: how many the audience holds now, and how many the channel may reach.
    super::segments::columns_ready(st).await;
    let sender = st.campaigns.clone();
    let (audience, channel, purpose) = (input.audience.clone(), input.channel, input.purpose);
    let (estimate, estimate_error) =
        match tokio::task::spawn_blocking(move || sender.estimate(&audience, channel, purpose)).await {
            Ok(Ok(e)) => (Some((count(e.audience), count(e.reachable))), None),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(e) => (None, Some(e.to_string())),
        };

    // The preview for the customer asked for.
    let mut preview_error = None;
    let mut preview = None;
    match l.preview_customer {
        None => {}
        Some(None) => {
            preview_error = Some(
                t.get("campaigns.no_customer")
                    .replace("{q}", preview_q.as_deref().unwrap_or("").trim()),
            );
        }
        Some(Some((cid, who))) => {
            let sender = st.campaigns.clone();
            let rec2 = rec.clone();
            match tokio::task::spawn_blocking(move || sender.preview(id, &rec2, cid)).await {
                Ok(Ok(p)) => {
                    let verdict_text = match (p.verdict.as_str(), p.detail.as_deref()) {
                        ("send", _) => t.get("campaigns.verdict_send").to_string(),
                        ("hold_until", Some(until)) => {
                            t.get("campaigns.verdict_hold").replace("{until}", &local_time(until))
                        }
                        ("skip", Some(reason)) => t
                            .get("campaigns.verdict_skip")
                            .replace("{reason}", &skip_label(t, reason)),
                        (v, d) => format!("{v} {}", d.unwrap_or("")),
                    };
                    preview = Some(PreviewView {
                        customer_id: p.customer_id,
                        who,
                        to: p.to.unwrap_or_else(|| "—".into()),
                        verdict: p.verdict,
                        verdict_text,
                        subject: p.subject,
                        text: p.text,
                        html: p.html,
                    });
                }
                Ok(Err(e)) => preview_error = Some(e.to_string()),
                Err(e) => preview_error = Some(e.to_string()),
            }
        }
    }

    let none = || "—".to_string();
    let fallbacks: Vec<String> = input.fallbacks.iter().map(|(k, v)| format!("{k} → {v}")).collect();
    let mut details = vec![
        (t.get("campaigns.channel"), channel_label(t, input.channel).to_string()),
        (
            t.get("campaigns.purpose"),
            t.get(&format!("campaigns.purpose_{}", purpose_str(input.purpose)))
                .to_string(),
        ),
        (t.get("campaigns.schedule"), schedule_text(&input.when, t, tz)),
        (
            t.get("campaigns.recommendations"),
            input.recommend.as_ref().map_or_else(none, |r| {
                let name = t
                    .find(&format!("recommend.strategy.{}", r.strategy))
                    .unwrap_or(&r.strategy);
                t.get("campaigns.recommend_text")
                    .replace("{strategy}", name)
                    .replace("{n}", &r.limit.to_string())
            }),
        ),
        (
            t.get("campaigns.fallbacks"),
            if fallbacks.is_empty() {
                none()
            } else {
                fallbacks.join(", ")
            },
        ),
        (
            t.get("campaigns.goal"),
            t.get("campaigns.goal_text")
                .replace("{event}", &input.goal.event)
                .replace("{hours}", &(input.window_ms() / 3_600_000).to_string()),
        ),
        (
            t.get("campaigns.repeat"),
            t.get(match input.repeat {
                Repeat::Never => "campaigns.repeat_never",
                Repeat::Daily => "campaigns.repeat_daily",
                Repeat::Each => "campaigns.repeat_each",
            })
            .to_string(),
        ),
        (
            t.get("campaigns.late"),
            t.get(match input.late {
                Late::Send => "campaigns.late_send",
                Late::Skip => "campaigns.late_skip",
            })
            .to_string(),
        ),
        (t.get("campaigns.created"), i18n::datetime(rec.created_at, tz)),
        (t.get("campaigns.updated"), i18n::datetime(rec.updated_at, tz)),
    ];
    if let Some(at) = rec.launched_at {
        details.push((t.get("campaigns.launched"), i18n::datetime(at, tz)));
    }
    details.push((t.get("campaigns.next_due"), next_due_text(&rec, t, tz)));

    let launchable = matches!(rec.status, Status::Draft | Status::Paused);
    let blocker = if launchable {
        l.settings.ready_to_launch(input).err().map(|e| e.to_string())
    } else {
        None
    };
    let page = ShowPage {
        f: Frame::new(staff, "campaigns"),
        id,
        status: rec.status.as_str(),
        status_label: status_label(t, rec.status),
        template: input
            .template
            .as_deref()
            .and_then(templates::get)
            .map(|tpl| match lang {
                Lang::Ko => tpl.name_ko,
                Lang::En => tpl.name_en,
            }),
        details,
        segment: l.segment,
        rule: l.rule,
        coupon: l.coupon,
        subject: input.content.subject.clone(),
        text: input.content.text.clone(),
        html: input.content.html.clone(),
        template_code: input.content.template_code.clone(),
        estimate,
        estimate_error,
        blocker,
        can_launch: launchable,
        can_pause: rec.status == Status::Active,
        test_customer: preview.as_ref().map(|p| p.customer_id.to_string()).unwrap_or_default(),
        preview_query: preview_q.unwrap_or_default(),
        preview,
        preview_error,
        test_to: extras.test_to,
        notice: extras.notice,
        report: report_view(&l.report, t, lang),
        name: rec.definition.name.clone(),
    };
    (extras.status.unwrap_or(StatusCode::OK), render(&page)).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Launches (or resumes) a campaign as `POST /api/v1/campaigns/{id}/launch` does: first what the
/// law and the channel need, then the schedule. A refusal shows on the page, named.
async fn launch_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let (now, tz) = (st.now_ms(), st.tz);
    let launched = st.store.write(move |tx| campaign::launch(tx, id, now, tz)).await;
    match launched {
        Ok(_) => {
            st.campaigns.wake();
            Redirect::to(&format!("/campaigns/{id}")).into_response()
        }
        Err(CampaignError::NotFound(_)) => not_found(&staff),
        Err(e @ (CampaignError::Field { .. } | CampaignError::Conflict(_))) => {
            let extras = Extras {
                notice: Some(Notice {
                    ok: false,
                    id: "launch-error",
                    text: format!("{} {e}", staff.t.get("campaigns.launch_refused")),
                }),
                status: Some(StatusCode::BAD_REQUEST),
                ..Extras::default()
            };
            show_page(&st, &staff, id, None, extras).await
        }
        Err(e) => failed(staff.lang, &e),
    }
}

/// Pauses a campaign as `POST /api/v1/campaigns/{id}/pause` does.
async fn pause_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let now = st.now_ms();
    match st.store.write(move |tx| campaign::pause(tx, id, now)).await {
        Ok(_) => Redirect::to(&format!("/campaigns/{id}")).into_response(),
        Err(CampaignError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

#[derive(Deserialize)]
struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    /// Whose data fills the message: a customer id, user id or email.
    #[serde(default)]
    customer: String,
}

/// Sends the message for one customer to an address or phone number, marked as a test, as
/// `POST /api/v1/campaigns/{id}/test` does; the page says what the channel answered.
async fn test_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<TestForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let t = staff.t;
    let rec = match load(&st, id).await {
        Ok(Some(rec)) => rec,
        Ok(None) => return not_found(&staff),
        Err(e) => return failed(staff.lang, &e),
    };
    let q = form.customer.clone();
    let customer = match st.store.call(move |s| find_customer(&s.read()?, &q)).await {
        Ok(c) => c,
        Err(e) => return failed(staff.lang, &e),
    };
    let result = match customer {
        None => Err(format!(
            "customer_id: {}",
            t.get("campaigns.no_customer").replace("{q}", form.customer.trim())
        )),
        Some(cid) => st
            .campaigns
            .test_send(id, &rec, cid, form.to.trim())
            .await
            .map_err(|e| e.to_string()),
    };
    let (ok, text) = match result {
        Ok(answer) => (
            true,
            t.get("campaigns.test_sent")
                .replace("{to}", form.to.trim())
                .replace("{answer}", &answer),
        ),
        Err(e) => (false, format!("{} {e}", t.get("campaigns.test_failed"))),
    };
    let extras = Extras {
        notice: Some(Notice {
            ok,
            id: "test-result",
            text,
        }),
        test_to: form.to.clone(),
        status: Some(if ok { StatusCode::OK } else { StatusCode::BAD_REQUEST }),
    };
    let preview = Some(form.customer).filter(|c| !c.trim().is_empty());
    show_page(&st, &staff, id, preview, extras).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ready_made_campaign_reads_in_words_and_fills_the_form_back() {
        let tz = chrono_tz::Asia::Seoul;
        for lang in [Lang::Ko, Lang::En] {
            let t = Catalog::for_lang(lang);
            for tpl in templates::all() {
                let s = schedule_text(&tpl.input.when, t, tz);
                assert!(!s.contains('{') && !s.contains('?'), "{s}");
                let d = Draft::from_input(&tpl.input, tz);
                let back = d.input(tz, t, BTreeMap::new()).unwrap();
                assert_eq!(
                    serde_json::to_value(&back).unwrap(),
                    serde_json::to_value(&tpl.input).unwrap(),
                    "{}",
                    tpl.key
                );
            }
        }
        let en = Catalog::for_lang(Lang::En);
        let cart = templates::get("cart_abandonment").unwrap();
        assert_eq!(
            schedule_text(&cart.input.when, en, tz),
            "1 hour after “Product Added”, unless “Order Completed” comes first"
        );
        let repeat = templates::get("repeat_purchase").unwrap();
        assert_eq!(
            schedule_text(&repeat.input.when, en, tz),
            "30 days after “Order Completed”, if total >= 50000, unless “Order Completed” comes first"
        );
    }

    #[test]
    fn a_form_value_that_cannot_be_read_names_the_api_field() {
        let tz = chrono_tz::Asia::Seoul;
        let t = Catalog::for_lang(Lang::En);
        let mut d = Draft::blank();
        d.name = "n".into();
        d.text = "t".into();
        d.at = "2026-11-25T10:00".into();
        let i = d.input(tz, t, BTreeMap::new()).unwrap();
        assert_eq!(
            i.when,
            When::Once {
                at: Some("2026-11-25T10:00:00+09:00".into())
            }
        );
        d.at = "soon".into();
        assert_eq!(d.input(tz, t, BTreeMap::new()).unwrap_err().0, "when.at");
        d.at.clear();
        d.rule = "{nope".into();
        assert_eq!(d.input(tz, t, BTreeMap::new()).unwrap_err().0, "audience.rule");
        d.rule.clear();
        d.when_kind = "trigger".into();
        d.event = "Product Added".into();
        d.filter = r#"[{"property": "total"}]"#.into();
        assert_eq!(d.input(tz, t, BTreeMap::new()).unwrap_err().0, "when.where");
        assert_eq!(slot("when.where[0].op"), "where");
        assert_eq!(slot("audience.rule.all[0].attr"), "rule");
        assert_eq!(slot("when.time"), "time");
    }

    #[test]
    fn the_chart_draws_sent_and_conversions_per_day() {
        let t = Catalog::for_lang(Lang::En);
        let day = |day: &str, sent, conversions| DayReport {
            day: day.into(),
            counts: crate::campaign::send::DayCounts {
                sent,
                ..Default::default()
            },
            conversions,
            revenue: 0.0,
        };
        let c = chart(&[day("2026-11-23", 4, 0), day("2026-11-24", 2, 1)], t).unwrap();
        assert_eq!(c.bars.len(), 2);
        assert_eq!((c.bars[0].sent_y.as_str(), c.bars[0].sent_h.as_str()), ("0.0", "160.0"));
        assert_eq!(c.bars[1].conv_h, "40.0");
        assert_eq!((c.first.as_str(), c.last.as_str()), ("2026-11-23", "2026-11-24"));
        assert!(chart(&[], t).is_none());
    }
}
