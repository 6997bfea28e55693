//! Coupons in the console: the list (`/coupons`), the form (`/coupons/new`), a coupon's page (its
//! discount and conditions in words, its counts, the bulk issue to a saved segment with a preview
//! of how many get it, the export of its codes) and the Coupons card of a customer's page.
//! Everything goes through the domain functions the JSON API uses: `coupon::{create, issue,
//! prefix, on_record, codes_csv, hold_status}` and `saved::current_members`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::TimeZone;
use serde::Deserialize;

use super::frame::Frame;
use super::rule_words::plain;
use super::{Staff, error_page, failed, refuse_change, render};
use crate::app::AppState;
use crate::coupon::{self, CodeRecord, CouponError, CouponInput, CouponRecord, Discount, Hold};
use crate::i18n::{self, Catalog, Lang};
use crate::segment::saved::{self, SegmentError, SegmentRecord};
use crate::store::{self, ReadTx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/coupons", get(list))
        .route("/coupons/new", get(new_page).post(create_submit))
        .route("/coupons/issue", get(issue_to_segment))
        .route("/customers/{id}/coupons", post(issue_to_customer))
        .route("/coupons/{id}", get(show))
        .route("/coupons/{id}/edit", get(edit_page).post(edit_submit))
        .route("/coupons/{id}/issue", post(issue_submit))
        .route("/coupons/{id}/codes.csv", get(codes_csv))
}

#[derive(Deserialize)]
struct IssueTo {
    coupon: u64,
    segment: u64,
}

/// From a segment's page: the chosen coupon's bulk issue to that segment, previewed.
async fn issue_to_segment(Query(q): Query<IssueTo>, _staff: Staff) -> Response {
    Redirect::to(&format!("/coupons/{}?segment={}#issue", q.coupon, q.segment)).into_response()
}

#[derive(Deserialize)]
struct IssueOne {
    #[serde(default)]
    csrf: String,
    coupon: u64,
}

/// From a customer's page: issues a coupon to that customer (a unique code, or the shared one),
/// as `POST /api/v1/coupons/{id}/issue {customers:[id]}` does, then back to the page's Coupons.
async fn issue_to_customer(
    State(st): State<AppState>,
    staff: Staff,
    Path(customer): Path<u64>,
    Form(form): Form<IssueOne>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let now = st.now_ms();
    let issued = st
        .store
        .write(move |tx| -> Result<_, store::Error> {
            // A customer on record, not merged away nor erased.
            if tx
                .customer(customer)?
                .is_none_or(|c| c.merged_into.is_some() || c.erased_at.is_some())
            {
                return Ok(None);
            }
            coupon::issue(tx, form.coupon, &[customer], "", "console", now)
        })
        .await;
    match issued {
        Ok(Some(_)) => Redirect::to(&format!("/customers/{customer}#customer-coupons")).into_response(),
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

fn not_found(staff: &Staff) -> Response {
    error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"))
}

fn count(n: u64) -> String {
    i18n::number(n as f64, 0)
}

// --- a coupon in words ---------------------------------------------------------------------

/// "10% off, at most 5,000원", "3,000원 off" (or as the language puts it).
pub fn discount_text(d: &Discount, t: &Catalog, lang: Lang) -> String {
    let money = |v: f64| i18n::money(v, None, lang);
    match d {
        Discount::Fixed { amount } => t.get("coupons.off_fixed").replace("{amount}", &money(*amount)),
        Discount::Percent { percent, cap: None } => t.get("coupons.off_percent").replace("{percent}", &plain(*percent)),
        Discount::Percent {
            percent,
            cap: Some(cap),
        } => t
            .get("coupons.off_percent_cap")
            .replace("{percent}", &plain(*percent))
            .replace("{cap}", &money(*cap)),
    }
}

/// The saved segments' names by id (a coupon names its segments by id).
fn segment_names(read: &ReadTx) -> Result<HashMap<u64, String>, store::Error> {
    Ok(read
        .segments::<SegmentRecord>()?
        .into_iter()
        .map(|(id, s)| (id, s.name))
        .collect())
}

fn segment_name(names: &HashMap<u64, String>, id: u64) -> String {
    names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
}

/// The validity in words: "2026-05-01 10:00 – 2026-05-31 23:59", "from …", "until …"; None
/// without dates.
fn dates_text(c: &CouponRecord, t: &Catalog, tz: chrono_tz::Tz) -> Option<String> {
    let at = |ms: i64| i18n::datetime(ms, tz);
    Some(match (c.starts_at, c.ends_at) {
        (Some(s), Some(e)) => t
            .get("coupons.cond_between")
            .replace("{from}", &at(s))
            .replace("{to}", &at(e)),
        (Some(s), None) => t.get("coupons.cond_from").replace("{from}", &at(s)),
        (None, Some(e)) => t.get("coupons.cond_until").replace("{to}", &at(e)),
        (None, None) => return None,
    })
}

/// A coupon's conditions in short, one phrase each: the minimum, the dates or days from issue,
/// the products and categories, the restriction to segments or tags, the limits, stacking.
pub fn conditions(
    c: &CouponRecord,
    names: &HashMap<u64, String>,
    t: &Catalog,
    lang: Lang,
    tz: chrono_tz::Tz,
) -> Vec<String> {
    let mut out = Vec::new();
    if c.min_order > 0.0 {
        out.push(
            t.get("coupons.cond_min")
                .replace("{amount}", &i18n::money(c.min_order, None, lang)),
        );
    }
    out.extend(dates_text(c, t, tz));
    if let Some(n) = c.valid_days {
        out.push(t.get("coupons.cond_days").replace("{n}", &n.to_string()));
    }
    if !c.products.is_empty() {
        out.push(t.get("coupons.cond_products").replace("{list}", &c.products.join(", ")));
    }
    if !c.categories.is_empty() {
        out.push(
            t.get("coupons.cond_categories")
                .replace("{list}", &c.categories.join(", ")),
        );
    }
    if !c.segments.is_empty() {
        let list: Vec<String> = c.segments.iter().map(|s| segment_name(names, *s)).collect();
        out.push(t.get("coupons.cond_segments").replace("{list}", &list.join(", ")));
    }
    if !c.tags.is_empty() {
        out.push(t.get("coupons.cond_tags").replace("{list}", &c.tags.join(", ")));
    }
    if let Some(n) = c.total_limit {
        out.push(t.get("coupons.cond_total").replace("{n}", &count(n)));
    }
    if c.per_customer_limit != 1 {
        out.push(
            t.get("coupons.cond_per_customer")
                .replace("{n}", &c.per_customer_limit.to_string()),
        );
    }
    if c.stackable {
        out.push(t.get("coupons.cond_stackable").to_string());
    }
    out
}

// --- the list ------------------------------------------------------------------------------

pub struct CouponRow {
    pub id: u64,
    pub name: String,
    /// The shared code; None: unique codes.
    pub code: Option<String>,
    pub discount: String,
    pub conditions: String,
    pub issued: String,
    pub used: String,
    pub revenue: String,
}

#[derive(Template)]
#[template(path = "coupon/list.html")]
struct ListPage {
    f: Frame,
    rows: Vec<CouponRow>,
}

async fn list(State(st): State<AppState>, staff: Staff) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let names = segment_names(&read)?;
            Ok(read
                .coupons::<CouponRecord>()?
                .into_iter()
                .rev()
                .map(|(id, c)| {
                    let conds = conditions(&c, &names, t, lang, tz);
                    CouponRow {
                        id,
                        discount: discount_text(&c.discount, t, lang),
                        conditions: if conds.is_empty() {
                            t.get("coupons.cond_none").to_string()
                        } else {
                            conds.join(" · ")
                        },
                        issued: count(c.issued),
                        used: count(c.used),
                        revenue: i18n::money(c.revenue, None, lang),
                        name: c.name,
                        code: c.code,
                    }
                })
                .collect())
        })
        .await;
    match res {
        Ok(rows) => render(&ListPage {
            f: Frame::new(&staff, "coupons"),
            rows,
        }),
        Err(e) => failed(lang, &e),
    }
}

// --- the form ------------------------------------------------------------------------------

/// The form as typed (every field a string, shown back as it was when something is wrong).
#[derive(Debug, Clone, Default)]
struct Draft {
    csrf: String,
    name: String,
    /// `fixed` or `percent`.
    discount_type: String,
    amount: String,
    percent: String,
    cap: String,
    min_order: String,
    products: String,
    categories: String,
    /// `datetime-local` values in the shop's time zone.
    starts_at: String,
    ends_at: String,
    valid_days: String,
    total_limit: String,
    per_customer_limit: String,
    stackable: bool,
    keep_use_on_refund: bool,
    issue_on_sign_up: bool,
    prefix: String,
    segments: Vec<u64>,
    tags: String,
    /// `shared` or `unique`.
    code_kind: String,
    code: String,
}

impl Draft {
    fn new() -> Draft {
        Draft {
            discount_type: "percent".into(),
            per_customer_limit: "1".into(),
            code_kind: "unique".into(),
            ..Draft::default()
        }
    }

    /// A stored coupon as the form shows it (times in the shop's zone).
    fn from_record(c: &CouponRecord, tz: chrono_tz::Tz) -> Draft {
        let number = |v: f64| v.to_string();
        let local = |ms: Option<i64>| {
            ms.and_then(|ms| tz.timestamp_millis_opt(ms).single())
                .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default()
        };
        let (discount_type, amount, percent, cap) = match &c.discount {
            Discount::Fixed { amount } => ("fixed", number(*amount), String::new(), String::new()),
            Discount::Percent { percent, cap } => (
                "percent",
                String::new(),
                number(*percent),
                cap.map(number).unwrap_or_default(),
            ),
        };
        Draft {
            csrf: String::new(),
            name: c.name.clone(),
            discount_type: discount_type.into(),
            amount,
            percent,
            cap,
            min_order: if c.min_order > 0.0 {
                number(c.min_order)
            } else {
                String::new()
            },
            products: c.products.join(", "),
            categories: c.categories.join(", "),
            starts_at: local(c.starts_at),
            ends_at: local(c.ends_at),
            valid_days: c.valid_days.map(|d| d.to_string()).unwrap_or_default(),
            total_limit: c.total_limit.map(|d| d.to_string()).unwrap_or_default(),
            per_customer_limit: c.per_customer_limit.to_string(),
            stackable: c.stackable,
            keep_use_on_refund: c.keep_use_on_refund,
            issue_on_sign_up: c.issue_on_sign_up,
            prefix: c.prefix.clone(),
            segments: c.segments.clone(),
            tags: c.tags.join(", "),
            code_kind: if c.code.is_some() { "shared" } else { "unique" }.into(),
            code: c.code.clone().unwrap_or_default(),
        }
    }

    /// From the posted pairs (the segment checkboxes repeat their name).
    fn from_pairs(pairs: Vec<(String, String)>) -> Draft {
        let mut d = Draft::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => d.csrf = v,
                "name" => d.name = v,
                "discount_type" => d.discount_type = v,
                "amount" => d.amount = v,
                "percent" => d.percent = v,
                "cap" => d.cap = v,
                "min_order" => d.min_order = v,
                "products" => d.products = v,
                "categories" => d.categories = v,
                "starts_at" => d.starts_at = v,
                "ends_at" => d.ends_at = v,
                "valid_days" => d.valid_days = v,
                "total_limit" => d.total_limit = v,
                "per_customer_limit" => d.per_customer_limit = v,
                "stackable" => d.stackable = true,
                "keep_use_on_refund" => d.keep_use_on_refund = true,
                "issue_on_sign_up" => d.issue_on_sign_up = true,
                "prefix" => d.prefix = v,
                "segments" => d.segments.extend(v.trim().parse::<u64>().ok()),
                "tags" => d.tags = v,
                "code_kind" => d.code_kind = v,
                "code" => d.code = v,
                _ => {}
            }
        }
        d
    }

    /// The API's input, or the first field that cannot be read (as the form names it).
    fn input(&self, tz: chrono_tz::Tz) -> Result<CouponInput, (&'static str, &'static str)> {
        fn number<T: std::str::FromStr>(
            field: &'static str,
            s: &str,
        ) -> Result<Option<T>, (&'static str, &'static str)> {
            let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|_| (field, "coupons.error.not_a_number"))
        }
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        };
        let time = |field: &'static str, s: &str| -> Result<Option<String>, (&'static str, &'static str)> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            local_to_rfc3339(s, tz)
                .map(Some)
                .ok_or((field, "coupons.error.not_a_time"))
        };
        let discount = if self.discount_type == "fixed" {
            Discount::Fixed {
                amount: number("amount", &self.amount)?.ok_or(("amount", "coupons.error.amount"))?,
            }
        } else {
            Discount::Percent {
                percent: number("percent", &self.percent)?.ok_or(("percent", "coupons.error.percent"))?,
                cap: number("cap", &self.cap)?,
            }
        };
        let valid_days: Option<u32> = number("valid_days", &self.valid_days)?;
        if valid_days == Some(0) {
            return Err(("valid_days", "coupons.error.at_least_one"));
        }
        let total_limit: Option<u64> = number("total_limit", &self.total_limit)?;
        if total_limit == Some(0) {
            return Err(("total_limit", "coupons.error.at_least_one"));
        }
        let code = if self.code_kind == "shared" {
            if self.code.trim().is_empty() {
                return Err(("code", "coupons.error.code"));
            }
            Some(self.code.clone())
        } else {
            None
        };
        Ok(CouponInput {
            name: self.name.clone(),
            discount,
            min_order: number("min_order", &self.min_order)?.unwrap_or(0.0),
            products: list(&self.products),
            categories: list(&self.categories),
            starts_at: time("starts_at", &self.starts_at)?,
            ends_at: time("ends_at", &self.ends_at)?,
            valid_days,
            total_limit,
            per_customer_limit: number("per_customer_limit", &self.per_customer_limit)?,
            stackable: self.stackable,
            keep_use_on_refund: self.keep_use_on_refund,
            issue_on_sign_up: self.issue_on_sign_up,
            prefix: self.prefix.clone(),
            segments: self.segments.clone(),
            tags: list(&self.tags),
            code,
        })
    }
}

/// A `datetime-local` value ("2026-05-01T10:00") in the shop's time zone as RFC 3339.
pub(super) fn local_to_rfc3339(s: &str, tz: chrono_tz::Tz) -> Option<String> {
    let s = s.trim();
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.to_rfc3339())
}

/// The form field a domain error names (`discount.amount` is the form's `amount`).
fn form_field(field: &str) -> &str {
    field.strip_prefix("discount.").unwrap_or(field)
}

#[derive(Template)]
#[template(path = "coupon/new.html")]
struct NewPage {
    f: Frame,
    d: Draft,
    /// Every saved segment: (id, name, live).
    segments: Vec<(u64, String, bool)>,
    /// The wrong field (as the form names it) and what is wrong with it.
    error: Option<(String, String)>,
    tz: String,
    /// The coupon being changed (None: a new one).
    editing: Option<u64>,
}

impl NewPage {
    /// What is wrong with `field`, if it is the wrong one.
    fn error_for(&self, field: &str) -> Option<&str> {
        match &self.error {
            Some((f, message)) if f == field => Some(message),
            _ => None,
        }
    }

    fn picked(&self, segment: &u64) -> bool {
        self.d.segments.contains(segment)
    }
}

async fn form_page(
    st: &AppState,
    staff: &Staff,
    d: Draft,
    error: Option<(String, String)>,
    editing: Option<u64>,
) -> Response {
    let segments = match st
        .store
        .call(|s| -> Result<_, store::Error> {
            Ok(s.read()?
                .segments::<SegmentRecord>()?
                .into_iter()
                .map(|(id, r)| (id, r.name, r.live))
                .collect::<Vec<_>>())
        })
        .await
    {
        Ok(s) => s,
        Err(e) => return failed(staff.lang, &e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = NewPage {
        f: Frame::new(staff, "coupons"),
        d,
        segments,
        error,
        tz: st.tz.name().to_string(),
        editing,
    };
    (status, render(&page)).into_response()
}

fn refuse_viewer(staff: &Staff) -> Option<Response> {
    (!staff.can_change()).then(|| error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.forbidden")))
}

async fn new_page(State(st): State<AppState>, staff: Staff) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    form_page(&st, &staff, Draft::new(), None, None).await
}

/// The message for a wrong field: the catalogue's sentence for it, else the domain's words.
fn field_message(t: &Catalog, field: &str, fallback: &str) -> String {
    t.find(&format!("coupons.error.{field}"))
        .map(str::to_string)
        .unwrap_or_else(|| fallback.to_string())
}

/// Creates the coupon as the API does, then shows its page; a wrong field comes back to the form
/// with the message next to it.
async fn create_submit(State(st): State<AppState>, staff: Staff, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    save(st, staff, pairs, None).await
}

/// The form of a coupon's terms, filled in; its counts, codes and holds stay as they are.
async fn edit_page(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    match st.store.call(move |s| s.read()?.coupon::<CouponRecord>(id)).await {
        Ok(Some(c)) => form_page(&st, &staff, Draft::from_record(&c, st.tz), None, Some(id)).await,
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

/// Replaces a coupon's terms as `PUT /api/v1/coupons/{id}` does.
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
    let t = staff.t;
    let input = match d.input(st.tz) {
        Ok(i) => i,
        Err((field, key)) => {
            let message = t.get(key).to_string();
            return form_page(&st, &staff, d, Some((field.to_string(), message)), editing).await;
        }
    };
    let now = st.now_ms();
    let saved = st
        .store
        .write(move |tx| match editing {
            Some(id) => coupon::update(tx, id, &input, now).map(|()| id),
            None => coupon::create(tx, &input, now),
        })
        .await;
    match saved {
        Ok(id) => Redirect::to(&format!("/coupons/{id}")).into_response(),
        Err(CouponError::Field { field, message }) => {
            let field = form_field(field);
            let message = field_message(t, field, &message);
            form_page(&st, &staff, d, Some((field.to_string(), message)), editing).await
        }
        Err(CouponError::CodeTaken(code)) => {
            let message = t.get("coupons.error.code_taken").replace("{code}", &code);
            form_page(&st, &staff, d, Some(("code".into(), message)), editing).await
        }
        Err(CouponError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

// --- a coupon's page -----------------------------------------------------------------------

/// The bulk issue's preview for a segment: members now, those among them who hold the coupon
/// already, and so how many would get it.
pub struct IssuePreview {
    pub segment: u64,
    pub members: String,
    pub holding: String,
    pub will_get: String,
    /// When the members were counted: "counted just now" or "as of 2026-11-03".
    pub counted: String,
    /// Anyone to issue to (else the Issue button is left out).
    pub anyone: bool,
}

#[derive(Template)]
#[template(path = "coupon/show.html")]
struct ShowPage {
    f: Frame,
    id: u64,
    name: String,
    code: Option<String>,
    discount: String,
    /// (label, value) rows of the conditions.
    details: Vec<(&'static str, String)>,
    /// The segments it is restricted to: (id, name).
    restricted: Vec<(u64, String)>,
    issued: String,
    used: String,
    revenue: String,
    /// Every saved segment for the bulk issue: (id, name, live).
    segments: Vec<(u64, String, bool)>,
    picked: Option<u64>,
    preview: Option<IssuePreview>,
    /// The issue just done: how many got the coupon.
    issued_now: Option<String>,
    prefix: String,
    error: Option<String>,
    /// The latest holders, and how many hold it when that is more than are listed.
    holders: Vec<Holder>,
    holding: Option<String>,
}

impl ShowPage {
    fn is_picked(&self, segment: &u64) -> bool {
        self.picked == Some(*segment)
    }
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// The segment to preview the bulk issue for.
    segment: Option<u64>,
    /// After an issue: how many got it.
    issued: Option<u64>,
}

/// The segment's members now (see `saved::current_members`), those of them on record and those
/// of them who already hold the coupon; None when there is no such segment.
async fn preview(
    st: &AppState,
    coupon_id: u64,
    segment: u64,
) -> Result<Option<(Vec<u64>, u64, saved::CountedAt)>, SegmentError> {
    super::segments::columns_ready(st).await;
    let state = st.clone();
    st.store
        .call(move |s| -> Result<_, SegmentError> {
            let read = s.read()?;
            let (members, counted) = match state.with_env(&read, |env| saved::current_membership(env, segment)) {
                Ok(m) => m,
                Err(SegmentError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let mut on_record = Vec::new();
            let mut holding = 0;
            for c in members.iter() {
                if read
                    .customer(c)?
                    .is_none_or(|r| r.merged_into.is_some() || r.erased_at.is_some())
                {
                    continue;
                }
                if read.coupon_hold::<Hold>(c, coupon_id)?.is_some() {
                    holding += 1;
                } else {
                    on_record.push(c);
                }
            }
            Ok(Some((on_record, holding, counted)))
        })
        .await
}

async fn show(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Query(q): Query<ShowQuery>) -> Response {
    show_page(st, staff, id, q, String::new(), None).await
}

async fn show_page(
    st: AppState,
    staff: Staff,
    id: u64,
    q: ShowQuery,
    prefix: String,
    error: Option<String>,
) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let now = st.now_ms();
    let loaded = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let Some(c) = read.coupon::<CouponRecord>(id)? else {
                return Ok(None);
            };
            let segments: Vec<(u64, String, bool)> = read
                .segments::<SegmentRecord>()?
                .into_iter()
                .map(|(id, r)| (id, r.name, r.live))
                .collect();
            let holders = holders(&read, &c, id, now, tz, t)?;
            Ok(Some((c, segments, holders)))
        })
        .await;
    let (c, segments, (holding, holders)) = match loaded {
        Ok(Some(x)) => x,
        Ok(None) => return not_found(&staff),
        Err(e) => return failed(lang, &e),
    };
    let names: HashMap<u64, String> = segments.iter().map(|(id, n, _)| (*id, n.clone())).collect();
    // A coupon for one segment previews its issue to that segment unless another is asked for.
    let q = ShowQuery {
        segment: q.segment.or(match c.segments.as_slice() {
            [only] => Some(*only),
            _ => None,
        }),
        ..q
    };
    let preview = match q.segment {
        None => None,
        Some(seg) => match preview(&st, id, seg).await {
            Ok(Some((will_get, holding, counted))) => Some(IssuePreview {
                segment: seg,
                members: count(will_get.len() as u64 + holding),
                holding: count(holding),
                will_get: count(will_get.len() as u64),
                counted: match counted {
                    saved::CountedAt::Now => t.get("coupons.counted_now").to_string(),
                    saved::CountedAt::Day(day) => t
                        .get("coupons.counted_on")
                        .replace("{date}", &crate::analysis::day_date(day).to_string()),
                },
                anyone: !will_get.is_empty(),
            }),
            Ok(None) => None,
            Err(e) => return failed(lang, &e),
        },
    };
    let none = || "—".to_string();
    let yes_no = |b: bool| t.get(if b { "coupons.yes" } else { "coupons.no" }).to_string();
    let list_or_none = |v: &[String]| if v.is_empty() { none() } else { v.join(", ") };
    let details = vec![
        (
            t.get("coupons.min_order"),
            if c.min_order > 0.0 {
                i18n::money(c.min_order, None, lang)
            } else {
                none()
            },
        ),
        (
            t.get("coupons.products_title"),
            if c.products.is_empty() && c.categories.is_empty() {
                t.get("coupons.every_product").to_string()
            } else {
                list_or_none(&c.products)
            },
        ),
        (t.get("coupons.categories_title"), list_or_none(&c.categories)),
        (t.get("coupons.valid"), dates_text(&c, t, tz).unwrap_or_else(none)),
        (
            t.get("coupons.valid_days"),
            c.valid_days
                .map(|n| t.get("coupons.cond_days").replace("{n}", &n.to_string()))
                .unwrap_or_else(none),
        ),
        (
            t.get("coupons.total_limit"),
            c.total_limit
                .map(count)
                .unwrap_or_else(|| t.get("coupons.unlimited").to_string()),
        ),
        (t.get("coupons.per_customer_limit"), c.per_customer_limit.to_string()),
        (t.get("coupons.stackable"), yes_no(c.stackable)),
        (t.get("coupons.issue_on_sign_up_label"), yes_no(c.issue_on_sign_up)),
        (t.get("coupons.keep_use_on_refund_label"), yes_no(c.keep_use_on_refund)),
        (t.get("coupons.tags_title"), list_or_none(&c.tags)),
        (t.get("coupons.created"), i18n::datetime(c.created_at, tz)),
    ];
    render(&ShowPage {
        f: Frame::new(&staff, "coupons"),
        id,
        discount: discount_text(&c.discount, t, lang),
        details,
        restricted: c.segments.iter().map(|s| (*s, segment_name(&names, *s))).collect(),
        issued: count(c.issued),
        used: count(c.used),
        revenue: i18n::money(c.revenue, None, lang),
        name: c.name,
        code: c.code,
        segments,
        picked: q.segment,
        preview,
        issued_now: q.issued.map(count),
        prefix,
        error,
        holders,
        holding: (holding > HOLDERS_SHOWN as u64).then(|| count(holding)),
    })
}

/// How many of a coupon's latest holders its page lists (the CSV has them all).
const HOLDERS_SHOWN: usize = 100;

/// One who holds a coupon, for its page.
pub struct Holder {
    pub customer: u64,
    pub who: String,
    pub codes: String,
    pub issued: String,
    /// `held`, `used` or `expired` (a class), and its label.
    pub status: &'static str,
    pub status_label: &'static str,
    /// How it came to them, in words.
    pub source: &'static str,
}

/// The coupon's latest holders (at most [`HOLDERS_SHOWN`]) with their status at `now`, and how
/// many hold it.
fn holders(
    read: &ReadTx,
    c: &CouponRecord,
    id: u64,
    now: i64,
    tz: chrono_tz::Tz,
    t: &'static Catalog,
) -> Result<(u64, Vec<Holder>), store::Error> {
    let (total, latest) = coupon::latest_holders(read, id, HOLDERS_SHOWN)?;
    let mut out = Vec::with_capacity(latest.len());
    for (customer, hold) in latest {
        let mut codes = Vec::new();
        for code in &hold.codes {
            codes.extend(read.coupon_code::<CodeRecord>(code)?);
        }
        let status = coupon::hold_status(c, &hold, &codes, now).as_str();
        let who = read
            .customer(customer)?
            .and_then(|r| r.name.or(r.email).or(r.user_id))
            .unwrap_or_else(|| format!("{} #{customer}", t.get("customers.anonymous")));
        let source = match hold.source.as_str() {
            s @ ("api" | "segment" | "campaign" | "sign_up" | "order" | "console" | "onsite") => {
                t.get(&format!("coupons.source_{s}"))
            }
            _ => "—",
        };
        out.push(Holder {
            customer,
            who,
            codes: hold.codes.join(", "),
            issued: i18n::datetime(hold.issued_at, tz),
            status,
            status_label: t.get(&format!("coupons.status_{status}")),
            source,
        });
    }
    Ok((total, out))
}

#[derive(Deserialize)]
struct IssueForm {
    #[serde(default)]
    csrf: String,
    segment: u64,
    #[serde(default)]
    prefix: String,
}

/// Issues the coupon to a saved segment's members (source `segment`): each gets a unique code or
/// the shared one; those who hold it already keep theirs. Then the page says how many got it.
async fn issue_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<IssueForm>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let again = ShowQuery {
        segment: Some(form.segment),
        issued: None,
    };
    let prefix = match coupon::prefix(&form.prefix) {
        Ok(p) => p,
        Err(_) => {
            let message = staff.t.get("coupons.error.prefix").to_string();
            let page = show_page(st, staff, id, again, form.prefix, Some(message)).await;
            return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
        }
    };
    let members = match preview(&st, id, form.segment).await {
        Ok(Some((members, _, _))) => members,
        Ok(None) => return not_found(&staff),
        Err(e) => return failed(staff.lang, &e),
    };
    let now = st.now_ms();
    let res = st
        .store
        .write(move |tx| -> Result<_, store::Error> {
            let live = coupon::on_record(tx, &members)?;
            coupon::issue(tx, id, &live, &prefix, "segment", now)
        })
        .await;
    match res {
        Ok(Some(issued)) => Redirect::to(&format!(
            "/coupons/{id}?segment={}&issued={}#issue",
            form.segment,
            issued.len()
        ))
        .into_response(),
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

/// The codes customers hold, as CSV (customer id, user id, email, code, issued, expires, used).
async fn codes_csv(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    let tz = st.tz;
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            if read.coupon::<CouponRecord>(id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(coupon::codes_csv(&read, id, tz)?))
        })
        .await;
    match res {
        Ok(Some(body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"coupon-{id}-codes.csv\""),
                ),
            ],
            body,
        )
            .into_response(),
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

// --- the customer page's card ----------------------------------------------------------------

/// A coupon a customer holds, for the Coupons card of their page.
pub struct HeldCoupon {
    pub id: u64,
    pub name: String,
    pub discount: String,
    pub codes: Vec<String>,
    /// `held`, `used` or `expired` (a class), and its label.
    pub status: &'static str,
    pub status_label: &'static str,
    pub issued: String,
    pub expires: String,
}

/// What `customer` holds, newest issue first, with each hold's status at `now`.
pub fn held_coupons(
    read: &ReadTx,
    customer: u64,
    now: i64,
    tz: chrono_tz::Tz,
    t: &'static Catalog,
    lang: Lang,
) -> Result<Vec<HeldCoupon>, store::Error> {
    let mut out = Vec::new();
    for (id, hold) in read.coupon_holds_of::<Hold>(customer)? {
        let c = read.coupon::<CouponRecord>(id)?.unwrap_or_default();
        let mut codes = Vec::new();
        for code in &hold.codes {
            codes.extend(read.coupon_code::<CodeRecord>(code)?);
        }
        let status = coupon::hold_status(&c, &hold, &codes, now).as_str();
        out.push((
            hold.issued_at,
            HeldCoupon {
                id,
                discount: discount_text(&c.discount, t, lang),
                status,
                status_label: t.get(&format!("coupons.status_{status}")),
                issued: i18n::datetime(hold.issued_at, tz),
                expires: coupon::hold_expires(&c, &hold)
                    .map(|e| i18n::datetime(e, tz))
                    .unwrap_or_else(|| "—".into()),
                name: c.name,
                codes: hold.codes,
            },
        ));
    }
    out.sort_by_key(|(at, h)| (std::cmp::Reverse(*at), h.id));
    Ok(out.into_iter().map(|(_, h)| h).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coupon_reads_in_words_in_both_languages() {
        let tz = chrono_tz::Asia::Seoul;
        let en = Catalog::for_lang(Lang::En);
        let ko = Catalog::for_lang(Lang::Ko);
        let ten = Discount::Percent {
            percent: 10.0,
            cap: Some(5_000.0),
        };
        assert_eq!(discount_text(&ten, en, Lang::En), "10% off, at most ₩5,000");
        assert_eq!(discount_text(&ten, ko, Lang::Ko), "10% 할인, 최대 5,000원");
        let fixed = Discount::Fixed { amount: 3_000.0 };
        assert_eq!(discount_text(&fixed, en, Lang::En), "₩3,000 off");
        assert_eq!(discount_text(&fixed, ko, Lang::Ko), "3,000원 할인");
        let c = CouponRecord {
            min_order: 30_000.0,
            valid_days: Some(30),
            segments: vec![3],
            tags: vec!["vip".into()],
            per_customer_limit: 1,
            ..CouponRecord::default()
        };
        let names = HashMap::from([(3, "VIP".to_string())]);
        assert_eq!(
            conditions(&c, &names, en, Lang::En, tz),
            [
                "orders of ₩30,000 or more",
                "30 days from issue",
                "for segment VIP",
                "for tag vip"
            ]
        );
        for lang in [Lang::Ko, Lang::En] {
            for s in conditions(&c, &names, Catalog::for_lang(lang), lang, tz) {
                assert!(!s.contains('{') && !s.contains('?'), "{s}");
            }
        }
    }

    #[test]
    fn a_local_time_becomes_rfc3339_in_the_shop_zone() {
        assert_eq!(
            local_to_rfc3339("2026-05-01T10:00", chrono_tz::Asia::Seoul).as_deref(),
            Some("2026-05-01T10:00:00+09:00")
        );
        assert!(local_to_rfc3339("May 1", chrono_tz::Asia::Seoul).is_none());
    }
}
