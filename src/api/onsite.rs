//! On-site messages (CONTRACT §7): the storefront's `GET /v1/messages` and the coupon code a click
//! reveals (write key), and the admin routes `/api/v1/messages…` (bearer key).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tower_http::cors::CorsLayer;
use utoipa::{IntoParams, ToSchema};

use super::routes::Routes;
use super::tracking::{Writer, authorize};
use super::{ApiError, ApiJson, ApiResult, AppState, Page, iso};
use crate::app::onsite::{Ask, Shown};
use crate::error::ErrorCode;
use crate::onsite::seen::Counts;
use crate::onsite::{self, MessageInput, MessageRecord, Status};

/// The storefront's routes (write key, CORS open).
pub fn storefront_routes() -> Routes {
    Routes::new()
        .route("/v1/messages", get(due))
        .route("/v1/messages/{id}/code", post(code))
        .layer(CorsLayer::very_permissive())
}

pub fn routes() -> Routes {
    Routes::new()
        .route("/messages", get(list).post(create))
        .route("/messages/templates", get(list_templates))
        .route("/messages/settings", get(get_settings).put(put_settings))
        .route("/messages/{id}", get(describe).put(update).delete(delete))
        .route("/messages/{id}/activate", post(activate))
        .route("/messages/{id}/pause", post(pause))
        .route("/messages/{id}/report", get(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct DueQuery {
    #[serde(default)]
    pub anonymous_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// With `userId`: hex HMAC-SHA256 of it under the identity secret (CONTRACT §5).
    #[serde(default)]
    pub user_hash: Option<String>,
    /// The page's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// `desktop` or `mobile` (else from the User-Agent).
    #[serde(default)]
    pub device: Option<String>,
    /// The product the page shows.
    #[serde(default, alias = "product_id")]
    pub product_id: Option<String>,
    /// `ko` or `en`: the language of the message's own words (close, "7일간 보지 않기").
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub write_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueResponse {
    pub messages: Vec<Shown>,
}

fn ask_of(writer: Writer, q: &DueQuery, headers: &HeaderMap) -> Result<Ask, ApiError> {
    let device = match q.device.as_deref() {
        None | Some("") => {
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            onsite::eligible::device_of(ua)
        }
        Some("desktop") => onsite::Device::Desktop,
        Some("mobile") => onsite::Device::Mobile,
        Some(_) => {
            return Err(ApiError::new(ErrorCode::InvalidField, "`device` must be desktop or mobile").field("device"));
        }
    };
    if q.anonymous_id.as_deref().is_none_or(str::is_empty) && q.user_id.as_deref().is_none_or(str::is_empty) {
        return Err(
            ApiError::new(ErrorCode::MissingField, "`anonymousId` or `userId` is required").field("anonymousId"),
        );
    }
    Ok(Ask {
        anonymous_id: q.anonymous_id.clone(),
        user_id: q.user_id.clone(),
        user_hash: q.user_hash.clone(),
        server: writer == Writer::Server,
        url: q.url.clone().unwrap_or_default(),
        device: Some(device),
        product_id: q.product_id.clone().filter(|p| !p.is_empty()),
        lang: q.lang.as_deref().and_then(crate::i18n::Lang::parse),
    })
}

/// The on-site messages due now for this visitor on this page, best first: the script arms each
/// one's triggers and shows the first that fires (one a page view).
#[utoipa::path(get, path = "/v1/messages", params(DueQuery), responses((status = 200, body = DueResponse), (status = 400), (status = 401)), security(("write_key" = [])))]
pub async fn due(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<DueQuery>) -> ApiResult<Response> {
    let writer = authorize(&st, &headers, q.write_key.as_deref())?;
    let ask = ask_of(writer, &q, &headers)?;
    let state = st.clone();
    let messages = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            Ok(crate::app::onsite::due(&state, &read, &ask)?)
        })
        .await?;
    let mut res = Json(DueResponse { messages }).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(res)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeRequest {
    #[serde(default)]
    pub anonymous_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_hash: Option<String>,
    #[serde(default)]
    pub write_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeResponse {
    pub code: String,
}

/// A coupon message was clicked: the visitor's own code, issued now if they hold none (the same
/// visitor always gets the same code). A member needs `userHash`.
#[utoipa::path(post, path = "/v1/messages/{id}/code", params(("id" = u64, Path)), request_body = CodeRequest, responses((status = 200, body = CodeResponse), (status = 401), (status = 404)), security(("write_key" = [])))]
pub async fn code(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<CodeResponse>> {
    // The script posts text/plain (no preflight), like the tracking routes.
    let req: CodeRequest = super::parse_json(&body)?;
    let writer = authorize(&st, &headers, req.write_key.as_deref())?;
    let ask = Ask {
        anonymous_id: req.anonymous_id,
        user_id: req.user_id,
        user_hash: req.user_hash,
        server: writer == Writer::Server,
        ..Ask::default()
    };
    let code = crate::app::onsite::reveal(&st, id, ask).await?;
    Ok(Json(CodeResponse { code }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub id: u64,
    /// draft, active, paused.
    pub status: String,
    #[serde(flatten)]
    pub input: MessageInput,
    pub created_at: String,
    pub updated_at: String,
    pub activated_at: Option<String>,
    /// All-time counts.
    pub totals: Totals,
}

/// A message's counts over a span, and its rates.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Totals {
    /// Times shown (at least half on screen).
    pub impressions: u64,
    pub unique_viewers: u64,
    pub clicks: u64,
    pub unique_clickers: u64,
    pub closes: u64,
    /// Orders within the attribution window after a view or click, one per visitor.
    pub conversions: u64,
    pub revenue: f64,
    /// Unique clickers over unique viewers.
    pub click_rate: f64,
    /// Conversions over unique viewers.
    pub conversion_rate: f64,
}

impl From<Counts> for Totals {
    fn from(c: Counts) -> Totals {
        Totals {
            impressions: c.views,
            unique_viewers: c.viewers,
            clicks: c.clicks,
            unique_clickers: c.clickers,
            closes: c.closes,
            conversions: c.conversions,
            revenue: c.revenue,
            click_rate: c.click_rate(),
            conversion_rate: c.conversion_rate(),
        }
    }
}

fn response(id: u64, m: MessageRecord, totals: Counts) -> MessageResponse {
    MessageResponse {
        id,
        status: m.status.as_str().into(),
        input: MessageInput::from(&m.definition),
        created_at: iso(m.created_at),
        updated_at: iso(m.updated_at),
        activated_at: m.activated_at.map(iso),
        totals: totals.into(),
    }
}

async fn load(st: &AppState, id: u64) -> ApiResult<MessageResponse> {
    st.store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let m = onsite::get(&read, id)?;
            let totals = onsite::seen::total(&read, id)?;
            Ok(response(id, m, totals))
        })
        .await
}

/// Every on-site message, with its all-time counts (one page: a shop has tens, not thousands).
#[utoipa::path(get, path = "/api/v1/messages", responses((status = 200, body = Page<MessageResponse>)), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>) -> ApiResult<Json<Page<MessageResponse>>> {
    let items = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let mut out = Vec::new();
            for (id, m) in onsite::list(&read)? {
                let totals = onsite::seen::total(&read, id)?;
                out.push(response(id, m, totals));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Makes a message, as a draft (shown to nobody until activated).
#[utoipa::path(post, path = "/api/v1/messages", request_body = MessageInput, responses((status = 201, body = MessageResponse), (status = 400)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(input): ApiJson<MessageInput>,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    let now = st.now_ms();
    let id = st.store.write(move |tx| onsite::create(tx, &input, now)).await?;
    Ok((StatusCode::CREATED, Json(load(&st, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", params(("id" = u64, Path)), responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
pub async fn describe(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(load(&st, id).await?))
}

/// Changes a message; an active one shows the change from the next page view.
#[utoipa::path(put, path = "/api/v1/messages/{id}", params(("id" = u64, Path)), request_body = MessageInput, responses((status = 200, body = MessageResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<MessageInput>,
) -> ApiResult<Json<MessageResponse>> {
    let now = st.now_ms();
    st.store.write(move |tx| onsite::update(tx, id, &input, now)).await?;
    Ok(Json(load(&st, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/messages/{id}", params(("id" = u64, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<StatusCode> {
    st.store.write(move |tx| onsite::delete(tx, id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_status(st: &AppState, id: u64, status: Status) -> ApiResult<Json<MessageResponse>> {
    let now = st.now_ms();
    st.store
        .write(move |tx| onsite::set_status(tx, id, status, now))
        .await?;
    Ok(Json(load(st, id).await?))
}

/// The ready-made messages: ifdo's three recommendation popups, the coupon reminder, the
/// first-purchase coupon, the cart reminder, social proof on product pages and the exit-intent
/// coupon, each an input to adjust and POST (a coupon one with its `coupon_id`).
#[utoipa::path(get, path = "/api/v1/messages/templates", responses((status = 200, body = Vec<onsite::templates::Template>)), security(("bearer" = [])))]
pub async fn list_templates() -> Json<Vec<onsite::templates::Template>> {
    Json(onsite::templates::all())
}

/// What holds for every message: `per_visit`, the different messages one visitor may see in
/// one visit (1–20, default 3).
#[utoipa::path(get, path = "/api/v1/messages/settings", responses((status = 200, body = onsite::Settings)), security(("bearer" = [])))]
pub async fn get_settings(State(st): State<AppState>) -> ApiResult<Json<onsite::Settings>> {
    Ok(Json(st.store.call(|s| onsite::settings(&s.read()?)).await?))
}

/// Saves the settings of every message.
#[utoipa::path(put, path = "/api/v1/messages/settings", request_body = onsite::Settings, responses((status = 200, body = onsite::Settings), (status = 400)), security(("bearer" = [])))]
pub async fn put_settings(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<onsite::Settings>,
) -> ApiResult<Json<onsite::Settings>> {
    st.store.write(move |tx| onsite::save_settings(tx, &body)).await?;
    Ok(Json(body))
}

/// Starts showing a message.
#[utoipa::path(post, path = "/api/v1/messages/{id}/activate", params(("id" = u64, Path)), responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
pub async fn activate(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<MessageResponse>> {
    set_status(&st, id, Status::Active).await
}

/// Stops showing a message; what it counted stays.
#[utoipa::path(post, path = "/api/v1/messages/{id}/pause", params(("id" = u64, Path)), responses((status = 200, body = MessageResponse), (status = 404)), security(("bearer" = [])))]
pub async fn pause(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<MessageResponse>> {
    set_status(&st, id, Status::Paused).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// Days back from today, in the shop's time zone (1–365, default 30).
    #[serde(default)]
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayRow {
    /// YYYY-MM-DD, shop time.
    pub date: String,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageReport {
    pub id: u64,
    pub name: String,
    pub totals: Totals,
    /// Every day of the span, oldest first (days without a view included).
    pub days: Vec<DayRow>,
}

/// A message's impressions, unique viewers, clicks, closes, conversions and revenue per day in
/// the shop's time zone, with the span's totals and rates.
#[utoipa::path(get, path = "/api/v1/messages/{id}/report", params(("id" = u64, Path), ReportQuery), responses((status = 200, body = MessageReport), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn report(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Json<MessageReport>> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::new(ErrorCode::InvalidField, "`days` must be 1 to 365").field("days"));
    }
    let state = st.clone();
    Ok(Json(
        st.store
            .call(move |s| -> Result<_, ApiError> {
                let read = s.read()?;
                let m = onsite::get(&read, id)?;
                let today = crate::analysis::local_day(state.now_ms(), state.tz);
                let (per_day, total) = onsite::seen::per_day(&read, id, state.tz, today, days)?;
                Ok(MessageReport {
                    id,
                    name: m.definition.name,
                    totals: total.into(),
                    days: per_day
                        .into_iter()
                        .map(|(date, c)| DayRow {
                            date: date.to_string(),
                            totals: c.into(),
                        })
                        .collect(),
                })
            })
            .await?,
    ))
}
