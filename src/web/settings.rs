//! The Settings page: console users, API keys and the job runner's jobs. Everybody signed in
//! sees it; only owners change it or run a job.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::frame::Frame;
use super::i18n;
use super::{Staff, error_page, failed, refuse_change, render};
use crate::app::AppState;
use crate::auth;
use crate::jobs::{JobError, JobView, Outcome, Trigger};
use crate::store::records::{KeyKind, KeyScope, Role};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/users", post(add_user))
        .route("/settings/users/{name}/remove", post(remove_user))
        .route("/settings/keys", post(add_key))
        .route("/settings/keys/{id}/revoke", post(revoke_key))
        .route("/settings/jobs/{name}/run", post(run_job))
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

/// A job's last run.
pub struct RunRow {
    pub at: String,
    pub trigger: &'static str,
    pub duration: String,
    pub ok: bool,
    pub outcome: &'static str,
    pub message: String,
}

pub struct JobRow {
    pub name: String,
    /// Its name in words.
    pub label: String,
    pub about: String,
    pub schedule: String,
    pub next_due: String,
    pub running_since: Option<String>,
    pub runs: String,
    pub interrupted: u64,
    pub last: Option<RunRow>,
}

/// How a job run from this page went, shown above the page after the redirect. The redirect only
/// names the job (`/settings?ran=analysis`); the outcome is read from the job's last run.
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    f: Frame,
    owner: bool,
    users: Vec<UserRow>,
    keys: Vec<KeyRow>,
    jobs: Vec<JobRow>,
    new_key: Option<String>,
    error: Option<String>,
    flash: Option<Flash>,
}

fn role_label(staff: &Staff, r: Role) -> &'static str {
    staff.t.get(match r {
        Role::Owner => "settings.role_owner",
        Role::Marketer => "settings.role_marketer",
        Role::Viewer => "settings.role_viewer",
    })
}

/// An RFC 3339 time from the runner (already in the shop's time zone) as the console shows times.
fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

fn job_row(staff: &Staff, tz: chrono_tz::Tz, j: JobView) -> JobRow {
    let t = staff.t;
    JobRow {
        // The runner describes its jobs in English; a catalogue label takes over where there is one.
        about: t
            .find(&format!("jobs.about_{}", j.name))
            .unwrap_or(&j.about)
            .to_string(),
        schedule: match &j.daily_at {
            Some(time) => t.get("jobs.daily_at").replace("{time}", time),
            None => j.schedule,
        },
        next_due: local_time(&j.next_due),
        running_since: j.running_since.as_deref().map(local_time),
        runs: i18n::number(j.runs as f64, 0),
        interrupted: j.interrupted,
        last: j.last.map(|r| RunRow {
            at: i18n::datetime(r.started_at, tz),
            trigger: t.get(match r.trigger {
                Trigger::Schedule => "jobs.trigger_schedule",
                Trigger::CatchUp => "jobs.trigger_catch_up",
                Trigger::Redo => "jobs.trigger_redo",
                Trigger::Manual => "jobs.trigger_manual",
            }),
            duration: i18n::duration(r.duration_ms),
            ok: r.outcome == Outcome::Ok,
            outcome: t.get(match r.outcome {
                Outcome::Ok => "jobs.ok",
                Outcome::Failed => "jobs.failed",
            }),
            message: run_words(t, &j.name, &r),
        }),
        label: t.find(&format!("jobs.name_{}", j.name)).unwrap_or(&j.name).to_string(),
        name: j.name,
    }
}

/// What a run did in the reader's words: the job's `jobs.done_{name}` line filled with the run's
/// figures (and the lines of the figures only some runs have); a failed run, or one without
/// figures (recorded before they were kept), says its message as the job wrote it.
fn run_words(t: &crate::i18n::Catalog, job: &str, run: &crate::jobs::JobRun) -> String {
    let fill = |line: &str| {
        run.figures
            .iter()
            .fold(line.to_string(), |line, (k, v)| line.replace(&format!("{{{k}}}"), v))
    };
    match t.find(&format!("jobs.done_{job}")) {
        Some(line) if run.outcome == Outcome::Ok && !run.figures.is_empty() => {
            let mut words = fill(line);
            for (figure, key) in [
                (
                    "models",
                    format!("jobs.models_{}", run.figures.get("models").map_or("", String::as_str)),
                ),
                ("tags_added", "jobs.done_segments_tags".to_string()),
                ("skipped", "jobs.done_segments_skipped".to_string()),
            ] {
                if let (true, Some(more)) = (run.figures.contains_key(figure), t.find(&key)) {
                    words.push_str(&fill(more));
                }
            }
            words
        }
        _ => run.message.clone(),
    }
}

/// The page; `ran` names the job just run from it, whose last run shows as a flash.
async fn page(
    st: &AppState,
    staff: &Staff,
    new_key: Option<String>,
    error: Option<String>,
    ran: Option<String>,
) -> Response {
    let tz = st.tz;
    let runner = st.jobs.clone();
    let data = st
        .store
        .call(move |s| -> Result<_, auth::Error> { Ok((s.read()?.users()?, auth::list_keys(s)?, runner.list()?)) })
        .await;
    let (users, keys, jobs) = match data {
        Ok(d) => d,
        Err(e) => return failed(staff.lang, &e),
    };
    let jobs: Vec<JobRow> = jobs.into_iter().map(|j| job_row(staff, tz, j)).collect();
    // "Job finished: analysis · ok · 2.3 s · <what it did>"
    let flash = ran.and_then(|name| jobs.iter().find(|j| j.name == name)).and_then(|j| {
        let r = j.last.as_ref()?;
        Some(Flash {
            ok: r.ok,
            text: format!(
                "{}: {} · {} · {} · {}",
                staff.t.get("jobs.ran"),
                j.label,
                r.outcome,
                r.duration,
                r.message
            ),
        })
    });
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
                    KeyKind::ServerWrite => "settings.kind_server_write",
                }),
                created: i18n::date(k.created_at, tz),
                revoked: k.revoked_at.map(|t| i18n::date(t, tz)),
                id: k.id,
                name: k.name,
                prefix: k.prefix,
            })
            .collect(),
        jobs,
        new_key,
        error: error.clone(),
        flash,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, render(&page)).into_response()
}

#[derive(Deserialize)]
struct ShowQuery {
    /// Set by the redirect after "Run now".
    ran: Option<String>,
}

async fn show(State(st): State<AppState>, staff: Staff, Query(q): Query<ShowQuery>) -> Response {
    page(&st, &staff, None, None, q.ran).await
}

/// Owners only, with the session's form token.
pub(super) fn refuse(staff: &Staff, csrf: &str) -> Option<Response> {
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
        .call(move |s| Ok::<_, crate::store::Error>(auth::create_user(s, &form.name, &form.password, role, s.now_ms())))
        .await;
    match res {
        Ok(Ok(_)) => Redirect::to("/settings").into_response(),
        Ok(Err(e)) => page(&st, &staff, None, Some(e.to_string()), None).await,
        Err(e) => failed(staff.lang, &e),
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
        .call(move |s| Ok::<_, crate::store::Error>(auth::delete_user(s, &name, s.now_ms())))
        .await;
    match res {
        Ok(Ok(())) => Redirect::to("/settings").into_response(),
        Ok(Err(e)) => page(&st, &staff, None, Some(e.to_string()), None).await,
        Err(e) => failed(staff.lang, &e),
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
    let kind = match form.kind.as_str() {
        "admin" => KeyKind::Admin,
        "server_write" => KeyKind::ServerWrite,
        _ => KeyKind::Write,
    };
    match auth::create_key(&st.store, &st.keys, form.name, kind, KeyScope::Full).await {
        Ok((key, _)) => page(&st, &staff, Some(key), None, None).await,
        Err(e) => page(&st, &staff, None, Some(e.to_string()), None).await,
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
        Err(e) => page(&st, &staff, None, Some(e.to_string()), None).await,
    }
}

/// Runs a job now and waits for it (the analysis of a large shop takes a while), then goes back to
/// the page, which shows how the run went. Owners only, with the session's form token.
async fn run_job(
    State(st): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = refuse(&staff, &form.csrf) {
        return r;
    }
    match st.jobs.run_now(&name).await {
        // A failed run is an outcome like a successful one: the flash shows which.
        Ok(_) => Redirect::to(&format!("/settings?ran={}#jobs", super::urlencode(&name))).into_response(),
        Err(JobError::Unknown(_)) => error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found")),
        // Running already: say so on the page.
        Err(JobError::Running(_)) => {
            page(
                &st,
                &staff,
                None,
                Some(staff.t.get("jobs.already_running").into()),
                None,
            )
            .await
        }
        Err(e @ JobError::Store(_)) => failed(staff.lang, &e),
    }
}
