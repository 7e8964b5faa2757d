//! Import problems as data. An `Issue` is a position plus a kind; the message is the kind's
//! `Display`, written so that an administrator can fix the cell without reading code. No message
//! ever quotes a password or a password hash.

use serde::{Serialize, Serializer};

/// Where a problem is: the sheet, the row number a spreadsheet program shows (the header is
/// row 1; 0 means the file as a whole), and the column header as written in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub sheet: String,
    pub row: u64,
    pub column: Option<String>,
}

/// A kind of problem or warning as a stable word (`unknown_group`), which front-ends map to their
/// own hints and words; the `Display` text is the engine's own sentence.
pub trait Coded {
    fn code(&self) -> &'static str;
}

/// Something about a place in the file: a problem (`Issue`) or a warning (`Warning`). It
/// serialises as the position's fields plus `code` and `message`, the kind's text, and displays
/// as "sheet, row N, column C: message".
#[derive(Debug)]
pub struct Positioned<K: std::fmt::Display + Coded> {
    pub position: Position,
    pub kind: K,
}

impl<K: std::fmt::Display + Coded> Serialize for Positioned<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("sheet", &self.position.sheet)?;
        map.serialize_entry("row", &self.position.row)?;
        map.serialize_entry("column", &self.position.column)?;
        map.serialize_entry("code", self.kind.code())?;
        map.serialize_entry("message", &self.kind.to_string())?;
        map.end()
    }
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

#[derive(Debug, thiserror::Error)]
pub enum IssueKind {
    #[error("{0}")]
    Read(muster_sheets::ReadErrorKind),
    #[error("{0}")]
    Header(muster_domain::HeaderError),
    #[error("{0}")]
    Field(muster_domain::FieldErrorKind),
    #[error("the file is {size} bytes, over the limit of {limit} bytes")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("the file has no rows")]
    EmptyFile,
    #[error("the file has a header row but no data rows")]
    HeaderOnly,
    #[error("{0}; say which entity the sheet holds")]
    UnknownEntity(muster_domain::Unrecognised),
    #[error("the cell holds a value but its column has no header")]
    CellWithoutHeader,
    #[error("the cell holds the spreadsheet error {0}")]
    CellError(String),
    #[error("`{key}` appears again: first on row {first_row}")]
    DuplicateKey { key: String, first_row: u64 },
    #[error("e-mail `{email}` is also on row {first_row}")]
    DuplicateEmail { email: String, first_row: u64 },
    #[error("e-mail `{email}` already belongs to user `{owner}`")]
    EmailTaken { email: String, owner: String },
    #[error("role `{0}` does not exist")]
    UnknownRole(String),
    #[error("group `{0}` does not exist, and the import does not create groups")]
    UnknownGroup(String),
    #[error("`{0}` already exists and the import is create-only")]
    AlreadyExists(String),
    #[error("a new user needs a Name")]
    NameRequired,
    #[error("{0}")]
    Password(muster_credentials::PolicyViolation),
    #[error("{0}")]
    PasswordHash(muster_credentials::HashRejection),
    #[error("the password could not be hashed: {0}")]
    Hashing(String),
    #[error("the built-in administrator role cannot be changed by an import")]
    BuiltinRole,
    #[error("`{0}` is not a permission code")]
    UnknownPermission(String),
    /// The actor may not make this row's change (SPEC §5): a missing permission, a grant beyond
    /// their own permissions, or a change to their own access.
    #[error("forbidden: {0}")]
    Forbidden(crate::error::Refusal),
}

impl Coded for IssueKind {
    fn code(&self) -> &'static str {
        match self {
            IssueKind::Read(_) => "unreadable",
            IssueKind::Header(_) => "bad_header",
            IssueKind::Field(_) => "bad_value",
            IssueKind::FileTooLarge { .. } => "file_too_large",
            IssueKind::EmptyFile => "empty_file",
            IssueKind::HeaderOnly => "no_data_rows",
            IssueKind::UnknownEntity(_) => "unknown_entity",
            IssueKind::CellWithoutHeader => "cell_without_header",
            IssueKind::CellError(_) => "cell_error",
            IssueKind::DuplicateKey { .. } => "duplicate_key",
            IssueKind::DuplicateEmail { .. } => "duplicate_email",
            IssueKind::EmailTaken { .. } => "email_taken",
            IssueKind::UnknownRole(_) => "unknown_role",
            IssueKind::UnknownGroup(_) => "unknown_group",
            IssueKind::AlreadyExists(_) => "already_exists",
            IssueKind::NameRequired => "name_required",
            IssueKind::Password(_) => "weak_password",
            IssueKind::PasswordHash(_) => "bad_password_hash",
            IssueKind::Hashing(_) => "hashing_failed",
            IssueKind::BuiltinRole => "builtin_role",
            IssueKind::UnknownPermission(_) => "unknown_permission",
            IssueKind::Forbidden(_) => "forbidden",
        }
    }
}
