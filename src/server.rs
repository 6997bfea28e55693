//! The wiring: opens the store on the server's clock, starts the followers, the job runner and the
//! campaign sender, builds the [`AppState`] both edges share, and serves the router that mounts the
//! JSON API and the console side by side. `run` binds the configured address; `serve` is the same
//! on a given listener (tests use it).

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use crate::app::AppState;
use crate::config::Config;
use crate::store::Store;
use crate::{analysis, auth, campaign, clock, coupon, customer, demo, jobs, load, recommend, search, segment};

/// Binds the configured address and serves until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serve(config, listener, shutdown).await
}

/// Opens the store, bootstraps keys, loads the demo shop if asked, and serves HTTP on `listener`
/// until `shutdown` completes; then finishes in-flight requests and returns. Everything that was
/// acknowledged is committed by then.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let dir = config.store.data_dir.clone();
    let cfg = config.clone();
    // With DANGOL_NOW the clock starts there and tests may move it (POST /api/v1/clock).
    let clock = match config.now {
        Some(at) => clock::Clock::starting_at(at.to_utc()),
        None => clock::Clock::system(),
    };
    let (store, boot) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let store = Store::open_with_clock(&dir, clock)
            .with_context(|| format!("cannot open the store in {}", dir.display()))?;
        let boot = auth::bootstrap(&store, &cfg.secrets())?;
        if cfg.demo && store.read()?.customers_count()? == 0 {
            let started = std::time::Instant::now();
            let report = load::demo(&store, &demo::DemoOptions::new(cfg.demo_customers, store.clock().now()))?;
            tracing::info!(
                customers = cfg.demo_customers,
                messages = report.messages,
                seconds = started.elapsed().as_secs_f64(),
                "demo shop loaded"
            );
        }
        Ok((store, boot))
    })
    .await??;
    for line in &boot.announce {
        // Printed once, on first start: these secrets are stored only as hashes.
        println!("{line}");
    }
    let columns = customer::columns::Shared::default();
    let (stop_follower, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(customer::columns::follow(
        store.clone(),
        columns.clone(),
        stopped.clone(),
    ));
    let search = {
        let dir = config.store.data_dir.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || search::Search::open(&dir))
                .await?
                .context("cannot open the search indexes")?,
        )
    };
    let indexer = tokio::spawn(search::follow(
        store.clone(),
        search.clone(),
        columns.clone(),
        stopped.clone(),
    ));
    let segment_days: Arc<segment::eval::AnalysisDays> = Default::default();
    let holds = Arc::new(coupon::Holdings::new(store.clone()));
    let recommender = {
        let (store, now) = (store.clone(), store.now_ms());
        Arc::new(tokio::task::spawn_blocking(move || recommend::Engine::load(&store.read()?, now)).await??)
    };
    let recommend_follower = tokio::spawn(recommend::follow(recommender.clone(), store.clone(), stopped.clone()));
    let runner = {
        let (store, tz) = (store.clone(), config.store.timezone);
        // In this order: the segments' nightly recompute reads the night's analysis.
        let jobs = vec![
            analysis::job(),
            segment::saved::job(
                columns.clone(),
                segment_days.clone(),
                Some(search.clone()),
                Some(holds.clone()),
            ),
            recommend::job(recommender.clone()),
        ];
        tokio::task::spawn_blocking(move || jobs::Runner::new(store, tz, jobs)).await??
    };
    if !recommender.has_model() && store.read()?.orders_count()? > 0 {
        // A store with orders and no model yet (first start after an upgrade): build it now, in
        // the background, rather than at midnight.
        let runner = runner.clone();
        tokio::spawn(async move {
            if let Err(e) = runner.run_now(recommend::JOB).await {
                tracing::warn!(error = %e, "the first recommendations model was not built");
            }
        });
    }
    let campaigns = {
        let parts = campaign::send::Parts {
            columns: columns.clone(),
            segment_days: segment_days.clone(),
            search: Some(search.clone()),
            holds: Some(holds.clone()),
            recommend: recommender.clone(),
            deny_private_targets: config.deny_private_targets,
        };
        let (store, tz) = (store.clone(), config.store.timezone);
        tokio::task::spawn_blocking(move || campaign::send::Sender::new(store, tz, parts)).await??
    };
    let sender = tokio::spawn(campaigns.clone().run(stopped.clone()));
    let live = (config.demo && config.demo_live).then(|| {
        tokio::spawn(load::demo_live(
            store.clone(),
            demo::DemoOptions::new(config.demo_customers, store.clock().now()),
            stopped.clone(),
        ))
    });
    let agents = Arc::new(crate::traffic::Agents::default());
    let reports = crate::reports::Reports::new(store.clone(), config.store.timezone, agents.clone());
    {
        let reports = reports.clone();
        tokio::task::spawn_blocking(move || reports.ready_if_empty()).await??;
    }
    let reports_follower = tokio::spawn(crate::reports::follow(reports.clone(), stopped.clone()));
    let scheduler = tokio::spawn(runner.clone().run_loop(stopped));
    let state = AppState {
        columns,
        imports: Default::default(),
        store: store.clone(),
        keys: Arc::new(boot.keys),
        tz: config.store.timezone,
        jobs: runner,
        segment_days,
        search,
        holds,
        recommend: recommender,
        campaigns,
        identity_secret: config.identity_secret.as_ref().map(|s| Arc::from(s.0.as_str())),
        onsite: Default::default(),
        agents,
        reports,
    };
    let app = router(state);
    tracing::info!(addr = %listener.local_addr()?, data_dir = %config.store.data_dir.display(), "dangol is serving");
    // Handlers may ask for the peer's address (sign-in counts failures per address).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    // The follower holds the store; it lets go first, so that the store closes when we return.
    let _ = stop_follower.send(true);
    let _ = follower.await;
    let _ = indexer.await;
    let _ = recommend_follower.await;
    let _ = reports_follower.await;
    let _ = scheduler.await;
    let _ = sender.await;
    if let Some(live) = live {
        let _ = live.await;
    }
    // Work started in the background (the first recommendations model, a console import, a job
    // run by hand) holds the store too: it sees the stop and lets go; the file is closed, and can
    // be opened again at once, only when the last holder is gone.
    let holders_gone = async {
        while store.holders() > 1 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(60), holders_gone)
        .await
        .is_err()
    {
        tracing::warn!(
            holders = store.holders() - 1,
            "background work still holds the store after a minute"
        );
    }
    drop(store);
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled: a SIGTERM that arrives while the server is still starting (or before the
/// HTTP server's own task polls the future) must stop it cleanly, not kill it.
/// Serves one HTML page at `/` on a free loopback port, until the handle is aborted: a shop's page
/// for the benchmarks (`dangol bench storefront` loads it in a browser). Its URL.
pub async fn serve_page(html: String) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let app = Router::new().route(
        "/",
        get(move || {
            let html = html.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], html) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, handle))
}

pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
}

/// Every route: the JSON API's and the console's side by side, `/healthz`, and the API's 404 for
/// anything else; each request gets an id first.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(crate::api::routes(state.clone()))
        .merge(crate::web::routes(state.clone()))
        .fallback(crate::api::not_found)
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Gives each request an id (or keeps the caller's `X-Request-Id`), logs it at debug, and
/// returns it in the response header.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let (method, uri) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let mut res = crate::app::with_request_id(id.clone(), next.run(req)).await;
    let took = started.elapsed();
    tracing::debug!(request_id = %id, %method, path = %uri, status = res.status().as_u16(), micros = took.as_micros() as u64, "request");
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    // The server's own time for the answer (W3C Server-Timing: browsers' devtools show it, and
    // the benchmarks read it to tell the server's share from the client's).
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={:.3}", took.as_secs_f64() * 1000.0)) {
        res.headers_mut().insert("server-timing", v);
    }
    res
}
