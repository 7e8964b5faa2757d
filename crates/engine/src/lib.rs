//! The use cases of muster: importing a spreadsheet (read → validate → plan → apply, streamed in
//! batches inside one transaction) and exporting users, groups, roles and departments. The CLI
//! calls these today; the server, console and API will call the same functions, so an import
//! behaves the same from everywhere. This crate holds no SQL (the store does) and no parsing
//! rules (the domain and sheets crates do); it decides what an import means.

mod apply;
mod catalog_add;
mod catalog_import;
mod context;
mod export;
mod issue;
mod matrix;
mod report;
mod seen;
mod source;
mod timefmt;
mod user_import;

pub use catalog_add::{add_catalog_entry, AddError, AddOutcome, CatalogEntry};
pub use context::{system_now, Context, ImportOptions, NoProgress, Progress};
pub use export::{export, ExportError, ExportFilter, ExportSummary};
pub use issue::{Issue, IssueKind, Position};
pub use report::{Counts, ImportReport, ImportStatus, MAX_REPORTED_ISSUES};
pub use apply::{import_file, ImportError};
pub use muster_domain::Entity;
pub use muster_sheets::Format;
