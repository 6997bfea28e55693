//! The Settings page: console users and API keys. Everybody signed in sees it; only owners
//! change it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::i18n;
use super::pages::Frame;
use super::{Staff, error_page, refuse_change, render};
use crate::api::AppState;
use crate::auth;
use crate::store::now_ms;
use crate::store::records::{KeyKind, Role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/users", post(add_user))
        .route("/settings/users/{name}/remove", post(remove_user))
        .route("/settings/keys", post(add_key))
        .route("/settings/keys/{id}/revoke", post(revoke_key))
}

pub struct UserRow {
    pub name: String,
    pub role: &'static str,
    pub created: String,
    pub is_me: bool,
}

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub prefix: String,
    pub created: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    f: Frame,
    owner: bool,
    users: Vec<UserRow>,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    error: Option<String>,
}

fn role_label(staff: &Staff, r: Role) -> &'static str {
    staff.t.get(match r {
        Role::Owner => "settings.role_owner",
        Role::Marketer => "settings.role_marketer",
        Role::Viewer => "settings.role_viewer",
    })
}

async fn page(st: &AppState, staff: &Staff, new_key: Option<String>, error: Option<String>) -> Response {
    let tz = st.tz;
    let data = st
        .store
        .call(|s| -> Result<_, auth::Error> { Ok((s.read()?.users()?, auth::list_keys(s)?)) })
        .await;
    let (users, keys) = match data {
        Ok(d) => d,
        Err(e) => return error_page(staff.lang, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let page = SettingsPage {
        f: Frame::new(staff, "settings"),
        owner: staff.user.role == Role::Owner,
        users: users
            .into_iter()
            .map(|u| UserRow {
                is_me: u.name == staff.user.name,
                role: role_label(staff, u.role),
                created: i18n::date(u.created_at, tz),
                name: u.name,
            })
            .collect(),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                kind: staff.t.get(match k.kind {
                    KeyKind::Admin => "settings.kind_admin",
                    KeyKind::Write => "settings.kind_write",
                }),
                created: i18n::date(k.created_at, tz),
                revoked: k.revoked_at.map(|t| i18n::date(t, tz)),
                id: k.id,
                name: k.name,
                prefix: k.prefix,
            })
            .collect(),
        new_key,
        error: error.clone(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, render(&page)).into_response()
}

async fn show(State(st): State<AppState>, staff: Staff) -> Response {
    page(&st, &staff, None, None).await
}

/// Owners only, with the session's form token.
fn refuse(staff: &Staff, csrf: &str) -> Option<Response> {
    refuse_change(staff, csrf).or_else(|| {
        (staff.user.role != Role::Owner)
            .then(|| error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("settings.owners_only")))
    })
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    name: String,
    password: String,
    role: String,
}

async fn add_user(State(st): State<AppState>, staff: Staff, Form(form): Form<UserForm>) -> Response {
    if let Some(r) = refuse(&staff, &form.csrf) {
        return r;
    }
    let role = match form.role.as_str() {
        "owner" => Role::Owner,
        "marketer" => Role::Marketer,
        _ => Role::Viewer,
    };
    let res = st
        .store
        .call(move |s| Ok::<_, crate::store::Error>(auth::create_user(s, &form.name, &form.password, role, now_ms())))
        .await;
    match res {
        Ok(Ok(_)) => Redirect::to("/settings").into_response(),
        Ok(Err(e)) => page(&st, &staff, None, Some(e.to_string())).await,
        Err(e) => error_page(staff.lang, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn remove_user(
    State(st): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = refuse(&staff, &form.csrf) {
        return r;
    }
    let res = st
        .store
        .call(move |s| Ok::<_, crate::store::Error>(auth::delete_user(s, &name, now_ms())))
        .await;
    match res {
        Ok(Ok(())) => Redirect::to("/settings").into_response(),
        Ok(Err(e)) => page(&st, &staff, None, Some(e.to_string())).await,
        Err(e) => error_page(staff.lang, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrf: String,
    name: String,
    kind: String,
}

/// Makes a key and shows it on the page this once (so this answer is not a redirect).
async fn add_key(State(st): State<AppState>, staff: Staff, Form(form): Form<KeyForm>) -> Response {
    if let Some(r) = refuse(&staff, &form.csrf) {
        return r;
    }
    let kind = if form.kind == "admin" {
        KeyKind::Admin
    } else {
        KeyKind::Write
    };
    match auth::create_key(&st.store, &st.keys, form.name, kind).await {
        Ok((key, _)) => page(&st, &staff, Some(key), None).await,
        Err(e) => page(&st, &staff, None, Some(e.to_string())).await,
    }
}

async fn revoke_key(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = refuse(&staff, &form.csrf) {
        return r;
    }
    match auth::revoke_key(&st.store, &st.keys, id).await {
        Ok(_) => Redirect::to("/settings").into_response(),
        Err(e) => page(&st, &staff, None, Some(e.to_string())).await,
    }
}
