//! The analysis and the job runner on the admin API: `GET /jobs`, `POST /jobs/{name}/run`,
//! `GET /customers/{id}/analysis`, `GET /reports/rfm`.

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use super::routes::Routes;
use super::{ApiError, ApiResult, AppState, Page};
use crate::analysis::view::{self, CustomerAnalysis, RfmReport};
use crate::error::ErrorCode;
use crate::i18n::Lang;
use crate::jobs::{JobRun, JobView};
use crate::{customer, store};

pub fn routes() -> Routes {
    Routes::new()
        .route("/jobs", get(list_jobs))
        .route("/jobs/{name}/run", post(run_job))
        .route("/customers/{id}/analysis", get(customer_analysis))
        .route("/reports/rfm", get(rfm_report))
}

/// The runner's jobs with their schedule, next due time and last run.
#[utoipa::path(get, path = "/api/v1/jobs", responses((status = 200, body = Page<JobView>)), security(("bearer" = [])))]
pub async fn list_jobs(State(st): State<AppState>) -> ApiResult<Json<Page<JobView>>> {
    let jobs = st.jobs.clone();
    let items = st.store.call(move |_| jobs.list()).await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Runs a job now and answers when it has finished, with its outcome. 409 if it is running.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/run", params(("name" = String, Path, description = "`analysis`")), responses((status = 200, body = JobRun), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn run_job(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<JobRun>> {
    Ok(Json(st.jobs.run_now(&name).await?))
}

/// A customer's latest analysis: RFM scores and group, spend tier, churn risk, predicted lifetime
/// value, each with a sentence explaining it, and the history of group changes.
#[utoipa::path(get, path = "/api/v1/customers/{id}/analysis", params(("id" = u64, Path)), responses((status = 200, body = CustomerAnalysis), (status = 404)), security(("bearer" = [])))]
pub async fn customer_analysis(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<CustomerAnalysis>> {
    let tz = st.tz;
    let found = st
        .store
        .call(move |s| -> Result<_, customer::Error> {
            let read = s.read()?;
            let (id, _) = customer::get(&read, id)?;
            Ok(view::customer_analysis(&read, id, tz, Lang::En)?)
        })
        .await?;
    found.map(Json).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "this customer has not been analysed yet: the analysis runs nightly, or now with POST /api/v1/jobs/analysis/run",
        )
    })
}

/// The RFM report of the latest analysis: the R × FM grid with counts and revenue shares, the
/// groups, spend tiers and churn risk with their change since the day before and a month before,
/// the group map, the score cut points and the fitted models.
#[utoipa::path(get, path = "/api/v1/reports/rfm", responses((status = 200, body = RfmReport), (status = 404)), security(("bearer" = [])))]
pub async fn rfm_report(State(st): State<AppState>) -> ApiResult<Json<RfmReport>> {
    let tz = st.tz;
    let report = st
        .store
        .call(move |s| -> Result<_, store::Error> { view::rfm_report(&s.read()?, tz, Lang::En) })
        .await?;
    report.map(Json).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "no analysis yet: it runs nightly, or now with POST /api/v1/jobs/analysis/run",
        )
    })
}
