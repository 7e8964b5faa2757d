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
mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use muster_engine::account::{AccountPolicy, ThrottlePolicy};
use muster_store::Store;
use tokio::net::TcpListener;

pub use config::{link_base, ConfigError, MfaPolicy, PublicUrl, ServerConfig, SessionPolicy};

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

    /// The engine's sign-in and session policy, from the configuration.
    pub fn account_policy(&self) -> AccountPolicy {
        AccountPolicy {
            mfa_required: self.config.mfa == MfaPolicy::Required,
            idle_ms: self.config.session.idle_ms,
            absolute_ms: self.config.session.absolute_ms,
            throttle: ThrottlePolicy::default(),
        }
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
        .merge(pages())
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

/// The console's pages; each handler extracts its session itself (`session::Console` or, on
/// the sign-in steps, `session::Pending`).
fn pages() -> Router<AppState> {
    use pages::{
        account, audit, departments, entries, groups, links, roles, sign_in, user_forms, users,
    };
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route(
            "/sign-in/password",
            get(sign_in::password_form).post(sign_in::password_submit),
        )
        .route(
            "/sign-in/mfa-enrol",
            get(sign_in::enrol_form_page).post(sign_in::enrol_submit),
        )
        .route(
            "/sign-in/mfa",
            get(sign_in::challenge).post(sign_in::challenge_submit),
        )
        .route("/sign-out", post(sign_in::sign_out))
        .route(
            "/forgot",
            get(links::forgot_form).post(links::forgot_submit),
        )
        .route(
            "/reset/{token}",
            get(links::reset_form).post(links::reset_submit),
        )
        .route(
            "/invite/{token}",
            get(links::invite_form).post(links::invite_submit),
        )
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route(
            "/account/sessions/others",
            post(account::sign_out_elsewhere),
        )
        .route("/account/sessions/revoke", post(account::revoke))
        .route("/users", get(users::list))
        .route("/users/new", get(user_forms::new).post(user_forms::create))
        .route("/users/{id}", get(users::show))
        .route(
            "/users/{id}/edit",
            get(user_forms::edit).post(user_forms::update),
        )
        .route("/users/{id}/rename", post(user_forms::rename))
        .route("/users/{id}/active", post(user_forms::set_active))
        .route(
            "/users/{id}/delete",
            get(user_forms::confirm_delete).post(user_forms::delete),
        )
        .route("/users/{id}/mfa-reset", post(user_forms::reset_mfa))
        .route("/users/{id}/invite", post(user_forms::invite))
        .route(
            "/users/{id}/password",
            get(user_forms::password).post(user_forms::set_password),
        )
        .route("/groups", get(groups::list))
        .route("/groups/new", get(groups::new).post(groups::create))
        .route("/groups/{id}", get(groups::show))
        .route("/groups/{id}/edit", post(groups::update))
        .route("/groups/{id}/rename", post(groups::rename))
        .route(
            "/groups/{id}/delete",
            get(entries::confirm_delete::<groups::Groups>).post(entries::delete::<groups::Groups>),
        )
        .route("/groups/{id}/members", post(groups::add_members))
        .route("/groups/{id}/members/remove", post(groups::remove_members))
        .route("/roles", get(roles::list))
        .route("/roles/new", get(roles::new).post(roles::create))
        .route("/roles/{id}", get(roles::show))
        .route("/roles/{id}/edit", post(roles::update))
        .route("/roles/{id}/rename", post(roles::rename))
        .route(
            "/roles/{id}/delete",
            get(entries::confirm_delete::<roles::Roles>).post(entries::delete::<roles::Roles>),
        )
        .route("/departments", get(departments::list))
        .route(
            "/departments/new",
            get(departments::new).post(departments::create),
        )
        .route("/departments/{id}", get(departments::show))
        .route("/departments/{id}/edit", post(departments::update))
        .route("/departments/{id}/rename", post(departments::rename))
        .route(
            "/departments/{id}/delete",
            get(entries::confirm_delete::<departments::Departments>)
                .post(entries::delete::<departments::Departments>),
        )
        .route("/audit", get(audit::list))
}

/// `/` leads to the first section the user may read.
async fn home(console: session::Console) -> Redirect {
    Redirect::to(pages::layout::home(&console.actor))
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
