//! The id of the request being handled: given (or kept from `X-Request-Id`) by the server's
//! middleware, logged with every internal error and shown on error pages and error bodies, so a
//! person who quotes it can be found in the log.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` as the request `id`.
pub async fn with_request_id<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The id of the request being handled (empty outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}
