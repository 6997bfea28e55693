//! CSV upload for a running server: `POST /api/v1/imports/{products|customers|orders}`.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiError, ApiResult, AppState};
use crate::error::ErrorCode;
use crate::import::Kind;
use crate::load::{self, ImportReport};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Import nothing if any row has an error.
    #[serde(default)]
    pub strict: bool,
}

/// Import a CSV (our columns or a Shopify export) sent as the body. Valid rows are applied in
/// one transaction; the answer lists each rejected row with its column and reason.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", params(("kind" = String, Path, description = "products, customers or orders"), ImportQuery),
    request_body(content = String, content_type = "text/csv"), responses((status = 200, body = ImportReport), (status = 422)), security(("bearer" = [])))]
pub async fn upload(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportReport>> {
    let kind: Kind = kind.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::NotFound,
            "imports are of `products`, `customers` or `orders`",
        )
    })?;
    let report = load::import(&st.store, kind, body.to_vec(), q.strict, st.tz).await?;
    Ok(Json(report))
}
