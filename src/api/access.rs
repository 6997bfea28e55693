//! Who may ask, on the admin API: API keys and console users, and the store's counts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::routes::Routes;
use super::{ApiError, ApiJson, ApiResult, AppState, Page, iso, iso_opt};
use crate::auth;
use crate::error::ErrorCode;
use crate::store::records::{ApiKeyRecord, KeyKind, KeyScope, Role};

pub fn routes() -> Routes {
    Routes::new()
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", axum::routing::delete(revoke_key))
        .route("/stats", get(stats))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{name}", axum::routing::delete(delete_user))
        .route("/settings/storefront", get(get_storefront).put(put_storefront))
}

/// The storefront's settings as the API shows them: whether an identity secret is set, never the
/// secret itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorefrontResponse {
    /// A secret is set (stored here, or given to the server with `--identity-secret`).
    pub identity_secret_set: bool,
    /// The server was started with `--identity-secret`, which wins over the stored one.
    pub identity_secret_from_server: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StorefrontRequest {
    /// The secret `userHash` is the HMAC-SHA256 of a user id under (at least 16 characters);
    /// `null` removes it.
    pub identity_secret: Option<String>,
}

async fn storefront_response(st: &AppState) -> ApiResult<StorefrontResponse> {
    let stored = st
        .store
        .call(|s| auth::StorefrontSettings::load(&s.read()?))
        .await?
        .identity_secret
        .is_some();
    Ok(StorefrontResponse {
        identity_secret_set: stored || st.identity_secret.is_some(),
        identity_secret_from_server: st.identity_secret.is_some(),
    })
}

/// Whether the storefront's identity secret is set (CONTRACT §5 "Who is asking").
#[utoipa::path(get, path = "/api/v1/settings/storefront", responses((status = 200, body = StorefrontResponse)), security(("bearer" = [])))]
pub async fn get_storefront(State(st): State<AppState>) -> ApiResult<Json<StorefrontResponse>> {
    Ok(Json(storefront_response(&st).await?))
}

/// Sets the storefront's identity secret: a `userHash` made with it lets a storefront request
/// speak for that user. Never shown back.
#[utoipa::path(put, path = "/api/v1/settings/storefront", request_body = StorefrontRequest, responses((status = 200, body = StorefrontResponse), (status = 400)), security(("bearer" = [])))]
pub async fn put_storefront(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<StorefrontRequest>,
) -> ApiResult<Json<StorefrontResponse>> {
    if req.identity_secret.as_ref().is_some_and(|s| s.chars().count() < 16) {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "`identity_secret` must be at least 16 characters",
        )
        .field("identity_secret"));
    }
    let settings = auth::StorefrontSettings {
        identity_secret: req.identity_secret,
    };
    st.store
        .write(move |tx| auth::StorefrontSettings::save(tx, &settings))
        .await?;
    Ok(Json(storefront_response(&st).await?))
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
    /// Admin keys: `master` (everything), `full` (everything but `/keys`, `/users` and
    /// `/settings/*`) or `read` (GET only, and not those).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The key itself: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn key_response(r: ApiKeyRecord, key: Option<String>) -> KeyResponse {
    let scope = (r.kind == KeyKind::Admin).then(|| scope_name(auth::scope_of(&r)).to_string());
    KeyResponse {
        id: r.id,
        name: r.name,
        kind: match r.kind {
            KeyKind::Admin => "admin",
            KeyKind::Write => "write",
            KeyKind::ServerWrite => "server_write",
        }
        .into(),
        scope,
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

fn scope_name(s: KeyScope) -> &'static str {
    match s {
        KeyScope::Master => "master",
        KeyScope::Full => "full",
        KeyScope::Read => "read",
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    pub name: String,
    /// `admin`, `write` (the public key a storefront's pages carry) or `server_write` (a secret
    /// key for the shop's backend, trusted like a valid `userHash`).
    pub kind: String,
    /// Admin keys: `full` (the default: everything but `/keys`, `/users` and `/settings/*`, which
    /// need the master key) or `read` (GET only).
    #[serde(default)]
    pub scope: Option<String>,
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
        "server_write" => KeyKind::ServerWrite,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidField,
                "`kind` must be `admin`, `write` or `server_write`",
            )
            .field("kind"));
        }
    };
    let scope = match req.scope.as_deref() {
        None | Some("full") => KeyScope::Full,
        Some("read") => KeyScope::Read,
        Some(_) => {
            return Err(ApiError::new(ErrorCode::InvalidField, "`scope` must be `full` or `read`").field("scope"));
        }
    };
    let (key, rec) = auth::create_key(&st.store, &st.keys, req.name, kind, scope).await?;
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
                customers: r.rollup(i64::MIN / 2, s.now_ms() + 1)?.live_customers(),
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
        .call(move |s| auth::create_user(s, &req.name, &req.password, role, s.now_ms()))
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
    st.store.call(move |s| auth::delete_user(s, &name, s.now_ms())).await?;
    Ok(StatusCode::NO_CONTENT)
}
