//! The use cases of muster: importing a spreadsheet (read → validate → plan → apply, streamed in
//! batches inside one transaction) and exporting users, groups, roles and departments. The CLI
//! calls these today; the server, console and API will call the same functions, so an import
//! behaves the same from everywhere. This crate holds no SQL (the store does) and no parsing
//! rules (the domain and sheets crates do); it decides what an import means.

mod access;
mod apply;
mod audit;
mod catalog_import;
mod context;
mod diff;
pub mod directory;
mod error;
mod error_workbook;
mod export;
mod history;
mod ids;
mod issue;
mod journal;
mod lease;
mod matrix;
mod plan_apply;
mod report;
mod revert;
mod sanitize;
mod seen;
mod source;
mod template;
mod timefmt;
pub use timefmt::parse_utc;
mod upload;
mod user_import;
mod warnings;

pub use access::{effective_permissions, grant_escalation, Actor, Escalation, Source, Who};
pub use apply::{import_file, ImportError};
pub use audit::{list_audit, AuditRecord};
pub use context::{system_now, Context, ImportOptions, NoProgress, Progress};
pub use error::{Classified, Error, ErrorKind, FieldProblem, Refusal};
pub use export::{
    export, export_workbook, ExportError, ExportFilter, ExportSummary, WorkbookSummary,
};
pub use history::{
    download_archive, is_busy, list_imports, prepare_error_workbook, recover_interrupted,
    show_import, ErrorWorkbookWritten, FieldChange, HistoryError, ImportDetails, ImportEntry,
    PreparedErrorWorkbook, RowOutcome,
};
pub use issue::{Coded, Issue, IssueKind, Position, Positioned};
pub use journal::LoggedIssue;
pub use lease::LeaseTimes;
pub use muster_domain::Entity;
pub use muster_sheets::Format;
pub use muster_store::{AuditChange, AuditQuery};
pub use plan_apply::{apply_plan, Conflict, PlanApplied, PlanError};
pub use report::{Counts, ImportReport, ImportStatus, MAX_REPORTED_ISSUES};
pub use revert::{revert_import, RevertError, RevertReport};
pub use template::{write_template, TemplateError, TemplateKind};
pub use upload::ImportSource;
pub use warnings::{Tense, Warning, WarningKind};
