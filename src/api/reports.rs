//! Web-analytics reports (CONTRACT §8): the overview, breakdowns, funnel, cohorts and live.

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::routes::Routes;
use super::{ApiJson, ApiResult, AppState, iso};
use crate::app::reports::{self as reports, Asked};
use crate::reports::cohorts::{Cohort, Repeat};
use crate::reports::funnel::Step;
use crate::reports::products::ProductItem;
use crate::reports::query::{Item, Overview, Totals};

pub fn routes() -> Routes {
    Routes::new()
        .route("/reports/live", get(live))
        .route("/reports/web", get(web))
        .route("/reports/web/breakdown", get(breakdown))
        .route("/reports/funnel", post(funnel))
        .route("/reports/cohorts", get(cohorts))
        .route("/reports/products", get(products))
}

/// The range and filters every report takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RangeQuery {
    /// First day, YYYY-MM-DD in the shop's zone (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today). At most 1,096 days after `from`.
    pub to: Option<String>,
    /// `day` (default), `week` or `month`: the series' steps.
    pub interval: Option<String>,
    /// Only the visits of this segment's members.
    pub segment_id: Option<u64>,
    /// Only visits from this source (`Naver`, `Direct`, …).
    pub source: Option<String>,
    /// Only visits from this device: `desktop`, `mobile` or `tablet`.
    pub device: Option<String>,
    /// Only visits that viewed this page (a path).
    pub page: Option<String>,
    /// Breakdowns: `page`, `entry_page`, `exit_page`, `source`, `referrer`, `utm_source`,
    /// `utm_medium`, `utm_campaign`, `device`, `browser`, `os`, `city` or `channel`.
    pub by: Option<String>,
    /// Breakdowns: at most this many values (1–1000, default 50).
    pub limit: Option<usize>,
}

impl RangeQuery {
    fn asked(&self) -> Asked {
        Asked {
            from: self.from.clone(),
            to: self.to.clone(),
            segment_id: self.segment_id,
            source: self.source.clone(),
            device: self.device.clone(),
            page: self.page.clone(),
        }
    }
}

/// Visitors, visits, page views, bounce rate, visit duration, orders, revenue and conversion over
/// a range, a series by day, week or month, and the period before.
#[utoipa::path(get, path = "/api/v1/reports/web", params(RangeQuery), responses((status = 200, body = Overview), (status = 400), (status = 503)), security(("bearer" = [])))]
pub async fn web(State(st): State<AppState>, Query(q): Query<RangeQuery>) -> ApiResult<Json<Overview>> {
    let state = st.clone();
    Ok(Json(
        st.store
            .call(move |_| reports::overview(&state, &q.asked(), q.interval.as_deref()))
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownResponse {
    pub items: Vec<Item>,
}

/// The top values of one dimension over a range, each with what its visits sold.
#[utoipa::path(get, path = "/api/v1/reports/web/breakdown", params(RangeQuery), responses((status = 200, body = BreakdownResponse), (status = 400), (status = 503)), security(("bearer" = [])))]
pub async fn breakdown(State(st): State<AppState>, Query(q): Query<RangeQuery>) -> ApiResult<Json<BreakdownResponse>> {
    let state = st.clone();
    let items = st
        .store
        .call(move |_| reports::breakdown(&state, &q.asked(), q.by.as_deref(), q.limit))
        .await?;
    Ok(Json(BreakdownResponse { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelStepInput {
    /// An event's name (`Product Viewed`, …).
    pub event: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunnelInput {
    /// 2 to 10 steps (default: product view, cart, checkout, order).
    #[serde(default)]
    pub steps: Option<Vec<FunnelStepInput>>,
    /// The range of the first step, YYYY-MM-DD.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// Each step within this many hours of the first (default 24, at most 2,160).
    #[serde(default)]
    pub within_hours: Option<u32>,
    #[serde(default)]
    pub segment_id: Option<u64>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelResponse {
    pub steps: Vec<Step>,
    pub within_hours: u32,
}

/// How many visitors did each step, in order, within `within_hours` of their first.
#[utoipa::path(post, path = "/api/v1/reports/funnel", request_body = FunnelInput, responses((status = 200, body = FunnelResponse), (status = 400), (status = 503)), security(("bearer" = [])))]
pub async fn funnel(
    State(st): State<AppState>,
    ApiJson(input): ApiJson<FunnelInput>,
) -> ApiResult<Json<FunnelResponse>> {
    let state = st.clone();
    let asked = Asked {
        from: input.from.clone(),
        to: input.to.clone(),
        segment_id: input.segment_id,
        source: input.source.clone(),
        device: input.device.clone(),
        page: input.page.clone(),
    };
    let steps: Option<Vec<String>> = input.steps.map(|s| s.into_iter().map(|s| s.event).collect());
    let within = input.within_hours;
    let (steps, within_hours) = st
        .store
        .call(move |_| reports::funnel(&state, &asked, steps, within))
        .await?;
    Ok(Json(FunnelResponse { steps, within_hours }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductsResponse {
    pub items: Vec<ProductItem>,
}

/// Each product's views, carts, checkouts and purchases over a range, most purchases first. The
/// days are UTC days (the writer's per-product counts); the filters do not apply.
#[utoipa::path(get, path = "/api/v1/reports/products", params(RangeQuery), responses((status = 200, body = ProductsResponse), (status = 400)), security(("bearer" = [])))]
pub async fn products(State(st): State<AppState>, Query(q): Query<RangeQuery>) -> ApiResult<Json<ProductsResponse>> {
    let state = st.clone();
    let items = st
        .store
        .call(move |_| reports::products(&state, &q.asked(), q.limit))
        .await?;
    Ok(Json(ProductsResponse { items }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CohortsQuery {
    /// First cohort, YYYY-MM (default: 11 months before `to`).
    pub from: Option<String>,
    /// Last cohort, YYYY-MM (default: this month).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortsResponse {
    pub cohorts: Vec<Cohort>,
    /// Each month's customers who ordered and the share who had ordered before.
    pub repeat: Vec<Repeat>,
}

/// Customers by the month of their first order, and the share who ordered again each month after.
#[utoipa::path(get, path = "/api/v1/reports/cohorts", params(CohortsQuery), responses((status = 200, body = CohortsResponse), (status = 400), (status = 503)), security(("bearer" = [])))]
pub async fn cohorts(State(st): State<AppState>, Query(q): Query<CohortsQuery>) -> ApiResult<Json<CohortsResponse>> {
    let state = st.clone();
    let (cohorts, repeat) = st
        .store
        .call(move |_| reports::cohorts(&state, q.from.as_deref(), q.to.as_deref()))
        .await?;
    Ok(Json(CohortsResponse { cohorts, repeat }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LivePage {
    pub path: String,
    pub visitors: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveEvent {
    /// `page`, `track`, `screen`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub customer_id: u64,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveReport {
    /// Distinct visitors with an event in the last five minutes (bots left out).
    pub visitors_now: u64,
    /// The page each of them last viewed, by visitors, most first.
    pub pages: Vec<LivePage>,
    /// The latest 50 events, newest first.
    pub events: Vec<LiveEvent>,
    /// Bot events met while reading, left out of the above.
    pub bots_left_out: u64,
    /// The visits begun today so far (the shop's day); null while the reports are first built.
    pub today: Option<Totals>,
    /// The visits begun on the same day a week ago by the same time.
    pub same_time_last_week: Option<Totals>,
}

/// Who is on the shop now: visitors in the last five minutes, the pages they are on, the latest
/// events.
#[utoipa::path(get, path = "/api/v1/reports/live", responses((status = 200, body = LiveReport)), security(("bearer" = [])))]
pub async fn live(State(st): State<AppState>) -> ApiResult<Json<LiveReport>> {
    let state = st.clone();
    let (live, pace) = st.store.call(move |_| reports::live(&state)).await?;
    let (today, same_time_last_week) = pace.unzip();
    Ok(Json(LiveReport {
        visitors_now: live.visitors_now,
        pages: live
            .pages
            .into_iter()
            .map(|(path, visitors)| LivePage { path, visitors })
            .collect(),
        events: live
            .events
            .into_iter()
            .map(|e| LiveEvent {
                kind: e.kind.as_str().to_string(),
                event: e.event,
                customer_id: e.customer,
                timestamp: iso(e.at),
                path: e.path,
                product_id: e.product_id,
            })
            .collect(),
        bots_left_out: live.bots_left_out,
        today,
        same_time_last_week,
    }))
}
