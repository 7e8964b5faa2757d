//! The console's pages, one module per section. A handler parses its form into the engine's
//! input types, calls one use case with the viewer's actor, and renders; none holds SQL or a
//! business rule.

pub mod account;
pub mod audit;
pub mod departments;
pub mod entries;
pub mod groups;
pub mod layout;
pub mod links;
pub mod paging;
pub mod roles;
pub mod sign_in;
pub mod user_forms;
pub mod users;

use muster_engine::directory::catalog::References;
use muster_engine::directory::Expected;

use crate::errors::PageError;
use crate::security::FormData;

/// The version a change form was read at (its hidden `version` field).
pub fn expected(form: &FormData) -> Result<Expected, PageError> {
    form.get("version")
        .and_then(|v| v.trim().parse().ok())
        .map(Expected)
        .ok_or(PageError::BadForm)
}

/// Whether a delete form asked to remove the entry's uses too.
pub fn references(form: &FormData) -> References {
    if form.checked("references") {
        References::Remove
    } else {
        References::Refuse
    }
}

/// Unix milliseconds as people read them (UTC).
pub fn time_text(millis: i64) -> String {
    muster_engine::rfc3339_utc(millis)
        .replace('T', " ")
        .replace('Z', " UTC")
}
