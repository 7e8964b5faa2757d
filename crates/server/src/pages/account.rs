//! The signed-in user's own account: change the password, the MFA status (and enrolling when
//! the policy leaves it optional), and the sessions, each revocable, with "sign out elsewhere".

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use muster_engine::account;
use muster_engine::FieldProblem;
use serde::Deserialize;

use super::layout::{self, other_problems, text_field};
use super::time_text;
use crate::errors::{field_problems, html, PageResult};
use crate::security::FormData;
use crate::session::{system_context, Console};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    done: Option<String>,
}

/// `GET /account`
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Query(notice): Query<Notice>,
) -> PageResult {
    render(&state, &console, notice.done.as_deref(), &[]).await
}

async fn render(
    state: &AppState,
    console: &Console,
    done: Option<&str>,
    problems: &[FieldProblem],
) -> PageResult {
    let info = account::sign_in_info(&state.store, &console.session.user_id).await?;
    let sessions =
        account::list_own_sessions(&state.store, &system_context(), &console.token).await?;
    let viewer = console.viewer();
    let notice = match done {
        Some("password") => Some("Password changed. Your other sessions were signed out."),
        Some("others") => Some("Your other sessions were signed out."),
        Some("revoked") => Some("That session was signed out."),
        _ => None,
    };
    let body = html! {
        h1 { "Your account" }
        (layout::notice(notice))
        dl.facts {
            dt { "Username" } dd { (console.session.username) }
            dt { "Two-factor sign-in" } dd {
                @if info.mfa_enrolled { "set up" } @else { "not set up — " a href="/sign-in/mfa-enrol" { "set it up" } }
            }
            dt { "Last sign-in" } dd { (info.last_sign_in_at.map(time_text).unwrap_or_else(|| "—".into())) }
        }
        h2 { "Change your password" }
        (other_problems(problems, &["current", "new", "confirm"]))
        form.stack method="post" action="/account/password" {
            (layout::csrf(viewer.csrf))
            (text_field("Current password", "current", None, problems, "password"))
            (text_field("New password", "new", None, problems, "password"))
            (text_field("The new password again", "confirm", None, problems, "password"))
            button type="submit" { "Change password" }
        }
        h2 { "Your sessions" }
        div.table-wrap {
            table {
                thead { tr { th { "Signed in" } th { "Last seen" } th { "From" } th { "Browser" } th { span.muted { "Action" } } } }
                tbody {
                    @for session in &sessions {
                        tr {
                            td { (time_text(session.created_at)) }
                            td { (time_text(session.last_seen_at)) }
                            td { (session.client.address) }
                            td { (session.client.user_agent) }
                            td {
                                @if session.id == console.session.id { "this session" }
                                @else {
                                    form method="post" action="/account/sessions/revoke" {
                                        (layout::csrf(viewer.csrf))
                                        input type="hidden" name="session" value=(session.id);
                                        button.link type="submit" { "Sign out" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/account/sessions/others" {
            (layout::csrf(viewer.csrf))
            button.secondary type="submit" { "Sign out everywhere else" }
        }
    };
    Ok(html(layout::page("Your account", &viewer, body)))
}

/// `POST /account/password`: the session is rotated and the others revoked.
pub async fn change_password(
    State(state): State<AppState>,
    console: Console,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    match super::sign_in::change_password(&state, &console.token, &form).await {
        Ok((token, _session)) => {
            let mut response = Redirect::to("/account?done=password").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, state.cookies().session(token.expose()));
            Ok(response)
        }
        Err(error) => render(&state, &console, None, &field_problems(error)?).await,
    }
}

/// `POST /account/sessions/others`
pub async fn sign_out_elsewhere(
    State(state): State<AppState>,
    console: Console,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    account::revoke_other_sessions(&state.store, &system_context(), &console.token).await?;
    Ok(Redirect::to("/account?done=others").into_response())
}

/// `POST /account/sessions/revoke`
pub async fn revoke(State(state): State<AppState>, console: Console, form: FormData) -> PageResult {
    console.check(&form)?;
    let id = form.get("session").unwrap_or_default();
    account::revoke_own_session(&state.store, &system_context(), &console.token, id).await?;
    Ok(Redirect::to("/account?done=revoked").into_response())
}
