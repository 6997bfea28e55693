//! The Import page: upload a CSV of products, customers or orders (ours, a Shopify export, or
//! another shop's file through the mapping step), download the template files, follow an import
//! to its result, and read the history of imports. The same `load::import_in_chunks` as the JSON
//! API's `load::import`.
//!
//! A file in no format we know by its headers (or one the owner calls "another shop's") waits in
//! memory while the owner says which column holds each field (`/import/map/{id}`): its headers and
//! first rows are shown, each field's choice filled in from the mapping remembered for the same
//! headers, else guessed from the header names.

use askama::Template;
use axum::Router;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::frame::Frame;
use super::i18n;
use super::{Staff, error_page, refuse_change, render};
use crate::app::AppState;
use crate::i18n::Catalog;
use crate::import::mapping::Misfit;
use crate::import::{self, Kind, Mapping, RowError, mapping, template};
use crate::load::history::{self, ImportRecord};
use crate::load::{self, ImportProgress, ImportReport, ImportRequest, PendingUpload, Source, Via};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/import", get(show).post(upload))
        .route("/import/{id}", get(job))
        .route("/import/map/{id}", get(map_page).post(map_submit))
        .route("/import/history/{id}", get(entry_page))
        .route("/import/templates/{kind}", get(template_file))
}

/// Finished imports, and files left waiting for their mapping, are forgotten after this long.
const KEEP_FINISHED_MS: i64 = 60 * 60 * 1000;

/// The imports the page lists.
const HISTORY_SHOWN: usize = 20;

/// The data rows the mapping step shows.
const SAMPLE_ROWS: usize = 5;

pub struct ProgressView {
    pub kind: String,
    pub done: String,
    pub total: String,
    pub percent: usize,
}

/// Files waiting for their mapping step at once; a new one pushes the oldest out.
const MAX_PENDING: usize = 8;

/// Larger files go through `dangol import` or the API.
const MAX_UPLOAD: usize = 64 * 1024 * 1024;

pub struct ReportView {
    /// The import's entry in the history.
    pub id: u64,
    pub rows: String,
    pub imported: String,
    pub duplicates: String,
    pub skipped: String,
    pub rejected: bool,
    /// Read through a column mapping.
    pub mapped: bool,
    pub errors: Vec<RowError>,
}

/// One line of the history.
pub struct HistoryRow {
    pub id: u64,
    pub at: String,
    pub who: String,
    pub via: &'static str,
    pub file_name: String,
    pub kind: &'static str,
    pub rows: String,
    pub imported: String,
    pub duplicates: String,
    /// Rejected rows, counted.
    pub error_total: String,
    pub failed: bool,
}

fn kind_label(t: &'static Catalog, kind: &str) -> &'static str {
    match kind {
        "products" => t.get("import.kind_products"),
        "customers" => t.get("import.kind_customers"),
        _ => t.get("import.kind_orders"),
    }
}

fn history_row(t: &'static Catalog, tz: chrono_tz::Tz, id: u64, r: &ImportRecord) -> HistoryRow {
    let n = |v: usize| i18n::number(v as f64, 0);
    HistoryRow {
        id,
        at: crate::i18n::datetime(r.at, tz),
        who: r.who.clone(),
        via: t.get(&format!("import.via.{}", r.via.as_str())),
        file_name: r.file_name.clone().unwrap_or_default(),
        kind: kind_label(t, &r.kind),
        rows: n(r.rows),
        imported: n(r.imported),
        duplicates: n(r.duplicates),
        error_total: n(r.error_count),
        failed: r.failed.is_some() || r.rejected,
    }
}

#[derive(Template)]
#[template(path = "import/index.html")]
struct ImportPage {
    f: Frame,
    /// While the import runs: how far it got (the page reloads itself every second).
    running: Option<ProgressView>,
    report: Option<ReportView>,
    error: Option<String>,
    history: Vec<HistoryRow>,
}

async fn recent(st: &AppState, staff: &Staff) -> Vec<HistoryRow> {
    let (t, tz) = (staff.t, st.tz);
    st.store
        .call(move |s| -> Result<_, crate::store::Error> {
            let rows = history::list(&s.read()?, None, HISTORY_SHOWN)?;
            Ok(rows.iter().map(|(id, r)| history_row(t, tz, *id, r)).collect())
        })
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the import history could not be read");
            Vec::new()
        })
}

async fn show(State(st): State<AppState>, staff: Staff) -> Response {
    let history = recent(&st, &staff).await;
    render(&ImportPage {
        f: Frame::new(&staff, "import"),
        running: None,
        report: None,
        error: None,
        history,
    })
}

/// An import's page: its progress while it runs, its report once it is done.
async fn job(State(st): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let Some(p) = st.imports.jobs.lock().expect("not poisoned").get(&id).cloned() else {
        return error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"));
    };
    let f = Frame::new(&staff, "import");
    let outcome = p.outcome.lock().expect("not poisoned").clone();
    match outcome {
        None => {
            let (done, total) = (p.done.load(Ordering::Relaxed), p.total.load(Ordering::Relaxed));
            let running = ProgressView {
                kind: kind_label(staff.t, &p.kind).to_string(),
                done: i18n::number(done as f64, 0),
                total: i18n::number(total as f64, 0),
                percent: (done * 100).checked_div(total).unwrap_or(0),
            };
            render(&ImportPage {
                f,
                running: Some(running),
                report: None,
                error: None,
                history: Vec::new(),
            })
        }
        Some(Ok(report)) => {
            let history = recent(&st, &staff).await;
            render(&ImportPage {
                f,
                running: None,
                report: Some(view(report)),
                error: None,
                history,
            })
        }
        Some(Err(e)) => {
            let history = recent(&st, &staff).await;
            let page = ImportPage {
                f,
                running: None,
                report: None,
                error: Some(e),
                history,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
    }
}

fn view(r: ImportReport) -> ReportView {
    let n = |v: usize| i18n::number(v as f64, 0);
    ReportView {
        id: r.id,
        rows: n(r.rows),
        imported: n(r.imported),
        duplicates: n(r.duplicates),
        skipped: n(r.skipped),
        rejected: r.rejected,
        mapped: r.mapping.is_some(),
        errors: r.errors,
    }
}

/// Starts an import on its own and answers with the way to its progress page.
fn start(st: &AppState, request: ImportRequest) -> Response {
    let now = st.now_ms();
    let id = format!("{:016x}", rand::random::<u64>());
    let progress = Arc::new(ImportProgress {
        kind: request.kind.as_str().to_string(),
        started_at: now,
        ..Default::default()
    });
    {
        let mut jobs = st.imports.jobs.lock().expect("not poisoned");
        jobs.retain(|_, p| p.outcome.lock().expect("not poisoned").is_none() || now - p.started_at < KEEP_FINISHED_MS);
        jobs.insert(id.clone(), progress.clone());
    }
    let (store, tz) = (st.store.clone(), st.tz);
    tokio::spawn(async move {
        let outcome = load::import_in_chunks(&store, request, tz, &progress)
            .await
            .map_err(|e| e.to_string());
        *progress.outcome.lock().expect("not poisoned") = Some(outcome);
    });
    Redirect::to(&format!("/import/{id}")).into_response()
}

/// The start of a file, cut at a line's end: enough to read its header row.
fn head(csv: &[u8]) -> &[u8] {
    const HEAD: usize = 64 * 1024;
    if csv.len() <= HEAD {
        return csv;
    }
    let cut = csv[..HEAD].iter().rposition(|b| *b == b'\n').map_or(HEAD, |i| i + 1);
    &csv[..cut]
}

async fn upload(State(st): State<AppState>, staff: Staff, mut form: Multipart) -> Response {
    let (mut csrf, mut kind, mut strict, mut file) = (String::new(), String::new(), false, Vec::new());
    let (mut file_name, mut other) = (None, false);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                match name.as_str() {
                    "file" => {
                        file_name = field.file_name().map(str::to_string).filter(|n| !n.is_empty());
                        match field.bytes().await {
                            Ok(b) if b.len() <= MAX_UPLOAD => file = b.to_vec(),
                            Ok(_) | Err(_) => {
                                return error_page(
                                    staff.lang,
                                    StatusCode::PAYLOAD_TOO_LARGE,
                                    staff.t.get("import.too_large"),
                                );
                            }
                        }
                    }
                    _ => {
                        let value = field.text().await.unwrap_or_default();
                        match name.as_str() {
                            "csrf" => csrf = value,
                            "kind" => kind = value,
                            "strict" => strict = true,
                            "format" => other = value == "other",
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
        let history = recent(&st, &staff).await;
        let page = ImportPage {
            error: Some(staff.t.get("import.no_file").to_string()),
            f,
            running: None,
            report: None,
            history,
        };
        return (StatusCode::BAD_REQUEST, render(&page)).into_response();
    }
    let Ok(kind) = kind.parse::<Kind>() else {
        return error_page(staff.lang, StatusCode::BAD_REQUEST, staff.t.get("import.kind_error"));
    };
    // A file we do not know by its headers goes to the mapping step first.
    let needs_mapping = other
        || match import::parse(kind, head(&file), st.tz) {
            Ok(_) => false,
            Err(e) => e.needs_mapping(),
        };
    if needs_mapping {
        let now = st.now_ms();
        let id = format!("{:016x}", rand::random::<u64>());
        let mut pending = st.imports.pending.lock().expect("not poisoned");
        pending.retain(|_, p| now - p.at < KEEP_FINISHED_MS);
        // At most a few files wait for their mapping at once (each up to 64 MB, in memory): the
        // oldest gives way.
        while pending.len() >= MAX_PENDING {
            let Some(oldest) = pending.iter().min_by_key(|(_, p)| p.at).map(|(k, _)| k.clone()) else {
                break;
            };
            pending.remove(&oldest);
        }
        pending.insert(
            id.clone(),
            Arc::new(PendingUpload {
                kind,
                csv: file,
                file_name,
                strict,
                at: now,
            }),
        );
        return Redirect::to(&format!("/import/map/{id}")).into_response();
    }
    start(
        &st,
        ImportRequest {
            kind,
            csv: file,
            strict,
            mapping: None,
            source: Source {
                via: Via::Console,
                who: staff.user.name.clone(),
                file_name,
            },
        },
    )
}

/// One field of the mapping step: our field, its label, and the column chosen for it.
pub struct FieldChoice {
    pub name: &'static str,
    pub label: String,
    pub required: bool,
    pub chosen: String,
}

#[derive(Template)]
#[template(path = "import/map.html")]
struct MapPage {
    f: Frame,
    id: String,
    kind: &'static str,
    file_name: String,
    total_rows: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    fields: Vec<FieldChoice>,
    /// Whether the choices come from the mapping remembered for these headers.
    remembered: bool,
    /// A mapping that does not fit: (the field's label, the message).
    error: Option<(String, String)>,
}

/// The label of one of our fields for a kind of file (`import.field.orders_created_at`, else
/// `import.field.created_at`).
fn field_label(t: &'static Catalog, kind: Kind, name: &str) -> String {
    t.find(&format!("import.field.{kind}_{name}"))
        .unwrap_or_else(|| t.get(&format!("import.field.{name}")))
        .to_string()
}

fn is_required(kind: Kind, name: &str) -> bool {
    matches!(
        (kind, name),
        (Kind::Orders, "order_id" | "created_at") | (Kind::Products, "id" | "name")
    )
}

fn pending_upload(st: &AppState, id: &str) -> Option<Arc<PendingUpload>> {
    st.imports.pending.lock().expect("not poisoned").get(id).cloned()
}

/// The mapping step's page for a waiting file, its choices from `chosen` (else the remembered
/// mapping, else the guess).
async fn map_view(
    st: &AppState,
    staff: &Staff,
    id: String,
    upload: &PendingUpload,
    chosen: Option<Mapping>,
    error: Option<(String, String)>,
) -> Response {
    let t = staff.t;
    let kind = upload.kind;
    let preview = match mapping::preview(upload.csv.as_slice(), SAMPLE_ROWS) {
        Ok(p) => p,
        Err(e) => {
            let history = recent(st, staff).await;
            let page = ImportPage {
                f: Frame::new(staff, "import"),
                running: None,
                report: None,
                error: Some(e.to_string()),
                history,
            };
            return (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response();
        }
    };
    let (chosen, remembered) = match chosen {
        Some(c) => (c, false),
        None => {
            let headers = preview.headers.clone();
            let saved = st
                .store
                .call(move |s| history::remembered(&s.read()?, kind, &headers))
                .await
                .ok()
                .flatten();
            match saved {
                Some(saved) => (saved.fields, true),
                None => (mapping::guess(kind, &preview.headers), false),
            }
        }
    };
    let fields = mapping::targets(kind)
        .iter()
        .map(|target| FieldChoice {
            name: target.name,
            label: field_label(t, kind, target.name),
            required: is_required(kind, target.name),
            chosen: chosen.get(target.name).cloned().unwrap_or_default(),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = MapPage {
        f: Frame::new(staff, "import"),
        id,
        kind: kind_label(t, kind.as_str()),
        file_name: upload.file_name.clone().unwrap_or_default(),
        total_rows: i18n::number(preview.total_rows as f64, 0),
        headers: preview.headers,
        rows: preview.rows,
        fields,
        remembered,
        error,
    };
    (status, render(&page)).into_response()
}

async fn map_page(State(st): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let Some(upload) = pending_upload(&st, &id) else {
        return error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("import.map_gone"));
    };
    map_view(&st, &staff, id, &upload, None, None).await
}

/// The mapping step's form: `csrf` and `map.FIELD` = the chosen header (empty: not read).
async fn map_submit(
    State(st): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Some(refusal) = refuse_change(&staff, &csrf) {
        return refusal;
    }
    let Some(upload) = pending_upload(&st, &id) else {
        return error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("import.map_gone"));
    };
    let chosen: Mapping = pairs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("map.").map(|field| (field.to_string(), v.clone())))
        .collect();
    let chosen = mapping::tidy(&chosen);
    let headers = match mapping::headers(&upload.csv) {
        Ok(h) => h,
        Err(e) => return error_page(staff.lang, StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    if let Some((field, why)) = mapping::misfit(upload.kind, &headers, &chosen) {
        let t = staff.t;
        let label = |name: &str| field_label(t, upload.kind, name);
        let message = match why {
            Misfit::NotAField => t.get("import.map_not_a_field").to_string(),
            Misfit::NoColumn(column) => t.get("import.map_no_column").replace("{column}", &column),
            Misfit::Taken { column, other } => t
                .get("import.map_taken")
                .replace("{column}", &column)
                .replace("{other}", &label(&other)),
            Misfit::Required([_]) => t.get("import.map_needed").to_string(),
            Misfit::Required(any_of) => {
                let fields: Vec<String> = any_of.iter().map(|f| label(f)).collect();
                t.get("import.map_one_of").replace("{fields}", &fields.join(", "))
            }
        };
        let error = Some((label(&field), message));
        return map_view(&st, &staff, id, &upload, Some(chosen), error).await;
    }
    st.imports.pending.lock().expect("not poisoned").remove(&id);
    start(
        &st,
        ImportRequest {
            kind: upload.kind,
            csv: upload.csv.clone(),
            strict: upload.strict,
            mapping: Some(chosen),
            source: Source {
                via: Via::Console,
                who: staff.user.name.clone(),
                file_name: upload.file_name.clone(),
            },
        },
    )
}

#[derive(Template)]
#[template(path = "import/entry.html")]
struct EntryPage {
    f: Frame,
    row: HistoryRow,
    strict: bool,
    mapped: bool,
    skipped: String,
    error_count: usize,
    errors: Vec<RowError>,
    failed: Option<String>,
}

/// One import of the history: its counts and its first errors.
async fn entry_page(State(st): State<AppState>, staff: Staff, Path(id): Path<u64>) -> Response {
    let rec = st
        .store
        .call(move |s| -> Result<_, crate::store::Error> { history::get(&s.read()?, id) })
        .await;
    let rec = match rec {
        Ok(Some(rec)) => rec,
        Ok(None) => return error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found")),
        Err(e) => return super::failed(staff.lang, &e),
    };
    render(&EntryPage {
        f: Frame::new(&staff, "import"),
        row: history_row(staff.t, st.tz, id, &rec),
        strict: rec.strict,
        mapped: rec.mapped,
        skipped: i18n::number(rec.skipped as f64, 0),
        error_count: rec.error_count,
        errors: rec.errors,
        failed: rec.failed,
    })
}

/// A template file: our columns with example rows, UTF-8 with a byte-order mark for Excel.
async fn template_file(_staff: Staff, Path(kind): Path<String>) -> Response {
    let Ok(kind) = kind.trim_end_matches(".csv").parse::<Kind>() else {
        return (StatusCode::NOT_FOUND, "no such template").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", template::file_name(kind)),
            ),
        ],
        format!("{}{}", template::BOM, template::template(kind)),
    )
        .into_response()
}
