//! HTTP edges: the Segment-compatible tracking API (`/v1/*`, write key) and the JSON admin API
//! (`/api/v1/*`, bearer key). Handlers parse, check who is asking, call domain functions through
//! the store and turn records into responses. Only this module and `web` import axum.

pub mod access;
pub mod analysis;
pub mod campaigns;
pub mod catalog;
pub mod coupons;
pub mod customers;
pub mod import;
pub mod onsite;
pub mod openapi;
pub mod recommend;
pub mod reports;
mod routes;
pub mod script;
pub mod search;
pub mod segments;
pub mod tracking;

use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::IntoParams;

use self::routes::Routes;
use crate::app::AppState;
use crate::error::{ErrorCode, HasCode};
use crate::store::records::KeyScope;

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
        let request_id = crate::app::current_request_id();
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

/// The routes that say who may ask (API keys, console users, settings with secrets): the master
/// key's alone, so an integration's key cannot make itself more keys or an owner. Paths as the
/// guard sees them, inside `/api/v1`.
const MASTER_ONLY: [&str; 3] = ["/keys", "/users", "/settings"];

/// The admin API's guard: `Authorization: Bearer KEY` with the master key or an admin key, within
/// the key's scope (a `read` key only reads; only the master key manages who may ask).
async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match key.map(|k| state.keys.admin_scope(k)) {
        Some(Some(scope)) => {
            let path = req.uri().path();
            let master_only = MASTER_ONLY
                .iter()
                .any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')));
            if master_only && scope != KeyScope::Master {
                return ApiError::new(
                    ErrorCode::Forbidden,
                    "keys, users and settings are managed with the master key (or by an owner in the console)",
                )
                .into_response();
            }
            let reads = matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
            if scope == KeyScope::Read && !reads {
                return ApiError::new(ErrorCode::Forbidden, "this key may only read").into_response();
            }
            next.run(req).await
        }
        Some(None) => ApiError::new(ErrorCode::Unauthorized, "the bearer key is not valid").into_response(),
        None => ApiError::new(
            ErrorCode::Unauthorized,
            "an `Authorization: Bearer KEY` header is required",
        )
        .into_response(),
    }
}

/// RFC 3339 in UTC with milliseconds.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn iso_opt(ms: Option<i64>) -> Option<String> {
    ms.map(iso)
}

pub(crate) fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

pub(crate) fn unb64(s: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidField, "`cursor` is not a cursor this API gave out").field("cursor")
        })
}

/// A page size: 1–500, 50 when not given.
pub(crate) fn limit(q: Option<usize>) -> Result<usize, ApiError> {
    match q {
        None => Ok(50),
        Some(n @ 1..=500) => Ok(n),
        Some(_) => Err(ApiError::new(ErrorCode::InvalidField, "`limit` must be between 1 and 500").field("limit")),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// The storefront's side: the script a shop pastes, the tracking API, coupons and
/// recommendations (write key), and the signed links in messages.
fn public_routes() -> Routes {
    Routes::new()
        .merge(script::routes())
        .merge(tracking::routes())
        .merge(coupons::storefront_routes())
        .merge(recommend::storefront_routes())
        .merge(onsite::storefront_routes())
        .merge(campaigns::message_routes())
}

/// The admin API, mounted under `/api/v1` behind the bearer-key guard.
fn admin_routes() -> Routes {
    Routes::new()
        .merge(customers::routes())
        .merge(catalog::routes())
        .merge(access::routes())
        .route("/imports", axum::routing::get(import::list))
        .route("/imports/history/{id}", axum::routing::get(import::get))
        .route(
            "/imports/{kind}",
            axum::routing::post(import::upload).get(import::template_file),
        )
        .merge(analysis::routes())
        .merge(segments::routes())
        .merge(search::routes())
        .merge(coupons::routes())
        .merge(recommend::routes())
        .merge(campaigns::routes())
        .merge(onsite::routes())
        .merge(reports::routes())
}

/// Where the OpenAPI document is served (it needs no key).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The API's routes. The server mounts them beside the console's.
pub fn routes(state: AppState) -> Router<AppState> {
    let admin = admin_routes()
        .into_router()
        .route_layer(axum::middleware::from_fn_with_state(state, require_admin))
        .route("/openapi.json", get(openapi::document));
    public_routes().into_router().nest("/api/v1", admin)
}

/// The path of every route of the API (`{id}` for parameters), the OpenAPI document's own
/// included: what the document must describe.
pub fn paths() -> Vec<String> {
    let mut out = public_routes().paths("");
    out.extend(admin_routes().paths("/api/v1"));
    out.push(OPENAPI_PATH.to_string());
    out
}

/// The answer to a path no route has, in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// `StatusCode` helper for handlers that answer 201.
pub fn created<T: Serialize>(body: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(body))
}
