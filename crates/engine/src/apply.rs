//! The import use case from file to store, as a four-stage pipeline so that both cores work:
//! the reader thread parses batches; the look-ahead task reads what the store holds for each
//! batch through a connection of its own; the planner checks and merges the rows and builds the
//! statements; a writer task runs them inside the import's one transaction. The look-ahead's
//! reads need only the store as it was before the import — what the file itself did so far is
//! tracked by the planner in memory (keys and e-mails seen, departments and groups created) —
//! so they do not wait for the writes. Atomic imports stop writing at the first
//! failed row but keep validating, so the report lists every problem of the file; at the end
//! the transaction commits only when the import is applied. A dry run writes nothing.

use std::path::{Path, PathBuf};

use muster_domain::{Entity, HeaderMap};
use muster_sheets::ReadOptions;
use muster_store::{Backend, Catalog, Connection, PreparedWrites, Store, StoreError};

use tokio::sync::mpsc;

use crate::catalog_import::CatalogPlanner;
use crate::context::{Context, ImportOptions};
use crate::issue::{Issue, IssueKind, Position};
use crate::report::{ImportReport, ImportStatus};
use crate::source::{self, Event, Record, SourceRequest};
use crate::user_import::{fail_row, look_up, Lookup, UserPlanner};

/// The default ceiling on an import file's size (SPEC §8), the same as the server's upload limit.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;

/// Imports that write at least this many rows refresh the database's planner statistics.
const STATISTICS_THRESHOLD: u64 = 10_000;

/// Problems of the environment rather than of the file: the caller exits with "usage or
/// environment error". Everything wrong *inside* the file is an `Issue` in the report instead.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("cannot start the reader thread: {0}")]
    Thread(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Planner {
    Users(UserPlanner),
    Catalog(CatalogPlanner),
}

pub async fn import_file(store: &Store, path: &Path, options: &ImportOptions, ctx: &Context) -> Result<ImportReport, ImportError> {
    let unreadable = |source| ImportError::Unreadable { path: path.to_owned(), source };
    // Opened here only to tell an unreadable file (an environment error) from a bad one.
    let size = std::fs::File::open(path).and_then(|f| f.metadata()).map_err(unreadable)?.len();
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
    let events = source::spawn(request).map_err(ImportError::Thread)?;
    let mut staged = look_ahead(events, store.acquire().await?);
    let writer = Writer::start(store).await?;
    let now = (ctx.now)();
    let mut planner = None;
    let mut file_failed = false;
    let mut rows_done = 0u64;
    while let Some(stage) = staged.recv().await {
        match stage {
            Staged::Opened(opened) => {
                report.entity = opened.entity.map(|e| e.as_str());
                report.sheet = Some(opened.sheet);
                report.format = Some(opened.format.extension());
                report.encoding = opened.encoding;
            }
            Staged::Started(map, catalog) => planner = Some(planner_for(map, catalog, &report, options, now)),
            Staged::Fatal(issue) => {
                file_failed = true;
                report.push_issue(issue);
            }
            Staged::Failed(error) => return Err(error.into()),
            Staged::Batch(batch) => {
                rows_done += batch.rows;
                if let Some(planner) = planner.as_mut() {
                    if let Some(writes) = plan_batch(planner, batch, &mut report, options, ctx, store.backend()) {
                        writer.send(writes).await;
                    }
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
    writer.finish(report.status == ImportStatus::Applied).await?;
    let written = report.counts.created + report.counts.updated;
    if report.status == ImportStatus::Applied && written >= STATISTICS_THRESHOLD {
        store.refresh_statistics().await?;
    }
    Ok(report)
}

/// The reader's events after the look-ahead stage: batches carry what the store holds for them.
// A handful of Opened/Started events per import against thousands of batches: boxing the
// large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Staged {
    Opened(source::Opened),
    Started(HeaderMap, Catalog),
    Batch(StagedBatch),
    Fatal(Issue),
    Failed(StoreError),
}

struct StagedBatch {
    rows: u64,
    failed: Vec<Vec<Issue>>,
    valid: Vec<(u64, Record)>,
    lookup: Option<Lookup>,
}

/// The look-ahead stage: a task with its own read connection that loads the catalog and, for
/// each batch of users, the existing users and e-mail owners, while the planner works on the
/// batch before.
fn look_ahead(mut events: mpsc::Receiver<Event>, mut reads: muster_store::PooledConnection) -> mpsc::Receiver<Staged> {
    let (out, staged) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut users = false;
        while let Some(event) = events.recv().await {
            let stage = match event {
                Event::Opened(opened) => Ok(Staged::Opened(opened)),
                Event::Started(map) => {
                    users = map.entity() == Entity::Users;
                    muster_store::load_catalog(&mut reads).await.map(|catalog| Staged::Started(map, catalog))
                }
                Event::Fatal(issue) => Ok(Staged::Fatal(issue)),
                Event::Batch(rows) => stage_batch(&mut reads, rows, users).await.map(Staged::Batch),
            };
            let failed = stage.is_err();
            if out.send(stage.unwrap_or_else(Staged::Failed)).await.is_err() || failed {
                break;
            }
        }
    });
    staged
}

async fn stage_batch(reads: &mut Connection, rows: Vec<source::Parsed>, users: bool) -> Result<StagedBatch, StoreError> {
    let mut batch = StagedBatch { rows: rows.len() as u64, failed: Vec::new(), valid: Vec::with_capacity(rows.len()), lookup: None };
    for parsed in rows {
        match parsed.record {
            Ok(record) => batch.valid.push((parsed.row, record)),
            Err(issues) => batch.failed.push(issues),
        }
    }
    if users {
        let user_rows = batch.valid.iter().filter_map(|(_, record)| match record {
            Record::User(user) => Some(user),
            _ => None,
        });
        batch.lookup = Some(look_up(reads, user_rows).await?);
    }
    Ok(batch)
}

/// The task that owns the import's transaction and applies batches in order.
struct Writer {
    batches: mpsc::Sender<PreparedWrites>,
    task: tokio::task::JoinHandle<Result<muster_store::Transaction, StoreError>>,
}

impl Writer {
    async fn start(store: &Store) -> Result<Writer, StoreError> {
        let mut tx = store.begin().await?;
        // Two batches in flight bound the memory while letting planning run ahead of writing.
        let (batches, mut incoming) = mpsc::channel::<PreparedWrites>(2);
        let task = tokio::spawn(async move {
            while let Some(writes) = incoming.recv().await {
                writes.execute(&mut tx).await?;
            }
            Ok(tx)
        });
        Ok(Writer { batches, task })
    }

    async fn send(&self, writes: PreparedWrites) {
        // A send fails only when the task ended early after a failed write; `finish` reports
        // that error, and the planner may as well finish validating the file meanwhile.
        let _ = self.batches.send(writes).await;
    }

    /// Waits for every queued write, then commits or rolls back.
    async fn finish(self, commit: bool) -> Result<(), StoreError> {
        drop(self.batches);
        let tx = match self.task.await {
            Ok(result) => result?,
            Err(join) => return Err(StoreError::Interrupted(join.to_string())),
        };
        if commit { tx.commit().await? } else { tx.rollback().await? }
        Ok(())
    }
}

fn planner_for(map: HeaderMap, catalog: Catalog, report: &ImportReport, options: &ImportOptions, now: i64) -> Planner {
    let sheet = report.sheet.clone().unwrap_or_default();
    match map.entity() {
        Entity::Users => Planner::Users(UserPlanner::new(sheet, map, catalog, options.create_only, options.create_groups, now)),
        _ => Planner::Catalog(CatalogPlanner::new(sheet, map, catalog, options.create_only, now)),
    }
}

/// Plans one batch and returns its writes when the mode allows writing: never in a dry run, and
/// in an atomic import only while no row of the file has failed so far.
fn plan_batch(
    planner: &mut Planner,
    batch: StagedBatch,
    report: &mut ImportReport,
    options: &ImportOptions,
    ctx: &Context,
    backend: Backend,
) -> Option<PreparedWrites> {
    for issues in batch.failed {
        fail_row(report, issues);
    }
    let may_write = |report: &ImportReport| !options.dry_run && (options.partial || !report.has_failures());
    let writes = match (planner, batch.lookup) {
        (Planner::Users(users), Some(lookup)) => {
            let rows = batch.valid.into_iter().filter_map(|(row, record)| match record {
                Record::User(user) => Some((row, user)),
                _ => None,
            });
            let writes = users.plan(rows, lookup, report, ctx);
            may_write(report).then(|| writes.prepare(backend))
        }
        (Planner::Catalog(catalog), _) => {
            let writes = catalog.plan(batch.valid, report);
            may_write(report).then(|| writes.prepare(backend))
        }
        (Planner::Users(_), None) => None,
    };
    writes.filter(|w| !w.is_empty())
}
