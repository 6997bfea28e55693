//! The catalogue and orders on the admin API (CONTRACT §3): products with bulk upsert, and
//! orders with their lines and refunds.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::routes::Routes;
use super::{ApiError, ApiJson, ApiResult, AppState, Page, PageQuery, b64, iso, limit, unb64};
use crate::error::ErrorCode;
use crate::store::records::{OrderRecord, ProductRecord};
use crate::{catalog, order};

pub fn routes() -> Routes {
    Routes::new()
        .route("/products", get(list_products).post(upsert_products))
        .route(
            "/products/{id}",
            get(get_product).put(put_product).delete(delete_product),
        )
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineResponse {
    pub product_id: String,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub price: f64,
    pub quantity: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResponse {
    pub at: String,
    pub amount: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResponse {
    pub order_id: String,
    pub customer_id: u64,
    pub placed_at: String,
    /// `completed`, `partially_refunded` or `refunded`.
    pub status: String,
    pub currency: Option<String>,
    pub total: f64,
    pub revenue: Option<f64>,
    pub discount: f64,
    pub shipping: Option<f64>,
    pub tax: Option<f64>,
    pub coupon: Option<String>,
    pub lines: Vec<OrderLineResponse>,
    pub refunds: Vec<RefundResponse>,
    pub refunded_amount: f64,
}

pub fn order_response(o: OrderRecord) -> OrderResponse {
    let refunded_amount = o.refunded_amount();
    OrderResponse {
        order_id: o.order_id,
        customer_id: o.customer,
        placed_at: iso(o.placed_at),
        status: serde_json::to_value(o.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        currency: o.currency,
        total: o.total,
        revenue: o.revenue,
        discount: o.discount,
        shipping: o.shipping,
        tax: o.tax,
        coupon: o.coupon,
        lines: o
            .lines
            .into_iter()
            .map(|l| OrderLineResponse {
                product_id: l.product_id,
                sku: l.sku,
                name: l.name,
                category: l.category,
                price: l.price,
                quantity: l.quantity,
            })
            .collect(),
        refunds: o
            .refunds
            .into_iter()
            .map(|r| RefundResponse {
                at: iso(r.at),
                amount: r.amount,
            })
            .collect(),
        refunded_amount,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductResponse {
    pub id: String,
    pub name: String,
    pub sku: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    pub price: Option<f64>,
    pub sale_price: Option<f64>,
    pub currency: Option<String>,
    pub image_url: Option<String>,
    pub url: Option<String>,
    pub in_stock: bool,
    pub hidden: bool,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// `api`, `import` or `event`.
    pub source: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: BTreeMap<String, Value>,
}

pub fn product_response(p: ProductRecord) -> ProductResponse {
    ProductResponse {
        id: p.id,
        name: p.name,
        sku: p.sku,
        category: p.category,
        brand: p.brand,
        price: p.price,
        sale_price: p.sale_price,
        currency: p.currency,
        image_url: p.image_url,
        url: p.url,
        in_stock: p.in_stock,
        hidden: p.hidden,
        description: p.description,
        tags: p.tags,
        source: p.source,
        created_at: iso(p.created_at),
        updated_at: iso(p.updated_at),
        extra: p.extra,
    }
}

/// The catalogue in id order.
#[utoipa::path(get, path = "/api/v1/products", params(PageQuery), responses((status = 200, body = Page<ProductResponse>)), security(("bearer" = [])))]
pub async fn list_products(
    State(st): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<ProductResponse>>> {
    let limit = limit(q.limit)?;
    let after = match &q.cursor {
        Some(c) => unb64(c)?,
        None => String::new(),
    };
    let page = st
        .store
        .call(move |s| -> Result<_, catalog::Error> {
            let mut items = s.read()?.products_after(&after, limit + 1)?;
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|p| b64(&p.id))
            } else {
                None
            };
            Ok(Page {
                items: items.into_iter().map(product_response).collect(),
                next_cursor: next,
            })
        })
        .await?;
    Ok(Json(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertResponse {
    pub upserted: usize,
    pub created: usize,
}

/// Bulk upsert: a list of products (or one). Fields left out keep their stored value. All or nothing.
#[utoipa::path(post, path = "/api/v1/products", request_body = Vec<catalog::ProductInput>, responses((status = 200, body = UpsertResponse), (status = 400)), security(("bearer" = [])))]
pub async fn upsert_products(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<UpsertResponse>> {
    let items: Vec<catalog::ProductInput> = match body {
        Value::Array(_) => super::from_value(body)?,
        one => vec![super::from_value(one)?],
    };
    for (i, p) in items.iter().enumerate() {
        p.validate(&format!("[{i}]."))?;
    }
    let n = items.len();
    let now = st.now_ms();
    let created = st
        .store
        .write(move |tx| catalog::upsert(tx, &items, "api", now))
        .await?;
    Ok(Json(UpsertResponse { upserted: n, created }))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", params(("id" = String, Path)), responses((status = 200, body = ProductResponse), (status = 404)), security(("bearer" = [])))]
pub async fn get_product(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<ProductResponse>> {
    let p = st.store.call(move |s| catalog::get(&s.read()?, &id)).await?;
    Ok(Json(product_response(p)))
}

/// Create or update one product; the path's id wins over the body's.
#[utoipa::path(put, path = "/api/v1/products/{id}", params(("id" = String, Path)), request_body = catalog::ProductInput, responses((status = 200, body = ProductResponse)), security(("bearer" = [])))]
pub async fn put_product(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<Value>,
) -> ApiResult<Json<ProductResponse>> {
    if let Value::Object(m) = &mut body {
        m.insert("id".into(), Value::String(id.clone()));
    }
    let input: catalog::ProductInput = super::from_value(body)?;
    input.validate("")?;
    let now = st.now_ms();
    let items = vec![input];
    st.store
        .write(move |tx| catalog::upsert(tx, &items, "api", now))
        .await?;
    get_product(State(st), Path(id)).await
}

#[utoipa::path(delete, path = "/api/v1/products/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete_product(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.store.write(move |tx| catalog::delete(tx, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OrdersQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    /// Only orders placed at or after this time (RFC 3339).
    pub from: Option<String>,
}

/// All orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", params(OrdersQuery), responses((status = 200, body = Page<OrderResponse>)), security(("bearer" = [])))]
pub async fn list_orders(
    State(st): State<AppState>,
    Query(q): Query<OrdersQuery>,
) -> ApiResult<Json<Page<OrderResponse>>> {
    let limit = limit(q.limit)?;
    let before = match &q.cursor {
        Some(c) => {
            let raw = unb64(c)?;
            let (t, id) = raw
                .split_once(':')
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidField, "bad cursor").field("cursor"))?;
            Some((
                t.parse::<i64>()
                    .map_err(|_| ApiError::new(ErrorCode::InvalidField, "bad cursor").field("cursor"))?,
                id.to_string(),
            ))
        }
        None => None,
    };
    let from = match &q.from {
        Some(f) => Some(crate::value::parse_time(f).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidField, "`from` must be an RFC 3339 date-time").field("from")
        })?),
        None => None,
    };
    let page = st
        .store
        .call(move |s| -> Result<_, order::Error> {
            let mut items = s.read()?.orders_before(before, from, limit + 1)?;
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|o| b64(&format!("{}:{}", o.placed_at, o.order_id)))
            } else {
                None
            };
            Ok(Page {
                items: items.into_iter().map(order_response).collect(),
                next_cursor: next,
            })
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", params(("id" = String, Path)), responses((status = 200, body = OrderResponse), (status = 404)), security(("bearer" = [])))]
pub async fn get_order(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<OrderResponse>> {
    let o = st.store.call(move |s| order::get(&s.read()?, &id)).await?;
    Ok(Json(order_response(o)))
}
