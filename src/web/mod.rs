//! The admin console: server-rendered pages (askama, `templates/`), signed-in sessions in redb,
//! CSRF tokens on every form, Korean and English labels. Pages call the same domain functions
//! as the JSON API. Forms post back and redirect; JavaScript only enhances.

mod analysis;
mod campaigns;
mod chart;
mod choices;
mod coupons;
mod frame;
mod import;
mod onsite;
mod pages;
mod recommend;
mod reports;
mod rule_words;
mod search;
mod segments;
mod send_settings;
mod settings;
mod shop;

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{self, LoginError};
use crate::error::{ErrorCode, HasCode};
use crate::i18n;
pub use crate::i18n::{Catalog, Lang};
use crate::store::records::{Role, SessionRecord, UserRecord};

const SESSION_COOKIE: &str = "dangol_session";
const LOGIN_CSRF_COOKIE: &str = "dangol_login_csrf";

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/static/{file}", get(static_file))
        .route("/", get(pages::dashboard))
        .route("/customers", get(pages::customers))
        .route("/customers/{id}", get(pages::customer))
        .route("/customers/{id}/tags", post(pages::add_tag))
        .route("/customers/{id}/tags/remove", post(pages::remove_tag))
        .merge(analysis::routes())
        .merge(segments::routes())
        .merge(coupons::routes())
        .merge(campaigns::routes())
        .merge(onsite::routes())
        .merge(reports::routes())
        .merge(send_settings::routes())
        .merge(search::routes())
        .merge(settings::routes())
        .merge(import::routes())
        .merge(shop::routes())
        .layer(axum::middleware::from_fn_with_state(state, protect))
}

/// What the console's pages may load: its own scripts and styles (inline style attributes too),
/// shop images over https, nothing framing it (clickjacking), forms posting only to itself.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// Every console answer: no framing, no MIME sniffing, no full URLs in Referer, the CSP above; its
/// cookies `Secure` when the console is reached over HTTPS (a proxy's `X-Forwarded-Proto`) or the
/// shop's `public_url` is https (OWASP's headers cheat sheet).
async fn protect(State(st): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page that may be framed by the console itself (the message preview) says so.
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    if h.contains_key(header::SET_COOKIE) {
        let secure = https || {
            let store = st.store.clone();
            tokio::task::spawn_blocking(move || {
                store
                    .read()
                    .and_then(|r| crate::campaign::settings::Settings::load(&r))
                    .is_ok_and(|s| s.public_url.starts_with("https://"))
            })
            .await
            .unwrap_or(false)
        };
        if secure {
            let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
            h.remove(header::SET_COOKIE);
            for c in cookies {
                let with = format!("{}; Secure", c.to_str().unwrap_or_default());
                h.append(header::SET_COOKIE, HeaderValue::from_str(&with).unwrap_or(c));
            }
        }
    }
    res
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub use crate::value::web_url;

/// The language of a request: the `dangol_lang` cookie, else Accept-Language, else Korean.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    let accept = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Lang::negotiate(cookie(headers, "dangol_lang").as_deref(), accept)
}

fn set_cookie(name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}"
    ))
    .expect("cookie values are url-safe")
}

/// What every page knows: who is signed in, in which language, with which form token.
pub struct Staff {
    pub user: UserRecord,
    pub session: SessionRecord,
    pub lang: Lang,
    pub t: &'static Catalog,
    pub path: String,
}

impl Staff {
    pub fn can_change(&self) -> bool {
        self.user.role != Role::Viewer
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let to_login = || Redirect::to(&format!("/login?next={}", urlencode(&path))).into_response();
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let found = state
            .store
            .call(move |s| auth::session(s, &secret, s.now_ms()))
            .await
            .map_err(|e| failed(lang, &e))?;
        match found {
            Some((session, user)) => Ok(Staff {
                user,
                session,
                lang,
                t: Catalog::for_lang(lang),
                path,
            }),
            None => Err(to_login()),
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Only a path of this site may be a redirect target (no open redirects, OWASP). Browsers drop
/// tabs, line breaks and spaces from a URL before reading it (`/\t/evil.example` is
/// `//evil.example`, another site), so those go first; what is left must be a path (`/x`, not
/// `//host` or `/\host`) of printable ASCII, which is also always a valid `Location` header.
fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next else { return "/".into() };
    let path: String = next.chars().filter(|c| !c.is_control() && !c.is_whitespace()).collect();
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.bytes().all(|b| b.is_ascii_graphic());
    if local { path } else { "/".into() }
}

/// The customer `q` names: a customer id, else a user id, anonymous id or email.
pub fn find_customer(read: &crate::store::ReadTx, q: &str) -> Result<Option<u64>, crate::customer::Error> {
    use crate::customer::Error as E;
    let q = q.trim();
    if let Ok(id) = q.parse::<u64>() {
        match crate::customer::get(read, id) {
            Ok((id, _)) => return Ok(Some(id)),
            Err(E::Store(e)) => return Err(E::Store(e)),
            Err(_) => {}
        }
    }
    match crate::customer::find_by_key(read, q)? {
        Some(id) => match crate::customer::get(read, id) {
            Ok((id, _)) => Ok(Some(id)),
            Err(E::Store(e)) => Err(E::Store(e)),
            Err(_) => Ok(None),
        },
        None => Ok(None),
    }
}

/// The refusal of a change from a viewer or without the session's form token, if it is one.
pub fn refuse_change(staff: &Staff, csrf: &str) -> Option<Response> {
    if !constant_eq(csrf, &staff.session.csrf) {
        return Some(error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.csrf")));
    }
    if !staff.can_change() {
        return Some(error_page(
            staff.lang,
            StatusCode::FORBIDDEN,
            staff.t.get("error.forbidden"),
        ));
    }
    None
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Catalog,
    lang: &'a str,
    message: &'a str,
    request_id: String,
}

pub fn error_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        t: Catalog::for_lang(lang),
        lang: lang.code(),
        message,
        request_id: crate::app::current_request_id(),
    };
    (status, render(&page)).into_response()
}

/// The one way an error reaches a person in the console, as the JSON API answers it: the page's
/// status comes from the error's code (`HasCode`, the table in `error`); an internal error is
/// logged once, with the request id, and the page shows only "internal error" and that id.
pub fn failed(lang: Lang, e: &(impl HasCode + std::fmt::Display + ?Sized)) -> Response {
    let code = e.code();
    if code == ErrorCode::Internal {
        tracing::error!(request_id = %crate::app::current_request_id(), error = %e, "internal error");
        return error_page(lang, code.status(), Catalog::for_lang(lang).get("error.internal"));
    }
    error_page(lang, code.status(), &e.to_string())
}

/// The same for the console's own JSON (the segment builder's fetches):
/// `{"error":{"message","request_id"}}` with the code's status.
pub fn failed_json(e: &(impl HasCode + std::fmt::Display + ?Sized)) -> Response {
    let (code, request_id) = (e.code(), crate::app::current_request_id());
    let message = if code == ErrorCode::Internal {
        tracing::error!(request_id = %request_id, error = %e, "internal error");
        "internal error".to_string()
    } else {
        e.to_string()
    };
    let body = serde_json::json!({"error": {"message": message, "request_id": request_id}});
    (code.status(), axum::Json(body)).into_response()
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, request_id = crate::app::current_request_id(), "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage<'a> {
    t: &'static Catalog,
    lang: &'a str,
    csrf: String,
    next: String,
    error: Option<String>,
    name: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let lang = lang_of(&headers);
    let csrf = random_token();
    let page = LoginPage {
        t: Catalog::for_lang(lang),
        lang: lang.code(),
        csrf: csrf.clone(),
        next: safe_next(q.next.as_deref()),
        error: None,
        name: String::new(),
    };
    let mut res = render(&page);
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600));
    res
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// Password checks (argon2id: tens of milliseconds and 19 MB each) under way at once: as many as
/// the machine has cores, and one per address, so that a flood of sign-ins slows only itself.
struct PasswordChecks {
    all: tokio::sync::Semaphore,
    by_address: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, std::sync::Arc<tokio::sync::Semaphore>>>,
}

fn password_checks() -> &'static PasswordChecks {
    static CHECKS: std::sync::OnceLock<PasswordChecks> = std::sync::OnceLock::new();
    CHECKS.get_or_init(|| PasswordChecks {
        all: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        by_address: Default::default(),
    })
}

/// Runs `check` when this address has no other check under way and a core is free.
async fn one_check_at_a_time<R>(from: std::net::IpAddr, check: impl Future<Output = R>) -> R {
    let checks = password_checks();
    let mine = checks
        .by_address
        .lock()
        .expect("not poisoned")
        .entry(from)
        .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)))
        .clone();
    let out = {
        let _address = mine.acquire().await.expect("never closed");
        let _core = checks.all.acquire().await.expect("never closed");
        check.await
    };
    let mut by_address = checks.by_address.lock().expect("not poisoned");
    drop(mine);
    if by_address
        .get(&from)
        .is_some_and(|s| std::sync::Arc::strong_count(s) == 1)
    {
        by_address.remove(&from);
    }
    out
}

async fn login_submit(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    let t = Catalog::for_lang(lang);
    // The sign-in form has no session yet: its token is checked against a cookie (double submit).
    if cookie(&headers, LOGIN_CSRF_COOKIE).is_none_or(|c| !constant_eq(&c, &form.csrf)) {
        return error_page(lang, StatusCode::FORBIDDEN, t.get("error.csrf"));
    }
    // No user has a longer name: refused before any work (a guess never costs a password check).
    if form.name.trim().chars().count() > auth::MAX_NAME {
        return error_page(lang, StatusCode::BAD_REQUEST, t.get("auth.wrong"));
    }
    let (name, password, from) = (form.name.clone(), form.password.clone(), peer.ip());
    let result = one_check_at_a_time(
        from,
        st.store.call(move |s| {
            Ok::<_, crate::store::Error>(auth::login(s, &name, &password, &from.to_string(), s.now_ms()))
        }),
    )
    .await;
    let error = match result {
        Ok(Ok(session)) => {
            let mut res = Redirect::to(&safe_next(form.next.as_deref())).into_response();
            let h = res.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &session.secret, auth::SESSION_MS / 1000),
            );
            h.append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", 0));
            return res;
        }
        Ok(Err(LoginError::Wrong { failures })) => {
            // Each failure in a row answers more slowly.
            tokio::time::sleep(std::time::Duration::from_millis(250 * u64::from(failures.min(8)))).await;
            t.get("auth.wrong").to_string()
        }
        Ok(Err(LoginError::Locked { until })) => format!("{} {}", t.get("auth.locked"), i18n::datetime(until, st.tz)),
        Ok(Err(LoginError::Store(e))) | Err(e) => {
            return failed(lang, &e);
        }
    };
    let page = LoginPage {
        t,
        lang: lang.code(),
        csrf: form.csrf,
        next: safe_next(form.next.as_deref()),
        error: Some(error),
        name: form.name,
    };
    (StatusCode::UNAUTHORIZED, render(&page)).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(st): State<AppState>, staff: Staff, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if !constant_eq(&form.csrf, &staff.session.csrf) {
        return error_page(staff.lang, StatusCode::FORBIDDEN, staff.t.get("error.csrf"));
    }
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        let _ = st.store.call(move |s| auth::logout(s, &secret)).await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    res
}

async fn set_lang(axum::extract::Path(code): axum::extract::Path<String>, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Ko);
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie("dangol_lang", lang.code(), 365 * 24 * 3600),
    );
    res
}

/// Static files, embedded in the binary so that the one file runs anywhere.
async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind): (&'static str, &str) = match file.as_str() {
        "app.css" => (include_str!("../../static/app.css"), "text/css; charset=utf-8"),
        "app.js" => (include_str!("../../static/app.js"), "text/javascript; charset=utf-8"),
        "segments.js" => (
            include_str!("../../static/segments.js"),
            "text/javascript; charset=utf-8",
        ),
        "campaign.js" => (
            include_str!("../../static/campaign.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A CSV download: a UTF-8 byte order mark first, so that Excel (which Korean shops open CSVs
/// with) reads Korean rather than mojibake.
pub fn csv_response(name: &str, rows: Vec<Vec<String>>) -> Response {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let width = rows.first().map_or(0, Vec::len);
    for mut row in rows {
        // A shorter row (a young cohort's) is padded to the header's width.
        row.resize(width.max(row.len()), String::new());
        // Writing into memory cannot fail.
        // Text is kept from being read as a formula; numbers are written as they are.
        w.write_record(row.iter().map(|c| match c.parse::<f64>() {
            Ok(_) => c.clone(),
            Err(_) => crate::value::csv_cell(c).into_owned(),
        }))
        .expect("in memory");
    }
    let body = w.into_inner().expect("in memory");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}
