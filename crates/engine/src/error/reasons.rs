//! The typed reasons inside each kind of `Error`: what is missing, what conflicts, what is
//! invalid, what is unavailable and what failed inside muster. Each reason's message is the text
//! a front-end shows; a front-end that needs more (the record, the import, the field) matches
//! the reason instead of parsing the message.

use muster_sheets::{Format, ReadError, WriteError};
use muster_store::JobStatus;

use super::FieldProblem;

/// What the caller named that does not exist (or that the actor may not know exists).
#[derive(Debug, thiserror::Error)]
pub enum Missing {
    /// A user, group, role or department, by id or name.
    #[error("no {entity} `{key}`")]
    Record { entity: &'static str, key: String },
    /// An entry of the import history.
    #[error("there is no import {0}")]
    Import(i64),
    /// The import exists, but its upload was not archived (too large, cancelled…).
    #[error("import {id} has no archived file: {reason}")]
    Archive { id: i64, reason: String },
    /// The import exists, but no row of it failed, so there is no error workbook to make.
    #[error("import {0} has no failed rows")]
    FailedRows(i64),
    /// A name an export filter gives (a department, group or role).
    #[error("{entity} `{name}` does not exist")]
    Name { entity: &'static str, name: String },
    /// A password-reset or invitation link that is unknown, used already, expired, or whose
    /// user is gone or deactivated: one reason for all, so a link tells nothing more.
    #[error("this link is unknown, used or expired; ask for a new one")]
    OneTimeLink,
}

/// Why a change cannot be made to the records as they are now.
#[derive(Debug, thiserror::Error)]
pub enum Conflict {
    /// The caller's version is not the record's.
    #[error("{entity} `{key}` changed since it was read (version {expected}, now {actual}); read it again and redo the change")]
    Stale {
        entity: &'static str,
        key: String,
        expected: i64,
        actual: i64,
    },
    /// A preview applies once.
    #[error("import {id} was already applied")]
    AlreadyApplied { id: i64 },
    #[error("import {id} was already reverted (by entry {by})")]
    AlreadyReverted { id: i64, by: i64 },
    /// The import's status says it wrote nothing (rejected, a dry run, failed, cancelled).
    #[error("import {id} changed nothing (its status is {status}), so there is nothing to revert")]
    NothingApplied { id: i64, status: JobStatus },
    #[error(
        "import {id} changed nothing (every row was unchanged), so there is nothing to revert"
    )]
    NothingChanged { id: i64 },
    /// Another command took the job for dead and recorded it failed; nothing of it applied.
    #[error("{}", lease_lost(.job, .id))]
    LeaseLost { job: LeasedJob, id: i64 },
    /// A name or e-mail address that another record holds.
    #[error("{0}")]
    Taken(Taken),
    /// A delete that would leave references behind.
    #[error("{0}; remove those references first, or delete it with its references removed")]
    InUse(InUse),
    #[error("the built-in administrator role cannot be deleted")]
    AdministratorRole,
    /// A second factor is enrolled already; an administrator resets it before another.
    #[error("a second factor is enrolled already")]
    MfaEnrolled,
}

/// The jobs that hold their history record by a lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeasedJob {
    Import,
    Revert,
    /// Applying a stored preview.
    Apply,
}

fn lease_lost(job: &LeasedJob, id: &i64) -> String {
    match job {
        LeasedJob::Import => format!("import {id} lost its lease (another command took it for dead and recorded it failed); nothing of it was applied"),
        LeasedJob::Revert => format!("revert {id} lost its lease (another command took it for dead and recorded it failed); nothing of it was applied"),
        LeasedJob::Apply => format!("the apply of import {id} lost its lease (another command took it for dead); nothing of it was applied"),
    }
}

/// What another record already holds.
#[derive(Debug, thiserror::Error)]
pub enum Taken {
    /// A department, group or role name (names are caseless).
    #[error("a {entity} named `{name}` already exists")]
    Name { entity: &'static str, name: String },
    /// A new user's username.
    #[error("a user `{username}` already exists")]
    User { username: String },
    /// The username a user would be renamed to.
    #[error("the username `{username}` is taken by user `{holder}`")]
    Username { username: String, holder: String },
    #[error("the e-mail address `{email}` belongs to user `{owner}`")]
    Email { email: String, owner: String },
}

/// How a department, group or role is still referenced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InUse {
    #[error("department `{name}` has {}", count(.users, "user", "users"))]
    Department { name: String, users: i64 },
    #[error("group `{name}` has {}", count(.members, "member", "members"))]
    Group { name: String, members: i64 },
    #[error("role `{name}` is held by {} directly and given by {}", count(.users, "user", "users"), count(.groups, "group", "groups"))]
    Role {
        name: String,
        users: i64,
        groups: i64,
    },
}

fn count(n: &i64, one: &str, many: &str) -> String {
    format!("{n} {}", if *n == 1 { one } else { many })
}

/// What is wrong with the request itself; asking again the same way fails the same way.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// Fields of a single-record request, all of them at once.
    #[error("{}", join(.0))]
    Fields(Vec<FieldProblem>),
    /// A revert was asked of an entry that is itself a revert.
    #[error("entry {0} is a revert, not an import")]
    NotAnImport(i64),
    #[error("import {id} is not a preview (its status is {status}); only a dry run stores a plan to apply")]
    NotAPreview { id: i64, status: JobStatus },
    /// An atomic preview with failed rows has nothing it may apply.
    #[error("the preview of import {id} has {failed} failed row(s) and was not partial: fix the file and preview it again, or preview it as a partial import")]
    HasFailures { id: i64, failed: i64 },
    #[error("the department, group, role and active filters apply to users only")]
    FilterNotApplicable,
    #[error("a workbook holds several sheets, which CSV cannot: write XLSX or ODS")]
    WorkbookNeedsSheets,
    #[error(
        "a workbook template has several sheets, which a CSV file cannot hold; write it as XLSX"
    )]
    WorkbookNeedsXlsx,
    #[error("templates are written as XLSX or CSV, not {}", .0.extension().to_uppercase())]
    UnsupportedFormat(Format),
    /// The file to import cannot be opened or read at all (problems inside a file it could
    /// read are issues of the import's report instead).
    // The cause is in the message and therefore not also `source()`, which would repeat it.
    #[error("cannot read {name}: {cause}")]
    Unreadable { name: String, cause: std::io::Error },
    /// Invitations for an import's users were asked of an import that created nobody.
    #[error("import {id} created nobody to invite (its status is {status})")]
    CreatedNobody { id: i64, status: JobStatus },
}

fn join(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// An output the caller gave could not take what was written: not now, perhaps later (a full
/// disk, a closed pipe). The causes are in the messages and therefore not also `source()`.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("cannot write the export: {0}")]
    Export(WriteError),
    #[error("cannot write the template: {0}")]
    Template(WriteError),
    /// An archived upload being downloaded, or the scratch copy an error workbook is cut from.
    #[error("cannot write the file: {0}")]
    File(std::io::Error),
    /// Too many failed sign-ins for this account or from this address: try again after
    /// `retry_after_s` seconds.
    #[error("too many failed attempts; try again in {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    /// The mail transport could not take a message: the SMTP server refused it or could not be
    /// reached, or the outbox could not be written. The cause is the transport's own error.
    #[error("cannot send the mail: {0}")]
    Mail(Box<dyn std::error::Error + Send + Sync>),
}

/// A fault of muster or of what it stored: nothing the caller can fix by asking differently.
/// The causes are in the messages and therefore not also `source()`.
#[derive(Debug, thiserror::Error)]
pub enum Internal {
    #[error("cannot start the reader thread: {0}")]
    ReaderThread(std::io::Error),
    /// A stored chunk of the history that does not parse.
    #[error("the history of import {id} is damaged: {detail}")]
    DamagedHistory { id: i64, detail: String },
    /// The archived upload an error workbook is cut from.
    #[error("the archived upload could not be read: {0}")]
    ArchiveUnreadable(ReadError),
    #[error("the error workbook could not be written: {0}")]
    ErrorWorkbookUnwritable(WriteError),
    /// A password could not be hashed or checked (a worker thread failed, a stored hash is
    /// beyond what the credentials crate accepts).
    #[error("the password could not be processed: {0}")]
    Credentials(String),
}
