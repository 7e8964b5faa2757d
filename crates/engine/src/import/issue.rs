//! Import problems as data. An `Issue` is a position plus a kind; the message is the kind's
//! `Display`, written so that an administrator can fix the cell without reading code. No message
//! ever quotes a password or a password hash.
//!
//! A kind is a code and its parameters, and that is what is stored (the history's failed rows)
//! and sent (the report's JSON); the words are made when a problem is shown, so a front-end can
//! render the same problem in its own words and language. Every kind, here and in the crates
//! whose problems an import carries (sheets, domain, credentials, access), has one shape:
//!
//! - an object whose `code` is the kind's stable word (`unknown_group`, its `Coded::code`)
//!   and whose other keys are its named parameters: `{"code": "unknown_group", "name": "Ops"}`;
//! - a kind that wraps another kind (an enum with codes of its own) carries it as the parameter
//!   `detail`, in the same shape: `{"code": "bad_value", "detail": {"code": "email", "detail":
//!   {"code": "invalid", "value": "x@"}}}`;
//! - a kind that wraps a plain struct (no code of its own: `Unrecognised`, `UnknownPermission`,
//!   `Escalation`) has the struct's fields as its own parameters: `{"code": "unknown_entity",
//!   "candidates": ["groups", "roles"]}`;
//! - values are data too: a field is its snake-case name (`password_hash`), an entity its plural
//!   (`users`), a permission its code (`users.write`).
//!
//! A positioned problem (`Issue`, `Warning`) is shown as one flat object: the position's
//! `sheet`, `row` and `column`, the kind's `code` and parameters, and `message`, the sentence,
//! for readers of the JSON that do not render codes themselves. So no kind has a parameter named
//! `message` (nor `sheet`, `row`, `column` or `count`); a stored problem with a `message` is one
//! an earlier release stored as its sentence (`history::journal::LoggedProblem::Legacy`).

use serde::{Deserialize, Serialize, Serializer};

/// Where a problem is: the sheet, the row number a spreadsheet program shows (the header is
/// row 1; 0 means the file as a whole), and the column header as written in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub sheet: String,
    pub row: u64,
    pub column: Option<String>,
}

/// A kind of problem or warning as a stable word (`unknown_group`), which front-ends map to their
/// own hints and words; the `Display` text is the engine's own sentence. The word is also the
/// `code` the kind is stored with.
pub trait Coded {
    fn code(&self) -> &'static str;
}

/// Something about a place in the file: a problem (`Issue`) or a warning (`Warning`). It
/// serialises as one object, the position's fields, the kind's code and parameters and
/// `message` (the kind's text), and displays as "sheet, row N, column C: message".
#[derive(Debug)]
pub struct Positioned<K: std::fmt::Display + Coded> {
    pub position: Position,
    pub kind: K,
}

impl<K: std::fmt::Display + Coded + Serialize> Serialize for Positioned<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Shown {
            place: &self.position,
            kind: &self.kind,
            message: self.kind.to_string(),
        }
        .serialize(serializer)
    }
}

/// A problem as readers of JSON get it: its place (a position, or only a column), its kind's
/// code and parameters, and its sentence.
#[derive(Serialize)]
pub(crate) struct Shown<P: Serialize, K: Serialize> {
    #[serde(flatten)]
    pub place: P,
    #[serde(flatten)]
    pub kind: K,
    pub message: String,
}

/// A problem that stops its row (or the file).
pub type Issue = Positioned<IssueKind>;

impl<K: std::fmt::Display + Coded> std::fmt::Display for Positioned<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.position;
        write!(f, "{}", p.sheet)?;
        if p.row > 0 {
            write!(f, ", row {}", p.row)?;
        }
        if let Some(column) = &p.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What stops a row or the file. The serde names are the `Coded` codes (a test holds them
/// together), so what is stored is what front-ends map.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum IssueKind {
    #[serde(rename = "unreadable")]
    #[error("{detail}")]
    Read {
        detail: muster_sheets::ReadErrorKind,
    },
    #[serde(rename = "bad_header")]
    #[error("{detail}")]
    Header { detail: muster_domain::HeaderError },
    #[serde(rename = "bad_value")]
    #[error("{detail}")]
    Field {
        detail: muster_domain::FieldErrorKind,
    },
    #[error("the file is {size} bytes, over the limit of {limit} bytes")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("the file has no rows")]
    EmptyFile,
    #[serde(rename = "no_data_rows")]
    #[error("the file has a header row but no data rows")]
    HeaderOnly,
    /// The entities the sheet's headers fit (`candidates`) are the kind's own parameters.
    #[error("{detail}; say which entity the sheet holds")]
    UnknownEntity {
        #[serde(flatten)]
        detail: muster_domain::Unrecognised,
    },
    #[error("the cell holds a value but its column has no header")]
    CellWithoutHeader,
    /// `value` is the spreadsheet's error code, such as `#DIV/0!`.
    #[error("the cell holds the spreadsheet error {value}")]
    CellError { value: String },
    #[error("`{key}` appears again: first on row {first_row}")]
    DuplicateKey { key: String, first_row: u64 },
    #[error("e-mail `{email}` is also on row {first_row}")]
    DuplicateEmail { email: String, first_row: u64 },
    #[error("e-mail `{email}` already belongs to user `{owner}`")]
    EmailTaken { email: String, owner: String },
    #[error("role `{name}` does not exist")]
    UnknownRole { name: String },
    #[error("group `{name}` does not exist, and the import does not create groups")]
    UnknownGroup { name: String },
    #[error("`{name}` already exists and the import is create-only")]
    AlreadyExists { name: String },
    #[error("a new user needs a Name")]
    NameRequired,
    #[serde(rename = "weak_password")]
    #[error("{detail}")]
    Password {
        detail: muster_credentials::PolicyViolation,
    },
    #[serde(rename = "bad_password_hash")]
    #[error("{detail}")]
    PasswordHash {
        detail: muster_credentials::HashRejection,
    },
    #[serde(rename = "hashing_failed")]
    #[error("the password could not be hashed: {reason}")]
    Hashing { reason: String },
    #[error("the built-in administrator role cannot be changed by an import")]
    BuiltinRole,
    /// `value` is the code as written (a permission matrix row).
    #[error("`{value}` is not a permission code")]
    UnknownPermission { value: String },
    /// The actor may not make this row's change (SPEC §5): a missing permission, a grant beyond
    /// their own permissions, or a change to their own access.
    #[error("forbidden: {detail}")]
    Forbidden { detail: crate::error::Refusal },
}

impl Coded for IssueKind {
    fn code(&self) -> &'static str {
        match self {
            IssueKind::Read { .. } => "unreadable",
            IssueKind::Header { .. } => "bad_header",
            IssueKind::Field { .. } => "bad_value",
            IssueKind::FileTooLarge { .. } => "file_too_large",
            IssueKind::EmptyFile => "empty_file",
            IssueKind::HeaderOnly => "no_data_rows",
            IssueKind::UnknownEntity { .. } => "unknown_entity",
            IssueKind::CellWithoutHeader => "cell_without_header",
            IssueKind::CellError { .. } => "cell_error",
            IssueKind::DuplicateKey { .. } => "duplicate_key",
            IssueKind::DuplicateEmail { .. } => "duplicate_email",
            IssueKind::EmailTaken { .. } => "email_taken",
            IssueKind::UnknownRole { .. } => "unknown_role",
            IssueKind::UnknownGroup { .. } => "unknown_group",
            IssueKind::AlreadyExists { .. } => "already_exists",
            IssueKind::NameRequired => "name_required",
            IssueKind::Password { .. } => "weak_password",
            IssueKind::PasswordHash { .. } => "bad_password_hash",
            IssueKind::Hashing { .. } => "hashing_failed",
            IssueKind::BuiltinRole => "builtin_role",
            IssueKind::UnknownPermission { .. } => "unknown_permission",
            IssueKind::Forbidden { .. } => "forbidden",
        }
    }
}

#[cfg(test)]
#[path = "issue_tests.rs"]
mod tests;
