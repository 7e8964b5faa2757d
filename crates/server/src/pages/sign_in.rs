//! Signing in and its later steps: the sign-in form (username or e-mail; one answer for every
//! refusal, so nobody learns which accounts exist), the forced password change, MFA enrolment
//! and challenge, the recovery codes shown once, and signing out. Each step's success gives a
//! new session token (the engine rotates it) which replaces the cookie. A session still at a
//! step reaches only that step's page.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use maud::{html, Markup};
use muster_engine::account::{self, Session, SessionStage, SessionToken};
use muster_engine::{Error, FieldProblem, Refusal, Unavailable};

use super::layout::{self, other_problems, text_field};
use crate::errors::{field_problems, html, PageError, PageResult};
use crate::metrics::SignInOutcome;
use crate::security::{FormData, PreSession};
use crate::session::{client_info, stage_page, system_context, Pending};
use crate::AppState;

fn sign_in_form(token: &str, identifier: &str, message: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(message) = message { p.message role="alert" { (message) } }
            form.stack method="post" action="/sign-in" {
                (layout::csrf(token))
                div.field {
                    label for="identifier" { "Username or e-mail" }
                    input type="text" id="identifier" name="identifier" value=(identifier)
                        autocomplete="username" required autofocus;
                }
                div.field {
                    label for="password" { "Password" }
                    input type="password" id="password" name="password"
                        autocomplete="current-password" required;
                }
                div.actions {
                    button type="submit" { "Sign in" }
                    a href="/forgot" { "Forgot password?" }
                }
            }
        },
    )
}

/// `GET /sign-in`
pub async fn form(pre: PreSession) -> Response {
    let page = html(sign_in_form(&pre.token, "", None));
    with_pre_session_cookie(page, &pre)
}

/// Sends the pre-session cookie when the token shown is new.
pub(crate) fn with_pre_session_cookie(mut response: Response, pre: &PreSession) -> Response {
    if let Some((name, value)) = pre.set_cookie() {
        response.headers_mut().append(name, value);
    }
    response
}

/// The response after a step succeeded: the new token in the cookie, and on to the next step.
fn advance(state: &AppState, token: &SessionToken, session: &Session) -> Response {
    let mut response = Redirect::to(stage_page(&session.stage)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.cookies().session(token.expose()));
    response
}

/// `POST /sign-in`
pub async fn submit(
    State(state): State<AppState>,
    pre: PreSession,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> PageResult {
    pre.verify(&form)?;
    let identifier = form.get("identifier").unwrap_or_default().trim().to_owned();
    let password = form.get("password").unwrap_or_default();
    let client = client_info(&headers, peer);
    let result = account::sign_in(
        &state.store,
        &system_context(),
        &state.account_policy(),
        &identifier,
        password,
        client,
    )
    .await;
    // A refusal does not repeat the identifier, so an unknown account and a wrong password
    // give the very same page.
    let refused = |status: StatusCode, message: &str| {
        (status, html(sign_in_form(&pre.token, "", Some(message)))).into_response()
    };
    match result {
        Ok((token, session)) => {
            state.metrics.count_sign_in(SignInOutcome::success);
            Ok(advance(&state, &token, &session))
        }
        Err(Error::Forbidden(Refusal::SignInFailed)) => {
            state.metrics.count_sign_in(SignInOutcome::failed);
            Ok(refused(
                StatusCode::OK,
                "The username, e-mail or password is not right, or this account cannot sign in.",
            ))
        }
        Err(Error::Forbidden(Refusal::ProvisionalPassword)) => {
            state.metrics.count_sign_in(SignInOutcome::failed);
            Ok(refused(
                StatusCode::OK,
                "This account has no password of its own yet: use “Forgot password?” to set one.",
            ))
        }
        Err(Error::Unavailable(Unavailable::Throttled { retry_after_s })) => {
            state.metrics.count_sign_in(SignInOutcome::throttled);
            let mut response = refused(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many attempts: try again in {retry_after_s} s."),
            );
            if let Ok(value) = retry_after_s.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// The redirect to the page of the stage a session is at, when that is not one of `stages`.
fn elsewhere(pending: &Pending, stages: &[SessionStage]) -> Option<Response> {
    (!stages.contains(&pending.session.stage))
        .then(|| Redirect::to(stage_page(&pending.session.stage)).into_response())
}

fn password_change_form(pending: &Pending, problems: &[FieldProblem]) -> Markup {
    layout::bare(
        "Choose a new password",
        html! {
            h1 { "Choose a new password" }
            p { "Signed in as " strong { (pending.session.username) } ". The password you used was set for you: choose your own before going on." }
            (other_problems(problems, &["current", "new", "confirm"]))
            form.stack method="post" action="/sign-in/password" {
                (layout::csrf(&pending.session.csrf))
                (text_field("Current password", "current", None, problems, "password"))
                (text_field("New password", "new", None, problems, "password"))
                (text_field("The new password again", "confirm", None, problems, "password"))
                button type="submit" { "Change password" }
            }
            (step_sign_out(&pending.session.csrf))
        },
    )
}

/// Leaves a half-done sign-in: the pages of its steps have no navigation bar.
fn step_sign_out(csrf: &str) -> Markup {
    html! {
        form method="post" action="/sign-out" {
            (layout::csrf(csrf))
            button.link type="submit" { "Sign out" }
        }
    }
}

/// `GET /sign-in/password`
pub async fn password_form(pending: Pending) -> Response {
    if let Some(elsewhere) = elsewhere(&pending, &[SessionStage::ChangePassword]) {
        return elsewhere;
    }
    html(password_change_form(&pending, &[]))
}

/// `POST /sign-in/password`
pub async fn password_submit(
    State(state): State<AppState>,
    pending: Pending,
    form: FormData,
) -> PageResult {
    pending.check(&form)?;
    if let Some(elsewhere) = elsewhere(&pending, &[SessionStage::ChangePassword]) {
        return Ok(elsewhere);
    }
    match change_password(&state, &pending.token, &form).await {
        Ok((token, session)) => Ok(advance(&state, &token, &session)),
        Err(error) => Ok(html(password_change_form(
            &pending,
            &field_problems(error)?,
        ))),
    }
}

/// Changes the session user's own password; the two new ones must match.
pub async fn change_password(
    state: &AppState,
    token: &str,
    form: &FormData,
) -> Result<(SessionToken, Session), Error> {
    let new = form.get("new").unwrap_or_default();
    if new != form.get("confirm").unwrap_or_default() {
        return Err(Error::Invalid(muster_engine::Invalid::Fields(vec![
            FieldProblem {
                field: "confirm".into(),
                message: "the two new passwords differ".into(),
            },
        ])));
    }
    let current = form.get("current").unwrap_or_default();
    account::change_own_password(
        &state.store,
        &system_context(),
        &state.account_policy(),
        token,
        current,
        new,
    )
    .await
    .map_err(beside_the_password_fields)
}

/// Puts the engine's answers about a password change next to the form's own fields: its
/// `new_password` is this form's `new`, and a wrong current password belongs beside `current`
/// rather than on a page of its own.
fn beside_the_password_fields(error: Error) -> Error {
    let field = |field: &str, message: String| {
        Error::Invalid(muster_engine::Invalid::Fields(vec![FieldProblem {
            field: field.into(),
            message,
        }]))
    };
    match error {
        Error::Invalid(muster_engine::Invalid::Fields(problems)) => {
            Error::Invalid(muster_engine::Invalid::Fields(
                problems
                    .into_iter()
                    .map(|problem| match problem.field.as_str() {
                        "new_password" => FieldProblem {
                            field: "new".into(),
                            ..problem
                        },
                        _ => problem,
                    })
                    .collect(),
            ))
        }
        Error::Forbidden(Refusal::CurrentPasswordWrong) => {
            field("current", Refusal::CurrentPasswordWrong.to_string())
        }
        other => other,
    }
}

fn enrol_form(
    pending: &Pending,
    enrolment: &account::MfaEnrolment,
    problem: Option<&str>,
) -> Markup {
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(enrolment.qr_svg.as_bytes())
    );
    layout::bare(
        "Set up two-factor sign-in",
        html! {
            h1 { "Set up two-factor sign-in" }
            p { "Scan this code with an authenticator app (or type the secret into it), then enter the six-digit code it shows." }
            img.qr src=(qr) alt="QR code of the authenticator secret";
            p { "Secret: " }
            p.secret { (enrolment.secret_base32) }
            form.stack method="post" action="/sign-in/mfa-enrol" {
                (layout::csrf(&pending.session.csrf))
                input type="hidden" name="secret" value=(enrolment.secret_base32);
                div.field {
                    label for="code" { "Code from the app" }
                    input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required
                        aria-invalid=[problem.map(|_| "true")];
                    @if let Some(problem) = problem { p.problem { (problem) } }
                }
                button type="submit" { "Confirm" }
            }
            (step_sign_out(&pending.session.csrf))
        },
    )
}

/// `GET /sign-in/mfa-enrol` (a session at the enrolment step, or a signed-in user adding MFA)
pub async fn enrol_form_page(State(state): State<AppState>, pending: Pending) -> PageResult {
    if let Some(elsewhere) = elsewhere(&pending, &[SessionStage::EnrolMfa, SessionStage::Full]) {
        return Ok(elsewhere);
    }
    let enrolment =
        account::begin_mfa_enrolment(&state.store, &system_context(), &pending.token).await?;
    Ok(html(enrol_form(&pending, &enrolment, None)))
}

/// `POST /sign-in/mfa-enrol`: confirms with a code, then shows the recovery codes once.
pub async fn enrol_submit(
    State(state): State<AppState>,
    pending: Pending,
    form: FormData,
) -> PageResult {
    pending.check(&form)?;
    if let Some(elsewhere) = elsewhere(&pending, &[SessionStage::EnrolMfa, SessionStage::Full]) {
        return Ok(elsewhere);
    }
    let secret = form.get("secret").unwrap_or_default();
    let code = form.get("code").unwrap_or_default().trim();
    let ctx = system_context();
    match account::confirm_mfa_enrolment(
        &state.store,
        &ctx,
        &state.account_policy(),
        &pending.token,
        secret,
        code,
    )
    .await
    {
        Ok((token, _rotated, codes)) => {
            let mut response = html(recovery_codes_page(&codes));
            response
                .headers_mut()
                .insert(header::SET_COOKIE, state.cookies().session(token.expose()));
            Ok(response)
        }
        Err(error) => {
            let problems = field_problems(error)?;
            let message = problems.first().map(|p| p.message.clone());
            let enrolment =
                account::begin_mfa_enrolment(&state.store, &ctx, &pending.token).await?;
            Ok(html(enrol_form(&pending, &enrolment, message.as_deref())))
        }
    }
}

fn recovery_codes_page(codes: &[String]) -> Markup {
    layout::bare(
        "Recovery codes",
        html! {
            h1 { "Your recovery codes" }
            p { "Two-factor sign-in is set up. Keep these ten codes somewhere safe: each signs you in once if you lose your authenticator. They are shown only now." }
            ul.codes { @for code in codes { li { code { (code) } } } }
            p { a.button href="/" { "I have kept them — continue" } }
        },
    )
}

fn challenge_form(pending: &Pending, problem: Option<&str>) -> Markup {
    layout::bare(
        "Two-factor sign-in",
        html! {
            h1 { "Two-factor sign-in" }
            p { "Enter the code your authenticator app shows for " strong { (pending.session.username) } ", or one of your recovery codes." }
            form.stack method="post" action="/sign-in/mfa" {
                (layout::csrf(&pending.session.csrf))
                div.field {
                    label for="code" { "Code or recovery code" }
                    input type="text" id="code" name="code" autocomplete="one-time-code" required autofocus
                        aria-invalid=[problem.map(|_| "true")];
                    @if let Some(problem) = problem { p.problem { (problem) } }
                }
                button type="submit" { "Continue" }
            }
            (step_sign_out(&pending.session.csrf))
        },
    )
}

/// `GET /sign-in/mfa`
pub async fn challenge(pending: Pending) -> Response {
    if let Some(elsewhere) = elsewhere(&pending, &[SessionStage::Mfa]) {
        return elsewhere;
    }
    html(challenge_form(&pending, None))
}

/// `POST /sign-in/mfa`
pub async fn challenge_submit(
    State(state): State<AppState>,
    pending: Pending,
    form: FormData,
) -> PageResult {
    pending.check(&form)?;
    if let Some(elsewhere) = elsewhere(&pending, &[SessionStage::Mfa]) {
        return Ok(elsewhere);
    }
    let code = form.get("code").unwrap_or_default().trim();
    match account::verify_mfa(
        &state.store,
        &system_context(),
        &state.account_policy(),
        &pending.token,
        code,
    )
    .await
    {
        Ok((token, session)) => Ok(advance(&state, &token, &session)),
        Err(Error::Unavailable(Unavailable::Throttled { retry_after_s })) => {
            state.metrics.count_sign_in(SignInOutcome::throttled);
            let message = format!("Too many attempts: try again in {retry_after_s} s.");
            Ok((
                StatusCode::TOO_MANY_REQUESTS,
                html(challenge_form(&pending, Some(&message))),
            )
                .into_response())
        }
        Err(error)
            if matches!(
                error.kind(),
                muster_engine::ErrorKind::Invalid | muster_engine::ErrorKind::Forbidden
            ) =>
        {
            state.metrics.count_sign_in(SignInOutcome::mfa_failed);
            Ok(html(challenge_form(
                &pending,
                Some("That code is not right (or was used already)."),
            )))
        }
        Err(other) => Err(PageError::from(other)),
    }
}

/// `POST /sign-out` (at any stage)
pub async fn sign_out(
    State(state): State<AppState>,
    pending: Pending,
    form: FormData,
) -> PageResult {
    pending.check(&form)?;
    account::sign_out(&state.store, &pending.token).await?;
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.cookies().clear_session());
    Ok(response)
}
