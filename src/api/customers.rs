//! Customers on the admin API (CONTRACT §3): list and look up, a profile, its events, orders and
//! interests, tags, export and erasure.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::catalog::{OrderResponse, order_response};
use super::routes::Routes;
use super::{ApiError, ApiJson, ApiResult, AppState, Page, PageQuery, iso, iso_opt, limit};
use crate::customer;
use crate::error::ErrorCode;
use crate::store::InterestRow;
use crate::store::records::{Consent, CustomerRecord, EventRecord};

pub fn routes() -> Routes {
    Routes::new()
        .route("/customers", get(list_customers))
        .route("/customers/lookup", get(lookup_customer))
        .route("/customers/{id}", get(get_customer).delete(erase_customer))
        .route("/customers/{id}/export", get(export_customer))
        .route("/customers/{id}/tags", post(change_tags))
        .route("/customers/{id}/events", get(customer_events))
        .route("/customers/{id}/orders", get(customer_orders))
        .route("/customers/{id}/interests", get(customer_interests))
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
    Ok(Json(crate::app::erase::person(&st.store, id, st.now_ms()).await?))
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
    let now = st.now_ms();
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
