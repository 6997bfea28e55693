//! A router that writes down the path of every route it is given, so that the OpenAPI document
//! can be held against the routes themselves (`api::paths`, and a test asks the running server
//! which methods each path answers).

use axum::Router;
use axum::routing::MethodRouter;

use crate::app::AppState;

/// The routes of a part of the API, and their paths.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
}

impl Routes {
    pub fn new() -> Routes {
        Routes::default()
    }

    pub fn route(mut self, path: &str, methods: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(path, methods);
        self.paths.push(path.to_string());
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Wraps every route so far in `layer` (as `Router::layer`).
    pub fn layer<L>(mut self, layer: L) -> Routes
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response: axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Error: Into<std::convert::Infallible> + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// The paths, each under `prefix`.
    pub fn paths(&self, prefix: &str) -> Vec<String> {
        self.paths.iter().map(|p| format!("{prefix}{p}")).collect()
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
