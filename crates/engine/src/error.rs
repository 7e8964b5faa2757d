//! The engine's one error type, which every public use case returns, and the kinds it maps to.
//! The outer variant is the kind (`Error::NotFound(Missing)`, `Error::Conflict(Conflict)`…) and
//! the typed reason inside says what exactly went wrong (`reasons.rs`), so a front-end maps a
//! kind with one match and never reads a message: the CLI to an exit code, the console to a
//! page, the API to an HTTP status and an RFC 9457 problem.
//!
//! What a use case did is never an error: a rejected import, a stale preview, a revert that
//! left conflicts and anything cancelled are statuses of its report (`ImportStatus`).
//!
//! Messages never name a CLI flag or command: they say what is wrong in the words of the
//! domain, and each front-end adds its own hint.

mod reasons;

use std::fmt;

use muster_domain::Permission;
use muster_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::access::{Escalation, Own};
use crate::account::SessionStage;

pub use reasons::{Conflict, InUse, Internal, Invalid, LeasedJob, Missing, Taken, Unavailable};

/// What kind of failure an error is, for a front-end to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The record does not exist (or the actor may not know it does).
    NotFound,
    /// The record changed since the caller read it, or the change collides with another record.
    Conflict,
    /// The input is wrong; the problems say where.
    Invalid,
    /// The actor may not do this.
    Forbidden,
    /// Not now: the store is busy or unreachable, or the caller's output cannot take what is
    /// written; trying again later may work.
    Unavailable,
    /// A fault of muster or its database.
    Internal,
}

/// Why an actor is refused. As data it is `{"code": "lacks", "permission": "users.write",
/// "actor": "ivy"}`; an escalation's fields sit beside its code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// A permission of the catalog is missing.
    Lacks {
        permission: Permission,
        actor: String,
    },
    /// Granting this would give permissions the actor does not hold.
    Escalation(Escalation),
    /// Nobody changes their own roles, groups, password or MFA this way.
    OwnRecord { what: Own },
    /// A deactivated user cannot act.
    InactiveUser { username: String },
    /// The identifier or the password is wrong, or the user is unknown or deactivated: one
    /// answer for all of them, so a sign-in form does not tell which users exist.
    SignInFailed,
    /// The user has no password yet (the provisional marker): only a password reset or an
    /// invitation sets one.
    ProvisionalPassword,
    /// No session: the token is unknown, expired or revoked, or its user is gone or inactive.
    NotSignedIn,
    /// The session has not reached the stage this needs (a password to change first, a second
    /// factor to enrol or give).
    SessionStage { stage: SessionStage },
    /// The current password given to change it is wrong.
    CurrentPasswordWrong,
    /// The TOTP code or recovery code is wrong or was used already.
    SecondFactorFailed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Lacks { permission, actor } => {
                write!(f, "{actor} lacks the permission {}", permission.code())
            }
            Refusal::Escalation(e) => write!(f, "{e}"),
            Refusal::OwnRecord { what } => {
                write!(
                    f,
                    "nobody changes their own {what} this way; ask another administrator"
                )
            }
            Refusal::InactiveUser { username } => {
                write!(f, "user `{username}` is deactivated and cannot act")
            }
            Refusal::SignInFailed => {
                f.write_str("the username, e-mail address or password is wrong")
            }
            Refusal::ProvisionalPassword => f.write_str(
                "this account has no password yet; ask for a password reset or use the invitation",
            ),
            Refusal::NotSignedIn => f.write_str("not signed in, or the session expired"),
            Refusal::SessionStage { stage } => write!(f, "{}", stage.pending()),
            Refusal::CurrentPasswordWrong => f.write_str("the current password is wrong"),
            Refusal::SecondFactorFailed => {
                f.write_str("the code is wrong, expired or was used already")
            }
        }
    }
}

/// A problem with one field of a single-record request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field as the domain names it (`username`, `email`, `roles`…).
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a use case could not do what it was asked; the variant is the kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(Missing),
    #[error("{0}")]
    Conflict(Conflict),
    #[error("{0}")]
    Invalid(Invalid),
    #[error("forbidden: {0}")]
    Forbidden(Refusal),
    #[error("{0}")]
    Unavailable(Unavailable),
    #[error("{0}")]
    Internal(Internal),
    /// The database: unreachable or busy (unavailable), or a fault (internal).
    // The store's message is the cause; not also `source()` (see ARCHITECTURE.md).
    #[error("{0}")]
    Store(StoreError),
}

impl Error {
    /// The kind a front-end maps: one per variant, and for the store's errors `store_kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Store(e) => store_kind(e),
        }
    }

    /// Whether the database is busy with another job: a temporary condition, worth trying
    /// again when that job ends.
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Store(e) if e.is_busy())
    }

    /// One field's problem.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid(Invalid::Fields(vec![FieldProblem {
            field: field.to_owned(),
            message: message.into(),
        }]))
    }
}

/// Whether an error (an engine error, or a store error a front-end met on its own) is the
/// database being busy with another job.
pub fn is_busy(error: &(dyn std::error::Error + 'static)) -> bool {
    match error.downcast_ref::<Error>() {
        Some(e) => e.is_busy(),
        None => error
            .downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_busy),
    }
}

/// A store error is the database being away (unavailable) or a fault (internal).
pub fn store_kind(e: &StoreError) -> ErrorKind {
    match e {
        StoreError::Connect { .. } | StoreError::Interrupted(_) => ErrorKind::Unavailable,
        e if e.is_busy() => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

// Each reason becomes the error of its kind, so a use case writes `Missing::Import(id).into()`
// and `?` converts, and `audit::require` turns a refusal into `Error::Forbidden`.
macro_rules! error_from_reason {
    ($($reason:ty => $variant:ident),+ $(,)?) => {$(
        impl From<$reason> for Error {
            fn from(reason: $reason) -> Error {
                Error::$variant(reason)
            }
        }
    )+};
}

error_from_reason!(
    Missing => NotFound,
    Conflict => Conflict,
    Invalid => Invalid,
    Refusal => Forbidden,
    Unavailable => Unavailable,
    Internal => Internal,
    StoreError => Store,
);
