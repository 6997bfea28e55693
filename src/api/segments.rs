//! Segments on the admin API: `POST /api/v1/segments/preview`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::customers::{CustomerResponse, customer_response};
use super::routes::Routes;
use super::{ApiError, ApiJson, ApiResult, AppState};
use crate::error::ErrorCode;
use crate::segment::{self, Rule};

pub fn routes() -> Routes {
    Routes::new()
        .route("/segments/preview", post(preview))
        .merge(saved_routes())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewRequest {
    /// A rule (CONTRACT §4): `{"all"|"any": [RULE…]}`, `{"not": RULE}` or a condition.
    #[schema(value_type = Object)]
    pub rule: Value,
    /// Members to return as a sample (default 10, at most 100).
    #[serde(default)]
    pub sample: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    pub count: u64,
    /// The most recently seen members first.
    pub sample: Vec<CustomerResponse>,
}

/// Turns a rule error into a 422 naming the JSON path (from `rule`) of the wrong part.
fn rule_error(e: segment::RuleError) -> ApiError {
    let field = format!("rule{}", e.path.trim_start_matches('$'));
    ApiError::new(ErrorCode::InvalidRule, format!("{field}: expected {}", e.expected)).field(field)
}

/// How many customers a rule selects now, with a sample; a wrong rule answers 422 naming the part.
#[utoipa::path(post, path = "/api/v1/segments/preview", request_body = PreviewRequest, responses((status = 200, body = PreviewResponse), (status = 422)), security(("bearer" = [])))]
pub async fn preview(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> ApiResult<Json<PreviewResponse>> {
    let rule = Rule::parse(&req.rule).map_err(rule_error)?;
    let sample = req.sample.unwrap_or(10).min(100);
    // The columns are built in the background after a start; a preview waits for them briefly.
    for _ in 0..200 {
        if st.columns.read().expect("not poisoned").ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let state = st.clone();
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let p = state.with_env(&read, |env| {
                if !env.cols.ready() {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        "the customer columns are still being built after the start: try again in a few seconds",
                    ));
                }
                Ok(segment::preview(&rule, env, sample)?)
            })?;
            let mut customers = Vec::new();
            for id in p.sample {
                if let Some(rec) = read.customer(id)? {
                    customers.push(customer_response(id, rec, None));
                }
            }
            Ok(PreviewResponse {
                count: p.count,
                sample: customers,
            })
        })
        .await?;
    Ok(Json(out))
}

// --- saved segments --------------------------------------------------------------------

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Page;
use crate::analysis::{day_date, local_day};
use crate::segment::saved::{self, SegmentCounts, SegmentDay, SegmentInput, SegmentRecord};

pub fn saved_routes() -> Routes {
    Routes::new()
        .route("/segments", axum::routing::get(list).post(create))
        .route(
            "/segments/{id}",
            axum::routing::get(describe).put(update).delete(delete),
        )
        .route("/segments/{id}/members", axum::routing::get(members))
        .route("/segments/{id}/members.csv", axum::routing::get(members_csv))
        .route("/segments/{id}/members/{customer}", axum::routing::get(is_member))
}

/// A day of a segment's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayCounts {
    /// YYYY-MM-DD (shop time).
    pub date: String,
    pub count: u64,
    pub entered: u64,
    pub left: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentResponse {
    pub id: u64,
    pub name: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub rule: Value,
    pub live: bool,
    /// The tag the nightly recompute keeps on the members, if any.
    pub auto_tag: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The latest nightly recompute, if any.
    pub latest: Option<DayCounts>,
    /// The nightly counts, newest first (up to 90 days; only in `GET /segments/{id}`).
    pub history: Vec<DayCounts>,
}

fn day_counts(day: i32, c: SegmentCounts) -> DayCounts {
    DayCounts {
        date: day_date(day).to_string(),
        count: c.count,
        entered: c.entered,
        left: c.left,
    }
}

fn segment_response(
    read: &crate::store::ReadTx,
    id: u64,
    rec: SegmentRecord,
    days: usize,
) -> Result<SegmentResponse, ApiError> {
    let history: Vec<DayCounts> = read
        .segment_history::<SegmentCounts>(id, days.max(1))?
        .into_iter()
        .map(|(d, c)| day_counts(d, c))
        .collect();
    let latest = history.first().cloned();
    let all = if days > 1 { history } else { Vec::new() };
    Ok(SegmentResponse {
        id,
        name: rec.name,
        description: rec.description,
        rule: rec.rule,
        live: rec.live,
        auto_tag: rec.auto_tag,
        created_at: super::iso(rec.created_at),
        updated_at: super::iso(rec.updated_at),
        latest,
        history: all,
    })
}

/// Saved segments with their latest nightly count.
#[utoipa::path(get, path = "/api/v1/segments", responses((status = 200, body = Page<SegmentResponse>)), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>) -> ApiResult<Json<Page<SegmentResponse>>> {
    let items = st
        .store
        .call(|s| -> Result<_, ApiError> {
            let read = s.read()?;
            read.segments::<SegmentRecord>()?
                .into_iter()
                .map(|(id, rec)| segment_response(&read, id, rec, 1))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Saves a segment (201) and counts its members at once; they are counted again every night.
#[utoipa::path(post, path = "/api/v1/segments", request_body = SegmentInput, responses((status = 201, body = SegmentResponse), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<SegmentResponse>)> {
    let id = crate::app::segments::save(&st, None, input)
        .await
        .map_err(segment_error)?;
    Ok((StatusCode::CREATED, describe(State(st), Path(id)).await?))
}

/// A segment with its nightly counts of the last 90 days (count, entered, left).
#[utoipa::path(get, path = "/api/v1/segments/{id}", params(("id" = u64, Path)), responses((status = 200, body = SegmentResponse), (status = 404)), security(("bearer" = [])))]
pub async fn describe(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<SegmentResponse>> {
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let rec: SegmentRecord = read
                .segment(id)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no segment {id}")))?;
            segment_response(&read, id, rec, saved::KEEP_DAILY as usize)
        })
        .await?;
    Ok(Json(out))
}

#[utoipa::path(put, path = "/api/v1/segments/{id}", params(("id" = u64, Path)), request_body = SegmentInput, responses((status = 200, body = SegmentResponse), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<Json<SegmentResponse>> {
    crate::app::segments::save(&st, Some(id), input)
        .await
        .map_err(segment_error)?;
    describe(State(st), Path(id)).await
}

/// Deletes a segment and its membership history (204).
#[utoipa::path(delete, path = "/api/v1/segments/{id}", params(("id" = u64, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<StatusCode> {
    saved::delete(&st.store, id).await.map_err(segment_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A rule error names its path from `rule`, like the preview's.
fn segment_error(e: saved::SegmentError) -> ApiError {
    match e {
        saved::SegmentError::Rule(e) => rule_error(e),
        e => e.into(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MembersQuery {
    /// YYYY-MM-DD (shop time); the latest recomputed day on or before it. Default: today.
    pub date: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembersResponse {
    /// The recomputed day these members are of.
    pub date: String,
    pub count: u64,
    pub entered: u64,
    pub left: u64,
    pub items: Vec<CustomerResponse>,
    pub next_cursor: Option<String>,
}

fn members_day(st: &AppState, date: &Option<String>) -> Result<i32, ApiError> {
    match date {
        None => Ok(local_day(st.now_ms(), st.tz)),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| (d - chrono::NaiveDate::default()).num_days() as i32)
            .map_err(|_| ApiError::new(ErrorCode::InvalidField, "`date` must be YYYY-MM-DD").field("date")),
    }
}

fn no_members(id: u64) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "segment {id} has no membership on or before that date: it is recomputed nightly, or now with POST /api/v1/jobs/segments/run"
        ),
    )
}

/// The members of a segment on a date, in customer id order.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members", params(("id" = u64, Path), MembersQuery), responses((status = 200, body = MembersResponse), (status = 404)), security(("bearer" = [])))]
pub async fn members(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Json<MembersResponse>> {
    let day = members_day(&st, &q.date)?;
    let limit = super::limit(q.limit)?;
    let after = match &q.cursor {
        Some(c) => c
            .parse::<u64>()
            .map_err(|_| ApiError::new(ErrorCode::InvalidField, "`cursor` must be a customer id").field("cursor"))?,
        None => 0,
    };
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            read.segment::<SegmentRecord>(id)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no segment {id}")))?;
            let (day, d, page) = saved::members(&read, id, day, after, limit + 1)?.ok_or_else(|| no_members(id))?;
            let more = page.len() > limit;
            let mut items = Vec::new();
            for c in page.iter().take(limit) {
                if let Some(rec) = read.customer(*c)? {
                    items.push(customer_response(*c, rec, None));
                }
            }
            Ok(MembersResponse {
                date: day_date(day).to_string(),
                count: d.count,
                entered: d.entered,
                left: d.left,
                next_cursor: more.then(|| page[limit - 1].to_string()),
                items,
            })
        })
        .await?;
    Ok(Json(out))
}

/// The members of a segment on a date as CSV: id, user_id, email, name, phone.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members.csv", params(("id" = u64, Path), MembersQuery), responses((status = 200, content_type = "text/csv"), (status = 404)), security(("bearer" = [])))]
pub async fn members_csv(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<impl IntoResponse> {
    let day = members_day(&st, &q.date)?;
    let (date, body) = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let (day, d) = read
                .segment_day_on_or_before::<SegmentDay>(id, day)?
                .ok_or_else(|| no_members(id))?;
            let body = saved::members_csv(&read, &d.member_ids())?;
            Ok((day_date(day).to_string(), body))
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"segment-{id}-{date}.csv\""),
            ),
        ],
        body,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipAnswer {
    pub member: bool,
    /// `now` for a live segment (its rule evaluated at the call), else the recomputed day.
    pub as_of: String,
}

/// Is this customer in the segment? A live segment answers for now; a nightly one for its latest
/// recomputed day.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members/{customer}", params(("id" = u64, Path), ("customer" = u64, Path)), responses((status = 200, body = MembershipAnswer), (status = 404)), security(("bearer" = [])))]
pub async fn is_member(
    State(st): State<AppState>,
    Path((id, customer)): Path<(u64, u64)>,
) -> ApiResult<Json<MembershipAnswer>> {
    let state = st.clone();
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let rec: SegmentRecord = read
                .segment(id)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no segment {id}")))?;
            if rec.live {
                let rule = Rule::parse(&rec.rule).map_err(rule_error)?;
                return state.with_env(&read, |env| {
                    if !env.cols.ready() {
                        return Err(ApiError::new(
                            ErrorCode::Conflict,
                            "the customer columns are still being built",
                        ));
                    }
                    let rows = segment::eval::evaluate(&rule, env)?;
                    Ok(MembershipAnswer {
                        member: env.cols.rows.get(&customer).is_some_and(|r| rows.contains(*r)),
                        as_of: "now".into(),
                    })
                });
            }
            let (tz, now) = (state.tz, state.now_ms());
            let (day, d) = read
                .segment_day_on_or_before::<SegmentDay>(id, local_day(now, tz))?
                .ok_or_else(|| no_members(id))?;
            Ok(MembershipAnswer {
                member: d.member_ids().contains(customer),
                as_of: day_date(day).to_string(),
            })
        })
        .await?;
    Ok(Json(out))
}
