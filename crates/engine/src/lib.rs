//! The use cases of muster, one module each, shared by every front-end (the CLI today; the
//! console, the REST API and SCIM next), so an import row, a console form, an API call and a
//! SCIM request behave alike. This crate holds no SQL (the store does) and no parsing rules (the
//! domain and sheets crates do); it decides what each use case means.
//!
//! - `import`: read → validate → plan → apply a spreadsheet, streamed in batches inside one
//!   transaction (its reader, planners, report, problems and warnings live beside it).
//! - `preview`: applying a stored preview exactly as planned.
//! - `revert`: undoing an applied import from its journal.
//! - `history`: the record of every import (list, show, archive, error workbook, journal).
//! - `export`: one entity or the whole instance as a spreadsheet, and import templates.
//! - `directory`: single-record use cases for users, groups, roles and departments.
//! - `audit`: the audit log every use case writes to.
//! - `account`: sign-in, sessions, the own password and second factor, the first
//!   administrator, one-time links (password resets, invitations) and the mail they
//!   go by (`account::mail`); what it writes goes to the sign-in database.
//!
//! Shared by all of them: `access` (actors, permissions, the no-escalation rule), `error` (the
//! one error type every use case returns, whose variant is the kind a front-end maps),
//! `context` (clock, randomness, actor, cancel flag), `lease` (jobs held by leases), `busy`
//! (busy errors that name the running job, at every use case's boundary), `ids` (record ids)
//! and `timefmt`.

mod access;
pub mod account;
mod audit;
mod busy;
mod context;
pub mod directory;
mod error;
mod export;
mod health;
mod history;
mod ids;
mod import;
mod lease;
mod preview;
mod revert;
mod timefmt;

pub use access::{
    effective_permissions, grant_escalation, Actor, Escalation, Own, Source, Through, Who,
};
pub use audit::{list_audit, AuditRecord};
pub use context::{system_now, Context, ImportOptions, NoProgress, Progress};
pub use error::{
    is_busy, Conflict, Error, ErrorKind, FieldProblem, InUse, Internal, Invalid, LeasedJob,
    Missing, Refusal, Taken, Unavailable,
};
pub use export::template::{write_template, TemplateKind};
pub use export::{export, export_workbook, ExportFilter, ExportSummary, WorkbookSummary};
pub use health::{check_ready, job_totals};
pub use history::journal::{LoggedIssue, LoggedProblem};
pub use history::{
    download_archive, list_imports, prepare_error_workbook, recover_interrupted, show_import,
    ErrorWorkbookWritten, FieldChange, ImportDetails, ImportEntry, PreparedErrorWorkbook,
    RowOutcome,
};
pub use import::import_file;
pub use import::issue::{Coded, Issue, IssueKind, Position, Positioned};
pub use import::report::{Counts, ImportReport, ImportStatus, MAX_REPORTED_ISSUES};
pub use import::upload::ImportSource;
pub use import::warnings::{Tense, Warning, WarningKind};
pub use lease::LeaseTimes;
pub use muster_domain::Entity;
pub use muster_sheets::Format;
pub use muster_store::{AuditChange, AuditQuery, JobKind, JobStatus, JobTotals};
pub use preview::{apply_plan, PlanReport, RecordConflict};
pub use revert::{revert_import, RevertReport};
pub use timefmt::{parse_utc, rfc3339_utc};
