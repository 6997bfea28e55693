//! The dashboard, the customer list, a customer's profile, and tag changes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, TimeZone};
use serde::Deserialize;
use serde_json::Value;

use super::analysis::CustomerCard;
use super::frame::Frame;
use super::segments::CustomerRow;
use super::{Staff, error_page, failed, refuse_change, render};
use crate::app::AppState;
use crate::customer::{self, VISIT_GAP_MS, columns};
use crate::i18n::{self, Lang};
use crate::store;
use crate::store::records::{Consent, EventKind, EventRecord, OrderRecord, Rollup};

pub struct Figure {
    pub label: &'static str,
    pub new_customers: String,
    pub orders: String,
    pub revenue: String,
    pub refunded: String,
}

pub struct EventLine {
    pub time: String,
    pub label: String,
    pub detail: String,
    pub customer: u64,
    /// Who, by name (else email, else member id, else "guest #id"), where a list mixes customers.
    pub who: String,
}

#[derive(Template)]
#[template(path = "dashboard/index.html")]
struct DashboardPage {
    f: Frame,
    /// The last 30 days' charts; None while the reports' tables are first built.
    reports: Option<super::reports::Dashboard>,
    total_customers: String,
    figures: Vec<Figure>,
    latest: Vec<EventLine>,
}

/// Local midnight `days_back` days before today, in the shop's time zone, as unix millis.
fn local_midnight(tz: chrono_tz::Tz, now: i64, days_back: i64) -> i64 {
    let today = tz
        .timestamp_millis_opt(now)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let day = today - Duration::days(days_back);
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or(now)
}

pub async fn dashboard(State(st): State<AppState>, staff: Staff) -> Response {
    let tz = st.tz;
    let lang = staff.lang;
    let state = st.clone();
    let t = staff.t;
    let data = st
        .store
        .call(move |s| -> Result<_, crate::app::reports::ReportError> {
            let reports = super::reports::Dashboard::read(&state, t, lang)?;
            let read = s.read()?;
            let now = s.now_ms();
            let windows = [("dashboard.today", 0), ("dashboard.last7", 6), ("dashboard.last30", 29)];
            let sums: Vec<(&'static str, Rollup)> = windows
                .iter()
                .map(|&(label, back)| Ok((label, read.rollup(local_midnight(tz, now, back), now + 1)?)))
                .collect::<Result<_, store::Error>>()?;
            let live = read.rollup(i64::MIN / 2, now + 1)?.live_customers();
            // The latest by arrival, shown newest first by their own time, each with who it was.
            let mut latest = read.latest_events(15)?;
            latest.sort_by_key(|(seq, e)| std::cmp::Reverse((e.timestamp, *seq)));
            let mut lines = Vec::with_capacity(latest.len());
            for (_, e) in &latest {
                let who = read
                    .customer(e.customer)?
                    .and_then(|c| c.name.or(c.email).or(c.user_id));
                lines.push((event_line(e, tz, lang), who));
            }
            Ok((live, sums, lines, reports))
        })
        .await;
    let (total, sums, latest, reports) = match data {
        Ok(d) => d,
        Err(e) => return failed(lang, &e),
    };
    let page = DashboardPage {
        reports,
        total_customers: i18n::number(total as f64, 0),
        figures: sums
            .into_iter()
            .map(|(label, r)| Figure {
                label: t.get(label),
                new_customers: i18n::number(r.new_customers as f64, 0),
                orders: i18n::number(r.orders as f64, 0),
                revenue: i18n::money(r.revenue, None, lang),
                refunded: i18n::money(r.refunded, None, lang),
            })
            .collect(),
        latest: latest
            .into_iter()
            .map(|(line, who)| EventLine {
                who: who.unwrap_or_else(|| format!("{} #{}", t.get("customers.anonymous"), line.customer)),
                ..line
            })
            .collect(),
        f: Frame::new(&staff, "dashboard"),
    };
    render(&page)
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What an event was, in a line.
fn event_line(e: &EventRecord, tz: chrono_tz::Tz, lang: Lang) -> EventLine {
    let p = &e.properties;
    let t = i18n::Catalog::for_lang(lang);
    let (label, detail) = match e.kind {
        EventKind::Track => {
            let name = e.event.clone().unwrap_or_default();
            let detail = match name.as_str() {
                "Order Completed" | "Order Refunded" => {
                    let total = p.get("total").and_then(crate::value::number).unwrap_or(0.0);
                    format!(
                        "{} · {}",
                        text(p, "order_id").unwrap_or_default(),
                        i18n::money(total, p.get("currency").and_then(Value::as_str), lang)
                    )
                }
                _ => text(p, "name").or_else(|| text(p, "product_id")).unwrap_or_default(),
            };
            (i18n::event_name(t, &name), detail)
        }
        EventKind::Page | EventKind::Screen => (
            i18n::event_name(t, e.kind.as_str()),
            e.name.clone().or_else(|| text(p, "path")).unwrap_or_default(),
        ),
        EventKind::Identify => (
            i18n::event_name(t, "identify"),
            ["name", "email"]
                .iter()
                .filter_map(|k| text(&e.traits, k))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        other => (
            i18n::event_name(t, other.as_str()),
            e.group_id.clone().or(e.previous_id.clone()).unwrap_or_default(),
        ),
    };
    EventLine {
        time: i18n::datetime(e.timestamp, tz),
        label,
        detail,
        customer: e.customer,
        who: String::new(),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    cursor: Option<u64>,
    sort: Option<String>,
    tag: Option<String>,
    consent: Option<String>,
    page: Option<usize>,
}

#[derive(Template)]
#[template(path = "customer/list.html")]
struct CustomersPage {
    f: Frame,
    q: String,
    sort: &'static str,
    tag: String,
    consent: String,
    /// How many customers match, when the list comes from the columns.
    total: Option<String>,
    known_tags: Vec<String>,
    rows: Vec<CustomerRow>,
    next: Option<String>,
}

/// Customers on a page of the list.
const LIST_PAGE: usize = 50;

/// The customer list, from the in-memory columns: sorted by last seen, spend or orders and
/// filtered by tag and consent, or a text search over names, emails, user ids and phones. While
/// the columns are still being built after a start, it reads redb in id order instead.
pub async fn customers(State(st): State<AppState>, staff: Staff, Query(q): Query<ListQuery>) -> Response {
    let (tz, lang) = (st.tz, staff.lang);
    let text = q.q.clone().unwrap_or_default().trim().to_string();
    let tag = q.tag.clone().unwrap_or_default().trim().to_string();
    let consent = q.consent.clone().and_then(|c| columns::Channel::parse(&c));
    let sort = q
        .sort
        .as_deref()
        .and_then(columns::Sort::parse)
        .unwrap_or(columns::Sort::LastSeen);
    let page = q.page.unwrap_or(0);
    let (from_columns, known_tags) = {
        let cols = st.columns.read().expect("not poisoned");
        if !cols.ready() {
            (None, Vec::new())
        } else if text.is_empty() {
            let query = columns::Query {
                tag: (!tag.is_empty()).then(|| tag.clone()),
                consent,
                sort,
                offset: page * LIST_PAGE,
                limit: LIST_PAGE,
            };
            (
                Some(cols.query(&query)),
                cols.tag_counts().into_iter().take(50).map(|(t, _)| t).collect(),
            )
        } else {
            (Some(cols.search(&text, page * LIST_PAGE, LIST_PAGE)), Vec::new())
        }
    };
    let res = match from_columns {
        Some((ids, total)) => {
            st.store
                .call(move |s| -> Result<_, customer::Error> {
                    let read = s.read()?;
                    let mut items = Vec::with_capacity(ids.len());
                    for id in ids {
                        if let Some(rec) = read.customer(id)? {
                            items.push((id, rec));
                        }
                    }
                    Ok((items, None, Some(total)))
                })
                .await
        }
        None => {
            let query = text.clone();
            let cursor = q.cursor.unwrap_or(0);
            st.store
                .call(move |s| {
                    let (items, next) = customer::list(&s.read()?, cursor, LIST_PAGE, Some(&query))?;
                    Ok::<_, customer::Error>((items, next, None))
                })
                .await
        }
    };
    let (items, next_id, total) = match res {
        Ok(r) => r,
        Err(e) => return failed(lang, &e),
    };
    let anonymous = staff.t.get("customers.anonymous");
    let rows = items
        .into_iter()
        .map(|(id, r)| CustomerRow {
            id,
            name: r.name.clone().unwrap_or_else(|| {
                if r.user_id.is_some() {
                    String::new()
                } else {
                    anonymous.to_string()
                }
            }),
            email: r.email.unwrap_or_default(),
            phone: r.phone.unwrap_or_default(),
            last_seen: r.stats.last_seen.map(|t| i18n::datetime(t, tz)).unwrap_or_default(),
            orders: r.stats.orders_count,
            spent: i18n::money(r.stats.total_spent, None, lang),
            tags: r.tags,
        })
        .collect();
    let consent_text = q.consent.clone().unwrap_or_default();
    let next = match total {
        Some(total) if ((page + 1) * LIST_PAGE) < total as usize && !text.is_empty() => {
            Some(format!("/customers?q={}&page={}", super::urlencode(&text), page + 1))
        }
        Some(total) if ((page + 1) * LIST_PAGE) < total as usize => Some(format!(
            "/customers?sort={}&tag={}&consent={}&page={}",
            sort.as_str(),
            super::urlencode(&tag),
            super::urlencode(&consent_text),
            page + 1
        )),
        Some(_) => None,
        None => next_id.map(|n| format!("/customers?q={}&cursor={n}", super::urlencode(&text))),
    };
    render(&CustomersPage {
        f: Frame::new(&staff, "customers"),
        q: text,
        sort: sort.as_str(),
        tag,
        consent: consent_text,
        total: total.map(|t| i18n::number(t as f64, 0)),
        known_tags,
        rows,
        next,
    })
}

pub struct ConsentRow {
    pub channel: &'static str,
    pub state: &'static str,
    pub detail: String,
}

pub struct Visit {
    pub start: String,
    pub events: Vec<EventLine>,
}

pub struct OrderRow {
    pub id: String,
    pub placed_at: String,
    pub status: String,
    pub total: String,
    pub lines: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "customer/show.html")]
struct CustomerPage {
    f: Frame,
    id: u64,
    name: String,
    user_id: String,
    email: String,
    phone: String,
    anonymous_ids: Vec<String>,
    consents: Vec<ConsentRow>,
    figures: Vec<(&'static str, String)>,
    tags: Vec<String>,
    visits: Vec<Visit>,
    orders: Vec<OrderRow>,
    analysis: CustomerCard,
    coupons: Vec<super::coupons::HeldCoupon>,
    /// The Recommendations card: the strategy switcher and what the chosen one recommends.
    rec_links: Vec<super::recommend::StrategyLink>,
    recommended: Vec<super::recommend::Recommended>,
    /// The shop's coupons this customer does not hold, to issue one: (id, name).
    can_issue: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct CustomerQuery {
    /// The strategy of the Recommendations card (`for_you` when missing or unknown).
    rec: Option<String>,
}

/// Events shown on a profile, newest first.
const TIMELINE_EVENTS: usize = 200;

pub async fn customer(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let (tz, lang, t, now) = (st.tz, staff.lang, staff.t, st.now_ms());
    let strategy = super::recommend::strategy(q.rec.as_deref());
    let state = st.clone();
    let res = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, rec) = customer::get(&read, id)?;
            let keys = read.identities_of(id)?;
            let events = read.customer_events(id, None, TIMELINE_EVENTS)?;
            let mut orders: Vec<OrderRecord> = Vec::new();
            for oid in read.order_ids_of(id)?.into_iter().rev() {
                orders.extend(read.order(&oid)?);
            }
            let analysis = crate::analysis::view::customer_analysis(&read, id, tz, lang)?;
            let coupons = super::coupons::held_coupons(&read, id, now, tz, t, lang)?;
            let recommended = super::recommend::for_customer(&state, &read, id, strategy, t, lang)?;
            Ok((id, rec, keys, events, orders, analysis, coupons, recommended))
        })
        .await;
    let (id, rec, keys, events, orders, analysis, coupons, recommended) = match res {
        Ok(r) => r,
        Err(customer::Error::NotFound(_) | customer::Error::Erased(_)) => {
            return error_page(lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"));
        }
        Err(e) => return failed(lang, &e),
    };
    let can_issue = match super::choices::segments_and_coupons(&st).await {
        Ok((_, all)) => all
            .into_iter()
            .filter(|(cid, _)| !coupons.iter().any(|h| h.id.to_string() == *cid))
            .collect(),
        Err(e) => return failed(lang, &e),
    };
    let t = staff.t;
    let consent = |channel: &'static str, c: &Option<Consent>| ConsentRow {
        channel: t.get(channel),
        state: match c {
            Some(c) if c.granted => t.get("customer.granted"),
            Some(_) => t.get("customer.withdrawn"),
            None => t.get("customer.unknown"),
        },
        detail: c
            .as_ref()
            .map(|c| format!("{} · {}", i18n::datetime(c.at, tz), i18n::source_name(t, &c.source)))
            .unwrap_or_default(),
    };
    let s = &rec.stats;
    let when = |t: Option<i64>| t.map(|t| i18n::datetime(t, tz)).unwrap_or_else(|| "—".into());
    let figures = vec![
        (t.get("customer.signed_up"), when(rec.signed_up_at)),
        (t.get("customer.first_seen"), when(s.first_seen)),
        (t.get("customers.last_seen"), when(s.last_seen)),
        (t.get("customer.visits"), i18n::number(s.visits as f64, 0)),
        (t.get("customer.events"), i18n::number(s.events as f64, 0)),
        (t.get("customers.orders"), i18n::number(s.orders_count as f64, 0)),
        (t.get("customers.spent"), i18n::money(s.total_spent, None, lang)),
        (
            t.get("customer.refunds"),
            format!("{} · {}", s.refunds_count, i18n::money(s.refunded_amount, None, lang)),
        ),
    ];
    // Group the timeline into visits: a gap of 30 minutes starts a new one.
    let mut visits: Vec<Visit> = Vec::new();
    let mut last: Option<i64> = None;
    for (_, e) in &events {
        if last.is_none_or(|l| l - e.timestamp > VISIT_GAP_MS) {
            visits.push(Visit {
                start: i18n::datetime(e.timestamp, tz),
                events: Vec::new(),
            });
        }
        last = Some(e.timestamp);
        visits.last_mut().expect("pushed").events.push(event_line(e, tz, lang));
    }
    let orders = orders
        .into_iter()
        .map(|o| OrderRow {
            status: serde_json::to_value(o.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            placed_at: i18n::datetime(o.placed_at, tz),
            total: i18n::money(o.total, o.currency.as_deref(), lang),
            lines: o
                .lines
                .iter()
                .map(|l| {
                    (
                        l.name.clone().unwrap_or_else(|| l.product_id.clone()),
                        i18n::number(l.quantity, 0),
                        i18n::money(l.price, o.currency.as_deref(), lang),
                    )
                })
                .collect(),
            id: o.order_id,
        })
        .collect();
    let pick = |p: &str| {
        keys.iter()
            .filter_map(|k| k.strip_prefix(p))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let page = CustomerPage {
        can_issue,
        f: Frame::new(&staff, "customers"),
        id,
        name: rec
            .name
            .clone()
            .unwrap_or_else(|| t.get("customers.anonymous").to_string()),
        user_id: rec.user_id.clone().unwrap_or_else(|| "—".into()),
        email: rec.email.clone().unwrap_or_else(|| "—".into()),
        phone: rec.phone.clone().unwrap_or_else(|| "—".into()),
        anonymous_ids: pick("a:"),
        consents: vec![
            consent("customer.consent_email", &rec.consents.email),
            consent("customer.consent_sms", &rec.consents.sms),
            consent("customer.consent_kakao", &rec.consents.kakao),
        ],
        figures,
        tags: rec.tags.clone(),
        visits,
        orders,
        analysis: CustomerCard::new(analysis, t, lang),
        coupons,
        rec_links: super::recommend::strategy_links(id, strategy, t),
        recommended,
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct TagForm {
    /// Missing is refused like wrong (403), not as a malformed form.
    #[serde(default)]
    csrf: String,
    tag: String,
}

async fn tags(st: AppState, staff: Staff, id: u64, form: TagForm, add: bool) -> Response {
    if let Some(refusal) = refuse_change(&staff, &form.csrf) {
        return refusal;
    }
    let tag = vec![form.tag];
    let now = st.now_ms();
    let res = st
        .store
        .write(move |tx| {
            let (a, r) = if add {
                (tag.as_slice(), &[][..])
            } else {
                (&[][..], tag.as_slice())
            };
            customer::change_tags(tx, id, a, r, now)
        })
        .await;
    match res {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => failed(staff.lang, &e),
    }
}

pub async fn add_tag(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<TagForm>,
) -> Response {
    tags(st, staff, id, form, true).await
}

pub async fn remove_tag(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<TagForm>,
) -> Response {
    tags(st, staff, id, form, false).await
}
