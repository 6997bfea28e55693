//! The Segment HTTP Tracking API (CONTRACT §2): `/v1/identify|track|page|screen|group|alias|batch`,
//! the analytics.js short forms `/v1/i|t|p|s|g|a|b` with `text/plain` bodies and the write key in
//! the body, and the settings document analytics.js reads first. A request is answered only after
//! its messages are committed.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;
use tower_http::decompression::RequestDecompressionLayer;

use super::routes::Routes;
use super::{ApiError, AppState};
use crate::error::ErrorCode;
use crate::store::records::{EventKind, KeyKind};
use crate::track::{self, FieldError, Message};

/// Segment's limits: one message ≤ 32 KB, one batch request ≤ 500 KB.
pub const MAX_MESSAGE: usize = 32 * 1024;
pub const MAX_BATCH: usize = 500 * 1024;
/// Messages in one batch request (Segment's libraries send 100 at most; a bound on the work one
/// request can ask for).
pub const MAX_BATCH_ITEMS: usize = 1_000;
/// Rejected messages a batch answer lists one by one; the rest are counted.
const LISTED_REJECTIONS: usize = 100;

pub fn routes() -> Routes {
    let mut r = Routes::new();
    for (long, short, kind) in [
        ("identify", "i", EventKind::Identify),
        ("track", "t", EventKind::Track),
        ("page", "p", EventKind::Page),
        ("screen", "s", EventKind::Screen),
        ("group", "g", EventKind::Group),
        ("alias", "a", EventKind::Alias),
    ] {
        let handler = post(move |state: State<AppState>, req: Request| single(state, kind, req));
        r = r
            .route(&format!("/v1/{long}"), handler.clone())
            .route(&format!("/v1/{short}"), handler);
    }
    r.route("/v1/batch", post(batch))
        .route("/v1/b", post(batch))
        .route("/v1/import", post(batch))
        .route("/v1/projects/{write_key}/settings", get(settings))
        .layer(RequestDecompressionLayer::new())
        .layer(CorsLayer::very_permissive())
}

/// The write key from HTTP Basic (the username, empty password).
fn basic_key(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    Some(s.split_once(':').map_or(s.clone(), |(u, _)| u.to_string()))
}

/// Which write key a request came with (CONTRACT §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writer {
    /// The public key in the shop's pages: a person's claims need their `userHash`.
    Public,
    /// A server write key, kept on the shop's backend: trusted like a valid `userHash`.
    Server,
}

pub(super) fn authorize(state: &AppState, headers: &HeaderMap, body_key: Option<&str>) -> Result<Writer, ApiError> {
    let key = basic_key(headers)
        .filter(|k| !k.is_empty())
        .or_else(|| body_key.map(str::to_string));
    match key.as_deref().map(|k| state.keys.kind_of(k)) {
        Some(Some(KeyKind::Write)) => Ok(Writer::Public),
        Some(Some(KeyKind::ServerWrite)) => Ok(Writer::Server),
        Some(_) => Err(ApiError::new(ErrorCode::Unauthorized, "the write key is not valid")),
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "a write key is required: HTTP Basic username, or `writeKey` in the body",
        )),
    }
}

async fn read_body(req: Request, limit: usize, what: &str) -> Result<(HeaderMap, axum::body::Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                if what == "message" {
                    ErrorCode::MessageTooLarge
                } else {
                    ErrorCode::PayloadTooLarge
                },
                format!("a {what} may be at most {} KB", limit / 1024),
            )
        } else {
            ApiError::new(ErrorCode::InvalidJson, format!("the body could not be read: {e}"))
        }
    })?;
    Ok((parts.headers, bytes))
}

fn json_error(e: serde_json::Error) -> ApiError {
    ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}"))
}

async fn single(State(state): State<AppState>, kind: EventKind, req: Request) -> Result<Response, ApiError> {
    let received = state.now_ms();
    let (headers, bytes) = read_body(req, MAX_MESSAGE, "message").await?;
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            authorize(&state, &headers, None)?;
            return Err(json_error(e));
        }
    };
    let writer = authorize(&state, &headers, value.get("writeKey").and_then(Value::as_str))?;
    let msg = Message::parse(value, Some(kind), "")?;
    let secret = state.identity_secret.clone();
    let outcome = state
        .store
        .write(move |tx| {
            let mut trust = TrustOf::new(writer, secret.clone());
            track::apply(tx, &msg, received, trust.of(tx, &msg)?)
        })
        .await?;
    let mut answer = json!({"success": true});
    if let track::Outcome::Stored { ignored, .. } = outcome
        && !ignored.is_empty()
    {
        answer["ignored"] = ignored.fields().collect();
    }
    Ok(Json(answer).into_response())
}

/// How far each message of a request is believed (CONTRACT §5): all of them under a server
/// write key; under the public key, one whose `userHash` proves its `userId`. The identity
/// secret is read once per request, and only if a message carries a `userHash`.
struct TrustOf {
    writer: Writer,
    secret: Option<Option<String>>,
}

impl TrustOf {
    fn new(writer: Writer, server_secret: Option<std::sync::Arc<str>>) -> TrustOf {
        TrustOf {
            writer,
            secret: server_secret.map(|s| Some(s.to_string())),
        }
    }

    fn of(&mut self, tx: &crate::store::Tx, msg: &Message) -> Result<track::Trust, crate::store::Error> {
        if self.writer == Writer::Server {
            return Ok(track::Trust::Verified);
        }
        let (Some(user), Some(hash)) = (&msg.user_id, &msg.user_hash) else {
            return Ok(track::Trust::Public);
        };
        if self.secret.is_none() {
            self.secret = Some(
                crate::auth::StorefrontSettings::load_in(tx)?
                    .identity_secret
                    .filter(|s| !s.is_empty()),
            );
        }
        Ok(match self.secret.as_ref().and_then(Option::as_deref) {
            Some(secret) if crate::auth::verify_user_hash(secret, user, hash) => track::Trust::Verified,
            _ => track::Trust::Public,
        })
    }
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow, default)]
    batch: Option<Vec<&'a RawValue>>,
    #[serde(rename = "writeKey", default)]
    write_key: Option<String>,
    #[serde(rename = "sentAt", default)]
    sent_at: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
}

#[utoipa::path(post, path = "/v1/batch", request_body = doc::Batch, responses((status = 200, description = "`{\"success\": true}` once every message is committed; `ignored` lists the claims not taken (`batch[3].traits.email`, …): under the public write key without a valid `userHash`, joins to and changes of customers who exist (CONTRACT §5)"), (status = 400, description = "the rejected messages, each with its field"), (status = 401), (status = 413)), security(("write_key" = [])))]
pub async fn batch(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let received = state.now_ms();
    let (headers, bytes) = read_body(req, MAX_BATCH, "batch request").await?;
    let body: BatchBody = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            authorize(&state, &headers, None)?;
            return Err(if e.is_data() {
                ApiError::new(
                    ErrorCode::InvalidField,
                    format!("`batch` must be an array of messages: {e}"),
                )
                .field("batch")
            } else {
                json_error(e)
            });
        }
    };
    let writer = authorize(&state, &headers, body.write_key.as_deref())?;
    let Some(items) = body.batch else {
        return Err(ApiError::new(ErrorCode::MissingField, "`batch` is required").field("batch"));
    };
    if items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "`batch` holds {} messages; a request takes at most {MAX_BATCH_ITEMS} (nothing was stored)",
                items.len()
            ),
        )
        .field("batch"));
    }
    let mut messages = Vec::with_capacity(items.len());
    let mut rejected: Vec<(usize, FieldError)> = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        let prefix = format!("batch[{i}]");
        if raw.get().len() > MAX_MESSAGE {
            rejected.push((
                i,
                FieldError {
                    code: ErrorCode::MessageTooLarge,
                    message: format!("`{prefix}` is larger than {} KB", MAX_MESSAGE / 1024),
                    field: prefix,
                },
            ));
            continue;
        }
        let mut value: Value = match serde_json::from_str(raw.get()) {
            Ok(v) => v,
            Err(e) => {
                rejected.push((
                    i,
                    FieldError {
                        code: ErrorCode::InvalidJson,
                        message: e.to_string(),
                        field: prefix,
                    },
                ));
                continue;
            }
        };
        // Batch-level `sentAt` and `context` apply to items that lack their own.
        if let Value::Object(obj) = &mut value {
            if let Some(s) = &body.sent_at {
                obj.entry("sentAt").or_insert_with(|| s.clone());
            }
            if let Some(c) = &body.context {
                obj.entry("context").or_insert_with(|| c.clone());
            }
        }
        match Message::parse(value, None, &prefix) {
            Ok(m) => messages.push((i, m)),
            Err(e) => rejected.push((i, e)),
        }
    }
    let accepted = messages.len();
    let mut ignored: Vec<Value> = Vec::new();
    let mut ignored_count = 0;
    if !messages.is_empty() {
        let secret = state.identity_secret.clone();
        let outcomes = state
            .store
            .write(move |tx| {
                let mut trust = TrustOf::new(writer, secret.clone());
                let mut outcomes = Vec::with_capacity(messages.len());
                for (i, m) in &messages {
                    let t = trust.of(tx, m)?;
                    outcomes.push((*i, track::apply(tx, m, received, t)?));
                }
                Ok::<_, crate::store::Error>(outcomes)
            })
            .await?;
        for (i, outcome) in outcomes {
            if let track::Outcome::Stored { ignored: fields, .. } = outcome {
                for f in fields.fields() {
                    ignored_count += 1;
                    if ignored.len() < LISTED_REJECTIONS {
                        ignored.push(format!("batch[{i}].{f}").into());
                    }
                }
            }
        }
    }
    let Some((_, first)) = rejected.first() else {
        let mut answer = json!({"success": true});
        if ignored_count > 0 {
            answer["ignored"] = ignored.into();
            answer["ignored_count"] = ignored_count.into();
        }
        return Ok(Json(answer).into_response());
    };
    let list: Vec<Value> = rejected
        .iter()
        .take(LISTED_REJECTIONS)
        .map(|(i, e)| json!({"index": i, "code": e.code.as_str(), "field": e.field, "message": e.message}))
        .collect();
    let mut err = ApiError::new(
        first.code,
        format!(
            "{} of {} messages rejected; the others were stored. First: {}",
            rejected.len(),
            items.len(),
            first.message
        ),
    )
    .field(first.field.clone());
    let mut extra = json!({"success": false, "accepted": accepted, "rejected_count": rejected.len(), "rejected": list});
    if ignored_count > 0 {
        extra["ignored"] = ignored.into();
        extra["ignored_count"] = ignored_count.into();
    }
    err.extra = Some(extra);
    if err.code == ErrorCode::InvalidJson {
        err.code = ErrorCode::InvalidField;
    }
    Ok(err.into_response())
}

/// The settings analytics.js reads from its CDN before it sends anything: the Segment.io
/// destination pointed back at this server.
#[utoipa::path(get, path = "/v1/projects/{write_key}/settings", params(("write_key" = String, Path)), responses((status = 200, description = "analytics.js settings with the Segment.io destination pointed at this server"), (status = 401)))]
pub async fn settings(
    State(state): State<AppState>,
    Path(write_key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !matches!(
        state.keys.kind_of(&write_key),
        Some(KeyKind::Write | KeyKind::ServerWrite)
    ) {
        return Err(ApiError::new(ErrorCode::Unauthorized, "the write key is not valid"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    let body = json!({
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": format!("{host}/v1"),
                "protocol": proto,
                "unbundledIntegrations": [],
                "addBundledMetadata": true,
                "maybeBundledConfigIds": {},
                "versionSettings": {"version": "4.4.7", "componentTypes": ["browser"]}
            }
        },
        "plan": {
            "track": {"__default": {"enabled": true, "integrations": {}}},
            "identify": {"__default": {"enabled": true}},
            "group": {"__default": {"enabled": true}}
        },
        "edgeFunction": {},
        "analyticsNextEnabled": true,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": false,
        "remotePlugins": []
    });
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(body),
    )
        .into_response())
}

/// The tracking calls as the OpenAPI document shows them. The routes take every kind through one
/// handler, at a long and a short path each (`/v1/identify` and `/v1/i`, …).
pub mod doc {
    use serde_json::Value;
    use utoipa::ToSchema;

    /// A Segment message (CONTRACT §2): `userId` or `anonymousId`, and the fields of its kind.
    #[derive(ToSchema)]
    #[allow(dead_code)]
    #[schema(as = SegmentMessage)]
    pub struct Message {
        #[schema(rename = "userId")]
        pub user_id: Option<String>,
        #[schema(rename = "anonymousId")]
        pub anonymous_id: Option<String>,
        /// `track`: the event's name (`Order Completed`, …).
        pub event: Option<String>,
        /// `page` and `screen`: the page's name.
        pub name: Option<String>,
        #[schema(value_type = Object)]
        pub properties: Option<Value>,
        #[schema(value_type = Object)]
        pub traits: Option<Value>,
        #[schema(value_type = Object)]
        pub context: Option<Value>,
        /// RFC 3339; when it happened (default: when received).
        pub timestamp: Option<String>,
        #[schema(rename = "messageId")]
        pub message_id: Option<String>,
        /// `alias`: the id the person had before.
        #[schema(rename = "previousId")]
        pub previous_id: Option<String>,
        /// `group`: the group.
        #[schema(rename = "groupId")]
        pub group_id: Option<String>,
        /// The write key, when not sent as HTTP Basic.
        #[schema(rename = "writeKey")]
        pub write_key: Option<String>,
        /// Hex HMAC-SHA256 of `userId` under the shop's identity secret, made by the shop's
        /// server: the message may then join and change the member (also read from
        /// `context.userHash`).
        #[schema(rename = "userHash")]
        pub user_hash: Option<String>,
    }

    /// Up to 500 KB of messages, each with its `type`.
    #[derive(ToSchema)]
    #[allow(dead_code)]
    pub struct Batch {
        pub batch: Vec<Message>,
        #[schema(rename = "writeKey")]
        pub write_key: Option<String>,
        #[schema(rename = "sentAt")]
        pub sent_at: Option<String>,
    }

    macro_rules! call {
        ($name:ident, $path:literal, $what:literal) => {
            #[doc = $what]
            #[utoipa::path(post, path = $path, request_body = Message, responses((status = 200, description = "`{\"success\": true}` once the message is committed; `ignored` lists the claims not taken (`anonymousId`, `traits.email`, …): under the public write key without a valid `userHash`, joins to and changes of customers who exist (CONTRACT §5)"), (status = 400, description = "the field at fault"), (status = 401), (status = 413)), security(("write_key" = [])))]
            #[allow(dead_code)]
            pub fn $name() {}
        };
    }
    call!(identify, "/v1/identify", "Who the person is, with traits.");
    call!(
        track,
        "/v1/track",
        "What the person did (the E-commerce Spec v2 events update orders and interests)."
    );
    call!(page, "/v1/page", "A page the person saw.");
    call!(screen, "/v1/screen", "A screen of an app the person saw.");
    call!(group, "/v1/group", "A group the person belongs to.");
    call!(alias, "/v1/alias", "Two ids of one person (`previousId`, `userId`).");

    /// Short paths, and the long path each stands for.
    pub const ALIASES: [(&str, &str); 8] = [
        ("/v1/i", "/v1/identify"),
        ("/v1/t", "/v1/track"),
        ("/v1/p", "/v1/page"),
        ("/v1/s", "/v1/screen"),
        ("/v1/g", "/v1/group"),
        ("/v1/a", "/v1/alias"),
        ("/v1/b", "/v1/batch"),
        ("/v1/import", "/v1/batch"),
    ];
}
