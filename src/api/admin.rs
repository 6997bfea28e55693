//! The JSON admin API (CONTRACT §3): customers, their events, orders and interests; products
//! with bulk upsert; orders; API keys. Every route sits behind the bearer-key guard in `api`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ApiJson, ApiResult, AppState, Page};
use crate::error::ErrorCode;
use crate::store::records::{
    ApiKeyRecord, Consent, CustomerRecord, EventRecord, KeyKind, OrderRecord, ProductRecord, Role,
};
use crate::store::{InterestRow, now_ms};
use crate::{auth, catalog, customer, order};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list_customers))
        .route("/customers/lookup", get(lookup_customer))
        .route("/customers/{id}", get(get_customer).delete(erase_customer))
        .route("/customers/{id}/export", get(export_customer))
        .route("/customers/{id}/tags", post(change_tags))
        .route("/customers/{id}/events", get(customer_events))
        .route("/customers/{id}/orders", get(customer_orders))
        .route("/customers/{id}/interests", get(customer_interests))
        .route("/products", get(list_products).post(upsert_products))
        .route(
            "/products/{id}",
            get(get_product).put(put_product).delete(delete_product),
        )
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", axum::routing::delete(revoke_key))
        .route("/stats", get(stats))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{name}", axum::routing::delete(delete_user))
        .route("/imports/{kind}", post(super::import::upload))
        .merge(super::analysis::routes())
        .merge(super::segments::routes())
        .merge(super::search::routes())
        .merge(super::coupons::routes())
        .merge(super::recommend::routes())
        .merge(super::campaigns::routes())
}

/// RFC 3339 in UTC with milliseconds.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn iso_opt(ms: Option<i64>) -> Option<String> {
    ms.map(iso)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn unb64(s: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidField, "`cursor` is not a cursor this API gave out").field("cursor")
        })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Page size, 1–500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Text search: an exact user id, anonymous id or email, or part of a name, email or phone.
    pub q: Option<String>,
}

pub(super) fn limit(q: Option<usize>) -> Result<usize, ApiError> {
    match q {
        None => Ok(50),
        Some(n @ 1..=500) => Ok(n),
        Some(_) => Err(ApiError::new(ErrorCode::InvalidField, "`limit` must be between 1 and 500").field("limit")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentResponse {
    pub granted: bool,
    pub at: String,
    pub source: String,
}

fn consent(c: &Option<Consent>) -> Option<ConsentResponse> {
    c.as_ref().map(|c| ConsentResponse {
        granted: c.granted,
        at: iso(c.at),
        source: c.source.clone(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsResponse {
    pub events: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub visits: u32,
    pub orders_count: u32,
    pub total_spent: f64,
    pub first_order_at: Option<String>,
    pub last_order_at: Option<String>,
    pub refunds_count: u32,
    pub refunded_amount: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitiesResponse {
    pub user_ids: Vec<String>,
    pub anonymous_ids: Vec<String>,
    pub emails: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerResponse {
    pub id: u64,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub signed_up_at: Option<String>,
    pub birthday: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub tags: Vec<String>,
    pub email_consent: Option<ConsentResponse>,
    pub sms_consent: Option<ConsentResponse>,
    pub kakao_consent: Option<ConsentResponse>,
    #[schema(value_type = Object)]
    pub traits: BTreeMap<String, Value>,
    pub stats: StatsResponse,
    /// Only on the single-customer route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identities: Option<IdentitiesResponse>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn customer_response(id: u64, r: CustomerRecord, identities: Option<Vec<String>>) -> CustomerResponse {
    let s = r.stats;
    let identities = identities.map(|keys| {
        let pick = |p: &str| {
            keys.iter()
                .filter_map(|k| k.strip_prefix(p))
                .map(str::to_string)
                .collect()
        };
        IdentitiesResponse {
            user_ids: pick("u:"),
            anonymous_ids: pick("a:"),
            emails: pick("e:"),
        }
    });
    CustomerResponse {
        id,
        user_id: r.user_id,
        email: r.email,
        name: r.name,
        phone: r.phone,
        signed_up_at: iso_opt(r.signed_up_at),
        birthday: r.birthday,
        city: r.city,
        country: r.country,
        tags: r.tags,
        email_consent: consent(&r.consents.email),
        sms_consent: consent(&r.consents.sms),
        kakao_consent: consent(&r.consents.kakao),
        traits: r.traits,
        stats: StatsResponse {
            events: s.events,
            first_seen: iso_opt(s.first_seen),
            last_seen: iso_opt(s.last_seen),
            visits: s.visits,
            orders_count: s.orders_count,
            total_spent: s.total_spent,
            first_order_at: iso_opt(s.first_order_at),
            last_order_at: iso_opt(s.last_order_at),
            refunds_count: s.refunds_count,
            refunded_amount: s.refunded_amount,
        },
        identities,
        created_at: iso(r.created_at),
        updated_at: iso(r.updated_at),
    }
}

/// List customers, newest id last; `q` searches.
#[utoipa::path(get, path = "/api/v1/customers", params(ListQuery), responses((status = 200, body = Page<CustomerResponse>)), security(("bearer" = [])))]
pub async fn list_customers(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<CustomerResponse>>> {
    let limit = limit(q.limit)?;
    let after = match &q.cursor {
        Some(c) => c
            .parse::<u64>()
            .map_err(|_| ApiError::new(ErrorCode::InvalidField, "`cursor` must be a customer id").field("cursor"))?,
        None => 0,
    };
    let page = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let (items, next) = customer::list(&s.read()?, after, limit, q.q.as_deref())?;
            Ok(Page {
                items: items
                    .into_iter()
                    .map(|(id, r)| customer_response(id, r, None))
                    .collect(),
                next_cursor: next.map(|n| n.to_string()),
            })
        })
        .await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LookupQuery {
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub email: Option<String>,
}

/// Find the customer a user id, anonymous id or email belongs to.
#[utoipa::path(get, path = "/api/v1/customers/lookup", params(LookupQuery), responses((status = 200, body = CustomerResponse), (status = 404)), security(("bearer" = [])))]
pub async fn lookup_customer(
    State(st): State<AppState>,
    Query(q): Query<LookupQuery>,
) -> ApiResult<Json<CustomerResponse>> {
    let key = if let Some(u) = &q.user_id {
        customer::user_key(u)
    } else if let Some(a) = &q.anonymous_id {
        customer::anon_key(a)
    } else if let Some(e) = &q.email {
        customer::email_key(e)
    } else {
        return Err(ApiError::new(
            ErrorCode::MissingField,
            "one of `user_id`, `anonymous_id`, `email` is required",
        )
        .field("user_id"));
    };
    let res = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let id = read
                .identity(&key)?
                .ok_or_else(|| ApiError::new(ErrorCode::CustomerNotFound, "no customer has that key"))?;
            let (id, rec) = customer::get(&read, id)?;
            Ok(customer_response(id, rec, Some(read.identities_of(id)?)))
        })
        .await?;
    Ok(Json(res))
}

/// One customer, with every identity tied to them. A merged customer's old id answers with the survivor.
#[utoipa::path(get, path = "/api/v1/customers/{id}", params(("id" = u64, Path)), responses((status = 200, body = CustomerResponse), (status = 404)), security(("bearer" = [])))]
pub async fn get_customer(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<CustomerResponse>> {
    let res = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, rec) = customer::get(&read, id)?;
            Ok(customer_response(id, rec, Some(read.identities_of(id)?)))
        })
        .await?;
    Ok(Json(res))
}

/// Erase a person on request (privacy): profile, events, interests and identity keys. Orders are
/// kept for the accounts, detached from the person.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", params(("id" = u64, Path)), responses((status = 200, body = customer::Erased), (status = 404)), security(("bearer" = [])))]
pub async fn erase_customer(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<customer::Erased>> {
    let now = now_ms();
    let erased = st
        .store
        .write(move |tx| -> Result<_, ApiError> {
            let erased = customer::erase(tx, id, now)?;
            // What was sent to the person goes too (the outbox keeps the row, not the address).
            crate::campaign::send::forget(tx, id)?;
            Ok(erased)
        })
        .await?;
    Ok(Json(erased))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TagsRequest {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagsResponse {
    pub tags: Vec<String>,
}

/// Add and remove tags on a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/tags", params(("id" = u64, Path)), request_body = TagsRequest, responses((status = 200, body = TagsResponse), (status = 404)), security(("bearer" = [])))]
pub async fn change_tags(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<TagsRequest>,
) -> ApiResult<Json<TagsResponse>> {
    let now = now_ms();
    let tags = st
        .store
        .write(move |tx| customer::change_tags(tx, id, &req.add, &req.remove, now))
        .await?;
    Ok(Json(TagsResponse { tags }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportResponse {
    pub customer: CustomerResponse,
    pub events: Vec<EventResponse>,
    pub orders: Vec<OrderResponse>,
    pub interests: Vec<InterestResponse>,
}

/// Everything held about a person (privacy access request): profile, identities, every event,
/// orders and interest counts.
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", params(("id" = u64, Path)), responses((status = 200, body = ExportResponse), (status = 404)), security(("bearer" = [])))]
pub async fn export_customer(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<ExportResponse>> {
    let res = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, rec) = customer::get(&read, id)?;
            let mut events = read.customer_events(id, None, usize::MAX)?;
            events.reverse();
            let mut orders = Vec::new();
            for oid in read.order_ids_of(id)? {
                if let Some(o) = read.order(&oid)? {
                    orders.push(order_response(o));
                }
            }
            Ok(ExportResponse {
                customer: customer_response(id, rec, Some(read.identities_of(id)?)),
                events: events.into_iter().map(|(seq, e)| event_response(seq, e)).collect(),
                orders,
                interests: read.interests_of(id)?.into_iter().map(interest_response).collect(),
            })
        })
        .await?;
    Ok(Json(res))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub event: Option<String>,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub message_id: String,
    pub timestamp: String,
    pub received_at: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    #[schema(value_type = Object)]
    pub traits: Value,
    #[schema(value_type = Object)]
    pub context: Value,
}

/// An object field as the client sent it; one that was empty is stored as nothing.
fn object(v: Value) -> Value {
    if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    }
}

pub fn event_response(seq: u64, e: EventRecord) -> EventResponse {
    EventResponse {
        seq,
        kind: e.kind.as_str().to_string(),
        event: e.event,
        name: e.name,
        user_id: e.user_id,
        anonymous_id: e.anonymous_id,
        message_id: e.message_id,
        timestamp: iso(e.timestamp),
        received_at: iso(e.received_at),
        properties: object(e.properties),
        traits: object(e.traits),
        context: object(e.context),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A customer's events, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/events", params(("id" = u64, Path), PageQuery), responses((status = 200, body = Page<EventResponse>)), security(("bearer" = [])))]
pub async fn customer_events(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<EventResponse>>> {
    let limit = limit(q.limit)?;
    let before = match &q.cursor {
        Some(c) => {
            let bad =
                || ApiError::new(ErrorCode::InvalidField, "`cursor` is not a cursor this API gave out").field("cursor");
            let (t, s) = c.split_once('.').ok_or_else(bad)?;
            Some((
                t.parse::<i64>().map_err(|_| bad())?,
                s.parse::<u64>().map_err(|_| bad())?,
            ))
        }
        None => None,
    };
    let page = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, _) = customer::get(&read, id)?;
            let mut items = read.customer_events(id, before, limit + 1)?;
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|(seq, e)| format!("{}.{}", e.timestamp, seq))
            } else {
                None
            };
            Ok(Page {
                items: items.into_iter().map(|(seq, e)| event_response(seq, e)).collect(),
                next_cursor: next,
            })
        })
        .await?;
    Ok(Json(page))
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

/// A customer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", params(("id" = u64, Path)), responses((status = 200, body = Page<OrderResponse>)), security(("bearer" = [])))]
pub async fn customer_orders(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<Page<OrderResponse>>> {
    let items = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, _) = customer::get(&read, id)?;
            let mut out = Vec::new();
            for oid in read.order_ids_of(id)?.into_iter().rev() {
                if let Some(o) = read.order(&oid)? {
                    out.push(order_response(o));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestResponse {
    /// `viewed`, `carted`, `checkout` or `purchased`.
    pub kind: String,
    pub product_id: Option<String>,
    pub category: Option<String>,
    pub count: u32,
    pub last: String,
}

fn interest_response(r: InterestRow) -> InterestResponse {
    let (product_id, category) = match r.item.split_once(':') {
        Some(("p", id)) => (Some(id.to_string()), None),
        Some((_, c)) => (None, Some(c.to_string())),
        None => (None, None),
    };
    InterestResponse {
        kind: r.touch.as_str().to_string(),
        product_id,
        category,
        count: r.count,
        last: iso(r.last),
    }
}

/// What a customer viewed, carted, checked out and bought: counts and last times, all time.
#[utoipa::path(get, path = "/api/v1/customers/{id}/interests", params(("id" = u64, Path)), responses((status = 200, body = Page<InterestResponse>)), security(("bearer" = [])))]
pub async fn customer_interests(
    State(st): State<AppState>,
    Path(id): Path<u64>,
) -> ApiResult<Json<Page<InterestResponse>>> {
    let items = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, _) = customer::get(&read, id)?;
            Ok(read.interests_of(id)?.into_iter().map(interest_response).collect())
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
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
    let now = now_ms();
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
    let now = now_ms();
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

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResponse {
    pub id: String,
    pub name: String,
    /// `admin` (this API) or `write` (tracking and storefront).
    pub kind: String,
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The key itself: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn key_response(r: ApiKeyRecord, key: Option<String>) -> KeyResponse {
    KeyResponse {
        id: r.id,
        name: r.name,
        kind: match r.kind {
            KeyKind::Admin => "admin",
            KeyKind::Write => "write",
        }
        .into(),
        prefix: r.prefix,
        created_at: iso(r.created_at),
        revoked_at: iso_opt(r.revoked_at),
        key,
    }
}

#[utoipa::path(get, path = "/api/v1/keys", responses((status = 200, body = Page<KeyResponse>)), security(("bearer" = [])))]
pub async fn list_keys(State(st): State<AppState>) -> ApiResult<Json<Page<KeyResponse>>> {
    let keys = st.store.call(auth::list_keys).await?;
    Ok(Json(Page {
        items: keys.into_iter().map(|k| key_response(k, None)).collect(),
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    pub name: String,
    /// `admin` or `write`.
    pub kind: String,
}

/// Make a key. The key is in this answer only.
#[utoipa::path(post, path = "/api/v1/keys", request_body = CreateKeyRequest, responses((status = 201, body = KeyResponse)), security(("bearer" = [])))]
pub async fn create_key(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<CreateKeyRequest>,
) -> ApiResult<(StatusCode, Json<KeyResponse>)> {
    let kind = match req.kind.as_str() {
        "admin" => KeyKind::Admin,
        "write" => KeyKind::Write,
        _ => {
            return Err(ApiError::new(ErrorCode::InvalidField, "`kind` must be `admin` or `write`").field("kind"));
        }
    };
    let (key, rec) = auth::create_key(&st.store, &st.keys, req.name, kind).await?;
    Ok(super::created(key_response(rec, Some(key))))
}

/// Revoke a key: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", params(("id" = String, Path)), responses((status = 200, body = KeyResponse)), security(("bearer" = [])))]
pub async fn revoke_key(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<KeyResponse>> {
    let rec = auth::revoke_key(&st.store, &st.keys, id).await?;
    Ok(Json(key_response(rec, None)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreStats {
    /// Customers that exist (merged and erased ones not counted).
    pub customers: u64,
    pub events: u64,
    pub orders: u64,
    pub products: u64,
    pub last_seq: u64,
    pub store_bytes: u64,
    /// The in-memory customer columns are built (after a start they build in the background),
    /// and so is their index of who touched which product and category.
    pub columns_ready: bool,
    pub touches_ready: bool,
    /// The last 90 days of views, carts and checkouts are in memory with their times (for "N
    /// times in a window" rules).
    pub recent_ready: bool,
    /// The search indexes have caught up with the store since the start.
    pub products_index_ready: bool,
    pub interest_index_ready: bool,
}

/// Counts of what the store holds.
#[utoipa::path(get, path = "/api/v1/stats", responses((status = 200, body = StoreStats)), security(("bearer" = [])))]
pub async fn stats(State(st): State<AppState>) -> ApiResult<Json<StoreStats>> {
    let (columns_ready, touches_ready, recent_ready) = {
        let cols = st.columns.read().expect("not poisoned");
        (cols.ready(), cols.touches_ready(), cols.recent.ready())
    };
    let search = st.search.clone();
    let s = st
        .store
        .call(move |s| -> Result<_, crate::store::Error> {
            let r = s.read()?;
            Ok(StoreStats {
                customers: r.rollup(i64::MIN / 2, now_ms() + 1)?.live_customers(),
                events: r.events_count()?,
                orders: r.orders_count()?,
                products: r.products_count()?,
                last_seq: r.last_seq()?,
                store_bytes: s.file_size(),
                columns_ready,
                touches_ready,
                recent_ready,
                products_index_ready: search.products_ready(),
                interest_index_ready: search.interests_ready(),
            })
        })
        .await?;
    Ok(Json(s))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub name: String,
    /// `owner`, `marketer` or `viewer` (a viewer changes nothing).
    pub role: String,
    pub created_at: String,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Owner => "owner",
        Role::Marketer => "marketer",
        Role::Viewer => "viewer",
    }
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Page<UserResponse>)), security(("bearer" = [])))]
pub async fn list_users(State(st): State<AppState>) -> ApiResult<Json<Page<UserResponse>>> {
    let users = st.store.call(|s| s.read()?.users()).await?;
    let items = users
        .into_iter()
        .map(|u| UserResponse {
            name: u.name,
            role: role_name(u.role).into(),
            created_at: iso(u.created_at),
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub name: String,
    /// At least 10 characters.
    pub password: String,
    /// `owner`, `marketer` or `viewer`.
    pub role: String,
}

/// Add a console user.
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUserRequest, responses((status = 201, body = UserResponse), (status = 409)), security(("bearer" = [])))]
pub async fn create_user(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserResponse>)> {
    let role = match req.role.as_str() {
        "owner" => Role::Owner,
        "marketer" => Role::Marketer,
        "viewer" => Role::Viewer,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidField,
                "`role` must be `owner`, `marketer` or `viewer`",
            )
            .field("role"));
        }
    };
    let u = st
        .store
        .call(move |s| auth::create_user(s, &req.name, &req.password, role, now_ms()))
        .await?;
    Ok(super::created(UserResponse {
        name: u.name,
        role: role_name(u.role).into(),
        created_at: iso(u.created_at),
    }))
}

/// Remove a console user; they are signed out at once. The last owner stays.
#[utoipa::path(delete, path = "/api/v1/users/{name}", params(("name" = String, Path)), responses((status = 204), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn delete_user(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    st.store.call(move |s| auth::delete_user(s, &name, now_ms())).await?;
    Ok(StatusCode::NO_CONTENT)
}
