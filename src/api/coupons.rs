//! Coupons on the admin API (`/api/v1/coupons…`, bearer) and the storefront's
//! `POST /v1/coupons/validate` and `/v1/coupons/redeem` (write key, CORS open, CONTRACT §5).

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tower_http::cors::CorsLayer;
use utoipa::ToSchema;

use super::routes::Routes;
use super::tracking::Writer;
use super::{ApiError, ApiJson, ApiResult, AppState, Page};
use crate::coupon::{self, CouponInput, CouponRecord, Discount, Line, Membership, Redeemed, Refusal};
use crate::error::ErrorCode;
use crate::segment::saved::{self, SegmentError};
use crate::store::{self, ReadTx};

/// Admin routes, merged under `/api/v1`.
pub fn routes() -> Routes {
    Routes::new()
        .route("/coupons", get(list).post(create))
        .route("/coupons/{id}", get(describe).put(update))
        .route("/coupons/{id}/issue", post(issue))
}

/// Storefront routes (write key).
pub fn storefront_routes() -> Routes {
    Routes::new()
        .route("/v1/coupons/validate", post(validate))
        .route("/v1/coupons/redeem", post(redeem))
        .layer(CorsLayer::very_permissive())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponResponse {
    pub id: u64,
    pub name: String,
    pub discount: Discount,
    pub min_order: f64,
    pub products: Vec<String>,
    pub categories: Vec<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub valid_days: Option<u32>,
    pub total_limit: Option<u64>,
    pub per_customer_limit: u32,
    pub stackable: bool,
    pub segments: Vec<u64>,
    pub tags: Vec<String>,
    /// The shared code, if any.
    pub code: Option<String>,
    /// Codes issued, uses, and the revenue of orders that used it.
    pub issued: u64,
    pub used: u64,
    pub revenue: f64,
    pub created_at: String,
}

fn response(id: u64, c: CouponRecord) -> CouponResponse {
    let iso = super::iso;
    CouponResponse {
        id,
        name: c.name,
        discount: c.discount,
        min_order: c.min_order,
        products: c.products,
        categories: c.categories,
        starts_at: c.starts_at.map(iso),
        ends_at: c.ends_at.map(iso),
        valid_days: c.valid_days,
        total_limit: c.total_limit,
        per_customer_limit: c.per_customer_limit,
        stackable: c.stackable,
        segments: c.segments,
        tags: c.tags,
        code: c.code,
        issued: c.issued,
        used: c.used,
        revenue: c.revenue,
        created_at: iso(c.created_at),
    }
}

/// Creates a coupon; with `code`, its shared code (409 if another coupon has it).
#[utoipa::path(post, path = "/api/v1/coupons", request_body = CouponInput, responses((status = 201, body = CouponResponse), (status = 400), (status = 409)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(input): ApiJson<CouponInput>,
) -> ApiResult<(StatusCode, Json<CouponResponse>)> {
    let now = st.now_ms();
    let id = st.store.write(move |tx| coupon::create(tx, &input, now)).await?;
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let rec = s.read()?.coupon::<CouponRecord>(id)?.ok_or_else(|| no_coupon(id))?;
            Ok(response(id, rec))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

fn no_coupon(id: u64) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no coupon {id}"))
}

/// Every coupon with its issued and used counts and the revenue of orders that used it.
#[utoipa::path(get, path = "/api/v1/coupons", responses((status = 200, body = Page<CouponResponse>)), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>) -> ApiResult<Json<Page<CouponResponse>>> {
    let items = st
        .store
        .call(|s| -> Result<_, ApiError> {
            Ok(s.read()?
                .coupons::<CouponRecord>()?
                .into_iter()
                .map(|(id, c)| response(id, c))
                .collect())
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/api/v1/coupons/{id}", params(("id" = u64, Path)), responses((status = 200, body = CouponResponse), (status = 404)), security(("bearer" = [])))]
pub async fn describe(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<CouponResponse>> {
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let rec = s.read()?.coupon::<CouponRecord>(id)?.ok_or_else(|| no_coupon(id))?;
            Ok(response(id, rec))
        })
        .await?;
    Ok(Json(out))
}

/// Replaces a coupon's terms (the whole input, as on create); counts, issued codes and holds stay.
#[utoipa::path(put, path = "/api/v1/coupons/{id}", params(("id" = u64, Path)), request_body = CouponInput, responses((status = 200, body = CouponResponse), (status = 400), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<CouponInput>,
) -> ApiResult<Json<CouponResponse>> {
    let now = st.now_ms();
    st.store.write(move |tx| coupon::update(tx, id, &input, now)).await?;
    describe(State(st), Path(id)).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IssueRequest {
    /// Customers by id.
    #[serde(default)]
    pub customers: Vec<u64>,
    /// Or every member of a segment (a live one now, a nightly one on its latest day).
    #[serde(default)]
    pub segment: Option<u64>,
    /// Unique codes start with this (e.g. "WB-").
    #[serde(default)]
    pub prefix: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCode {
    pub customer: u64,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssueResponse {
    /// Customers who got the coupon now (those who held it already keep theirs).
    pub issued: usize,
    pub codes: Vec<IssuedCode>,
}

/// Issues the coupon to customers or to a segment's members: each gets a unique code (or the
/// shared one), with the time and source recorded.
#[utoipa::path(post, path = "/api/v1/coupons/{id}/issue", params(("id" = u64, Path)), request_body = IssueRequest, responses((status = 200, body = IssueResponse), (status = 404)), security(("bearer" = [])))]
pub async fn issue(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<IssueRequest>,
) -> ApiResult<Json<IssueResponse>> {
    let prefix = coupon::prefix(&req.prefix)?;
    let mut customers = req.customers.clone();
    let source = if let Some(seg) = req.segment {
        let members = segment_members(&st, seg).await?;
        customers.extend(members);
        "segment"
    } else {
        "api"
    };
    let mut seen = HashSet::new();
    customers.retain(|c| seen.insert(*c));
    let now = st.now_ms();
    let issued = st
        .store
        .write(move |tx| -> Result<_, ApiError> {
            // Only customers on record, by their current id.
            let live = coupon::on_record(tx, &customers)?;
            coupon::issue(tx, id, &live, &prefix, source, now)?.ok_or_else(|| no_coupon(id))
        })
        .await?;
    Ok(Json(IssueResponse {
        issued: issued.len(),
        codes: issued
            .into_iter()
            .map(|(customer, code)| IssuedCode { customer, code })
            .collect(),
    }))
}

/// A segment's members: a live segment's rule evaluated now, a nightly one's latest day.
async fn segment_members(st: &AppState, id: u64) -> Result<Vec<u64>, ApiError> {
    let st = st.clone();
    st.clone()
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            st.with_env(&read, |env| match saved::current_members(env, id) {
                Ok(members) => Ok(members.iter().collect()),
                Err(SegmentError::NotFound(_)) => {
                    Err(ApiError::new(ErrorCode::NotFound, format!("no segment {id}")).field("segment"))
                }
                Err(SegmentError::Rule(e)) => Err(ApiError::new(ErrorCode::InvalidRule, format!("segment {id}: {e}"))),
                Err(e) => Err(e.into()),
            })
        })
        .await
}

/// The segments a customer is in, asked once per request before the writer checks a redemption.
struct Known(HashSet<u64>);

impl Membership for Known {
    fn is_member(&self, segment: u64, _customer: u64) -> Result<bool, store::Error> {
        Ok(self.0.contains(&segment))
    }
}

/// Which of a coupon's segments `customer` is in now.
fn memberships(st: &AppState, read: &ReadTx, coupon: &CouponRecord, customer: u64) -> Result<Known, ApiError> {
    st.with_env(read, |env| {
        let mut out = HashSet::new();
        for &id in &coupon.segments {
            // A segment deleted or with a rule that no longer parses admits nobody.
            match saved::current_members(env, id) {
                Ok(members) if members.contains(customer) => {
                    out.insert(id);
                }
                Ok(_) | Err(SegmentError::NotFound(_) | SegmentError::Rule(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Known(out))
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorefrontCoupon {
    pub code: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub anonymous_id: Option<String>,
    /// With `userId`: the hex HMAC-SHA256 of the user id under the shop's identity secret
    /// (CONTRACT §5). Without it a `userId` is a visitor the store does not know.
    #[serde(default)]
    pub user_hash: Option<String>,
    #[serde(default)]
    pub lines: Vec<Line>,
    /// For validate: the other codes already applied to this cart (stacking is checked against them).
    #[serde(default)]
    pub applied: Vec<String>,
    /// For redeem: the order, which makes the call idempotent.
    #[serde(default, alias = "order_id")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub total: Option<f64>,
    #[serde(default)]
    pub write_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponAnswer {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stackable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Refusal>,
    /// For redeem: true when this order had redeemed the code before (nothing counted again).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
}

fn answer(r: Result<coupon::Accepted, Refusal>) -> CouponAnswer {
    match r {
        Ok(a) => CouponAnswer {
            valid: true,
            discount: Some(a.discount),
            stackable: Some(a.stackable),
            reason: None,
            repeated: false,
        },
        Err(reason) => CouponAnswer {
            valid: false,
            discount: None,
            stackable: None,
            reason: Some(reason),
            repeated: false,
        },
    }
}

/// The customer a storefront coupon request speaks for (`app::asking`): a member only with the
/// `userHash` of their user id (or a server write key), a visitor by an `anonymousId` that is not a member's.
fn who(st: &AppState, read: &ReadTx, writer: Writer, req: &StorefrontCoupon) -> Result<Option<u64>, ApiError> {
    if req.user_id.as_deref().is_none_or(str::is_empty) && req.anonymous_id.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::new(ErrorCode::MissingField, "`userId` or `anonymousId` is required").field("userId"));
    }
    Ok(crate::app::asking::customer(
        st,
        read,
        writer == Writer::Server,
        req.user_id.as_deref(),
        req.user_hash.as_deref(),
        req.anonymous_id.as_deref(),
    )?)
}

fn check_request(req: &StorefrontCoupon) -> Result<(), ApiError> {
    if req.code.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "`code` is required").field("code"));
    }
    for (i, l) in req.lines.iter().enumerate() {
        if !(l.price.is_finite() && l.price >= 0.0 && l.quantity.is_finite() && l.quantity > 0.0) {
            return Err(ApiError::new(
                ErrorCode::InvalidField,
                format!("`lines[{i}]`: price must be zero or more and quantity more than zero"),
            )
            .field(format!("lines[{i}]")));
        }
    }
    Ok(())
}

/// Whether a code applies to this customer and cart, and how much it takes off; or why not.
#[utoipa::path(post, path = "/v1/coupons/validate", request_body = StorefrontCoupon, responses((status = 200, body = CouponAnswer), (status = 400), (status = 401)))]
pub async fn validate(
    State(st): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<StorefrontCoupon>,
) -> ApiResult<Json<CouponAnswer>> {
    let writer = super::tracking::authorize(&st, &headers, req.write_key.as_deref())?;
    check_request(&req)?;
    let state = st.clone();
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let customer = who(&state, &read, writer, &req)?;
            let code = coupon::normalise(&req.code);
            let segments = match (read.coupon_code::<coupon::CodeRecord>(&code)?, customer) {
                (Some(c), Some(id)) => match read.coupon::<CouponRecord>(c.coupon)? {
                    Some(rec) => memberships(&state, &read, &rec, id)?,
                    None => Known(HashSet::new()),
                },
                _ => Known(HashSet::new()),
            };
            let now = state.now_ms();
            Ok(answer(coupon::check(
                &read,
                &segments,
                &code,
                customer,
                &req.lines,
                &req.applied,
                now,
            )?))
        })
        .await?;
    Ok(Json(out))
}

/// Uses a code for an order: checked again and counted in one transaction (of concurrent
/// redemptions of a last use, one wins); the same order again answers as the first time.
#[utoipa::path(post, path = "/v1/coupons/redeem", request_body = StorefrontCoupon, responses((status = 200, body = CouponAnswer), (status = 400), (status = 401)))]
pub async fn redeem(
    State(st): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<StorefrontCoupon>,
) -> ApiResult<Json<CouponAnswer>> {
    let writer = super::tracking::authorize(&st, &headers, req.write_key.as_deref())?;
    check_request(&req)?;
    let Some(order_id) = req.order_id.clone().filter(|o| !o.trim().is_empty()) else {
        return Err(ApiError::new(ErrorCode::MissingField, "`order_id` is required to redeem").field("order_id"));
    };
    let state = st.clone();
    let code = coupon::normalise(&req.code);
    let (customer, segments, lines, total) = {
        let code = code.clone();
        st.store
            .call(move |s| -> Result<_, ApiError> {
                let read = s.read()?;
                let Some(customer) = who(&state, &read, writer, &req)? else {
                    return Err(ApiError::new(
                        ErrorCode::CustomerNotFound,
                        "no customer this request may speak for: a member needs `userHash` with `userId` (or a server write key), a visitor an `anonymousId` that was tracked first",
                    )
                    .field(if req.user_id.is_some() { "userHash" } else { "anonymousId" }));
                };
                let segments = match read.coupon_code::<coupon::CodeRecord>(&code)? {
                    Some(c) => match read.coupon::<CouponRecord>(c.coupon)? {
                        Some(rec) => memberships(&state, &read, &rec, customer)?,
                        None => Known(HashSet::new()),
                    },
                    None => Known(HashSet::new()),
                };
                Ok((customer, segments, req.lines, req.total))
            })
            .await?
    };
    let now = st.now_ms();
    let outcome = st
        .store
        .write(move |tx| coupon::redeem(tx, &segments, &code, customer, &order_id, &lines, total, now))
        .await?;
    Ok(Json(match outcome {
        Redeemed::Applied(a) => answer(Ok(a)),
        Redeemed::Again(a) => CouponAnswer {
            repeated: true,
            ..answer(Ok(a))
        },
        Redeemed::Refused(r) => answer(Err(r)),
    }))
}
