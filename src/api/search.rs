//! Interest search on the admin API: customers ranked by interest in free text, the products and
//! categories a text matches, and what customers look at most right now.

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::customers::{CustomerResponse, customer_response};
use super::routes::Routes;
use super::{ApiError, ApiResult, AppState};
use crate::error::ErrorCode;
use crate::search::{self, Evidence, ProductHit, trending::Trending};

impl crate::error::HasCode for search::Error {
    fn code(&self) -> ErrorCode {
        ErrorCode::Internal
    }
}

pub fn routes() -> Routes {
    Routes::new()
        .route("/search/interest", get(interest))
        .route("/search/products", get(products))
        .route("/search/trending", get(trending))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InterestQuery {
    /// Free text, Korean or English: a product, a category, a brand or a word ("향수", "running shoes").
    pub q: Option<String>,
    /// Only interest shown in the last N days (counted in the shop's time zone, today included).
    pub days: Option<u32>,
    /// Customers to return, 1–200 (default 20).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestItem {
    pub customer: CustomerResponse,
    /// Interest strength: BM25 over the weighted words of what they touched, times recency.
    pub score: f32,
    /// The matched products and categories they touched, strongest first, with counts per kind.
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestResponse {
    pub q: String,
    pub days: Option<u32>,
    /// Customers whose interests match (with `days`: an upper bound, those who touched anything in
    /// the window).
    pub total: usize,
    /// What the text matched in the catalogue, best first (at most 20).
    pub matched: Vec<ProductHit>,
    pub items: Vec<InterestItem>,
}

fn text(q: Option<String>) -> Result<String, ApiError> {
    let q = q.unwrap_or_default().trim().to_string();
    if q.is_empty() {
        return Err(ApiError::new(ErrorCode::MissingField, "`q` (the text to search for) is required").field("q"));
    }
    if q.chars().count() > 200 {
        return Err(ApiError::new(ErrorCode::InvalidField, "`q` must be at most 200 characters").field("q"));
    }
    Ok(q)
}

fn bounded(name: &str, v: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => {
            Err(ApiError::new(ErrorCode::InvalidField, format!("`{name}` must be between 1 and {max}")).field(name))
        }
    }
}

/// Customers ranked by how strongly they showed interest in `q`, with what they viewed, carted,
/// checked out and bought of it and how often.
#[utoipa::path(get, path = "/api/v1/search/interest", params(InterestQuery), responses((status = 200, body = InterestResponse), (status = 400), (status = 409)), security(("bearer" = [])))]
pub async fn interest(State(st): State<AppState>, Query(q): Query<InterestQuery>) -> ApiResult<Json<InterestResponse>> {
    let text = text(q.q)?;
    let limit = bounded("limit", q.limit, 20, 200)?;
    if let Some(d) = q.days {
        bounded("days", Some(d as usize), 1, 3650)?;
    }
    if !st.search.interests_ready() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the interest index is still catching up after the start: try again in a few seconds",
        ));
    }
    let (search, tz, now, days) = (st.search.clone(), st.tz, st.now_ms(), q.days);
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let since = days.map(|d| crate::segment::eval::window_start(now, tz, d));
            let found = search::interest_search(&search, &read, &text, since, now, limit)?;
            let mut items = Vec::with_capacity(found.customers.len());
            for hit in found.customers {
                if let Some(rec) = read.customer(hit.customer)? {
                    items.push(InterestItem {
                        customer: customer_response(hit.customer, rec, None),
                        score: hit.score,
                        evidence: hit.evidence,
                    });
                }
            }
            Ok(InterestResponse {
                q: text,
                days,
                total: found.total,
                matched: found.matched,
                items,
            })
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductQuery {
    /// Free text, Korean or English.
    pub q: Option<String>,
    /// Hits to return, 1–100 (default 20).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductSearchResponse {
    /// Products (`p:ID`) and category levels (`c:PATH`), best first.
    pub items: Vec<ProductHit>,
}

/// Products and categories matching free text (the pickers of the segment builder use it).
#[utoipa::path(get, path = "/api/v1/search/products", params(ProductQuery), responses((status = 200, body = ProductSearchResponse), (status = 400)), security(("bearer" = [])))]
pub async fn products(
    State(st): State<AppState>,
    Query(q): Query<ProductQuery>,
) -> ApiResult<Json<ProductSearchResponse>> {
    let text = text(q.q)?;
    let limit = bounded("limit", q.limit, 20, 100)?;
    let search = st.search.clone();
    let items = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            search.fresh(&s.read()?)?;
            Ok(search.products.search(&text, limit)?)
        })
        .await?;
    Ok(Json(ProductSearchResponse { items }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TrendingQuery {
    /// The window, in hours before now: 1–168 (default 24).
    pub hours: Option<u32>,
    /// Entries of each list, 1–100 (default 20).
    pub limit: Option<usize>,
}

/// What customers look at most right now: products, categories and words of the last hours'
/// views, carts and purchases, each with its rise against the seven days before (reused for a
/// minute).
#[utoipa::path(get, path = "/api/v1/search/trending", params(TrendingQuery), responses((status = 200, body = Trending), (status = 400)), security(("bearer" = [])))]
pub async fn trending(State(st): State<AppState>, Query(q): Query<TrendingQuery>) -> ApiResult<Json<Trending>> {
    let hours = bounded("hours", q.hours.map(|h| h as usize), 24, 168)? as u32;
    let limit = bounded("limit", q.limit, 20, 100)?;
    let (now, search) = (st.now_ms(), st.search.clone());
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> { Ok(search.trending(&s.read()?, now, hours, limit)?) })
        .await?;
    Ok(Json(out))
}
