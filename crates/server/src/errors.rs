//! The one error of the console's edge: an engine error's kind becomes a status and a page
//! (NotFound 404, Conflict 409, Forbidden 403, Unavailable 503, Internal 500), and the server's
//! own refusals (a cross-origin or token-less write, a form it cannot read) get theirs. An
//! invalid form is not rendered here: its handler shows the form again with each field's
//! problem beside it, using `field_problems`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use muster_engine::{Conflict, Error, ErrorKind, FieldProblem, Invalid, Taken, Unavailable};

use crate::pages::layout;

#[derive(Debug)]
pub enum PageError {
    Engine(Error),
    /// A state-changing request from another origin, or with neither Origin nor Referer.
    CrossOrigin,
    /// A form without the token of its session (or pre-session cookie).
    CsrfToken,
    /// A body that is not a form.
    BadForm,
    /// A path naming nothing.
    NotFound,
}

impl From<Error> for PageError {
    fn from(error: Error) -> PageError {
        PageError::Engine(error)
    }
}

/// The problems of an invalid form, for its handler to show beside the fields (a name or
/// e-mail another record holds is one too); any other error stays an error.
pub fn field_problems(error: Error) -> Result<Vec<FieldProblem>, PageError> {
    let field = match &error {
        Error::Invalid(Invalid::Fields(_)) => None,
        Error::Conflict(Conflict::Taken(Taken::Name { .. })) => Some("name"),
        Error::Conflict(Conflict::Taken(Taken::User { .. } | Taken::Username { .. })) => {
            Some("username")
        }
        Error::Conflict(Conflict::Taken(Taken::Email { .. })) => Some("email"),
        _ => return Err(PageError::Engine(error)),
    };
    match (field, error) {
        (None, Error::Invalid(Invalid::Fields(problems))) => Ok(problems),
        (Some(field), error) => Ok(vec![FieldProblem {
            field: field.to_owned(),
            message: error.to_string(),
        }]),
        (None, other) => Err(PageError::Engine(other)),
    }
}

/// A rendered page as a response.
pub fn html(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

/// What a page handler returns.
pub type PageResult = Result<Response, PageError>;

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            PageError::Engine(error) => engine_page(error),
            PageError::CrossOrigin => (
                StatusCode::FORBIDDEN,
                "Refused",
                "This request did not come from the console's own pages, so it was refused. \
                 Open the console and try again."
                    .to_owned(),
            ),
            PageError::CsrfToken => (
                StatusCode::FORBIDDEN,
                "Refused",
                "This form has expired or did not come from the console. Reload the page and \
                 submit it again."
                    .to_owned(),
            ),
            PageError::BadForm => (
                StatusCode::BAD_REQUEST,
                "Unreadable request",
                "The request did not carry a form the console can read.".to_owned(),
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no page at this address.".to_owned(),
            ),
        };
        let body = layout::bare(
            title,
            html! {
                h1 { (title) }
                p.message role="alert" { (message) }
                p { a href="/" { "Back to the console" } }
            },
        );
        let mut response = (status, Html(body.into_string())).into_response();
        if let PageError::Engine(error) = &self {
            if let Some(seconds) = retry_after(error) {
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
        }
        response
    }
}

fn engine_page(error: &Error) -> (StatusCode, &'static str, String) {
    match error.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "Not found", error.to_string()),
        ErrorKind::Conflict => (StatusCode::CONFLICT, "Changed meanwhile", conflict(error)),
        ErrorKind::Forbidden => (
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!("You may not do this: {}.", forbidden_reason(error)),
        ),
        ErrorKind::Invalid => (StatusCode::BAD_REQUEST, "Not valid", error.to_string()),
        ErrorKind::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not now",
            format!("{error}. Try again in a moment."),
        ),
        ErrorKind::Internal => {
            tracing::error!(error = %error, "a request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "muster could not complete this request; the server's log says why.".to_owned(),
            )
        }
    }
}

fn conflict(error: &Error) -> String {
    match error {
        Error::Conflict(Conflict::Stale { .. }) => {
            "Someone changed this meanwhile: reload the page to see their change, then make \
             yours again."
                .to_owned()
        }
        other => format!("{other}."),
    }
}

fn forbidden_reason(error: &Error) -> String {
    match error {
        Error::Forbidden(refusal) => refusal.to_string(),
        other => other.to_string(),
    }
}

/// Seconds a client should wait, for the errors that say so.
fn retry_after(error: &Error) -> Option<u64> {
    match error {
        Error::Store(e) if e.is_busy() => Some(5),
        Error::Unavailable(Unavailable::Throttled { retry_after_s }) => Some(*retry_after_s),
        _ => None,
    }
}
