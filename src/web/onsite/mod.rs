//! On-site messages in the console: the list with the ready-made messages to start from
//! (`/messages`), one form for a whole message with a live preview drawn by the real storefront
//! script (`/messages/new?template=KEY`, `/messages/{id}/edit`, `/messages/preview`), and a
//! message's page: its settings in words, Activate and Pause, and the report with a chart per day.
//! Everything goes through the domain functions the JSON API uses: `onsite::{create, update,
//! set_status, delete, check}`, `onsite::seen::{total, per_day}` and `app::onsite::preview`.

mod form;
mod preview;

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::chart::{Day, DayChart, two_bars};
use super::choices::{FieldError, Opt, checked, labelled, opts, segments_and_coupons};
use super::frame::Frame;
use super::rule_words::{RuleLine, rule_lines};
use super::{Staff, error_page, failed, refuse_change, render};
use crate::app::AppState;
use crate::coupon::CouponRecord;
use crate::i18n::{self, Catalog, Lang};
use crate::onsite::seen::{self, Counts};
use crate::onsite::templates;
use crate::onsite::{
    self, Device, Frequency, Kind, Membership, MessageInput, MessageRecord, OnsiteError, Status, StopAfter, Trigger,
    UrlMatch, Visitor,
};
use crate::segment::saved::SegmentRecord;
use form::{Draft, UrlRow, slot};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", get(list).post(create_submit))
        .route("/messages/new", get(new_page))
        .route("/messages/preview", post(preview::preview))
        .route("/messages/settings", post(settings_submit))
        .route("/messages/{id}", get(show).post(edit_submit))
        .route("/messages/{id}/edit", get(edit_page))
        .route("/messages/{id}/activate", post(activate))
        .route("/messages/{id}/pause", post(pause))
        .route("/messages/{id}/delete", post(delete))
}

fn not_found(staff: &Staff) -> Response {
    error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"))
}

fn count(n: u64) -> String {
    i18n::number(n as f64, 0)
}

// --- a message in words ------------------------------------------------------------------------

fn kind_label(t: &'static Catalog, k: Kind) -> &'static str {
    t.get(&format!("messages.kind_{}", k.as_str()))
}

fn status_label(t: &'static Catalog, s: Status) -> &'static str {
    t.get(&format!("messages.status_{}", s.as_str()))
}

/// "On arrival or after scrolling 50 %".
fn triggers_text(triggers: &[Trigger], t: &Catalog) -> String {
    let words: Vec<String> = triggers
        .iter()
        .map(|tr| match tr {
            Trigger::Arrival => t.get("messages.trigger_arrival").to_string(),
            Trigger::Delay { seconds } => t.get("messages.trigger_delay_n").replace("{n}", &seconds.to_string()),
            Trigger::Scroll { percent } => t.get("messages.trigger_scroll_n").replace("{n}", &percent.to_string()),
            Trigger::ExitIntent => t.get("messages.trigger_exit_intent").to_string(),
            Trigger::PageViews { count } => t
                .get("messages.trigger_page_views_n")
                .replace("{n}", &count.to_string()),
            Trigger::Event { event } => t.get("messages.trigger_event_n").replace("{event}", event),
        })
        .collect();
    words.join(t.get("messages.or"))
}

/// "Once a visit", "Once in 7 days, at most 3 times".
fn frequency_text(d: &onsite::Display, t: &Catalog) -> String {
    let mut s = match d.frequency {
        Frequency::Page => t.get("messages.every_page").to_string(),
        Frequency::Visit => t.get("messages.every_visit").to_string(),
        Frequency::Days { days } => t.get("messages.every_days_n").replace("{n}", &days.to_string()),
        Frequency::Once => t.get("messages.every_once").to_string(),
    };
    if let Some(n) = d.max_views {
        s += &t.get("messages.at_most_n").replace("{n}", &n.to_string());
    }
    if !d.stop_after.is_empty() {
        let stops: Vec<&str> = d
            .stop_after
            .iter()
            .map(|s| t.get(&format!("messages.stop_{}", stop_str(*s))))
            .collect();
        s += &t.get("messages.stops_after").replace("{what}", &stops.join(", "));
    }
    s
}

fn stop_str(s: StopAfter) -> &'static str {
    match s {
        StopAfter::Click => "click",
        StopAfter::Close => "close",
        StopAfter::Conversion => "conversion",
    }
}

fn match_str(m: UrlMatch) -> &'static str {
    match m {
        UrlMatch::Contains => "contains",
        UrlMatch::StartsWith => "starts_with",
        UrlMatch::Equals => "equals",
        UrlMatch::Regex => "regex",
    }
}

/// Who sees it, a line a part: the pages, devices, members or guests, new or returning, cart.
fn target_lines(target: &onsite::Target, t: &Catalog, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    for u in &target.urls {
        let key = if u.exclude {
            "messages.url_exclude"
        } else {
            "messages.url_include"
        };
        out.push(
            t.get(key)
                .replace("{match}", t.get(&format!("messages.match_{}", match_str(u.matching))))
                .replace("{value}", &u.value),
        );
    }
    if !target.devices.is_empty() {
        let names: Vec<&str> = target
            .devices
            .iter()
            .map(|d| match d {
                Device::Desktop => t.get("messages.device_desktop"),
                Device::Mobile => t.get("messages.device_mobile"),
            })
            .collect();
        out.push(format!("{}: {}", t.get("messages.devices"), names.join(", ")));
    }
    match target.member {
        Membership::Any => {}
        Membership::Member => out.push(t.get("messages.member_member").to_string()),
        Membership::Guest => out.push(t.get("messages.member_guest").to_string()),
    }
    match target.visitor {
        Visitor::Any => {}
        Visitor::New => out.push(t.get("messages.visitor_new").to_string()),
        Visitor::Returning => out.push(t.get("messages.visitor_returning").to_string()),
    }
    let range = |r: &onsite::Range, money: bool| {
        let show = |v: f64| {
            if money {
                i18n::money(v, None, lang)
            } else {
                i18n::number(v, 0)
            }
        };
        match (r.min, r.max) {
            (Some(a), Some(b)) => format!("{} – {}", show(a), show(b)),
            (Some(a), None) => format!("≥ {}", show(a)),
            (None, Some(b)) => format!("≤ {}", show(b)),
            (None, None) => String::new(),
        }
    };
    if let Some(r) = &target.cart_value {
        out.push(format!("{}: {}", t.get("messages.cart_value"), range(r, true)));
    }
    if let Some(r) = &target.cart_items {
        out.push(format!("{}: {}", t.get("messages.cart_items"), range(r, false)));
    }
    out
}

// --- the list ----------------------------------------------------------------------------------

pub struct Row {
    pub id: u64,
    pub name: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub triggers: String,
    pub impressions: String,
    pub clicks: String,
    pub click_rate: String,
    pub conversions: String,
}

/// A ready-made message to start from.
pub struct TemplateCard {
    pub key: &'static str,
    pub name: &'static str,
    pub about: String,
    pub kind: &'static str,
}

fn template_cards(t: &'static Catalog, lang: Lang) -> Vec<TemplateCard> {
    templates::all()
        .into_iter()
        .map(|tpl| TemplateCard {
            key: tpl.key,
            name: match lang {
                Lang::Ko => tpl.name_ko,
                Lang::En => tpl.name_en,
            },
            about: t
                .find(&format!("messages.about_{}", tpl.key))
                .unwrap_or(tpl.about)
                .to_string(),
            kind: kind_label(t, tpl.input.kind),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "onsite/list.html")]
struct ListPage {
    f: Frame,
    per_visit: u32,
    /// What was wrong with the settings sent, if anything.
    settings_error: Option<String>,
    rows: Vec<Row>,
    templates: Vec<TemplateCard>,
}

async fn list(State(st): State<AppState>, staff: Staff) -> Response {
    list_page(st, staff, None).await
}

async fn list_page(st: AppState, staff: Staff, settings_error: Option<(String, u32)>) -> Response {
    let (lang, t) = (staff.lang, staff.t);
    let res = st
        .store
        .call(move |s| -> Result<_, OnsiteError> {
            let read = s.read()?;
            let mut rows = Vec::new();
            for (id, rec) in onsite::list(&read)?.into_iter().rev() {
                let c = seen::total(&read, id)?;
                let d = rec.definition;
                rows.push(Row {
                    id,
                    kind: kind_label(t, d.kind),
                    status: rec.status.as_str(),
                    status_label: status_label(t, rec.status),
                    triggers: triggers_text(&d.triggers, t),
                    impressions: count(c.views),
                    clicks: count(c.clicks),
                    click_rate: i18n::percent(c.click_rate()),
                    conversions: count(c.conversions),
                    name: d.name,
                });
            }
            Ok((rows, onsite::settings(&read)?))
        })
        .await;
    match res {
        Ok((rows, settings)) => (
            if settings_error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
            render(&ListPage {
                f: Frame::new(&staff, "messages"),
                per_visit: settings_error.as_ref().map_or(settings.per_visit, |(_, typed)| *typed),
                settings_error: settings_error.map(|(e, _)| e),
                rows,
                templates: template_cards(t, lang),
            }),
        )
            .into_response(),
        Err(e) => failed(lang, &e),
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    csrf: String,
    #[serde(default)]
    per_visit: String,
}

/// Saves the settings of every message as `PUT /api/v1/messages/settings` does.
async fn settings_submit(State(st): State<AppState>, staff: Staff, Form(f): Form<SettingsForm>) -> Response {
    if let Some(r) = refuse_change(&staff, &f.csrf) {
        return r;
    }
    let Ok(per_visit) = f.per_visit.trim().parse::<u32>() else {
        let e = format!("per_visit: {}", staff.t.get("messages.error.number"));
        return list_page(st, staff, Some((e, 0))).await;
    };
    let saved = st
        .store
        .write(move |tx| onsite::save_settings(tx, &onsite::Settings { per_visit }))
        .await;
    match saved {
        Ok(()) => Redirect::to("/messages").into_response(),
        Err(OnsiteError::Invalid { field, message }) => {
            list_page(st, staff, Some((format!("{field}: {message}"), per_visit))).await
        }
        Err(e) => failed(staff.lang, &e),
    }
}

// --- a message's page and report ---------------------------------------------------------------

pub struct Stat {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
}

pub struct DayRow {
    pub day: String,
    pub impressions: String,
    pub viewers: String,
    pub clicks: String,
    pub closes: String,
    pub conversions: String,
    pub revenue: String,
}

#[derive(Template)]
#[template(path = "onsite/show.html")]
struct ShowPage {
    f: Frame,
    id: u64,
    name: String,
    status: &'static str,
    status_label: &'static str,
    kind: &'static str,
    details: Vec<(&'static str, String)>,
    segment: Option<(u64, String)>,
    rule: Vec<RuleLine>,
    target: Vec<String>,
    coupon: Option<(u64, String)>,
    days: u32,
    stats: Vec<Stat>,
    chart: Option<DayChart>,
    /// Newest first; only days with a view or an order.
    rows: Vec<DayRow>,
}

#[derive(Deserialize)]
struct ShowQuery {
    days: Option<u32>,
}

fn report_stats(c: &Counts, t: &'static Catalog, lang: Lang) -> Vec<Stat> {
    let stat = |id: &'static str, value: String| Stat {
        id,
        label: t.get(&format!("messages.{id}")),
        value,
    };
    vec![
        stat("impressions", count(c.views)),
        stat("unique_viewers", count(c.viewers)),
        stat("clicks", count(c.clicks)),
        stat("click_rate", i18n::percent(c.click_rate())),
        stat("closes", count(c.closes)),
        stat("conversions", count(c.conversions)),
        stat("conversion_rate", i18n::percent(c.conversion_rate())),
        stat("revenue", i18n::money(c.revenue, None, lang)),
    ]
}

async fn show(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Query(q): Query<ShowQuery>) -> Response {
    let (t, lang, tz) = (staff.t, staff.lang, st.tz);
    let days = q.days.unwrap_or(30).clamp(1, 365);
    let today = crate::analysis::local_day(st.now_ms(), tz);
    let res = st
        .store
        .call(move |s| -> Result<_, OnsiteError> {
            let read = s.read()?;
            let rec = onsite::get(&read, id)?;
            let (per_day, total) = seen::per_day(&read, id, tz, today, days)?;
            let d = &rec.definition;
            let segment = match d.target.segment_id {
                Some(sid) => Some((
                    sid,
                    read.segment::<SegmentRecord>(sid)?
                        .map_or_else(|| format!("#{sid}"), |s| s.name),
                )),
                None => None,
            };
            let coupon = match d.coupon_id {
                Some(cid) => Some((
                    cid,
                    read.coupon::<CouponRecord>(cid)?
                        .map_or_else(|| format!("#{cid}"), |c| c.name),
                )),
                None => None,
            };
            let rule = match &d.target.rule {
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
            Ok((rec, per_day, total, segment, coupon, rule))
        })
        .await;
    let (rec, per_day, total, segment, coupon, rule) = match res {
        Ok(v) => v,
        Err(OnsiteError::NotFound(_)) => return not_found(&staff),
        Err(e) => return failed(lang, &e),
    };
    let d = &rec.definition;
    let dates: Vec<String> = per_day.iter().map(|(date, _)| date.to_string()).collect();
    let bars: Vec<Day> = per_day
        .iter()
        .zip(&dates)
        .map(|((_, c), day)| Day {
            day,
            a: c.views,
            b: c.clicks,
        })
        .collect();
    let chart = two_bars(
        &bars,
        t.get("messages.chart_about"),
        t.get("messages.impressions"),
        t.get("messages.clicks"),
    );
    let rows = per_day
        .iter()
        .rev()
        .filter(|(_, c)| c.views > 0 || c.conversions > 0 || c.closes > 0)
        .map(|(date, c)| DayRow {
            day: date.to_string(),
            impressions: count(c.views),
            viewers: count(c.viewers),
            clicks: count(c.clicks),
            closes: count(c.closes),
            conversions: count(c.conversions),
            revenue: i18n::money(c.revenue, None, lang),
        })
        .collect();
    let mut details = vec![
        ("triggers", triggers_text(&d.triggers, t)),
        ("frequency", frequency_text(&d.display, t)),
    ];
    if let Some(r) = &d.recommend {
        details.push((
            "recommend",
            format!(
                "{} · {}",
                t.find(&format!("recommend.strategy.{}", r.strategy))
                    .unwrap_or(&r.strategy),
                t.get("messages.cards_n").replace("{n}", &r.limit.to_string())
            ),
        ));
    }
    if let Some(p) = &d.social_proof {
        let measure = match p.measure {
            onsite::Measure::PurchasedToday => "purchased_today",
            onsite::Measure::ViewingNow => "viewing_now",
        };
        details.push((
            "proof",
            format!(
                "{} · {}",
                t.get(&format!("messages.measure_{measure}")),
                t.get("messages.minimum_n").replace("{n}", &p.minimum.to_string())
            ),
        ));
    }
    details.push((
        "attribution",
        t.get("messages.attribution_n")
            .replace("{n}", &d.attribution_days.to_string()),
    ));
    if d.display.dont_show_days > 0 {
        details.push((
            "dont_show",
            t.get("onsite.dont_show")
                .replace("{days}", &d.display.dont_show_days.to_string()),
        ));
    }
    let details = details
        .into_iter()
        .map(|(key, value)| (t.get(&format!("messages.{key}")), value))
        .collect();
    render(&ShowPage {
        f: Frame::new(&staff, "messages"),
        id,
        name: d.name.clone(),
        status: rec.status.as_str(),
        status_label: status_label(t, rec.status),
        kind: kind_label(t, d.kind),
        details,
        segment,
        rule,
        target: target_lines(&d.target, t, lang),
        coupon,
        days,
        stats: report_stats(&total, t, lang),
        chart,
        rows,
    })
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn set_status(st: AppState, staff: Staff, id: u64, csrf: &str, status: Status) -> Response {
    if let Some(r) = refuse_change(&staff, csrf) {
        return r;
    }
    let now = st.now_ms();
    match st.store.write(move |tx| onsite::set_status(tx, id, status, now)).await {
        Ok(_) => Redirect::to(&format!("/messages/{id}")).into_response(),
        Err(OnsiteError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

async fn activate(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Form(f): Form<CsrfForm>) -> Response {
    set_status(st, staff, id, &f.csrf, Status::Active).await
}

async fn pause(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Form(f): Form<CsrfForm>) -> Response {
    set_status(st, staff, id, &f.csrf, Status::Paused).await
}

async fn delete(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = refuse_change(&staff, &f.csrf) {
        return r;
    }
    match st.store.write(move |tx| onsite::delete(tx, id)).await {
        Ok(()) => Redirect::to("/messages").into_response(),
        Err(OnsiteError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

// --- the form ----------------------------------------------------------------------------------

/// Options labelled by the catalog's `{prefix}{value}`, the one that is `current` selected.
fn named(t: &Catalog, prefix: &str, values: &[&str], current: &str) -> Vec<Opt> {
    opts(labelled(t, prefix, values), current)
}

/// A wrong field of the message form.
fn wrong(field: String, message: String) -> FieldError {
    FieldError::at(field, message, slot)
}

#[derive(Template)]
#[template(path = "onsite/form.html")]
struct FormPage {
    f: Frame,
    d: Draft,
    kinds: Vec<Opt>,
    positions: Vec<Opt>,
    strategies: Vec<Opt>,
    measures: Vec<Opt>,
    coupons: Vec<Opt>,
    segments: Vec<Opt>,
    url_rows: Vec<(Vec<Opt>, Vec<Opt>, String)>,
    devices: Vec<Opt>,
    visitors: Vec<Opt>,
    members: Vec<Opt>,
    triggers: Vec<Opt>,
    weekdays: Vec<Opt>,
    frequencies: Vec<Opt>,
    stops: Vec<Opt>,
    preview_devices: Vec<Opt>,
    error: Option<FieldError>,
    tz: String,
    editing: Option<u64>,
    template_name: Option<&'static str>,
}

impl FormPage {
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
    let (segment_list, coupon_list) = match segments_and_coupons(st).await {
        Ok(v) => v,
        Err(e) => return failed(staff.lang, &e),
    };
    let none = |key: &str| (String::new(), t.get(key).to_string());
    let listed = |key: &str, items: Vec<(String, String)>, current: &str| {
        let items = items
            .into_iter()
            .map(|(id, name)| (id.clone(), format!("{name} (#{id})")));
        opts(std::iter::once(none(key)).chain(items), current)
    };
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let strategies: Vec<&str> = crate::recommend::Strategy::ALL.iter().map(|s| s.as_str()).collect();
    let strategy_opts = opts(
        std::iter::once(none("messages.none")).chain(labelled(t, "recommend.strategy.", &strategies)),
        &d.recommend_strategy,
    );
    let measure_opts = opts(
        std::iter::once(none("messages.none")).chain(labelled(
            t,
            "messages.measure_",
            &["purchased_today", "viewing_now"],
        )),
        &d.proof_measure,
    );
    // The rules it has, and two empty rows to add more.
    let mut rows = d.urls.clone();
    rows.extend([UrlRow::default(), UrlRow::default()]);
    let url_rows = rows
        .into_iter()
        .map(|r| {
            (
                named(t, "messages.mode_", &["include", "exclude"], &r.mode),
                named(
                    t,
                    "messages.match_",
                    &["contains", "starts_with", "equals", "regex"],
                    &r.matching,
                ),
                r.value,
            )
        })
        .collect();
    let template_name = templates::find(&d.template).map(|tpl| match staff.lang {
        Lang::Ko => tpl.name_ko,
        Lang::En => tpl.name_en,
    });
    let page = FormPage {
        f: Frame::new(staff, "messages"),
        kinds: named(t, "messages.kind_", &kinds, &d.kind),
        positions: named(
            t,
            "messages.position_",
            &[
                "center",
                "top",
                "bottom",
                "top_left",
                "top_right",
                "bottom_left",
                "bottom_right",
            ],
            &d.position,
        ),
        strategies: strategy_opts,
        measures: measure_opts,
        coupons: listed("messages.no_coupon", coupon_list, &d.coupon_id),
        segments: listed("messages.everyone", segment_list, &d.segment_id),
        url_rows,
        devices: checked(labelled(t, "messages.device_", &["desktop", "mobile"]), &d.devices),
        visitors: named(t, "messages.visitor_", &["any", "new", "returning"], &d.visitor),
        members: named(t, "messages.member_", &["any", "member", "guest"], &d.member),
        triggers: checked(
            labelled(
                t,
                "messages.trigger_",
                &["arrival", "delay", "scroll", "exit_intent", "page_views", "event"],
            ),
            &d.triggers,
        ),
        weekdays: checked(
            labelled(t, "messages.weekday_", &["1", "2", "3", "4", "5", "6", "7"]),
            &d.weekdays,
        ),
        frequencies: named(t, "messages.every_", &["page", "visit", "days", "once"], &d.frequency),
        stops: checked(
            labelled(t, "messages.stop_", &["click", "close", "conversion"]),
            &d.stop_after,
        ),
        preview_devices: named(
            t,
            "messages.device_",
            &["desktop", "mobile"],
            if d.preview_device.is_empty() {
                "desktop"
            } else {
                &d.preview_device
            },
        ),
        d,
        error,
        tz: st.tz.name().to_string(),
        editing,
        template_name,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, render(&page)).into_response()
}

#[derive(Deserialize)]
struct NewQuery {
    template: Option<String>,
}

async fn new_page(State(st): State<AppState>, staff: Staff, Query(q): Query<NewQuery>) -> Response {
    if !staff.can_change() {
        return error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.forbidden"));
    }
    let d = match q.template.as_deref().and_then(templates::find) {
        Some(tpl) => Draft::from_input(&tpl.input, st.tz),
        None => Draft::blank(st.tz),
    };
    form_page(&st, &staff, d, None, None).await
}

async fn load(st: &AppState, id: u64) -> Result<MessageRecord, OnsiteError> {
    st.store.call(move |s| onsite::get(&s.read()?, id)).await
}

async fn edit_page(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    if !staff.can_change() {
        return error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.forbidden"));
    }
    match load(&st, id).await {
        Ok(rec) => {
            let d = Draft::from_input(&MessageInput::from(&rec.definition), st.tz);
            form_page(&st, &staff, d, None, Some(id)).await
        }
        Err(OnsiteError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

async fn create_submit(State(st): State<AppState>, staff: Staff, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    save(st, staff, pairs, None).await
}

async fn edit_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    save(st, staff, pairs, Some(id)).await
}

/// The input a form makes, with the fallbacks it does not show kept from the saved message.
async fn read_input(
    st: &AppState,
    staff: &Staff,
    d: &Draft,
    editing: Option<u64>,
) -> Result<Result<MessageInput, FieldError>, Response> {
    let kept = match editing {
        None => BTreeMap::new(),
        Some(id) => match load(st, id).await {
            Ok(rec) => rec.definition.fallbacks,
            Err(OnsiteError::NotFound(_)) => return Err(not_found(staff)),
            Err(e) => return Err(failed(staff.lang, &e)),
        },
    };
    Ok(d.input(st.tz, staff.t, kept)
        .map_err(|(field, message)| wrong(field, message)))
}

async fn save(st: AppState, staff: Staff, pairs: Vec<(String, String)>, editing: Option<u64>) -> Response {
    let d = Draft::from_pairs(pairs);
    if let Some(r) = refuse_change(&staff, &d.csrf) {
        return r;
    }
    let input = match read_input(&st, &staff, &d, editing).await {
        Ok(Ok(i)) => i,
        Ok(Err(e)) => return form_page(&st, &staff, d, Some(e), editing).await,
        Err(r) => return r,
    };
    let now = st.now_ms();
    let saved = st
        .store
        .write(move |tx| match editing {
            Some(id) => onsite::update(tx, id, &input, now).map(|_| id),
            None => onsite::create(tx, &input, now),
        })
        .await;
    match saved {
        Ok(id) => Redirect::to(&format!("/messages/{id}")).into_response(),
        Err(OnsiteError::Invalid { field, message }) => {
            form_page(&st, &staff, d, Some(wrong(field, message)), editing).await
        }
        Err(OnsiteError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}
