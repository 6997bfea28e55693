//! HTTP edges: the Segment-compatible tracking API (`/v1/*`, write key) and the JSON admin API
//! (`/api/v1/*`, bearer key). Handlers parse, check who is asking, call domain functions through
//! the store and turn records into responses. Only this module and `web` import axum.

pub mod admin;
pub mod analysis;
pub mod campaigns;
pub mod coupons;
pub mod import;
pub mod openapi;
pub mod recommend;
pub mod search;
pub mod segments;
pub mod tracking;

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::KeyRing;
use crate::error::{ErrorCode, HasCode};
use crate::store::Store;
use crate::store::records::KeyKind;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The in-memory customer columns (sorted and filtered lists), followed from the store.
    pub columns: crate::customer::columns::Shared,
    /// Console imports running or finished, with their progress.
    pub imports: crate::load::ImportJobs,
    pub keys: Arc<KeyRing>,
    pub tz: chrono_tz::Tz,
    /// The job runner (the nightly analysis, later the campaign scheduler).
    pub jobs: Arc<crate::jobs::Runner>,
    /// Analysed days as columns, for segment rules on the analysis fields.
    pub segment_days: Arc<crate::segment::eval::AnalysisDays>,
    /// The product and customer-interest indexes (tantivy), followed from the store.
    pub search: Arc<crate::search::Search>,
    /// What customers hold of coupons, kept in memory for the coupon attributes of segments.
    pub holds: Arc<crate::coupon::Holdings>,
    /// The recommender: its model, the catalogue and popular lists in memory.
    pub recommend: Arc<crate::recommend::Engine>,
    /// The campaign scheduler and outbox.
    pub campaigns: Arc<crate::campaign::send::Sender>,
    /// The clock tests may move (only on a server started with `DANGOL_NOW`).
    pub test_clock: Option<Arc<crate::jobs::ShiftedClock>>,
}

impl AppState {
    /// Runs `f` with what evaluating a segment rule needs: the customer columns (read-locked for
    /// the call), `read`, the shop's zone and the jobs' clock, the analysis days and the indexes.
    pub fn with_env<R>(&self, read: &crate::store::ReadTx, f: impl FnOnce(&crate::segment::eval::Env) -> R) -> R {
        let cols = self.columns.read().expect("not poisoned");
        f(&crate::segment::eval::Env {
            cols: &cols,
            read,
            tz: self.tz,
            now: self.jobs.now_ms(),
            days: &self.segment_days,
            search: Some(&self.search),
            holds: Some(&self.holds),
        })
    }
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled (empty outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// An error on its way to the client: `{"error":{"code","message","field","request_id"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub extra: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
            extra: None,
        }
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl<E: HasCode + std::error::Error> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError {
            code: e.code(),
            message: e.to_string(),
            field: e.field().map(str::to_string),
            extra: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
        let message = if self.code == ErrorCode::Internal {
            tracing::error!(request_id, error = %self.message, "internal error");
            "internal error".to_string()
        } else {
            self.message
        };
        let mut error = json!({"code": self.code.as_str(), "message": message, "request_id": request_id});
        if let Some(f) = self.field {
            error["field"] = json!(f);
        }
        let mut body = json!({ "error": error });
        if let Some(serde_json::Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        (self.code.status(), Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// JSON body extractor whose errors name the field (serde_path_to_error) in our error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(ErrorCode::PayloadTooLarge, e.body_text()))?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {inner}"))
        } else {
            let field = if path == "." { String::new() } else { path };
            let field = field.replace(".[", "[");
            ApiError::new(ErrorCode::InvalidField, format!("`{field}`: {inner}")).field(field)
        }
    })
}

/// Typed view of an already parsed JSON value, with the same field-naming errors.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        ApiError::new(ErrorCode::InvalidField, format!("`{field}`: {}", e.into_inner())).field(field)
    })
}

/// A page of a list: `{"items":[...],"next_cursor":...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Gives each request an id (or keeps the caller's `X-Request-Id`), logs it at debug, and
/// returns it in the response header.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let (method, uri) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    let took = started.elapsed();
    tracing::debug!(request_id = %id, %method, path = %uri, status = res.status().as_u16(), micros = took.as_micros() as u64, "request");
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    // The server's own time for the answer (W3C Server-Timing: browsers' devtools show it, and
    // the benchmarks read it to tell the server's share from the client's).
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={:.3}", took.as_secs_f64() * 1000.0)) {
        res.headers_mut().insert("server-timing", v);
    }
    res
}

/// The admin API's guard: `Authorization: Bearer KEY` with the master key or an admin key.
async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match key {
        Some(k) if state.keys.check(k, KeyKind::Admin) => next.run(req).await,
        Some(_) => ApiError::new(ErrorCode::Unauthorized, "the bearer key is not valid").into_response(),
        None => ApiError::new(
            ErrorCode::Unauthorized,
            "an `Authorization: Bearer KEY` header is required",
        )
        .into_response(),
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

pub fn router(state: AppState) -> Router {
    let admin = admin::routes()
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), require_admin))
        .route("/openapi.json", get(openapi::document));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(tracking::routes())
        .merge(coupons::storefront_routes())
        .merge(recommend::storefront_routes())
        .merge(campaigns::message_routes())
        .merge(crate::web::routes())
        .nest("/api/v1", admin)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

/// `StatusCode` helper for handlers that answer 201.
pub fn created<T: Serialize>(body: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(body))
}
