//! The Import page: upload a CSV of products, customers or orders (ours or a Shopify export),
//! see what was imported and each rejected row. The same `load::import` as the JSON API.

use askama::Template;
use axum::Router;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::frame::Frame;
use super::i18n;
use super::{Staff, error_page, refuse_change, render};
use crate::app::AppState;
use crate::import::{Kind, RowError};
use crate::load::{self, ImportProgress, ImportReport};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/import", get(show).post(upload))
        .route("/import/{id}", get(job))
}

/// Finished imports are forgotten after this long.
const KEEP_FINISHED_MS: i64 = 60 * 60 * 1000;

pub struct ProgressView {
    pub kind: String,
    pub done: String,
    pub total: String,
    pub percent: usize,
}

/// Larger files go through `dangol import` or the API.
const MAX_UPLOAD: usize = 64 * 1024 * 1024;

pub struct ReportView {
    pub rows: String,
    pub imported: String,
    pub duplicates: String,
    pub skipped: String,
    pub rejected: bool,
    pub errors: Vec<RowError>,
}

#[derive(Template)]
#[template(path = "import/index.html")]
struct ImportPage {
    f: Frame,
    /// While the import runs: how far it got (the page reloads itself every second).
    running: Option<ProgressView>,
    report: Option<ReportView>,
    error: Option<String>,
}

async fn show(staff: Staff) -> Response {
    render(&ImportPage {
        f: Frame::new(&staff, "import"),
        running: None,
        report: None,
        error: None,
    })
}

/// An import's page: its progress while it runs, its report once it is done.
async fn job(State(st): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let Some(p) = st.imports.lock().expect("not poisoned").get(&id).cloned() else {
        return error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"));
    };
    let f = Frame::new(&staff, "import");
    let outcome = p.outcome.lock().expect("not poisoned").clone();
    match outcome {
        None => {
            let (done, total) = (p.done.load(Ordering::Relaxed), p.total.load(Ordering::Relaxed));
            let running = ProgressView {
                kind: p.kind.clone(),
                done: i18n::number(done as f64, 0),
                total: i18n::number(total as f64, 0),
                percent: (done * 100).checked_div(total).unwrap_or(0),
            };
            render(&ImportPage {
                f,
                running: Some(running),
                report: None,
                error: None,
            })
        }
        Some(Ok(report)) => render(&ImportPage {
            f,
            running: None,
            report: Some(view(report)),
            error: None,
        }),
        Some(Err(e)) => {
            let page = ImportPage {
                f,
                running: None,
                report: None,
                error: Some(e),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
    }
}

fn view(r: ImportReport) -> ReportView {
    let n = |v: usize| i18n::number(v as f64, 0);
    ReportView {
        rows: n(r.rows),
        imported: n(r.imported),
        duplicates: n(r.duplicates),
        skipped: n(r.skipped),
        rejected: r.rejected,
        errors: r.errors,
    }
}

async fn upload(State(st): State<AppState>, staff: Staff, mut form: Multipart) -> Response {
    let (mut csrf, mut kind, mut strict, mut file) = (String::new(), String::new(), false, Vec::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                match name.as_str() {
                    "file" => match field.bytes().await {
                        Ok(b) if b.len() <= MAX_UPLOAD => file = b.to_vec(),
                        Ok(_) | Err(_) => {
                            return error_page(
                                staff.lang,
                                StatusCode::PAYLOAD_TOO_LARGE,
                                "file too large (64 MB at most)",
                            );
                        }
                    },
                    _ => {
                        let value = field.text().await.unwrap_or_default();
                        match name.as_str() {
                            "csrf" => csrf = value,
                            "kind" => kind = value,
                            "strict" => strict = true,
                            _ => {}
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(e) => return error_page(staff.lang, StatusCode::BAD_REQUEST, &e.to_string()),
        }
    }
    if let Some(refusal) = refuse_change(&staff, &csrf) {
        return refusal;
    }
    let f = Frame::new(&staff, "import");
    if file.is_empty() {
        let page = ImportPage {
            error: Some(staff.t.get("import.no_file").to_string()),
            f,
            running: None,
            report: None,
        };
        return (StatusCode::BAD_REQUEST, render(&page)).into_response();
    }
    let Ok(kind) = kind.parse::<Kind>() else {
        return error_page(
            staff.lang,
            StatusCode::BAD_REQUEST,
            "kind: products, customers or orders",
        );
    };
    // The import runs on its own; this answer sends the browser to its progress page.
    let now = st.now_ms();
    let id = format!("{:016x}", rand::random::<u64>());
    let progress = Arc::new(ImportProgress {
        kind: kind.as_str().to_string(),
        started_at: now,
        ..Default::default()
    });
    {
        let mut jobs = st.imports.lock().expect("not poisoned");
        jobs.retain(|_, p| p.outcome.lock().expect("not poisoned").is_none() || now - p.started_at < KEEP_FINISHED_MS);
        jobs.insert(id.clone(), progress.clone());
    }
    let (store, tz) = (st.store.clone(), st.tz);
    tokio::spawn(async move {
        let outcome = load::import_in_chunks(&store, kind, file, strict, tz, &progress)
            .await
            .map_err(|e| e.to_string());
        *progress.outcome.lock().expect("not poisoned") = Some(outcome);
    });
    Redirect::to(&format!("/import/{id}")).into_response()
}
