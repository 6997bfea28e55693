//! Recommendations on the admin API (`GET /api/v1/customers/{id}/recommendations`,
//! `GET /api/v1/products/{id}/related`, bearer) and for the storefront
//! (`GET /v1/recommendations`, write key, CORS open, cache headers).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_http::cors::CorsLayer;
use utoipa::IntoParams;

use super::routes::Routes;
use super::{ApiError, ApiResult};
use crate::app::AppState;
use crate::app::recommend::{DEFAULT_DAYS, DEFAULT_LIMIT, MAX_LIMIT, RecommendResponse, answer, related_answer};
use crate::error::ErrorCode;
use crate::recommend::{Request, Strategy};

/// Admin routes, merged under `/api/v1`.
pub fn routes() -> Routes {
    Routes::new()
        .route("/customers/{id}/recommendations", get(for_customer))
        .route("/products/{id}/related", get(related))
}

/// Storefront routes (write key).
pub fn storefront_routes() -> Routes {
    Routes::new()
        .route("/v1/recommendations", get(storefront))
        .layer(CorsLayer::very_permissive())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct RecommendQuery {
    /// `for_you` (default), `recently_viewed`, `recently_carted`, `recently_purchased`,
    /// `cross_sell`, `bought_together`, `bestsellers`, `most_viewed`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// The product on screen: excluded, and the seed of `bought_together`.
    #[serde(default, alias = "product_id")]
    pub product_id: Option<String>,
    /// For bestsellers and most viewed: this category (any level of a path).
    #[serde(default)]
    pub category: Option<String>,
    /// 1, 7 or 30 (default) days, for bestsellers and most viewed.
    #[serde(default)]
    pub days: Option<u32>,
    /// 1 to 50 (default 10).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Storefront: who is asking (else a brand-new visitor).
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub anonymous_id: Option<String>,
    /// With `userId`: the hex HMAC-SHA256 of the user id under the shop's identity secret, made
    /// by the shop's server. Without it a `userId` is answered as a new visitor (CONTRACT §5).
    #[serde(default)]
    pub user_hash: Option<String>,
    #[serde(default)]
    pub write_key: Option<String>,
}

impl RecommendQuery {
    fn request(&self) -> Result<Request, ApiError> {
        let strategy = match self.strategy.as_deref().filter(|s| !s.is_empty()) {
            None => Strategy::ForYou,
            Some(s) => Strategy::parse(s).ok_or_else(|| {
                let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::new(
                    ErrorCode::InvalidField,
                    format!("`strategy` must be one of {}", names.join(", ")),
                )
                .field("strategy")
            })?,
        };
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        if ![1, 7, 30].contains(&days) {
            return Err(ApiError::new(ErrorCode::InvalidField, "`days` must be 1, 7 or 30").field("days"));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                ApiError::new(ErrorCode::InvalidField, format!("`limit` must be 1 to {MAX_LIMIT}")).field("limit"),
            );
        }
        Ok(Request {
            strategy,
            product: self.product_id.clone().filter(|p| !p.is_empty()),
            category: self.category.clone().filter(|c| !c.is_empty()),
            days,
            limit,
        })
    }
}

/// Recommendations for a customer, with the score and source of each product.
#[utoipa::path(get, path = "/api/v1/customers/{id}/recommendations", params(("id" = u64, Path), RecommendQuery), responses((status = 200, body = RecommendResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn for_customer(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<RecommendQuery>,
) -> ApiResult<Json<RecommendResponse>> {
    let req = q.request()?;
    let state = st.clone();
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let (id, _) = crate::customer::get(&read, id)?;
            Ok(answer(&state, &read, Some(id), &req)?)
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RelatedQuery {
    /// 1 to 50 (default 10).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The products bought together with a product (then the fallback), with scores and the orders
/// holding both.
#[utoipa::path(get, path = "/api/v1/products/{id}/related", params(("id" = String, Path), RelatedQuery), responses((status = 200, body = RecommendResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn related(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<RelatedQuery>,
) -> ApiResult<Json<RecommendResponse>> {
    let req = RecommendQuery {
        strategy: Some("bought_together".into()),
        product_id: Some(id.clone()),
        category: None,
        days: None,
        limit: q.limit,
        user_id: None,
        anonymous_id: None,
        user_hash: None,
        write_key: None,
    }
    .request()?;
    let state = st.clone();
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            if read.product(&id)?.is_none() {
                return Err(ApiError::new(
                    ErrorCode::ProductNotFound,
                    format!("no product has the id {id:?}"),
                ));
            }
            Ok(related_answer(&state, &read, &id, req.limit)?)
        })
        .await?;
    Ok(Json(out))
}

/// Recommendations for the storefront's widgets, popups and emails: product cards for a visitor
/// (`userId` with its `userHash`, or the `anonymousId` of a visitor who is not a member; anything
/// else is a new visitor).
/// Personal lists may be cached by the browser for a minute, the others by anyone for five.
#[utoipa::path(get, path = "/v1/recommendations", params(RecommendQuery), responses((status = 200, body = RecommendResponse), (status = 400), (status = 401)))]
pub async fn storefront(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecommendQuery>,
) -> ApiResult<Response> {
    let writer = super::tracking::authorize(&st, &headers, q.write_key.as_deref())?;
    let req = q.request()?;
    let personal = !matches!(req.strategy, Strategy::Bestsellers | Strategy::MostViewed)
        || q.user_id.is_some()
        || q.anonymous_id.is_some();
    let state = st.clone();
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let customer = crate::app::asking::customer(
                &state,
                &read,
                writer == super::tracking::Writer::Server,
                q.user_id.as_deref(),
                q.user_hash.as_deref(),
                q.anonymous_id.as_deref(),
            )?;
            Ok(answer(&state, &read, customer, &req)?)
        })
        .await?;
    let mut res = Json(out).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if personal {
            "private, max-age=60"
        } else {
            "public, max-age=300"
        }),
    );
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(res)
}
