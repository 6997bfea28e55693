//! The one form for a whole campaign (`/campaigns/new?template=KEY`, `/campaigns/{id}/edit`): the
//! draft as the form holds it, read back into a `CampaignInput` with the wrong field named.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeZone;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::super::choices::{FieldError, Opt, labelled, opts, segments_and_coupons};
use super::super::frame::Frame;
use super::super::{Staff, failed, refuse_change, render};
use crate::app::AppState;
use crate::campaign::templates;
use crate::campaign::{
    self, Audience, CampaignError, CampaignInput, CampaignRecord, Channel, Content, Definition, Delay, Goal, Late,
    PropertyTest, Purpose, RecommendSpec, Repeat, Unit, Variant, VariantContent, When,
};
use crate::i18n::{Catalog, Lang};
use crate::recommend::Strategy;
use crate::store;

use super::*;

/// The form as typed: every field a string, shown back as it was when something is wrong.
#[derive(Debug, Clone, Default)]
pub(super) struct Draft {
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
    /// The experiment: the hold-out's percent and the variants' rows (blank rows are left out).
    holdout: String,
    variants: Vec<VariantDraft>,
}

/// One variant's row of the form.
#[derive(Debug, Clone, Default)]
pub(super) struct VariantDraft {
    key: String,
    weight: String,
    subject: String,
    text: String,
    html: String,
    coupon_id: String,
}

impl VariantDraft {
    fn is_blank(&self) -> bool {
        [
            &self.key,
            &self.weight,
            &self.subject,
            &self.text,
            &self.html,
            &self.coupon_id,
        ]
        .iter()
        .all(|f| f.trim().is_empty())
    }
}

/// Variant rows the form shows at least (blank ones are left out when saved).
const VARIANT_ROWS: usize = 2;

/// A stored instant as a `datetime-local` value in the shop's zone.
pub(super) fn local_input(ms: i64, tz: Tz) -> String {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

pub(super) fn pretty_json(v: &impl serde::Serialize) -> String {
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
            holdout: if i.holdout_percent > 0 {
                i.holdout_percent.to_string()
            } else {
                String::new()
            },
            variants: i
                .variants
                .iter()
                .map(|v| VariantDraft {
                    key: v.key.clone(),
                    weight: v.weight.to_string(),
                    subject: v.content.subject.clone().unwrap_or_default(),
                    text: v.content.text.clone().unwrap_or_default(),
                    html: v.content.html.clone().unwrap_or_default(),
                    coupon_id: v.coupon_id.map(|c| c.to_string()).unwrap_or_default(),
                })
                .collect(),
            ..Draft::default()
        };
        d.pad_variants();
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
            variants: vec![VariantDraft::default(); VARIANT_ROWS],
            ..Draft::default()
        }
    }

    /// At least [`VARIANT_ROWS`] rows to fill in, and a blank one after the last filled (up to 8).
    fn pad_variants(&mut self) {
        let filled = self.variants.iter().rposition(|v| !v.is_blank()).map_or(0, |i| i + 1);
        self.variants.truncate(filled);
        let want = (filled + 1).clamp(VARIANT_ROWS, 8);
        self.variants.resize(want.max(filled), VariantDraft::default());
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Draft {
        let mut d = Draft::default();
        for (k, v) in pairs {
            if let Some((n, field)) = k.strip_prefix("variant.").and_then(|r| r.split_once('.')) {
                let Some(n) = n.parse::<usize>().ok().filter(|n| *n < 8) else {
                    continue;
                };
                if d.variants.len() <= n {
                    d.variants.resize(n + 1, VariantDraft::default());
                }
                let row = &mut d.variants[n];
                let slot = match field {
                    "key" => &mut row.key,
                    "weight" => &mut row.weight,
                    "subject" => &mut row.subject,
                    "text" => &mut row.text,
                    "html" => &mut row.html,
                    "coupon_id" => &mut row.coupon_id,
                    _ => continue,
                };
                *slot = v.replace("\r\n", "\n");
                continue;
            }
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
                "holdout_percent" => &mut d.holdout,
                _ => continue,
            };
            // Browsers send a textarea's line breaks as CRLF.
            let v = v.replace("\r\n", "\n");
            if k == "cancel_on" && !slot.trim().is_empty() {
                // One box ticked per cancelling event.
                slot.push_str(", ");
                slot.push_str(&v);
            } else {
                *slot = v;
            }
        }
        d.pad_variants();
        d
    }

    /// The API's input, or the first field that cannot be read, named as the API names it.
    /// The variants' rows as the API takes them (blank rows left out); a variant's AlimTalk
    /// template code, which the form does not show, is kept from `stored` by its key.
    fn variants_input(&self, t: &Catalog, stored: Option<&Definition>) -> Result<Vec<Variant>, (String, String)> {
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
        self.variants
            .iter()
            .filter(|v| !v.is_blank())
            .enumerate()
            .map(|(i, v)| {
                let wrong = |field: &str| {
                    (
                        format!("variants[{i}].{field}"),
                        t.get("campaigns.error.number").to_string(),
                    )
                };
                let digits: String = v.weight.chars().filter(|c| !c.is_whitespace()).collect();
                let weight = if digits.is_empty() {
                    0
                } else {
                    digits.parse().map_err(|_| wrong("weight"))?
                };
                let coupon_id = match v.coupon_id.trim() {
                    "" => None,
                    c => Some(c.parse().map_err(|_| wrong("coupon_id"))?),
                };
                Ok(Variant {
                    key: v.key.trim().to_string(),
                    weight,
                    content: VariantContent {
                        subject: text(&v.subject),
                        text: text(&v.text),
                        html: text(&v.html),
                        template_code: stored
                            .and_then(|d| d.variants.iter().find(|s| s.key == v.key.trim()))
                            .and_then(|s| s.content.template_code.clone()),
                    },
                    coupon_id,
                })
            })
            .collect()
    }

    /// `stored`: the campaign being changed, whose other fallbacks and variants' template codes
    /// the form does not show and keeps as they were.
    fn input(&self, tz: Tz, t: &Catalog, stored: Option<&Definition>) -> Result<CampaignInput, (String, String)> {
        let mut fallbacks = stored.map(|d| d.fallbacks.clone()).unwrap_or_default();
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
                        super::super::coupons::local_to_rfc3339(&s, tz)
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
            variants: self.variants_input(t, stored)?,
            holdout_percent: number(&self.holdout)
                .map_err(|_| wrong("holdout_percent", "campaigns.error.number"))?
                .unwrap_or(0),
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
pub(super) fn slot(field: &str) -> &'static str {
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
        "holdout_percent" => "holdout_percent",
        _ if field.starts_with("variants") => "variants",
        _ => "form",
    }
}

#[derive(Template)]
#[template(path = "campaign/form.html")]
pub(super) struct FormPage {
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
    /// The shop's events, by the names a person reads: the trigger, the goal, the cancelling ones.
    events: Vec<Opt>,
    goal_events: Vec<Opt>,
    cancels: Vec<Opt>,
    /// The segment builder's configuration (the audience's extra condition) and the property
    /// tests' (a trigger's conditions on its event), as JSON for the scripts.
    builder: String,
    tests: String,
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

/// What the property tests' picker needs: the known properties and the operators, each with
/// the name a person reads.
fn tests_config(t: &Catalog) -> String {
    // The Segment spec's properties a trigger most often tests, in the order an owner thinks of them.
    let properties: Vec<Value> = [
        "total",
        "revenue",
        "price",
        "quantity",
        "category",
        "product_id",
        "name",
        "brand",
        "coupon",
        "currency",
    ]
    .iter()
    .map(|p| serde_json::json!([p, t.get(&format!("events.property.{p}"))]))
    .collect();
    let ops: Vec<Value> = ["=", "!=", ">=", "<=", ">", "<", "contains", "starts_with", "in"]
        .iter()
        .map(|op| serde_json::json!([op, op_word(op, t)]))
        .collect();
    let labels: serde_json::Map<String, Value> = t
        .keys()
        .filter_map(|k| k.strip_prefix("campaigns.tests."))
        .map(|k| (k.to_string(), serde_json::json!(t.get(&format!("campaigns.tests.{k}")))))
        .collect();
    super::super::segments::script_json(&serde_json::json!({"properties": properties, "ops": ops, "labels": labels}))
}

pub(super) async fn form_page(
    st: &AppState,
    staff: &Staff,
    d: Draft,
    error: Option<FieldError>,
    editing: Option<u64>,
) -> Response {
    let t = staff.t;
    let (segments, coupons) = match segments_and_coupons(st).await {
        Ok(l) => l,
        Err(e) => return failed(staff.lang, &e),
    };
    let rule: Value = serde_json::from_str(&d.rule).unwrap_or(Value::Null);
    let (events, products) = match st
        .store
        .call(move |s| {
            let read = s.read()?;
            Ok::<_, store::Error>((
                crate::track::names::known(&read)?,
                super::super::segments::product_names(&read, &rule)?,
            ))
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return failed(staff.lang, &e),
    };
    let builder = super::super::segments::builder_config(t, super::super::segments::known_tags(st), products, &events);
    let cancel_on: Vec<String> = d
        .cancel_on
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    // Each picker holds the shop's events and whatever the draft names beside them.
    let named = |also: &[&str]| -> Vec<(String, String)> {
        let mut names = events.clone();
        for a in also.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
            if !names.iter().any(|n| n == a) {
                names.push(a.to_string());
            }
        }
        names
            .into_iter()
            .map(|n| {
                let label = crate::i18n::event_name(t, &n);
                (n, label)
            })
            .collect()
    };
    let cancel_names: Vec<&str> = cancel_on.iter().map(String::as_str).collect();
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
        events: opts(named(&[&d.event]), d.event.trim()),
        goal_events: opts(named(&[&d.goal_event]), d.goal_event.trim()),
        cancels: super::super::choices::checked(named(&cancel_names), &cancel_on),
        builder,
        tests: tests_config(t),
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
pub(super) struct NewQuery {
    /// A ready-made campaign to start from.
    template: Option<String>,
    /// The audience's segment (from a segment's page).
    segment: Option<u64>,
    /// One customer to write to (from their page): the audience is that person alone.
    customer: Option<u64>,
}

pub(super) async fn new_page(State(st): State<AppState>, staff: Staff, Query(q): Query<NewQuery>) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    let mut d = match q.template.as_deref().filter(|k| !k.is_empty()) {
        None => Draft::blank(),
        Some(key) => match templates::get(key) {
            Some(tpl) => Draft::from_input(&tpl.input, st.tz),
            None => return not_found(&staff),
        },
    };
    if let Some(segment) = q.segment {
        d.segment_id = segment.to_string();
    }
    if let Some(asked) = q.customer {
        // A message to one person goes the whole campaign way (the law, consent, quiet hours,
        // the report): a one-off, informational unless the owner says it is an ad, on the
        // channel they can be reached on.
        let found = st
            .store
            .call(move |s| -> Result<_, store::Error> { Ok(crate::customer::get(&s.read()?, asked).ok()) })
            .await;
        let (id, c) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return not_found(&staff),
            Err(e) => return failed(staff.lang, &e),
        };
        let who = c
            .name
            .clone()
            .or_else(|| c.email.clone())
            .or_else(|| c.user_id.clone())
            .unwrap_or_else(|| format!("#{id}"));
        d.name = staff.t.get("campaigns.to_one_name").replace("{who}", &who);
        d.segment_id = String::new();
        d.rule = serde_json::to_string_pretty(&serde_json::json!({"attr": "customer_id", "op": "in", "value": [id]}))
            .expect("plain JSON");
        d.when_kind = "once".into();
        d.purpose = "informational".into();
        d.channel = if c.email.is_none() && c.phone.is_some() {
            "sms"
        } else {
            "email"
        }
        .into();
    }
    form_page(&st, &staff, d, None, None).await
}

pub(super) async fn load(st: &AppState, id: u64) -> Result<Option<CampaignRecord>, store::Error> {
    st.store.call(move |s| s.read()?.campaign::<CampaignRecord>(id)).await
}

pub(super) async fn edit_page(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
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
pub(super) async fn create_submit(
    State(st): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    save(st, staff, pairs, None).await
}

/// Saves a campaign as `PUT /api/v1/campaigns/{id}` does.
pub(super) async fn edit_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    save(st, staff, pairs, Some(id)).await
}

pub(super) async fn save(st: AppState, staff: Staff, pairs: Vec<(String, String)>, editing: Option<u64>) -> Response {
    let d = Draft::from_pairs(pairs);
    if let Some(r) = refuse_change(&staff, &d.csrf) {
        return r;
    }
    // What the form does not show is kept as it was.
    let stored = match editing {
        None => None,
        Some(id) => match load(&st, id).await {
            Ok(Some(rec)) => Some(rec.definition),
            Ok(None) => return not_found(&staff),
            Err(e) => return failed(staff.lang, &e),
        },
    };
    let input = match d.input(st.tz, staff.t, stored.as_ref()) {
        Ok(i) => i,
        Err((field, message)) => {
            return form_page(&st, &staff, d, Some(FieldError::at(field, message, slot)), editing).await;
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
            form_page(&st, &staff, d, Some(FieldError::at(field, message, slot)), editing).await
        }
        Err(CampaignError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

/// The message as it would go to one customer now, from the form as it stands (nothing saved):
/// the form's live preview asks for it as one edits (`static/campaign.js`). JSON: what would go
/// out, or the wrong field named.
pub(super) async fn live_preview(
    State(st): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let t = staff.t;
    let answer = |status: StatusCode, v: Value| (status, axum::Json(v)).into_response();
    let wrong = |field: &str, message: &str| {
        answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"error": {"field": field, "message": message}}),
        )
    };
    let asked = pairs
        .iter()
        .find(|(k, _)| k == "preview_customer")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    // A campaign being changed keeps what the form does not show, as saving it does.
    let editing = pairs
        .iter()
        .find(|(k, _)| k == "campaign_id")
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    let d = Draft::from_pairs(pairs);
    if !super::super::constant_eq(&d.csrf, &staff.session.csrf) {
        return answer(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": {"message": t.get("error.csrf")}}),
        );
    }
    if !staff.can_change() {
        return answer(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": {"message": t.get("error.forbidden")}}),
        );
    }
    if asked.is_empty() {
        return wrong("preview_customer", t.get("campaigns.preview_placeholder"));
    }
    let stored = match editing {
        None => None,
        Some(id) => match load(&st, id).await {
            Ok(rec) => rec.map(|r| r.definition),
            Err(e) => return super::super::failed_json(&e),
        },
    };
    let input = match d.input(st.tz, t, stored.as_ref()) {
        Ok(i) => i,
        Err((field, message)) => return wrong(&field, &message),
    };
    let (sender, now) = (st.campaigns.clone(), st.now_ms());
    let q = asked.clone();
    let done = st
        .store
        .call(move |s| -> Result<_, CampaignError> {
            let read = s.read()?;
            input.check(&read)?;
            let Some((cid, who)) = super::page::preview_customer(&read, &q)
                .map_err(|e| campaign::bad("preview_customer", e.to_string()))?
            else {
                return Ok(None);
            };
            let rec = CampaignRecord::draft(input.into(), now);
            Ok(Some((sender.preview(0, &rec, cid)?, who)))
        })
        .await;
    match done {
        Ok(Some((p, who))) => answer(
            StatusCode::OK,
            serde_json::json!({
                "customer_id": p.customer_id,
                "who": who,
                "to": p.to.clone().unwrap_or_else(|| "—".into()),
                "verdict": p.verdict,
                "verdict_text": super::page::verdict_words(t, &p),
                "subject": p.subject,
                "text": p.text,
                "html": p.html,
            }),
        ),
        Ok(None) => wrong(
            "preview_customer",
            &t.get("campaigns.no_customer").replace("{q}", &asked),
        ),
        Err(CampaignError::Field { field, message }) => wrong(&field, &message),
        Err(e) => super::super::failed_json(&e),
    }
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
                let back = d.input(tz, t, None).unwrap();
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
            "1 hour after “Added to cart”, unless “Order completed” comes first"
        );
        let repeat = templates::get("repeat_purchase").unwrap();
        assert_eq!(
            schedule_text(&repeat.input.when, en, tz),
            "30 days after “Order completed”, if order total ≥ 50000, unless “Order completed” comes first"
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
        let i = d.input(tz, t, None).unwrap();
        assert_eq!(
            i.when,
            When::Once {
                at: Some("2026-11-25T10:00:00+09:00".into())
            }
        );
        d.at = "soon".into();
        assert_eq!(d.input(tz, t, None).unwrap_err().0, "when.at");
        d.at.clear();
        d.rule = "{nope".into();
        assert_eq!(d.input(tz, t, None).unwrap_err().0, "audience.rule");
        d.rule.clear();
        d.when_kind = "trigger".into();
        d.event = "Product Added".into();
        d.filter = r#"[{"property": "total"}]"#.into();
        assert_eq!(d.input(tz, t, None).unwrap_err().0, "when.where");
        assert_eq!(slot("when.where[0].op"), "where");
        assert_eq!(slot("audience.rule.all[0].attr"), "rule");
        assert_eq!(slot("when.time"), "time");
    }
}
