//! The pages reached without a session that set a password through a one-time link:
//! "forgot password" (`/forgot`) asks for a reset link, and `/reset/{token}` and
//! `/invite/{token}` ask for the new password. Their forms carry the pre-session token, as the
//! sign-in form does.
//!
//! `/forgot` answers one page whatever was asked, and answers before the request's work is done
//! (the use case runs on a task of its own), so neither the page nor its time tells whether an
//! account exists, even when the mail server is slow. The token of a link travels in the path:
//! request logs and metrics name the route template only (`metrics`), and every page is sent
//! with `Referrer-Policy: no-referrer` and `Cache-Control: no-store` (`security::headers`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use muster_engine::account::{self, TokenInfo, TokenPurpose};
use muster_engine::{Error, FieldProblem, Invalid, Missing};

use super::layout::{self, other_problems, text_field};
use super::sign_in::with_pre_session_cookie;
use crate::errors::{field_problems, html, PageResult};
use crate::security::{FormData, PreSession};
use crate::session::system_context;
use crate::AppState;

fn forgot_form_page(token: &str, problems: &[FieldProblem]) -> Markup {
    layout::bare(
        "Forgot password",
        html! {
            h1 { "Forgot password" }
            p { "Give your username or e-mail address: if it names an account with an e-mail address, a link to choose a new password is mailed to it. The link works once, within the hour." }
            form.stack method="post" action="/forgot" {
                (layout::csrf(token))
                (text_field("Username or e-mail", "identifier", None, problems, "text"))
                div.actions {
                    button type="submit" { "Send the link" }
                    a href="/sign-in" { "Back to sign-in" }
                }
            }
        },
    )
}

/// The one answer to every reset request: it says nothing about the account.
fn forgot_sent_page() -> Markup {
    layout::bare(
        "Check your mail",
        html! {
            h1 { "Check your mail" }
            p.notice role="status" { "If an account matches, a link is on its way to its e-mail address. It works once, within the hour." }
            p { a href="/sign-in" { "Back to sign-in" } }
        },
    )
}

/// `GET /forgot`
pub async fn forgot_form(pre: PreSession) -> Response {
    with_pre_session_cookie(html(forgot_form_page(&pre.token, &[])), &pre)
}

/// `POST /forgot`: starts the reset request on its own task and answers at once.
pub async fn forgot_submit(
    State(state): State<AppState>,
    pre: PreSession,
    form: FormData,
) -> PageResult {
    pre.verify(&form)?;
    let Some(identifier) = form.text("identifier") else {
        let problem = FieldProblem {
            field: "identifier".into(),
            message: "give your username or e-mail address".into(),
        };
        return Ok(html(forgot_form_page(&pre.token, &[problem])));
    };
    tokio::spawn(async move {
        let result = account::request_password_reset(
            &state.store,
            &system_context(),
            state.config.mail.as_ref(),
            &state.config.link_base(),
            &identifier,
        )
        .await;
        // The identifier is not logged: it may be someone's mail address, or a password typed
        // into the wrong field.
        if let Err(error) = result {
            tracing::warn!(%error, "a password-reset request failed");
        }
    });
    Ok(html(forgot_sent_page()))
}

/// The page of a link: the reset's words or the invitation's.
struct LinkWords {
    heading: &'static str,
    lead: &'static str,
}

fn words(purpose: TokenPurpose) -> LinkWords {
    match purpose {
        TokenPurpose::Reset => LinkWords {
            heading: "Choose a new password",
            lead: "Choose the new password of the account",
        },
        TokenPurpose::Invitation => LinkWords {
            heading: "Choose your password",
            lead: "Welcome to muster. Choose the password of your account",
        },
    }
}

/// The form submits to its own address (no `action`), so the token is written nowhere else.
fn password_form_page(csrf: &str, info: &TokenInfo, problems: &[FieldProblem]) -> Markup {
    let words = words(info.purpose);
    layout::bare(
        words.heading,
        html! {
            h1 { (words.heading) }
            p { (words.lead) " " strong { (info.username) } "." }
            (other_problems(problems, &["new_password", "confirm"]))
            form.stack method="post" {
                (layout::csrf(csrf))
                // Lets a password manager store the new password under the right account.
                input type="hidden" name="username" autocomplete="username" value=(info.username);
                (text_field("New password", "new_password", None, problems, "password"))
                (text_field("The new password again", "confirm", None, problems, "password"))
                button type="submit" { "Set password" }
            }
        },
    )
}

/// An unknown, used or expired link (or its user gone or deactivated): one page for all.
fn unusable_page(purpose: TokenPurpose) -> Response {
    let page = layout::bare(
        "Link not usable",
        html! {
            h1 { "This link cannot be used" }
            p.message role="alert" { "This link is unknown, was used already or has expired." }
            @match purpose {
                TokenPurpose::Reset => p { a href="/forgot" { "Ask for a new reset link" } },
                TokenPurpose::Invitation => p {
                    "Ask your administrator for a new invitation, or "
                    a href="/forgot" { "ask for a password-reset link" } "."
                },
            }
        },
    );
    (StatusCode::NOT_FOUND, html(page)).into_response()
}

fn password_set_page() -> Markup {
    layout::bare(
        "Password set",
        html! {
            h1 { "Password set" }
            p.notice role="status" { "Your password is set, and the link is used up. Sign in with the new password." }
            p { a.button href="/sign-in" { "Sign in" } }
        },
    )
}

fn is_unusable(error: &Error) -> bool {
    matches!(error, Error::NotFound(Missing::OneTimeLink))
}

/// `GET /reset/{token}`
pub async fn reset_form(
    state: State<AppState>,
    pre: PreSession,
    token: Path<String>,
) -> PageResult {
    link_form(state, pre, token, TokenPurpose::Reset).await
}

/// `POST /reset/{token}`
pub async fn reset_submit(
    state: State<AppState>,
    pre: PreSession,
    token: Path<String>,
    form: FormData,
) -> PageResult {
    link_submit(state, pre, token, form, TokenPurpose::Reset).await
}

/// `GET /invite/{token}`
pub async fn invite_form(
    state: State<AppState>,
    pre: PreSession,
    token: Path<String>,
) -> PageResult {
    link_form(state, pre, token, TokenPurpose::Invitation).await
}

/// `POST /invite/{token}`
pub async fn invite_submit(
    state: State<AppState>,
    pre: PreSession,
    token: Path<String>,
    form: FormData,
) -> PageResult {
    link_submit(state, pre, token, form, TokenPurpose::Invitation).await
}

/// The password form of a usable link, or the page saying the link is not usable.
async fn link_form(
    State(state): State<AppState>,
    pre: PreSession,
    Path(token): Path<String>,
    purpose: TokenPurpose,
) -> PageResult {
    match account::check_one_time_token(&state.store, &system_context(), &token, purpose).await {
        Ok(info) => Ok(with_pre_session_cookie(
            html(password_form_page(&pre.token, &info, &[])),
            &pre,
        )),
        Err(error) if is_unusable(&error) => Ok(unusable_page(purpose)),
        Err(error) => Err(error.into()),
    }
}

/// Sets the password through the link. A refused password is shown beside its field and
/// leaves the link usable.
async fn link_submit(
    State(state): State<AppState>,
    pre: PreSession,
    Path(token): Path<String>,
    form: FormData,
    purpose: TokenPurpose,
) -> PageResult {
    pre.verify(&form)?;
    let ctx = system_context();
    let new_password = form.get("new_password").unwrap_or_default();
    let result = if Some(new_password) != form.get("confirm") {
        Err(Error::Invalid(Invalid::Fields(vec![FieldProblem {
            field: "confirm".into(),
            message: "the two new passwords differ".into(),
        }])))
    } else {
        match purpose {
            TokenPurpose::Reset => {
                account::reset_password(&state.store, &ctx, &token, new_password).await
            }
            TokenPurpose::Invitation => {
                account::accept_invitation(&state.store, &ctx, &token, new_password).await
            }
        }
    };
    match result {
        Ok(()) => Ok(html(password_set_page())),
        Err(error) if is_unusable(&error) => Ok(unusable_page(purpose)),
        Err(error) => {
            let problems = field_problems(error)?;
            match account::check_one_time_token(&state.store, &ctx, &token, purpose).await {
                Ok(info) => Ok(html(password_form_page(&pre.token, &info, &problems))),
                Err(error) if is_unusable(&error) => Ok(unusable_page(purpose)),
                Err(error) => Err(error.into()),
            }
        }
    }
}
