//! The session behind a request: the cookie's token is resolved by the engine
//! (`account::resolve_session`), and a handler receives either a `Console` (a session at stage
//! Full, with the user as the actor of source Console) or, on the pages of the sign-in steps, a
//! `Pending` session at any stage. Without a session a page redirects to the sign-in page; a
//! session still at an earlier stage reaches only the page of that stage.

use std::net::SocketAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use muster_engine::account::{self, ClientInfo, Session, SessionStage};
use muster_engine::{Actor, Context, Source};

use crate::errors::PageError;
use crate::pages::layout::Viewer;
use crate::security::{read_cookie, FormData};
use crate::AppState;

/// A signed-in user whose session has passed every step.
pub struct Console {
    pub actor: Actor,
    pub session: Session,
    pub token: String,
}

impl Console {
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            actor: &self.actor,
            csrf: &self.session.csrf,
        }
    }

    /// Refuses a form that does not carry this session's token.
    pub fn check(&self, form: &FormData) -> Result<(), PageError> {
        form.check_csrf(&self.session.csrf)
    }

    /// A context for a use case run by this user (the system clock and randomness).
    pub fn context(&self) -> Context {
        context_for(self.actor.clone())
    }
}

/// A session at any stage, for the pages of the sign-in steps (password change, MFA).
pub struct Pending {
    pub session: Session,
    pub token: String,
}

impl Pending {
    pub fn check(&self, form: &FormData) -> Result<(), PageError> {
        form.check_csrf(&self.session.csrf)
    }
}

/// A context whose actor is muster itself: for the account use cases, which act on the session
/// they are given rather than through an actor's permissions.
pub fn system_context() -> Context {
    context_for(Actor::system("console"))
}

fn context_for(actor: Actor) -> Context {
    let mut ctx = Context::system(Box::new(muster_engine::NoProgress));
    ctx.actor = actor;
    ctx
}

/// The page a session at `stage` must go to next.
pub fn stage_page(stage: &SessionStage) -> &'static str {
    match stage {
        SessionStage::ChangePassword => "/sign-in/password",
        SessionStage::EnrolMfa => "/sign-in/mfa-enrol",
        SessionStage::Mfa => "/sign-in/mfa",
        SessionStage::Full => "/",
    }
}

/// The session of the request's cookie, if it is alive.
async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<(Session, String)>, PageError> {
    let cookies = state.cookies();
    let Some(token) = read_cookie(&parts.headers, cookies.session_name()) else {
        return Ok(None);
    };
    let found = account::resolve_session(
        &state.store,
        &system_context(),
        &state.account_policy(),
        token,
    )
    .await?;
    Ok(found.map(|session| (session, token.to_owned())))
}

/// Where a request without a usable session goes: the sign-in page, dropping a dead cookie.
fn to_sign_in(state: &AppState, had_cookie: bool) -> Response {
    let mut response = Redirect::to("/sign-in").into_response();
    if had_cookie {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, state.cookies().clear_session());
    }
    response
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Console, Response> {
        let had_cookie = read_cookie(&parts.headers, state.cookies().session_name()).is_some();
        let Some((session, token)) = resolve(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        else {
            return Err(to_sign_in(state, had_cookie));
        };
        if session.stage != SessionStage::Full {
            return Err(Redirect::to(stage_page(&session.stage)).into_response());
        }
        let actor = account::session_actor(&state.store, &session, Source::Console)
            .await
            .map_err(|e| PageError::from(e).into_response())?;
        Ok(Console {
            actor,
            session,
            token,
        })
    }
}

impl FromRequestParts<AppState> for Pending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Pending, Response> {
        let had_cookie = read_cookie(&parts.headers, state.cookies().session_name()).is_some();
        match resolve(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Some((session, token)) => Ok(Pending { session, token }),
            None => Err(to_sign_in(state, had_cookie)),
        }
    }
}

/// The client as the sign-in throttle and the session list see it: the peer address (the
/// console is expected to be reached directly or through a proxy that the operator trusts
/// with the address it connects from) and the browser's user agent, cut short.
pub fn client_info(headers: &HeaderMap, peer: SocketAddr) -> ClientInfo {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    ClientInfo {
        address: peer.ip().to_string(),
        user_agent,
    }
}
