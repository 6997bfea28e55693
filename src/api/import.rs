//! CSV import for a running server: `POST /api/v1/imports/{products|customers|orders}` (our
//! columns, Shopify's, or any file through a column mapping), the template of each kind
//! (`GET /api/v1/imports/{kind}`), and the import history (`GET /api/v1/imports`,
//! `GET /api/v1/imports/history/{id}`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ApiResult, AppState, Page, iso};
use crate::error::ErrorCode;
use crate::import::{Kind, Mapping, RowError, template};
use crate::load::history::{self, ImportRecord, Via};
use crate::load::{self, ImportReport, ImportRequest, Source};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Import nothing if any row has an error.
    #[serde(default)]
    pub strict: bool,
    /// A column mapping for a file in another shop's format: a JSON object of our field → the
    /// file's header, e.g. `{"order_id":"주문번호","email":"주문자 이메일","total":"결제금액",
    /// "created_at":"주문일시"}`. It is remembered for the file's header set; a later file with
    /// the same headers and no mapping is read through it.
    pub mapping: Option<String>,
    /// The file's name, kept in the import history.
    pub file_name: Option<String>,
}

fn kind_of(kind: &str) -> Result<Kind, ApiError> {
    kind.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::NotFound,
            "imports are of `products`, `customers` or `orders`",
        )
    })
}

/// Who is asking: the name the bearer key was given; the master key the server was started with
/// (which has no record) as `DANGOL_MASTER_KEY`; else the key's first characters.
fn caller(st: &AppState, headers: &HeaderMap) -> String {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or_default();
    let named = st
        .store
        .read()
        .ok()
        .and_then(|read| read.api_key(&crate::auth::hash_key(key)).ok().flatten())
        .map(|rec| rec.name);
    named.unwrap_or_else(|| match st.keys.admin_scope(key) {
        Some(crate::store::records::KeyScope::Master) => "DANGOL_MASTER_KEY".to_string(),
        // Never any of the key itself: the history is shown to every console user.
        _ => "API key".to_string(),
    })
}

/// Import a CSV (our columns, a Shopify export, or another shop's file with `mapping`) sent as
/// the body. Valid rows are applied; the answer lists each rejected row with its column and
/// reason, and the import is kept in the history. A mapping that does not fit the file is a 400
/// naming the field (`mapping.created_at`).
#[utoipa::path(post, path = "/api/v1/imports/{kind}", params(("kind" = String, Path, description = "products, customers or orders"), ImportQuery),
    request_body(content = String, content_type = "text/csv"), responses((status = 200, body = ImportReport), (status = 400), (status = 422)), security(("bearer" = [])))]
pub async fn upload(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportReport>> {
    let kind = kind_of(&kind)?;
    let mapping = match q.mapping.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(json) => Some(crate::import::mapping::tidy(
            &serde_json::from_str::<Mapping>(json).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidField,
                    format!("`mapping` must be a JSON object of field to column header: {e}"),
                )
                .field("mapping")
            })?,
        )),
        None => None,
    };
    let request = ImportRequest {
        kind,
        csv: body.to_vec(),
        strict: q.strict,
        mapping,
        source: Source {
            via: Via::Api,
            who: caller(&st, &headers),
            file_name: q.file_name.filter(|n| !n.trim().is_empty()),
        },
    };
    let report = load::import(&st.store, request, st.tz).await?;
    Ok(Json(report))
}

/// The template of a kind of file: our columns with example rows, UTF-8 with a byte-order mark
/// so that Excel opens the Korean right.
#[utoipa::path(get, path = "/api/v1/imports/{kind}", params(("kind" = String, Path, description = "products, customers or orders")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404)), security(("bearer" = [])))]
pub async fn template_file(Path(kind): Path<String>) -> ApiResult<Response> {
    let kind = kind_of(&kind)?;
    Ok(csv_file(kind))
}

/// A template as a download.
pub fn csv_file(kind: Kind) -> Response {
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

/// One import as the history shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportEntry {
    pub id: u64,
    /// When it finished (RFC 3339).
    pub at: String,
    pub via: Via,
    /// The console user, the API key's name, or the CLI's user.
    pub who: String,
    pub file_name: Option<String>,
    /// products, customers or orders.
    pub kind: String,
    /// Read through a column mapping.
    pub mapped: bool,
    pub strict: bool,
    pub rows: usize,
    pub imported: usize,
    pub duplicates: usize,
    pub skipped: usize,
    pub rejected: bool,
    /// Rejected rows, all counted.
    pub error_count: usize,
    /// The first 50 of them.
    pub errors: Vec<RowError>,
    /// Why the file could not be read at all.
    pub failed: Option<String>,
}

fn entry(id: u64, r: ImportRecord) -> ImportEntry {
    ImportEntry {
        id,
        at: iso(r.at),
        via: r.via,
        who: r.who,
        file_name: r.file_name,
        kind: r.kind,
        mapped: r.mapped,
        strict: r.strict,
        rows: r.rows,
        imported: r.imported,
        duplicates: r.duplicates,
        skipped: r.skipped,
        rejected: r.rejected,
        error_count: r.error_count,
        errors: r.errors,
        failed: r.failed,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// 1–500 (50).
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// The import history, newest first: every import from the console, the API and the CLI.
#[utoipa::path(get, path = "/api/v1/imports", params(HistoryQuery), responses((status = 200, body = Page<ImportEntry>)), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, Query(q): Query<HistoryQuery>) -> ApiResult<Json<Page<ImportEntry>>> {
    let limit = super::limit(q.limit)?;
    let before = match q.cursor.as_deref() {
        Some(c) => Some(super::unb64(c)?.parse::<u64>().map_err(|_| {
            ApiError::new(ErrorCode::InvalidField, "`cursor` is not a cursor this API gave out").field("cursor")
        })?),
        None => None,
    };
    let rows = st
        .store
        .call(move |s| -> Result<_, ApiError> { Ok(history::list(&s.read()?, before, limit + 1)?) })
        .await?;
    let next_cursor = (rows.len() > limit).then(|| super::b64(&rows[limit - 1].0.to_string()));
    let items = rows.into_iter().take(limit).map(|(id, r)| entry(id, r)).collect();
    Ok(Json(Page { items, next_cursor }))
}

/// One import of the history.
#[utoipa::path(get, path = "/api/v1/imports/history/{id}", params(("id" = u64, Path)), responses((status = 200, body = ImportEntry), (status = 404)), security(("bearer" = [])))]
pub async fn get(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<ImportEntry>> {
    let rec = st
        .store
        .call(move |s| -> Result<_, ApiError> { Ok(history::get(&s.read()?, id)?) })
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no import {id}")))?;
    Ok(Json(entry(id, rec)))
}
