//! Segments in the console: the list of saved segments, the builder (`/segments/new`,
//! `/segments/{id}/edit`) with its live count, and a segment's page (its rule in words, the daily
//! membership chart, the members on a date or now, CSV export). Everything goes through the same
//! domain functions as `api::segments`: `segment::preview`, `saved::{create, update, delete,
//! members, members_csv}`. The builder keeps the rule as JSON in a form field, so the form posts
//! without JavaScript (a textarea); `static/segments.js` draws the visual builder over it.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::frame::Frame;
use super::rule_words::{RuleLine, rule_lines};
use super::{Staff, error_page, failed, refuse_change, render};
use crate::analysis::{Level, RfmGroup, day_date, local_day};
use crate::app::AppState;
use crate::i18n::{self, Catalog, Lang};
use crate::segment::saved::{self, SegmentCounts, SegmentDay, SegmentError, SegmentInput, SegmentRecord};
use crate::segment::{self, Rule, RuleError};
use crate::store::{self, ReadTx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/segments", get(list))
        .route("/segments/new", get(new_page).post(create_submit))
        .route("/segments/preview", post(preview))
        .route("/segments/pick/products", get(products_json))
        .route("/segments/pick/categories", get(categories_json))
        .route("/segments/{id}", get(show))
        .route("/segments/{id}/edit", get(edit_page).post(edit_submit))
        .route("/segments/{id}/delete", post(delete_submit))
        .route("/segments/{id}/members.csv", get(members_csv))
}

/// Members on a page of a segment's member list.
const MEMBERS_PAGE: usize = 50;
/// Members the builder's preview shows.
const PREVIEW_SAMPLE: usize = 10;
/// Answers of a picker.
const PICK_LIMIT: usize = 20;
/// Products a picker reads at most per request (a shop has about 100,000 at most).
const PICK_SCAN_LIMIT: usize = 200_000;
/// Stored days read for a segment's chart and date picker (90 daily, then monthly for two years).
const STORED_DAYS: usize = 200;

fn not_found(staff: &Staff) -> Response {
    error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"))
}

/// The customer columns are built in the background after a start; a rule waits for them briefly
/// (as the API's preview does).
pub(super) async fn columns_ready(st: &AppState) -> bool {
    for _ in 0..200 {
        if st.columns.read().expect("not poisoned").ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn count(n: u64) -> String {
    i18n::number(n as f64, 0)
}

// --- the list ----------------------------------------------------------------------------

pub struct SegmentRow {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub live: bool,
    /// The latest nightly recompute: members, entered, left, and its date when not today.
    pub latest: Option<(String, String, String, Option<String>)>,
}

#[derive(Template)]
#[template(path = "segment/list.html")]
struct ListPage {
    f: Frame,
    rows: Vec<SegmentRow>,
}

async fn list(State(st): State<AppState>, staff: Staff) -> Response {
    let today = local_day(st.now_ms(), st.tz);
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let mut rows = Vec::new();
            for (id, rec) in read.segments::<SegmentRecord>()? {
                let latest = read.segment_history::<SegmentCounts>(id, 1)?.pop();
                rows.push(SegmentRow {
                    id,
                    name: rec.name,
                    description: rec.description,
                    live: rec.live,
                    latest: latest.map(|(day, c)| {
                        (
                            count(c.count),
                            count(c.entered),
                            count(c.left),
                            (day != today).then(|| day_date(day).to_string()),
                        )
                    }),
                });
            }
            Ok(rows)
        })
        .await;
    match res {
        Ok(rows) => render(&ListPage {
            f: Frame::new(&staff, "segments"),
            rows,
        }),
        Err(e) => failed(staff.lang, &e),
    }
}

// --- the builder --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "segment/edit.html")]
struct EditPage {
    f: Frame,
    /// None for a new segment.
    id: Option<u64>,
    name: String,
    description: String,
    live: bool,
    auto_tag: String,
    /// The rule, pretty-printed JSON (the textarea the visual builder writes into).
    rule: String,
    error: Option<String>,
    /// Labels, known tags and product names for `segments.js`, as JSON safe inside `<script>`.
    config: String,
}

/// JSON that can sit inside a `<script>` element: `<` only occurs inside strings, where `\u003c`
/// means the same.
pub(super) fn script_json(v: &Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// The product ids a rule names, to show them by name.
fn product_ids(rule: &Value, out: &mut BTreeSet<String>) {
    match rule {
        Value::Object(o) => {
            if o.get("op").and_then(Value::as_str) == Some("product")
                && let Some(Value::String(id)) = o.get("value")
            {
                out.insert(id.clone());
            }
            o.values().for_each(|v| product_ids(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| product_ids(v, out)),
        _ => {}
    }
}

pub(super) fn product_names(read: &ReadTx, rule: &Value) -> Result<HashMap<String, String>, store::Error> {
    let mut ids = BTreeSet::new();
    product_ids(rule, &mut ids);
    let mut names = HashMap::new();
    for id in ids {
        if let Some(p) = read.product(&id)? {
            names.insert(id, p.name);
        }
    }
    Ok(names)
}

/// What the visual builder needs: every `segments.*` label, the RFM groups and levels with their
/// labels, the tags in use, the names of the products the rule names and the shop's events with
/// the names a person reads.
pub(super) fn builder_config(
    t: &Catalog,
    tags: Vec<String>,
    names: HashMap<String, String>,
    events: &[String],
) -> String {
    let labels: serde_json::Map<String, Value> = t
        .keys()
        .filter_map(|k| k.strip_prefix("segments."))
        .map(|k| (k.to_string(), json!(t.get(&format!("segments.{k}")))))
        .collect();
    let groups: Vec<Value> = RfmGroup::ALL
        .iter()
        .map(|g| json!([g.as_str(), t.get(&format!("analysis.group.{}", g.as_str()))]))
        .collect();
    let levels: Vec<Value> = Level::ALL
        .iter()
        .map(|l| json!([l.as_str(), t.get(&format!("analysis.level.{}", l.as_str()))]))
        .collect();
    script_json(&json!({
        "labels": labels,
        "groups": groups,
        "levels": levels,
        "tags": tags,
        "products": names,
        "events": events.iter().map(|e| json!([e, crate::i18n::event_name(t, e)])).collect::<Vec<_>>(),
    }))
}

/// The tags in use, most used first (empty while the columns are being built).
pub(super) fn known_tags(st: &AppState) -> Vec<String> {
    let cols = st.columns.read().expect("not poisoned");
    if !cols.ready() {
        return Vec::new();
    }
    cols.tag_counts().into_iter().take(200).map(|(t, _)| t).collect()
}

struct Draft {
    id: Option<u64>,
    name: String,
    description: String,
    live: bool,
    auto_tag: String,
    rule: Value,
    /// The rule as typed when it is not JSON (shown back as it was).
    rule_text: Option<String>,
}

async fn edit_form(st: &AppState, staff: &Staff, draft: Draft, error: Option<String>) -> Response {
    let rule = draft.rule.clone();
    let (names, events) = match st
        .store
        .call(move |s| {
            let read = s.read()?;
            Ok::<_, store::Error>((product_names(&read, &rule)?, crate::track::names::known(&read)?))
        })
        .await
    {
        Ok(n) => n,
        Err(e) => return failed(staff.lang, &e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = EditPage {
        f: Frame::new(staff, "segments"),
        id: draft.id,
        name: draft.name,
        description: draft.description,
        live: draft.live,
        auto_tag: draft.auto_tag,
        rule: draft
            .rule_text
            .unwrap_or_else(|| serde_json::to_string_pretty(&draft.rule).unwrap_or_default()),
        error,
        config: builder_config(staff.t, known_tags(st), names, &events),
    };
    (status, render(&page)).into_response()
}

fn refuse_viewer(staff: &Staff) -> Option<Response> {
    (!staff.can_change()).then(|| error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.forbidden")))
}

#[derive(Deserialize)]
struct NewQuery {
    /// A rule to start from, as JSON (the interest search's "Make a segment of these", the
    /// analysis' counts).
    rule: Option<String>,
    /// A name to start from.
    name: Option<String>,
}

/// The starting rule a link passed in `?rule=`: used only when it is a valid rule, else ignored.
fn initial_rule(text: Option<&str>) -> Option<Value> {
    let text = text?;
    if text.len() > 8 * 1024 {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    Rule::parse(&v).ok()?;
    Some(v)
}

async fn new_page(State(st): State<AppState>, staff: Staff, Query(q): Query<NewQuery>) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    let draft = Draft {
        id: None,
        name: q
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
        description: String::new(),
        live: false,
        auto_tag: String::new(),
        rule: initial_rule(q.rule.as_deref()).unwrap_or_else(|| json!({"all": []})),
        rule_text: None,
    };
    edit_form(&st, &staff, draft, None).await
}

async fn edit_page(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    if let Some(r) = refuse_viewer(&staff) {
        return r;
    }
    let rec = match st.store.call(move |s| s.read()?.segment::<SegmentRecord>(id)).await {
        Ok(Some(rec)) => rec,
        Ok(None) => return not_found(&staff),
        Err(e) => return failed(staff.lang, &e),
    };
    let draft = Draft {
        id: Some(id),
        name: rec.name,
        description: rec.description,
        live: rec.live,
        auto_tag: rec.auto_tag.unwrap_or_default(),
        rule: rec.rule,
        rule_text: None,
    };
    edit_form(&st, &staff, draft, None).await
}

#[derive(Deserialize)]
struct SegmentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// A checkbox: present when ticked.
    live: Option<String>,
    #[serde(default)]
    auto_tag: String,
    #[serde(default)]
    rule: String,
}

/// A rule error as the console says it: where (from `rule`), and what was expected there.
fn rule_error_text(t: &Catalog, e: &RuleError) -> String {
    format!(
        "{} rule{}: {} {}",
        t.get("segments.rule_error"),
        e.path.trim_start_matches('$'),
        t.get("segments.expected"),
        e.expected
    )
}

/// Creates or updates a segment from the form, then shows its page; a wrong form comes back with
/// what is wrong.
async fn save(st: AppState, staff: Staff, id: Option<u64>, form: SegmentForm) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    let t = staff.t;
    let parsed: Result<Value, _> = serde_json::from_str(&form.rule);
    let mut draft = Draft {
        id,
        name: form.name.clone(),
        description: form.description.clone(),
        live: form.live.is_some(),
        auto_tag: form.auto_tag.clone(),
        rule: parsed.as_ref().cloned().unwrap_or(json!({"all": []})),
        rule_text: None,
    };
    let rule = match parsed {
        Ok(v) => v,
        Err(e) => {
            draft.rule_text = Some(form.rule);
            let msg = format!("{} {e}", t.get("segments.not_json"));
            return edit_form(&st, &staff, draft, Some(msg)).await;
        }
    };
    let input = SegmentInput {
        name: form.name,
        description: form.description.trim().to_string(),
        rule,
        live: draft.live,
        auto_tag: Some(form.auto_tag),
    };
    let res = crate::app::segments::save(&st, id, input).await;
    match res {
        Ok(id) => Redirect::to(&format!("/segments/{id}")).into_response(),
        Err(SegmentError::Rule(e)) => {
            let msg = rule_error_text(t, &e);
            edit_form(&st, &staff, draft, Some(msg)).await
        }
        Err(SegmentError::Name) => edit_form(&st, &staff, draft, Some(t.get("segments.name_error").into())).await,
        Err(SegmentError::AutoTag) => {
            edit_form(&st, &staff, draft, Some(t.get("segments.auto_tag_error").into())).await
        }
        Err(SegmentError::NotFound(_)) => not_found(&staff),
        Err(e @ SegmentError::Store(_)) => failed(staff.lang, &e),
    }
}

async fn create_submit(State(st): State<AppState>, staff: Staff, Form(form): Form<SegmentForm>) -> Response {
    save(st, staff, None, form).await
}

async fn edit_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<SegmentForm>,
) -> Response {
    save(st, staff, Some(id), form).await
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn delete_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = refuse_change(&staff, &form.csrf) {
        return r;
    }
    match saved::delete(&st.store, id).await {
        Ok(()) => Redirect::to("/segments").into_response(),
        Err(SegmentError::NotFound(_)) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

// --- the builder's JSON endpoints ------------------------------------------------------------

/// A JSON answer for the builder's script: `{"error": {"message", …}}` with a status.
fn json_error(status: StatusCode, message: &str, extra: Value) -> Response {
    let mut error = json!({ "message": message });
    if let (Value::Object(e), Value::Object(x)) = (&mut error, extra) {
        e.extend(x);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

#[derive(Deserialize)]
struct PreviewBody {
    rule: Value,
}

#[derive(Serialize)]
struct PreviewMember {
    id: u64,
    name: String,
    email: String,
    last_seen: String,
}

/// The builder's live count: `POST /segments/preview {"rule"}` with the session's form token in
/// `X-CSRF-Token`. Answers `{count, count_text, sample}`, or 422 with the rule error's `path`
/// (from `$`), `field` (from `rule`) and `expected`.
async fn preview(State(st): State<AppState>, staff: Staff, headers: HeaderMap, body: Bytes) -> Response {
    let t = staff.t;
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !super::constant_eq(token, &staff.session.csrf) {
        return json_error(StatusCode::FORBIDDEN, t.get("error.csrf"), json!({}));
    }
    let req: PreviewBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e.to_string(), json!({})),
    };
    let rule = match Rule::parse(&req.rule) {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &rule_error_text(t, &e),
                json!({
                    "path": e.path,
                    "field": format!("rule{}", e.path.trim_start_matches('$')),
                    "expected": e.expected,
                }),
            );
        }
    };
    if !columns_ready(&st).await {
        return json_error(StatusCode::CONFLICT, t.get("segments.columns_building"), json!({}));
    }
    let (state, tz, lang) = (st.clone(), st.tz, staff.lang);
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let p = state.with_env(&read, |env| segment::preview(&rule, env, PREVIEW_SAMPLE))?;
            let mut sample = Vec::new();
            for id in p.sample {
                if let Some(rec) = read.customer(id)? {
                    let row = customer_row(id, rec, tz, lang, t);
                    sample.push(PreviewMember {
                        id,
                        name: row.name,
                        email: row.email,
                        last_seen: row.last_seen,
                    });
                }
            }
            Ok((p.count, sample))
        })
        .await;
    match res {
        Ok((n, sample)) => Json(json!({"count": n, "count_text": count(n), "sample": sample})).into_response(),
        Err(e) => super::failed_json(&e),
    }
}

#[derive(Deserialize)]
struct PickQuery {
    #[serde(default)]
    q: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ProductPick {
    pub id: String,
    pub name: String,
    pub category: String,
}

/// Products matching `q` in the product index (Korean and English analysed alike), best first; an
/// id typed exactly comes first, and, as the picker searches while one types, products whose name,
/// id or category contains `q` follow ("향" before the word is finished). At most `limit`.
pub fn pick_products(
    search: &crate::search::Search,
    read: &ReadTx,
    q: &str,
    limit: usize,
) -> Result<Vec<ProductPick>, crate::search::Error> {
    search.fresh(read)?;
    let mut ids: Vec<String> = Vec::new();
    if read.product(q.trim())?.is_some() {
        ids.push(q.trim().to_string());
    }
    for hit in search.products.search(q, limit * 3)? {
        if let Some(id) = hit.key.strip_prefix("p:")
            && !ids.iter().any(|i| i == id)
        {
            ids.push(id.to_string());
        }
    }
    let mut out = Vec::new();
    for id in ids.into_iter().take(limit) {
        if let Some(p) = read.product(&id)? {
            out.push(ProductPick {
                id: p.id,
                name: p.name,
                category: p.category.unwrap_or_default(),
            });
        }
    }
    let needle = q.trim().to_lowercase();
    let (mut after, mut scanned) = (String::new(), 0);
    while out.len() < limit && scanned < PICK_SCAN_LIMIT && !needle.is_empty() {
        let page = read.products_after(&after, 1000)?;
        let Some(last) = page.last() else { break };
        after.clone_from(&last.id);
        scanned += page.len();
        for p in page {
            let category = p.category.unwrap_or_default();
            let has = |s: &str| s.to_lowercase().contains(&needle);
            if out.len() < limit && (has(&p.name) || has(&p.id) || has(&category)) && !out.iter().any(|o| o.id == p.id)
            {
                out.push(ProductPick {
                    id: p.id,
                    name: p.name,
                    category,
                });
            }
        }
    }
    Ok(out)
}

/// Category paths ("향수", "향수/여성향수") matching `q` in the product index, best first, then
/// those whose path contains `q` (the picker searches while one types). At most `limit`.
pub fn pick_categories(
    search: &crate::search::Search,
    read: &ReadTx,
    q: &str,
    limit: usize,
) -> Result<Vec<String>, crate::search::Error> {
    search.fresh(read)?;
    let mut out: Vec<String> = search
        .products
        .search(q, 500)?
        .into_iter()
        .filter_map(|h| h.key.strip_prefix("c:").map(str::to_string))
        .take(limit)
        .collect();
    let needle = q.trim().to_lowercase();
    let mut found = BTreeSet::new();
    let (mut after, mut scanned) = (String::new(), 0);
    while scanned < PICK_SCAN_LIMIT && !needle.is_empty() {
        let page = read.products_after(&after, 1000)?;
        let Some(last) = page.last() else { break };
        after.clone_from(&last.id);
        scanned += page.len();
        for c in page.iter().filter_map(|p| p.category.as_deref()) {
            for level in crate::catalog::category_levels(c) {
                if level.to_lowercase().contains(&needle) {
                    found.insert(level);
                }
            }
        }
    }
    for level in found {
        if out.len() >= limit {
            break;
        }
        if !out.contains(&level) {
            out.push(level);
        }
    }
    Ok(out)
}

/// The pickers answer signed-in staff only (the `Staff` extractor sends others to sign in).
async fn products_json(State(st): State<AppState>, _staff: Staff, Query(q): Query<PickQuery>) -> Response {
    let search = st.search.clone();
    match st
        .store
        .call(move |s| pick_products(&search, &s.read()?, &q.q, PICK_LIMIT))
        .await
    {
        Ok(items) => Json(items).into_response(),
        Err(e) => super::failed_json(&e),
    }
}

async fn categories_json(State(st): State<AppState>, _staff: Staff, Query(q): Query<PickQuery>) -> Response {
    let search = st.search.clone();
    match st
        .store
        .call(move |s| pick_categories(&search, &s.read()?, &q.q, PICK_LIMIT))
        .await
    {
        Ok(items) => Json(items).into_response(),
        Err(e) => super::failed_json(&e),
    }
}

// --- a segment's page ----------------------------------------------------------------------

/// A customer as a row of a list (the customer list, a segment's members).
pub struct CustomerRow {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub last_seen: String,
    pub orders: u32,
    pub spent: String,
    pub tags: Vec<String>,
}

fn customer_row(
    id: u64,
    r: crate::store::records::CustomerRecord,
    tz: chrono_tz::Tz,
    lang: Lang,
    t: &Catalog,
) -> CustomerRow {
    CustomerRow {
        id,
        name: r.name.clone().unwrap_or_else(|| {
            if r.user_id.is_some() {
                String::new()
            } else {
                t.get("customers.anonymous").to_string()
            }
        }),
        email: r.email.unwrap_or_default(),
        phone: r.phone.unwrap_or_default(),
        last_seen: r.stats.last_seen.map(|t| i18n::datetime(t, tz)).unwrap_or_default(),
        orders: r.stats.orders_count,
        spent: i18n::money(r.stats.total_spent, None, lang),
        tags: r.tags,
    }
}

/// One bar of the membership chart, in SVG user units.
pub struct ChartBar {
    pub x: String,
    pub width: String,
    pub y: String,
    pub height: String,
    pub entered_y: String,
    pub entered_h: String,
    pub left_h: String,
    pub title: String,
}

pub struct Chart {
    pub bars: Vec<ChartBar>,
    pub max: String,
    pub first: String,
    pub last: String,
    /// (date, count, entered, left), newest first: the table under the chart.
    pub days: Vec<(String, String, String, String)>,
}

/// The chart's drawing area: 720 × 160 for the counts, 40 below for entered (up) and left (down).
const CHART_W: f64 = 720.0;
const CHART_H: f64 = 160.0;
const MOVES_H: f64 = 20.0;

fn chart(history: &[(i32, SegmentCounts)], t: &Catalog) -> Option<Chart> {
    if history.is_empty() {
        return None;
    }
    // Oldest first, the daily days only (the monthly ones would squeeze the bars).
    let mut days: Vec<&(i32, SegmentCounts)> = history.iter().take(saved::KEEP_DAILY as usize).collect();
    days.reverse();
    let max = days.iter().map(|(_, c)| c.count).max().unwrap_or(0).max(1) as f64;
    let max_move = days
        .iter()
        .map(|(_, c)| c.entered.max(c.left))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = CHART_W / days.len().max(30) as f64;
    let width = (slot * 0.7).max(1.0);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, (day, c))| {
            let h = c.count as f64 / max * CHART_H;
            let eh = c.entered as f64 / max_move * MOVES_H;
            ChartBar {
                x: format!("{:.1}", i as f64 * slot + (slot - width) / 2.0),
                width: format!("{width:.1}"),
                y: format!("{:.1}", CHART_H - h),
                height: format!("{h:.1}"),
                entered_y: format!("{:.1}", CHART_H + MOVES_H - eh),
                entered_h: format!("{eh:.1}"),
                left_h: format!("{:.1}", c.left as f64 / max_move * MOVES_H),
                title: format!(
                    "{}: {} {} · {} {} · {} {}",
                    day_date(*day),
                    count(c.count),
                    t.get("segments.members_unit"),
                    t.get("segments.entered"),
                    count(c.entered),
                    t.get("segments.left"),
                    count(c.left)
                ),
            }
        })
        .collect();
    Some(Chart {
        bars,
        max: count(max as u64),
        first: days.first().map(|(d, _)| day_date(*d).to_string()).unwrap_or_default(),
        last: days.last().map(|(d, _)| day_date(*d).to_string()).unwrap_or_default(),
        days: history
            .iter()
            .map(|(d, c)| {
                (
                    day_date(*d).to_string(),
                    count(c.count),
                    count(c.entered),
                    count(c.left),
                )
            })
            .collect(),
    })
}

/// The members shown: of a stored day, or now.
pub struct MembersView {
    /// "now" or YYYY-MM-DD: the day the list is of.
    pub date: String,
    pub count: String,
    /// Entered and left on that day (not for now).
    pub moves: Option<(String, String)>,
    pub rows: Vec<CustomerRow>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "segment/show.html")]
struct ShowPage {
    f: Frame,
    id: u64,
    name: String,
    description: String,
    live: bool,
    auto_tag: Option<String>,
    rule: Vec<RuleLine>,
    /// The stored rule no longer parses (shown instead of the rule in words).
    rule_error: Option<String>,
    chart: Option<Chart>,
    /// The stored dates, newest first, for the date picker.
    dates: Vec<String>,
    /// "now" or the date asked for.
    asked: String,
    members: Option<MembersView>,
    /// Why there is no member list (no recompute on or before the date, columns being built).
    members_note: Option<String>,
    csv: String,
    updated: String,
    /// The shop's coupons, for "issue a coupon to these members": (id, name).
    coupons: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct ShowQuery {
    /// YYYY-MM-DD or `now`; default: the latest recomputed day, or now before the first.
    date: Option<String>,
    /// The last member id of the previous page.
    after: Option<u64>,
}

fn parse_day(date: &str) -> Option<i32> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .map(|d| (d - chrono::NaiveDate::default()).num_days() as i32)
}

enum Asked {
    Now,
    Day(i32),
}

async fn show(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>, Query(q): Query<ShowQuery>) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let loaded = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let Some(rec) = read.segment::<SegmentRecord>(id)? else {
                return Ok(None);
            };
            let history = read.segment_history::<SegmentCounts>(id, STORED_DAYS)?;
            let names = product_names(&read, &rec.rule)?;
            Ok(Some((rec, history, names)))
        })
        .await;
    let (rec, history, names) = match loaded {
        Ok(Some(x)) => x,
        Ok(None) => return not_found(&staff),
        Err(e) => return failed(lang, &e),
    };
    let parsed = Rule::parse(&rec.rule);
    let asked = match q.date.as_deref() {
        Some("now") => Asked::Now,
        Some(d) => match parse_day(d) {
            Some(day) => Asked::Day(day),
            None => Asked::Now,
        },
        None => match history.first() {
            Some((day, _)) => Asked::Day(*day),
            None => Asked::Now,
        },
    };
    let after = q.after.unwrap_or(0);
    let mut members_note = None;
    let members = match asked {
        Asked::Now => match &parsed {
            Err(_) => None,
            Ok(_) if !columns_ready(&st).await => {
                members_note = Some(t.get("segments.columns_building").to_string());
                None
            }
            Ok(rule) => {
                let (rule, state) = (rule.clone(), st.clone());
                let res = st
                    .store
                    .call(move |s| -> Result<_, store::Error> {
                        let read = s.read()?;
                        let ids = state.with_env(&read, |env| segment::members_now(&rule, env))?;
                        let page = member_page(&read, &ids, after, tz, lang, t)?;
                        Ok((ids.len(), page))
                    })
                    .await;
                match res {
                    Ok((n, (rows, next))) => Some(MembersView {
                        date: "now".into(),
                        count: count(n),
                        moves: None,
                        next: next.map(|a| format!("/segments/{id}?date=now&after={a}#members")),
                        rows,
                    }),
                    Err(e) => return failed(lang, &e),
                }
            }
        },
        Asked::Day(day) => {
            let res = st
                .store
                .call(move |s| -> Result<_, store::Error> {
                    let read = s.read()?;
                    let Some((day, d)) = read.segment_day_on_or_before::<SegmentDay>(id, day)? else {
                        return Ok(None);
                    };
                    let page = member_page(&read, &d.member_ids(), after, tz, lang, t)?;
                    Ok(Some((day, d, page)))
                })
                .await;
            match res {
                Ok(Some((day, d, (rows, next)))) => {
                    let date = day_date(day).to_string();
                    Some(MembersView {
                        count: count(d.count),
                        moves: Some((count(d.entered), count(d.left))),
                        next: next.map(|a| format!("/segments/{id}?date={date}&after={a}#members")),
                        rows,
                        date,
                    })
                }
                Ok(None) => {
                    members_note = Some(t.get("segments.not_recomputed").to_string());
                    None
                }
                Err(e) => return failed(lang, &e),
            }
        }
    };
    let asked = match asked {
        Asked::Now => "now".to_string(),
        Asked::Day(_) => members.as_ref().map(|m| m.date.clone()).unwrap_or_default(),
    };
    let (rule, rule_error) = match &parsed {
        Ok(r) => (rule_lines(r, t, lang, &names), None),
        Err(e) => (Vec::new(), Some(rule_error_text(t, e))),
    };
    let csv = format!(
        "/segments/{id}/members.csv?date={}",
        if asked.is_empty() { "now" } else { &asked }
    );
    let coupons = match super::choices::segments_and_coupons(&st).await {
        Ok((_, coupons)) => coupons,
        Err(e) => return failed(lang, &e),
    };
    render(&ShowPage {
        coupons,
        f: Frame::new(&staff, "segments"),
        id,
        name: rec.name,
        description: rec.description,
        live: rec.live,
        auto_tag: rec.auto_tag,
        rule,
        rule_error,
        chart: chart(&history, t),
        dates: history.iter().map(|(d, _)| day_date(*d).to_string()).collect(),
        asked,
        members,
        members_note,
        csv,
        updated: i18n::datetime(rec.updated_at, tz),
    })
}

/// A page of members after `after`, in id order, and the id to continue after.
fn member_page(
    read: &ReadTx,
    ids: &RoaringTreemap,
    after: u64,
    tz: chrono_tz::Tz,
    lang: Lang,
    t: &Catalog,
) -> Result<(Vec<CustomerRow>, Option<u64>), store::Error> {
    let page: Vec<u64> = ids.iter().filter(|&c| c > after).take(MEMBERS_PAGE + 1).collect();
    let more = page.len() > MEMBERS_PAGE;
    let mut rows = Vec::new();
    for &c in page.iter().take(MEMBERS_PAGE) {
        if let Some(rec) = read.customer(c)? {
            rows.push(customer_row(c, rec, tz, lang, t));
        }
    }
    Ok((rows, more.then(|| page[MEMBERS_PAGE - 1])))
}

#[derive(Deserialize)]
struct CsvQuery {
    date: Option<String>,
}

/// The members as CSV, the same file as the API's `members.csv`: of the latest recomputed day on
/// or before `date`, or now (`date=now`).
async fn members_csv(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Query(q): Query<CsvQuery>,
) -> Response {
    let (tz, now) = (st.tz, st.now_ms());
    let asked = match q.date.as_deref() {
        None => Asked::Day(local_day(now, tz)),
        Some("now") => Asked::Now,
        Some(d) => match parse_day(d) {
            Some(day) => Asked::Day(day),
            None => return error_page(staff.lang, StatusCode::BAD_REQUEST, staff.t.get("segments.bad_date")),
        },
    };
    if matches!(asked, Asked::Now) && !columns_ready(&st).await {
        return error_page(
            staff.lang,
            StatusCode::CONFLICT,
            staff.t.get("segments.columns_building"),
        );
    }
    let state = st.clone();
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let Some(rec) = read.segment::<SegmentRecord>(id)? else {
                return Ok(None);
            };
            let (date, ids) = match asked {
                Asked::Now => {
                    let Ok(rule) = Rule::parse(&rec.rule) else {
                        return Ok(None);
                    };
                    (
                        "now".to_string(),
                        state.with_env(&read, |env| segment::members_now(&rule, env))?,
                    )
                }
                Asked::Day(day) => match read.segment_day_on_or_before::<SegmentDay>(id, day)? {
                    Some((day, d)) => (day_date(day).to_string(), d.member_ids()),
                    None => return Ok(None),
                },
            };
            Ok(Some((date, saved::members_csv(&read, &ids)?)))
        })
        .await;
    match res {
        Ok(Some((date, body))) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"segment-{id}-{date}.csv\""),
                ),
            ],
            body,
        )
            .into_response(),
        Ok(None) => not_found(&staff),
        Err(e) => failed(staff.lang, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script() {
        let s = script_json(&json!({"tag": "</script><script>alert(1)</script>"}));
        assert!(!s.contains("</"));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["tag"], "</script><script>alert(1)</script>");
    }

    #[test]
    fn the_chart_draws_one_bar_a_day_oldest_first() {
        let c = |count, entered, left| SegmentCounts { count, entered, left };
        let t = Catalog::for_lang(Lang::En);
        let ch = chart(&[(20_000, c(4, 1, 3)), (19_999, c(6, 6, 0))], t).unwrap();
        assert_eq!(ch.bars.len(), 2);
        assert_eq!((ch.bars[0].y.as_str(), ch.bars[0].height.as_str()), ("0.0", "160.0"));
        assert_eq!(ch.bars[1].height, "106.7");
        assert!(ch.bars[1].title.contains("entered 1"), "{}", ch.bars[1].title);
        assert_eq!(ch.days[0].1, "4");
        assert!(chart(&[], t).is_none());
    }
}
