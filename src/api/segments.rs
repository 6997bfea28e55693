//! Segments on the admin API: `POST /api/v1/segments/preview`.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::admin::{CustomerResponse, customer_response};
use super::{ApiError, ApiJson, ApiResult, AppState};
use crate::error::ErrorCode;
use crate::segment::{self, Rule};

pub fn routes() -> Router<AppState> {
    Router::new().route("/segments/preview", post(preview))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewRequest {
    /// A rule (CONTRACT §4): `{"all"|"any": [RULE…]}`, `{"not": RULE}` or a condition.
    #[schema(value_type = Object)]
    pub rule: Value,
    /// Members to return as a sample (default 10, at most 100).
    #[serde(default)]
    pub sample: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    pub count: u64,
    /// The most recently seen members first.
    pub sample: Vec<CustomerResponse>,
}

/// Turns a rule error into a 422 naming the JSON path (from `rule`) of the wrong part.
fn rule_error(e: segment::RuleError) -> ApiError {
    let field = format!("rule{}", e.path.trim_start_matches('$'));
    ApiError::new(ErrorCode::InvalidRule, format!("{field}: expected {}", e.expected)).field(field)
}

/// How many customers a rule selects now, with a sample; a wrong rule answers 422 naming the part.
#[utoipa::path(post, path = "/api/v1/segments/preview", request_body = PreviewRequest, responses((status = 200, body = PreviewResponse), (status = 422)), security(("bearer" = [])))]
pub async fn preview(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> ApiResult<Json<PreviewResponse>> {
    let rule = Rule::parse(&req.rule).map_err(rule_error)?;
    let sample = req.sample.unwrap_or(10).min(100);
    // The columns are built in the background after a start; a preview waits for them briefly.
    for _ in 0..200 {
        if st.columns.read().expect("not poisoned").ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (columns, days, tz, now) = (st.columns.clone(), st.segment_days.clone(), st.tz, st.jobs.now_ms());
    let out = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let cols = columns.read().expect("not poisoned");
            if !cols.ready() {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "the customer columns are still being built after the start: try again in a few seconds",
                ));
            }
            let read = s.read()?;
            let p = segment::preview(&rule, &cols, &read, tz, now, &days, sample)?;
            drop(cols);
            let mut customers = Vec::new();
            for id in p.sample {
                if let Some(rec) = read.customer(id)? {
                    customers.push(customer_response(id, rec, None));
                }
            }
            Ok(PreviewResponse {
                count: p.count,
                sample: customers,
            })
        })
        .await?;
    Ok(Json(out))
}
