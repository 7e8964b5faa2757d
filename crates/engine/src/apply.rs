//! The import use case from file to store. The reader thread streams parsed batches; each batch
//! is planned against the store and, when allowed, written inside the import's one transaction.
//! Atomic imports stop writing at the first failed row but keep validating, so the report lists
//! every problem of the file; at the end the transaction commits only when the import is applied.
//! A dry run plans everything and commits nothing.

use std::path::{Path, PathBuf};

use muster_domain::HeaderMap;
use muster_sheets::ReadOptions;
use muster_store::{Connection, Store, StoreError};

use crate::catalog_import::CatalogPlanner;
use crate::context::{Context, ImportOptions};
use crate::issue::{Issue, IssueKind, Position};
use crate::report::{ImportReport, ImportStatus};
use crate::source::{self, Event, Record, SourceRequest};
use crate::user_import::{fail_row, UserPlanner};

/// The default ceiling on an import file's size (SPEC §8), the same as the server's upload limit.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;

/// Problems of the environment rather than of the file: the caller exits with "usage or
/// environment error". Everything wrong *inside* the file is an `Issue` in the report instead.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Planner {
    Users(UserPlanner),
    Catalog(CatalogPlanner),
}

pub async fn import_file(store: &Store, path: &Path, options: &ImportOptions, ctx: &Context) -> Result<ImportReport, ImportError> {
    let unreadable = |source| ImportError::Unreadable { path: path.to_owned(), source };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    std::fs::File::open(path).map_err(unreadable)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut report = ImportReport::new(file_name.clone());
    let limit = options.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES);
    if size > limit {
        let position = Position { sheet: file_name, row: 0, column: None };
        report.push_issue(Issue { position, kind: IssueKind::FileTooLarge { size, limit } });
        report.status = if options.dry_run { ImportStatus::DryRun } else { ImportStatus::Rejected };
        return Ok(report);
    }
    let request = SourceRequest {
        path: path.to_owned(),
        display_name: file_name,
        entity: options.entity,
        sheet: options.sheet.clone(),
        options: ReadOptions { delimiter: options.delimiter, encoding: options.encoding.clone(), limits: options.limits.clone() },
    };
    let mut events = source::spawn(request);
    let mut tx = store.begin().await?;
    let now = (ctx.now)();
    let mut planner = None;
    let mut file_failed = false;
    let mut rows_done = 0u64;
    while let Some(event) = events.recv().await {
        match event {
            Event::Opened(opened) => {
                report.entity = opened.entity.map(|e| e.as_str());
                report.sheet = Some(opened.sheet);
                report.format = Some(opened.format.extension());
                report.encoding = opened.encoding;
            }
            Event::Started(map) => planner = Some(start(&mut tx, map, &report, options, now).await?),
            Event::Fatal(issue) => {
                file_failed = true;
                report.push_issue(issue);
            }
            Event::Batch(rows) => {
                rows_done += rows.len() as u64;
                if let Some(planner) = planner.as_mut() {
                    run_batch(&mut tx, planner, rows, &mut report, options, ctx).await?;
                }
                ctx.progress.rows_done(rows_done);
            }
        }
    }
    report.status = if options.dry_run {
        ImportStatus::DryRun
    } else if file_failed || (report.has_failures() && !options.partial) {
        ImportStatus::Rejected
    } else {
        ImportStatus::Applied
    };
    if report.status == ImportStatus::Applied {
        tx.commit().await.map_err(StoreError::from)?;
    } else {
        tx.rollback().await.map_err(StoreError::from)?;
    }
    Ok(report)
}

async fn start(conn: &mut Connection, map: HeaderMap, report: &ImportReport, options: &ImportOptions, now: i64) -> Result<Planner, StoreError> {
    let catalog = muster_store::load_catalog(conn).await?;
    let sheet = report.sheet.clone().unwrap_or_default();
    Ok(match map.entity() {
        muster_domain::Entity::Users => {
            Planner::Users(UserPlanner::new(sheet, map, catalog, options.create_only, options.create_groups, now))
        }
        _ => Planner::Catalog(CatalogPlanner::new(sheet, map, catalog, options.create_only, now)),
    })
}

/// Plans one batch and writes it when the mode allows: never in a dry run, and in an atomic
/// import only while no row of the file has failed so far.
async fn run_batch(
    conn: &mut Connection,
    planner: &mut Planner,
    rows: Vec<source::Parsed>,
    report: &mut ImportReport,
    options: &ImportOptions,
    ctx: &Context,
) -> Result<(), StoreError> {
    let mut valid = Vec::with_capacity(rows.len());
    for parsed in rows {
        match parsed.record {
            Ok(record) => valid.push((parsed.row, record)),
            Err(issues) => fail_row(report, issues),
        }
    }
    let may_write = |report: &ImportReport| !options.dry_run && (options.partial || !report.has_failures());
    match planner {
        Planner::Users(users) => {
            let rows = valid
                .into_iter()
                .filter_map(|(row, record)| match record {
                    Record::User(user) => Some((row, user)),
                    _ => None,
                })
                .collect();
            let writes = users.plan(conn, rows, report, ctx).await?;
            if may_write(report) {
                writes.write(conn).await?;
            }
        }
        Planner::Catalog(catalog) => {
            let writes = catalog.plan(valid, report);
            if may_write(report) {
                writes.write(conn).await?;
            }
        }
    }
    Ok(())
}
