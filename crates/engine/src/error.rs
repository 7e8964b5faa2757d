//! The engine's error type for the use cases that front-ends call one record at a time, and
//! the kinds every engine error maps to. A front-end maps a kind, never a message: the CLI to
//! an exit code, the console to a page, the API to an HTTP status and an RFC 9457 problem.
//!
//! Messages never name a CLI flag or command: they say what is wrong in the words of the
//! domain, and each front-end adds its own hint.

use std::fmt;

use muster_domain::Permission;
use muster_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::access::{Escalation, Own};

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
    /// Not now: the store is busy or unreachable; trying again later may work.
    Unavailable,
    /// A fault of muster or its database.
    Internal,
}

/// Any error a use case reports, with its kind.
pub trait Classified {
    fn kind(&self) -> ErrorKind;
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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no {entity} `{key}`")]
    NotFound { entity: &'static str, key: String },
    /// The caller's version is not the record's.
    #[error("{entity} `{key}` changed since it was read (version {expected}, now {actual}); read it again and redo the change")]
    Stale {
        entity: &'static str,
        key: String,
        expected: i64,
        actual: i64,
    },
    /// The change collides with another record (a taken name or e-mail, a record in use).
    #[error("{0}")]
    Conflict(String),
    #[error("{}", join(.0))]
    Invalid(Vec<FieldProblem>),
    #[error("forbidden: {0}")]
    Forbidden(Refusal),
    #[error("busy: {0}")]
    Busy(String),
    // The store's message is the cause; not also `source()` (see ARCHITECTURE.md).
    #[error("{0}")]
    Store(StoreError),
}

fn join(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        Error::Store(e)
    }
}

impl Error {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldProblem {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

impl Classified for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Stale { .. } | Error::Conflict(_) => ErrorKind::Conflict,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Busy(_) => ErrorKind::Unavailable,
            Error::Store(e) => store_kind(e),
        }
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

// The kinds of the use cases' own error types, so a front-end maps every engine error the
// same way, whatever use case raised it.

impl Classified for crate::ImportError {
    fn kind(&self) -> ErrorKind {
        match self {
            crate::ImportError::Unreadable { .. } => ErrorKind::Invalid,
            crate::ImportError::Thread(_) => ErrorKind::Internal,
            crate::ImportError::Forbidden(_) => ErrorKind::Forbidden,
            crate::ImportError::LeaseLost { .. } => ErrorKind::Conflict,
            crate::ImportError::Store(e) => store_kind(e),
        }
    }
}

impl Classified for crate::RevertError {
    fn kind(&self) -> ErrorKind {
        use crate::RevertError as E;
        match self {
            E::NotFound(_) => ErrorKind::NotFound,
            E::AlreadyReverted { .. } | E::NothingApplied { .. } | E::NothingChanged { .. } => {
                ErrorKind::Conflict
            }
            E::NotAnImport(_) => ErrorKind::Invalid,
            E::Cancelled { .. } => ErrorKind::Unavailable,
            E::Forbidden(_) => ErrorKind::Forbidden,
            E::LeaseLost { .. } => ErrorKind::Conflict,
            E::History(e) => e.kind(),
            E::Store(e) => store_kind(e),
        }
    }
}

impl Classified for crate::PlanError {
    fn kind(&self) -> ErrorKind {
        use crate::PlanError as E;
        match self {
            E::NotFound(_) => ErrorKind::NotFound,
            E::AlreadyApplied { .. } => ErrorKind::Conflict,
            E::NotAPreview { .. } | E::HasFailures { .. } => ErrorKind::Invalid,
            E::Forbidden(_) => ErrorKind::Forbidden,
            E::LeaseLost { .. } => ErrorKind::Conflict,
            E::History(e) => e.kind(),
            E::Store(e) => store_kind(e),
        }
    }
}

impl Classified for crate::HistoryError {
    fn kind(&self) -> ErrorKind {
        use crate::HistoryError as E;
        match self {
            E::NotFound(_) => ErrorKind::NotFound,
            E::Forbidden(_) => ErrorKind::Forbidden,
            E::NoArchive { .. } | E::NoFailedRows(_) => ErrorKind::NotFound,
            E::Damaged { .. } | E::Workbook(_) => ErrorKind::Internal,
            E::Write(_) => ErrorKind::Unavailable,
            E::Store(e) => store_kind(e),
        }
    }
}

// Each use case's own error type takes a refusal, so `audit::require` serves them all.
macro_rules! forbidden_from_refusal {
    ($($error:path),+) => {$(
        impl From<Refusal> for $error {
            fn from(refusal: Refusal) -> Self {
                <$error>::Forbidden(refusal)
            }
        }
    )+};
}

forbidden_from_refusal!(
    Error,
    crate::ImportError,
    crate::RevertError,
    crate::PlanError,
    crate::HistoryError,
    crate::ExportError,
    crate::TemplateError
);

impl Classified for crate::ExportError {
    fn kind(&self) -> ErrorKind {
        use crate::ExportError as E;
        match self {
            E::Store(e) => store_kind(e),
            E::Write(_) => ErrorKind::Unavailable,
            E::UnknownName { .. } => ErrorKind::NotFound,
            E::FilterNotApplicable | E::WorkbookNeedsSheets => ErrorKind::Invalid,
            E::Forbidden(_) => ErrorKind::Forbidden,
        }
    }
}

impl Classified for crate::TemplateError {
    fn kind(&self) -> ErrorKind {
        use crate::TemplateError as E;
        match self {
            E::Store(e) => store_kind(e),
            E::WorkbookNeedsXlsx | E::UnsupportedFormat(_) => ErrorKind::Invalid,
            E::Write(_) => ErrorKind::Unavailable,
            E::Forbidden(_) => ErrorKind::Forbidden,
        }
    }
}
