//! Web-analytics reports (CONTRACT §8). Built so far: `GET /api/v1/reports/live`.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::routes::Routes;
use super::{ApiResult, AppState, iso};

pub fn routes() -> Routes {
    Routes::new().route("/reports/live", get(live))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LivePage {
    pub path: String,
    pub visitors: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveEvent {
    /// `page`, `track`, `screen`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub customer_id: u64,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveReport {
    /// Distinct visitors with an event in the last five minutes (bots left out).
    pub visitors_now: u64,
    /// The page each of them last viewed, by visitors, most first.
    pub pages: Vec<LivePage>,
    /// The latest 50 events, newest first.
    pub events: Vec<LiveEvent>,
    /// Bot events met while reading, left out of the above.
    pub bots_left_out: u64,
}

/// Who is on the shop now: visitors in the last five minutes, the pages they are on, the latest
/// events.
#[utoipa::path(get, path = "/api/v1/reports/live", responses((status = 200, body = LiveReport)), security(("bearer" = [])))]
pub async fn live(State(st): State<AppState>) -> ApiResult<Json<LiveReport>> {
    let state = st.clone();
    let live = st
        .store
        .call(move |s| crate::traffic::live::now(&s.read()?, state.now_ms(), &state.agents))
        .await?;
    Ok(Json(LiveReport {
        visitors_now: live.visitors_now,
        pages: live
            .pages
            .into_iter()
            .map(|(path, visitors)| LivePage { path, visitors })
            .collect(),
        events: live
            .events
            .into_iter()
            .map(|e| LiveEvent {
                kind: e.kind.as_str().to_string(),
                event: e.event,
                customer_id: e.customer,
                timestamp: iso(e.at),
                path: e.path,
                product_id: e.product_id,
            })
            .collect(),
        bots_left_out: live.bots_left_out,
    }))
}
