//! The web console of muster (`muster serve`): an axum server whose pages are rendered on the
//! server (maud templates compiled in, one stylesheet compiled in, no script needed), calling
//! the engine's use cases with the signed-in user as the actor. The server holds no SQL and no
//! business rule: a handler parses its input, calls one use case, renders.
//!
//! Request path, outermost first: security headers (`security::headers`, on every response),
//! request metrics and log (`metrics::observe`, by route template), the origin check of
//! state-changing requests (`security::same_origin`), then the route's handler, which extracts
//! the session (`session`), checks the form's CSRF token and calls the engine.

mod assets;
mod config;
mod errors;
mod metrics;
mod pages;
mod security;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use muster_store::Store;
use tokio::net::TcpListener;

pub use config::{ConfigError, MfaPolicy, PublicUrl, ServerConfig, SessionPolicy};

use crate::errors::PageError;
use crate::metrics::Metrics;
use crate::security::Cookies;

/// What every handler reaches: the store, the configuration and the metrics.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    pub store: Store,
    pub config: ServerConfig,
    pub metrics: Metrics,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn cookies(&self) -> Cookies {
        Cookies::new(self.config.secure_cookies())
    }
}

/// Listens on `config.listen` and serves until `shutdown` completes, then finishes the requests
/// under way.
pub async fn serve(
    config: ServerConfig,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    serve_on(listener, config, store, shutdown).await
}

/// `serve` on a listener the caller bound (to print its address, or on port 0 in tests).
pub async fn serve_on(
    listener: TcpListener,
    config: ServerConfig,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(AppState(Arc::new(Shared {
        store,
        config,
        metrics: Metrics::default(),
    })));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::serve))
        .route("/assets/{version}/{name}", get(assets::serve))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::same_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .layer(middleware::from_fn(security::headers))
        .with_state(state)
}

/// The process is alive and answering.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers a query (migrations ran when the store was opened).
async fn readyz(State(state): State<AppState>) -> Response {
    match muster_engine::check_ready(&state.store).await {
        Ok(()) => "ready\n".into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
        }
    }
}

async fn not_found() -> PageError {
    PageError::NotFound
}
