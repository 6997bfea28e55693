//! The Import page: upload a CSV of products, customers or orders (ours or a Shopify export),
//! see what was imported and each rejected row. The same `load::import` as the JSON API.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::i18n;
use super::pages::Frame;
use super::{Staff, error_page, refuse_change, render};
use crate::api::AppState;
use crate::import::{Kind, RowError};
use crate::load::{self, ImportReport};

pub fn routes() -> Router<AppState> {
    Router::new().route("/import", get(show).post(upload))
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
    report: Option<ReportView>,
    error: Option<String>,
}

async fn show(staff: Staff) -> Response {
    render(&ImportPage {
        f: Frame::new(&staff, "import"),
        report: None,
        error: None,
    })
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
    match load::import(&st.store, kind, file, strict, st.tz).await {
        Ok(report) => render(&ImportPage {
            f,
            report: Some(view(report)),
            error: None,
        }),
        Err(e) => {
            let page = ImportPage {
                f,
                report: None,
                error: Some(e.to_string()),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
    }
}
