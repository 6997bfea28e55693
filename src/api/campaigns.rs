//! Campaigns on the admin API (`/api/v1/campaigns…`, bearer), the messaging settings, consents,
//! the test clock, and the links in messages (`/v1/m/…`: unsubscribe without sign-in, the open
//! pixel, tracked clicks).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::routes::Routes;
use super::{ApiError, ApiJson, ApiResult, AppState, Page};
use crate::campaign::report::{self, Report};
use crate::campaign::send::{self, Estimate, Feedback, Preview, SendState};
use crate::campaign::settings::{Settings, SettingsInput};
use crate::campaign::templates::{self, Template};
use crate::campaign::{self, Audience, CampaignInput, CampaignRecord, Channel, Occurrence, Purpose};
use crate::error::ErrorCode;
use crate::experiment::report::ExperimentReport;
use crate::store::records::{ConsentChange, ConsentChannel};

/// Admin routes, merged under `/api/v1`.
pub fn routes() -> Routes {
    Routes::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/templates", get(list_templates))
        .route("/campaigns/estimate", post(estimate_input))
        .route("/campaigns/{id}", get(describe).put(update))
        .route("/campaigns/{id}/launch", post(launch))
        .route("/campaigns/{id}/pause", post(pause))
        .route("/campaigns/{id}/preview", post(preview))
        .route("/campaigns/{id}/test", post(test_send))
        .route("/campaigns/{id}/estimate", get(estimate))
        .route("/campaigns/{id}/report", get(campaign_report))
        .route("/campaigns/{id}/experiment", get(campaign_experiment))
        .route("/campaigns/{id}/sends", get(sends))
        .route("/settings/messaging", get(get_settings).put(put_settings))
        .route("/settings/messaging/test", post(test_settings))
        .route("/customers/{id}/consents", get(consents).post(change_consent))
        .route("/clock", post(set_clock))
}

/// The links in messages: no key; each carries its own signature.
pub fn message_routes() -> Routes {
    Routes::new()
        .route("/v1/m/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/v1/m/o/{token}", get(open_pixel))
        .route("/v1/m/c/{token}", get(click))
        .route("/v1/m/r/{token}", post(receipt))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignResponse {
    pub id: u64,
    /// draft, active, paused, done.
    pub status: String,
    #[serde(flatten)]
    pub input: CampaignInput,
    pub created_at: String,
    pub updated_at: String,
    pub launched_at: Option<String>,
    /// The next one-off or daily occurrence.
    pub next_due: Option<String>,
    pub occurrences: Vec<Occurrence>,
}

fn response(id: u64, c: CampaignRecord) -> CampaignResponse {
    let iso = super::iso;
    CampaignResponse {
        id,
        status: c.status.as_str().into(),
        input: CampaignInput::from(&c.definition),
        created_at: iso(c.created_at),
        updated_at: iso(c.updated_at),
        launched_at: c.launched_at.map(iso),
        next_due: c.next_due.map(iso),
        occurrences: c.occurrences,
    }
}

fn no_campaign(id: u64) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no campaign {id}"))
}

async fn load(st: &AppState, id: u64) -> ApiResult<CampaignRecord> {
    st.store
        .call(move |s| -> Result<_, ApiError> {
            s.read()?.campaign::<CampaignRecord>(id)?.ok_or_else(|| no_campaign(id))
        })
        .await
}

async fn checked(st: &AppState, input: CampaignInput) -> ApiResult<CampaignInput> {
    st.store
        .call(move |s| -> Result<_, ApiError> {
            input.check(&s.read()?)?;
            Ok(input)
        })
        .await
}

#[utoipa::path(get, path = "/api/v1/campaigns", responses((status = 200, body = Page<CampaignResponse>)), security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>) -> ApiResult<Json<Page<CampaignResponse>>> {
    let items = st
        .store
        .call(|s| -> Result<_, ApiError> {
            Ok(s.read()?
                .campaigns::<CampaignRecord>()?
                .into_iter()
                .map(|(id, c)| response(id, c))
                .collect())
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/campaigns", request_body = CampaignInput, responses((status = 201, body = CampaignResponse), (status = 400)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignResponse>)> {
    let input = checked(&st, input).await?;
    let now = st.now_ms();
    let id = st.store.write(move |tx| campaign::create(tx, &input, now)).await?;
    Ok((StatusCode::CREATED, Json(response(id, load(&st, id).await?))))
}

#[utoipa::path(get, path = "/api/v1/campaigns/templates", responses((status = 200, body = Vec<Template>)), security(("bearer" = [])))]
pub async fn list_templates() -> Json<Vec<Template>> {
    Json(templates::all())
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", params(("id" = u64, Path)), responses((status = 200, body = CampaignResponse), (status = 404)), security(("bearer" = [])))]
pub async fn describe(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<CampaignResponse>> {
    Ok(Json(response(id, load(&st, id).await?)))
}

#[utoipa::path(put, path = "/api/v1/campaigns/{id}", params(("id" = u64, Path)), request_body = CampaignInput, responses((status = 200, body = CampaignResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<Json<CampaignResponse>> {
    load(&st, id).await?;
    let input = checked(&st, input).await?;
    let (now, tz) = (st.now_ms(), st.tz);
    st.store
        .write(move |tx| campaign::update(tx, id, &input, now, tz))
        .await?;
    st.campaigns.wake();
    Ok(Json(response(id, load(&st, id).await?)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/launch", params(("id" = u64, Path)), responses((status = 200, body = CampaignResponse), (status = 400), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn launch(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<CampaignResponse>> {
    let (now, tz) = (st.now_ms(), st.tz);
    let rec = st.store.write(move |tx| campaign::launch(tx, id, now, tz)).await?;
    st.campaigns.wake();
    Ok(Json(response(id, rec)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/pause", params(("id" = u64, Path)), responses((status = 200, body = CampaignResponse), (status = 404)), security(("bearer" = [])))]
pub async fn pause(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<CampaignResponse>> {
    let now = st.now_ms();
    let rec = st.store.write(move |tx| campaign::pause(tx, id, now)).await?;
    Ok(Json(response(id, rec)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewRequest {
    pub customer_id: u64,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/preview", params(("id" = u64, Path)), request_body = PreviewRequest, responses((status = 200, body = Preview), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn preview(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> ApiResult<Json<Preview>> {
    let rec = load(&st, id).await?;
    let sender = st.campaigns.clone();
    let p = tokio::task::spawn_blocking(move || sender.preview(id, &rec, req.customer_id))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    Ok(Json(p))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TestRequest {
    /// An email address (email campaigns) or a phone number.
    pub to: String,
    /// Whose data fills the message.
    pub customer_id: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestResponse {
    /// What the channel answered.
    pub result: String,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/test", params(("id" = u64, Path)), request_body = TestRequest, responses((status = 200, body = TestResponse), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn test_send(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<TestRequest>,
) -> ApiResult<Json<TestResponse>> {
    let rec = load(&st, id).await?;
    let result = st.campaigns.test_send(id, &rec, req.customer_id, &req.to).await?;
    Ok(Json(TestResponse { result }))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/estimate", params(("id" = u64, Path)), responses((status = 200, body = Estimate), (status = 404)), security(("bearer" = [])))]
pub async fn estimate(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<Estimate>> {
    let rec = load(&st, id).await?;
    let sender = st.campaigns.clone();
    let e = tokio::task::spawn_blocking(move || {
        sender.estimate(&rec.definition.audience, rec.definition.channel, rec.definition.purpose)
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    Ok(Json(e))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EstimateRequest {
    #[serde(default)]
    pub audience: Audience,
    pub channel: Channel,
    #[serde(default)]
    pub purpose: Purpose,
}

#[utoipa::path(post, path = "/api/v1/campaigns/estimate", request_body = EstimateRequest, responses((status = 200, body = Estimate), (status = 400)), security(("bearer" = [])))]
pub async fn estimate_input(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<EstimateRequest>,
) -> ApiResult<Json<Estimate>> {
    if let Some(rule) = &req.audience.rule {
        crate::segment::rule::Rule::parse(rule).map_err(|e| {
            ApiError::new(ErrorCode::InvalidRule, format!("expected {}", e.expected))
                .field(format!("audience.rule{}", e.path.trim_start_matches('$')))
        })?;
    }
    let sender = st.campaigns.clone();
    let e = tokio::task::spawn_blocking(move || sender.estimate(&req.audience, req.channel, req.purpose))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    Ok(Json(e))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/report", params(("id" = u64, Path)), responses((status = 200, body = Report), (status = 404)), security(("bearer" = [])))]
pub async fn campaign_report(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<Report>> {
    let rec = load(&st, id).await?;
    let tz = st.tz;
    let r = st
        .store
        .call(move |s| -> Result<_, ApiError> { Ok(report::report(&s.read()?, id, &rec, tz)?) })
        .await?;
    Ok(Json(r))
}

/// The experiment block of a campaign's report alone (CONTRACT §9): read from the arms' tallies,
/// without the report's look at each message.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/experiment", params(("id" = u64, Path)), responses((status = 200, body = ExperimentReport), (status = 404, description = "no such campaign, or it runs no experiment")), security(("bearer" = [])))]
pub async fn campaign_experiment(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<ExperimentReport>> {
    load(&st, id).await?;
    st.store
        .call(move |s| -> Result<_, ApiError> {
            crate::experiment::report::report(&s.read()?, (crate::experiment::CAMPAIGN, id))?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("campaign {id} runs no experiment")))
        })
        .await
        .map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SendsQuery {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SendResponse {
    pub customer_id: u64,
    /// The occurrence (RFC 3339): the one-off or daily time, or the triggering event's time.
    pub occurrence: String,
    #[schema(value_type = String)]
    pub state: SendState,
    pub skip: Option<String>,
    pub held: bool,
    pub resent: bool,
    pub attempts: u32,
    pub address: Option<String>,
    pub coupon_code: Option<String>,
    pub product: Option<String>,
    pub queued_at: String,
    /// When it is next due (queued or held).
    pub due: Option<String>,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub result: Option<String>,
    pub opened_at: Option<String>,
    pub clicked_at: Option<String>,
    pub unsubscribed_at: Option<String>,
    /// The variant sent, when the campaign runs an experiment (CONTRACT §9).
    pub variant: Option<String>,
}

/// A campaign's outbox, oldest occurrence first (`?state=sent`, `?limit=`, at most 10,000).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/sends", params(("id" = u64, Path), SendsQuery), responses((status = 200, body = Page<SendResponse>), (status = 404)), security(("bearer" = [])))]
pub async fn sends(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    Query(q): Query<SendsQuery>,
) -> ApiResult<Json<Page<SendResponse>>> {
    let rec = load(&st, id).await?;
    let limit = q.limit.unwrap_or(1000).min(10_000);
    let want = q.state.clone();
    let design = rec.definition.design(st.tz);
    let items = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let iso = super::iso;
            let mut out = Vec::new();
            s.read()?.for_each_send_of::<send::OutboxRow>(id, |occ, customer, r| {
                let state = serde_json::to_value(r.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                if want.is_none() || want == state {
                    let waiting = matches!(r.state, SendState::Queued | SendState::Held | SendState::Sending);
                    out.push(SendResponse {
                        customer_id: customer,
                        occurrence: iso(occ),
                        state: r.state,
                        skip: r.skip.map(|s| s.as_str().to_string()),
                        held: r.held,
                        resent: r.resent,
                        attempts: r.attempts,
                        address: r.address,
                        coupon_code: r.coupon_code,
                        product: r.product,
                        queued_at: iso(r.queued_at),
                        due: waiting.then(|| iso(r.due)),
                        sent_at: r.sent_at.map(iso),
                        delivered_at: r.delivered_at.map(iso),
                        result: r.result,
                        opened_at: r.opened_at.map(iso),
                        clicked_at: r.clicked_at.map(iso),
                        unsubscribed_at: r.unsubscribed_at.map(iso),
                        variant: r
                            .arm
                            .zip(design.as_ref())
                            .map(|(a, d)| d.key_of(usize::from(a)).to_string()),
                    });
                }
                out.len() < limit
            })?;
            Ok(out)
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// The messaging settings, secrets left out (`password_set`, `auth_value_set` say whether set).
#[utoipa::path(get, path = "/api/v1/settings/messaging", responses((status = 200, body = Settings, description = "the settings without their secrets; `password_set` and `auth_value_set` say whether each is set")), security(("bearer" = [])))]
pub async fn get_settings(State(st): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let s = st
        .store
        .call(|s| -> Result<_, ApiError> { Ok(Settings::load(&s.read()?)?) })
        .await?;
    Ok(Json(s.redacted()))
}

/// Replaces the messaging settings; a password or auth value left out keeps the stored one.
#[utoipa::path(put, path = "/api/v1/settings/messaging", request_body = SettingsInput, responses((status = 200, body = Settings, description = "the settings as saved, without their secrets"), (status = 400)), security(("bearer" = [])))]
pub async fn put_settings(
    State(st): State<AppState>,
    ApiJson(new): ApiJson<SettingsInput>,
) -> ApiResult<Json<serde_json::Value>> {
    let deny = st.campaigns.deny_private_targets();
    let saved = st.store.write(move |tx| Settings::save(tx, new.clone(), deny)).await?;
    st.campaigns.wake();
    Ok(Json(saved.redacted()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsTestRequest {
    /// `email`, `sms`, `lms`, `alimtalk` or `friendtalk`.
    pub channel: String,
    /// An email address or a phone number.
    pub to: String,
}

/// Sends a short test message on a channel with the saved messaging settings and answers what
/// the SMTP server or the provider said; nothing is recorded.
#[utoipa::path(post, path = "/api/v1/settings/messaging/test", request_body = SettingsTestRequest, responses((status = 200, body = TestResponse), (status = 400)), security(("bearer" = [])))]
pub async fn test_settings(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<SettingsTestRequest>,
) -> ApiResult<Json<TestResponse>> {
    let channel = crate::campaign::Channel::parse(&req.channel).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidField,
            format!(
                "`channel` is email, sms, lms, alimtalk or friendtalk (got {:?})",
                req.channel
            ),
        )
        .field("channel")
    })?;
    let result = st.campaigns.test_settings(channel, req.to.trim()).await?;
    Ok(Json(TestResponse { result }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentEntry {
    pub channel: String,
    pub granted: bool,
    pub at: String,
    pub source: String,
    pub campaign: Option<u64>,
}

/// A customer's consent log, oldest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/consents", params(("id" = u64, Path)), responses((status = 200, body = Page<ConsentEntry>), (status = 404)), security(("bearer" = [])))]
pub async fn consents(State(st): State<AppState>, Path(id): Path<u64>) -> ApiResult<Json<Page<ConsentEntry>>> {
    let items = st
        .store
        .call(move |s| -> Result<_, ApiError> {
            let read = s.read()?;
            let (id, _) = crate::customer::get(&read, id)
                .map_err(|_| ApiError::new(ErrorCode::CustomerNotFound, format!("no customer {id}")))?;
            Ok(read
                .consent_log(id)?
                .into_iter()
                .map(|(at, ch, c): (i64, ConsentChannel, ConsentChange)| ConsentEntry {
                    channel: ch.as_str().into(),
                    granted: c.granted,
                    at: super::iso(at),
                    source: c.source,
                    campaign: c.campaign,
                })
                .collect())
        })
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsentRequest {
    /// email, sms, kakao or night.
    pub channel: String,
    pub granted: bool,
    /// How it was given: form, api, console, import (default api).
    #[serde(default)]
    pub source: Option<String>,
}

/// Records a consent given or withdrawn; it takes effect at once.
#[utoipa::path(post, path = "/api/v1/customers/{id}/consents", params(("id" = u64, Path)), request_body = ConsentRequest, responses((status = 200, body = Page<ConsentEntry>), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn change_consent(
    State(st): State<AppState>,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> ApiResult<Json<Page<ConsentEntry>>> {
    let ch = ConsentChannel::parse(&req.channel).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidField, "channel must be email, sms, kakao or night").field("channel")
    })?;
    let source = req.source.clone().unwrap_or_else(|| "api".into());
    if !["form", "api", "console", "import", "link"].contains(&source.as_str()) {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "source must be form, api, console, import or link",
        )
        .field("source"));
    }
    let now = st.now_ms();
    let granted = req.granted;
    st.store
        .write(move |tx| -> Result<(), ApiError> {
            let (cid, rec) = crate::customer::get_in(tx, id)
                .ok_or_else(|| ApiError::new(ErrorCode::CustomerNotFound, format!("no customer {id}")))?;
            let before = rec.consents.clone();
            let rec = tx.customer_mut(cid)?.expect("exists");
            if crate::customer::set_consent(rec, ch, granted, now, &source) {
                rec.updated_at = rec.updated_at.max(now);
                crate::customer::log_consents(tx, cid, &before, None)?;
            }
            Ok(())
        })
        .await?;
    // The consent result notice follows the log.
    st.campaigns.wake();
    consents(State(st), Path(id)).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClockRequest {
    /// RFC 3339.
    pub now: String,
}

/// Moves the test clock (only on a server started with `DANGOL_NOW`; 404 otherwise).
#[utoipa::path(post, path = "/api/v1/clock", request_body = ClockRequest, responses((status = 200, description = "`{\"now\": RFC 3339}`"), (status = 400), (status = 404, description = "the server was not started with `DANGOL_NOW`")), security(("bearer" = [])))]
pub async fn set_clock(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<ClockRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    if !st.store.clock().is_settable() {
        return Err(ApiError::new(ErrorCode::NotFound, "no such route"));
    }
    let at = crate::value::parse_time(&req.now)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidField, "now must be an RFC 3339 time").field("now"))?;
    st.store.clock().set(at);
    st.jobs.wake();
    st.campaigns.wake();
    Ok(Json(serde_json::json!({"now": super::iso(at)})))
}

// --- the links in messages ------------------------------------------------------------------

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.6\">{body}</body></html>"
    ))
}

fn bad_link() -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "링크 오류",
            "<h1>링크가 올바르지 않습니다</h1><p>This link is not valid.</p>",
        ),
    )
        .into_response()
}

/// The page an unsubscribe link opens: one button (a GET never unsubscribes, since mail
/// scanners follow links).
#[utoipa::path(get, path = "/v1/m/u/{token}", params(("token" = String, Path, description = "signed, from the message")), responses((status = 200, description = "a page with one button", content_type = "text/html"), (status = 404, description = "not a link dangol signed")))]
pub async fn unsubscribe_page(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    if st.campaigns.links.parse(&token).is_none() {
        return bad_link();
    }
    page(
        "수신거부",
        &format!(
            "<h1>광고 수신거부</h1><p>이 채널로 보내는 광고 메시지를 더 받지 않으시겠어요?<br>Stop receiving these messages?</p>\
             <form method=\"post\" action=\"/v1/m/u/{token}\"><button type=\"submit\" style=\"font-size:1.1rem;padding:.5rem 1.5rem\">수신거부 (Unsubscribe)</button></form>"
        ),
    )
    .into_response()
}

/// Unsubscribes: the button of the page, or a mail client's one-click POST (RFC 8058, body
/// `List-Unsubscribe=One-Click`). No sign-in; takes effect at once.
#[utoipa::path(post, path = "/v1/m/u/{token}", params(("token" = String, Path, description = "signed, from the message")), responses((status = 200, description = "unsubscribed", content_type = "text/html"), (status = 404, description = "not a link dangol signed")))]
pub async fn unsubscribe(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(key) = st.campaigns.links.parse(&token) else {
        return bad_link();
    };
    let (now, tz) = (st.now_ms(), st.tz);
    match st
        .store
        .write(move |tx| send::feedback(tx, key, Feedback::Unsubscribe, now, tz))
        .await
    {
        Ok(true) => {
            st.campaigns.wake();
            page(
            "수신거부 완료",
            "<h1>수신거부되었습니다</h1><p>이제 이 채널로 광고 메시지를 보내지 않습니다. 처리 결과는 법에 따라 따로 알려 드립니다.<br>You are unsubscribed.</p>",
        )
        .into_response()
        }
        Ok(false) => bad_link(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The open pixel: records the first open, answers a GIF whatever happens.
#[utoipa::path(get, path = "/v1/m/o/{token}", params(("token" = String, Path)), responses((status = 200, description = "a 1×1 GIF", content_type = "image/gif")))]
pub async fn open_pixel(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    if let Some(key) = st.campaigns.links.parse(&token) {
        let (now, tz) = (st.now_ms(), st.tz);
        if let Err(e) = st
            .store
            .write(move |tx| send::feedback(tx, key, Feedback::Open, now, tz))
            .await
        {
            tracing::warn!(error = %e, "an open was not recorded");
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "image/gif".parse().expect("valid"));
    headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("valid"));
    (headers, PIXEL).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClickQuery {
    /// The target, as signed into the message.
    pub u: String,
    /// The target's signature.
    pub s: String,
}

/// A tracked click: records it and redirects to the signed target (never to another).
#[utoipa::path(get, path = "/v1/m/c/{token}", params(("token" = String, Path), ClickQuery), responses((status = 303, description = "to the signed target"), (status = 404, description = "not a link dangol signed")))]
pub async fn click(State(st): State<AppState>, Path(token): Path<String>, Query(q): Query<ClickQuery>) -> Response {
    let Some(key) = st.campaigns.links.check_click(&token, &q.u, &q.s) else {
        return bad_link();
    };
    let (now, tz) = (st.now_ms(), st.tz);
    if let Err(e) = st
        .store
        .write(move |tx| send::feedback(tx, key, Feedback::Click, now, tz))
        .await
    {
        tracing::warn!(error = %e, "a click was not recorded");
    }
    Redirect::to(&q.u).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReceiptBody {
    /// `delivered`, or anything else for a failure (`failed`, `undelivered`, a provider code).
    pub status: String,
}

/// A provider's delivery receipt for one message (the URL it was given as `callback_url`).
#[utoipa::path(post, path = "/v1/m/r/{token}", params(("token" = String, Path)), request_body = ReceiptBody, responses((status = 200), (status = 404, description = "not a message dangol sent")))]
pub async fn receipt(
    State(st): State<AppState>,
    Path(token): Path<String>,
    super::ApiJson(body): super::ApiJson<ReceiptBody>,
) -> Response {
    let Some(key) = st.campaigns.links.parse(&token) else {
        return ApiError::new(ErrorCode::NotFound, "no such message").into_response();
    };
    let delivered = body.status.eq_ignore_ascii_case("delivered");
    let (now, tz) = (st.now_ms(), st.tz);
    match st
        .store
        .write(move |tx| send::feedback(tx, key, Feedback::Receipt(delivered), now, tz))
        .await
    {
        Ok(true) => Json(serde_json::json!({"recorded": true})).into_response(),
        Ok(false) => ApiError::new(ErrorCode::NotFound, "no such message").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
