//! The import use case from file to store, as a four-stage pipeline so that both cores work:
//! the reader thread parses batches; the look-ahead task reads what the store holds for each
//! batch through a connection of its own; the planner checks and merges the rows and builds the
//! statements; a writer task runs them inside the import's one transaction. The look-ahead's
//! reads need only the store as it was before the import — what the file itself did so far is
//! tracked by the planner in memory (keys and e-mails seen, departments and groups created) —
//! so they do not wait for the writes.
//!
//! Every import is recorded (see `history`): its record is committed as `running` before any
//! data is touched, and the same transaction that writes the data writes the journal of what
//! changed, the failed rows and the record's final status, so they commit together or not at
//! all. Data writes happen after a savepoint: when an atomic import meets its first failed row,
//! the writer rolls back to it, dropping the data and journal written so far, and from then on
//! records only failed rows — the import keeps validating, so the report lists every problem
//! of the file. A preview (dry run) writes its plan and no data.

pub(crate) mod catalog;
pub(crate) mod issue;
pub(crate) mod matrix;
pub(crate) mod report;
pub(crate) mod sanitize;
pub(crate) mod seen;
pub(crate) mod source;
pub(crate) mod upload;
pub(crate) mod users;
pub(crate) mod warnings;

use std::path::Path;
use std::sync::atomic::Ordering;

use muster_domain::{Entity, HeaderMap, Permission};
use muster_sheets::ReadOptions;
use muster_store::{
    ArchiveRecord, Backend, Catalog, ChunkTable, Connection, ImportJobOptions, ImportOutcome,
    JobKind, JobOptions, JobStatus, JobSummary, NewImport, PreparedWrites, Store, StoreError,
    SuspendedIndexes,
};

use tokio::sync::mpsc;

use crate::access::Actor;
use crate::audit;
use crate::busy;
use crate::context::{Context, ImportOptions};
use crate::error::{Conflict, Error, Internal, Invalid, LeasedJob};
use crate::history;
use crate::history::journal::{ChangeChunk, FailureChunk};
use crate::ids::{IdMaker, Stamp};
use crate::import::catalog::CatalogPlanner;
use crate::import::issue::{Issue, IssueKind, Position};
use crate::import::report::{BatchLog, ImportReport, ImportStatus};
use crate::import::source::{Event, Record, RowIssue, SourceRequest};
use crate::import::upload::{ImportSource, Upload};
use crate::import::users::{look_up, Lookup, UserPlanner};
use crate::import::warnings::{Warning, WarningKind};
use crate::lease;

/// The default ceiling on an import file's size (SPEC §8), the same as the server's upload limit.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;

/// Imports that write at least this many rows refresh the database's planner statistics.
const STATISTICS_THRESHOLD: u64 = 10_000;

/// The savepoint before an import's first data write.
const DATA_SAVEPOINT: &str = "import_data";

/// The job an import runs as: its record and the lease it holds on it.
struct Job<'a> {
    id: i64,
    holder: &'a str,
}

enum Planner {
    Users(UserPlanner),
    Catalog(CatalogPlanner),
}

impl Planner {
    fn into_catalog(self) -> Catalog {
        match self {
            Planner::Users(p) => p.into_catalog(),
            Planner::Catalog(p) => p.into_catalog(),
        }
    }
}

/// Imports `source` (read → validate → plan → apply in one transaction); needs `users.import`.
/// Everything wrong *inside* the file is an `Issue` of the report, and a rejected or cancelled
/// import is a status of it; an error is a file that cannot be read at all, a refusal, or the
/// store.
pub async fn import_file(
    store: &Store,
    source: &ImportSource,
    options: &ImportOptions,
    ctx: &Context,
) -> Result<ImportReport, Error> {
    busy::naming_job(store, async move {
        let unreadable = |cause| Invalid::Unreadable {
            name: source.described().to_owned(),
            cause,
        };
        let target = audit::Target {
            kind: "import",
            id: None,
            name: source.display_name().to_owned(),
        };
        audit::require(store, ctx, Permission::UsersImport, "import.apply", &target).await?;
        let path = source.path();
        let limit = options.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES);
        let upload = Upload::inspect(source, limit).map_err(unreadable)?;
        let now = (ctx.now)();
        let holder = lease::new_holder(ctx);
        let lease = lease::first_lease(holder.clone(), now, ctx);
        let new = NewImport {
            kind: JobKind::Import,
            actor: ctx.actor.to_string(),
            lease: lease.clone(),
            started_at: now,
            file_name: upload.file_name.clone(),
            file_size: upload.size as i64,
            sha256: upload.sha256.clone(),
            format: None,
            options: JobOptions::Import(job_options(options)),
            fixes_id: None,
            revert_of: None,
        };
        let id = history::begin(store, &new).await?;
        let job = Job {
            id,
            holder: &holder,
        };
        let mut report = ImportReport::new(upload.file_name.clone());
        report.import_id = Some(id);
        let running = run(store, &job, &upload, path, options, ctx, &mut report, now);
        // A lease taken over stops the import through the cancel flag; `run` then finds, when it
        // records the end, that the record is no longer its own and reports the loss.
        let (result, _lost) = lease::hold(store, id, &lease, ctx, running).await?;
        match result {
            Ok(()) => Ok(report),
            Err(error @ Error::Conflict(Conflict::LeaseLost { .. })) => Err(error),
            Err(error) => {
                // The data rolled back with the transaction; the record says why.
                let summary = JobSummary::note(format!("the import stopped: {error}"));
                if let Ok(mut conn) = store.acquire().await {
                    let end = ended(JobStatus::Failed, (ctx.now)(), summary);
                    let _ = muster_store::finish_job(&mut conn, id, &holder, &end).await;
                }
                Err(error)
            }
        }
    })
    .await
}

fn job_options(options: &ImportOptions) -> ImportJobOptions {
    ImportJobOptions {
        entity: options.entity.map(|e| e.as_str().to_owned()),
        dry_run: options.dry_run,
        partial: options.partial,
        create_only: options.create_only,
        create_groups: options.create_groups,
        sheet: options.sheet.clone(),
        delimiter: options.delimiter.map(|d| (d as char).to_string()),
        encoding: options.encoding.clone(),
    }
}

/// The import `id` was taken for dead by another command, which recorded it failed.
fn lease_lost(id: i64) -> Error {
    Error::Conflict(Conflict::LeaseLost {
        job: LeasedJob::Import,
        id,
    })
}

/// The end of a job that applied nothing (failed or cancelled): no counts, a summary.
pub(crate) fn ended(status: JobStatus, now: i64, summary: JobSummary) -> ImportOutcome {
    ImportOutcome {
        status,
        finished_at: now,
        format: None,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        summary,
        fixes_id: None,
    }
}

/// Where the pipeline stands on writing data.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writing {
    /// Data and journal are written as batches are planned.
    Data,
    /// A preview: the plan is recorded, no data.
    Plan,
    /// The import will not apply (atomic with a failed row, or the file broke off): the data
    /// written so far was rolled back; only failed rows are recorded.
    Discarded,
}

#[allow(clippy::too_many_arguments)] // the import's whole state, passed once
async fn run(
    store: &Store,
    job: &Job<'_>,
    upload: &Upload,
    path: &Path,
    options: &ImportOptions,
    ctx: &Context,
    report: &mut ImportReport,
    now: i64,
) -> Result<(), Error> {
    let read = ReadOptions {
        delimiter: options.delimiter,
        encoding: options.encoding.clone(),
        limits: options.limits.clone(),
    };
    let backend = store.backend();
    let id = job.id;
    if upload.too_large {
        let position = Position {
            sheet: upload.file_name.clone(),
            row: 0,
            column: None,
        };
        report.push_issue(Issue {
            position,
            kind: IssueKind::FileTooLarge {
                size: upload.size,
                limit: upload.limit,
            },
        });
        report.settle(if options.dry_run {
            ImportStatus::DryRun
        } else {
            ImportStatus::Rejected
        });
        let archive =
            ArchiveRecord::not_archived("the file was over the size limit and was not read");
        let end = outcome(report, archive, (ctx.now)());
        let mut conn = store.acquire().await?;
        if !muster_store::finish_job(&mut conn, id, job.holder, &end).await? {
            return Err(lease_lost(id));
        }
        return Ok(());
    }
    // The archive copy is made beside the pipeline and stored at its end, in its transaction.
    let archive_job = upload::start_archive(path, &read);
    warn_same_file(store, id, upload, report).await?;
    let request = SourceRequest {
        path: path.to_owned(),
        display_name: upload.file_name.clone(),
        entity: options.entity,
        sheet: options.sheet.clone(),
        options: read.clone(),
    };
    let events = source::spawn(request).map_err(Internal::ReaderThread)?;
    let writer = Writer::start(store, !options.dry_run).await?;
    let mut staged = look_ahead(events, store.acquire().await?, writer.empty_directory);
    let mut state = PipelineState {
        planner: None,
        sheet: upload.file_name.clone(),
        file_failed: false,
        writing: if options.dry_run {
            Writing::Plan
        } else {
            Writing::Data
        },
        chunks: ChunkCounter {
            id,
            changes: 0,
            failures: 0,
        },
        rows_done: 0,
        backend,
    };
    let cancelled = drive(&mut staged, &mut state, &writer, report, options, ctx, now).await?;
    drop(staged);
    report.close_sheet();
    if cancelled {
        report.cancel();
        writer.finish(None, None).await?;
        let archive = ArchiveRecord::not_archived("the import was cancelled");
        let end = ended(JobStatus::Cancelled, (ctx.now)(), summary(report, archive));
        let mut conn = store.acquire().await?;
        // A job whose lease was taken over stops the same way; its record says failed already.
        if !muster_store::finish_job(&mut conn, id, job.holder, &end).await? {
            return Err(lease_lost(id));
        }
        return Ok(());
    }
    report.settle(if options.dry_run {
        ImportStatus::DryRun
    } else if !may_apply(state.file_failed, report, options) {
        ImportStatus::Rejected
    } else {
        ImportStatus::Applied
    });
    if report.status == ImportStatus::Rejected && state.writing == Writing::Data {
        writer.send(Message::Discard).await;
    }
    // After the data savepoint (or its rollback): the archive is kept whatever the outcome.
    let archive = store_archive(archive_job, &writer, id, &read, backend).await;
    let finished_at = (ctx.now)();
    let end = outcome(report, archive, finished_at);
    let entry = (report.status == ImportStatus::Applied && report.changed_anything()).then(|| {
        let c = &report.counts;
        let counts = [
            ("created", c.created),
            ("updated", c.updated),
            ("unchanged", c.unchanged),
            ("failed", c.failed),
        ];
        audit::import_entry(
            &ctx.actor,
            finished_at,
            "import.apply",
            id,
            &upload.file_name,
            &counts,
        )
    });
    if !writer.finish(Some((job, end)), entry).await? {
        return Err(lease_lost(id));
    }
    let written = report.counts.created + report.counts.updated;
    if report.status == ImportStatus::Applied && written >= STATISTICS_THRESHOLD {
        store.refresh_statistics().await?;
    }
    Ok(())
}

/// Runs the planner over the staged events until the file ends; returns whether the import was
/// cancelled on the way.
async fn drive(
    staged: &mut mpsc::Receiver<Staged>,
    state: &mut PipelineState,
    writer: &Writer,
    report: &mut ImportReport,
    options: &ImportOptions,
    ctx: &Context,
    now: i64,
) -> Result<bool, Error> {
    let backend = state.backend;
    while let Some(stage) = staged.recv().await {
        if ctx.cancel.load(Ordering::Relaxed) {
            return Ok(true);
        }
        match stage {
            Staged::Opened(opened) => state.open_sheet(opened, report),
            Staged::Started(map, catalog) => {
                let ids = IdMaker::new(now, &ctx.rng);
                state.start_planner(map, catalog, options, now, ids, &ctx.actor)
            }
            Staged::Linked(previous) => {
                report.fixes_import_id = report.fixes_import_id.or(Some(previous))
            }
            Staged::Fatal(issue) => {
                state.file_failed = true;
                report.push_issue(issue);
            }
            Staged::Failed(error) => return Err(error.into()),
            Staged::Batch(batch) => {
                state.rows_done += batch.rows;
                let want_data = |report: &ImportReport| {
                    state.writing == Writing::Data && may_apply(state.file_failed, report, options)
                };
                let data = state.planner.as_mut().and_then(|planner| {
                    plan_batch(planner, batch, report, ctx, backend, &want_data)
                });
                let writes = state
                    .record_batch(data, report, options, writer, backend)
                    .await;
                if !writes.is_empty() {
                    writer.send(Message::Writes(writes)).await;
                }
                ctx.progress.rows_done(state.rows_done);
                // The staged batches and the writer's queue are often ready at once, and then
                // nothing here waits: yield, so the lease's heartbeat, which runs beside this in
                // the same task, is not starved by a long run of planning.
                tokio::task::yield_now().await;
            }
        }
    }
    Ok(ctx.cancel.load(Ordering::Relaxed))
}

/// Sends the archive copy to the writer piece by piece; returns its description.
async fn store_archive(
    job: upload::ArchiveJob,
    writer: &Writer,
    id: i64,
    read: &ReadOptions,
    backend: Backend,
) -> ArchiveRecord {
    let (pieces, archive) = job.finish(read).await;
    let Some(mut pieces) = pieces else {
        return archive;
    };
    loop {
        match pieces.next(id, backend) {
            Ok(Some(piece)) => writer.send(Message::Writes(piece)).await,
            Ok(None) => return archive,
            Err(e) => {
                return ArchiveRecord::not_archived(format!(
                    "the archive copy could not be read back: {e}"
                ))
            }
        }
    }
}

/// Warns when the same bytes were already applied by an earlier import.
async fn warn_same_file(
    store: &Store,
    id: i64,
    upload: &Upload,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    let mut conn = store.acquire().await?;
    if let Some(&earlier) = muster_store::applied_with_sha256(&mut conn, &upload.sha256, id)
        .await?
        .last()
    {
        let position = Position {
            sheet: upload.file_name.clone(),
            row: 0,
            column: None,
        };
        report.push_warning(Warning::new(
            position,
            WarningKind::SameFileApplied { import_id: earlier },
        ));
    }
    Ok(())
}

/// The record's final state. The stored summary is the report with its problem and warning
/// lists cut short: the failed rows themselves are kept whole in their own table.
fn outcome(report: &ImportReport, archive: ArchiveRecord, now: i64) -> ImportOutcome {
    ImportOutcome {
        status: report.status.into(),
        finished_at: now,
        format: report.format.map(str::to_owned),
        created: report.counts.created as i64,
        updated: report.counts.updated as i64,
        unchanged: report.counts.unchanged as i64,
        failed: report.counts.failed as i64,
        summary: summary(report, archive),
        fixes_id: report.fixes_import_id,
    }
}

/// Problems and warnings kept in the stored summary; `imports show` lists every failed row.
const SUMMARY_ITEMS: usize = 100;

fn summary(report: &ImportReport, archive: ArchiveRecord) -> JobSummary {
    let mut summary: JobSummary = serde_json::to_value(report)
        .and_then(serde_json::from_value)
        .unwrap_or_default();
    for list in ["errors", "warnings"] {
        if let Some(items) = summary.report.get_mut(list).and_then(|v| v.as_array_mut()) {
            items.truncate(SUMMARY_ITEMS);
        }
    }
    summary.archive = Some(archive);
    summary
}

struct ChunkCounter {
    id: i64,
    changes: i64,
    failures: i64,
}

struct PipelineState {
    backend: Backend,
    planner: Option<Planner>,
    sheet: String,
    file_failed: bool,
    writing: Writing,
    chunks: ChunkCounter,
    rows_done: u64,
}

impl PipelineState {
    fn open_sheet(&mut self, opened: source::Opened, report: &mut ImportReport) {
        if report.sheet.is_some() {
            // A second sheet: the import is a workbook of several.
            report.entity = Some("workbook");
            report.sheet = None;
        } else if report.sheets.is_empty() {
            report.entity = opened.entity.map(|e| e.as_str());
            report.sheet = Some(opened.sheet.clone());
        }
        report.format = Some(opened.format.extension());
        report.encoding = opened.encoding;
        report.start_sheet(&opened.sheet);
        self.sheet = opened.sheet;
    }

    /// The planner for the sheet that starts; it inherits the catalog as the sheets before it
    /// left it (so users may name roles created on the Roles sheet).
    fn start_planner(
        &mut self,
        map: HeaderMap,
        catalog: Option<Catalog>,
        options: &ImportOptions,
        now: i64,
        ids: IdMaker,
        actor: &Actor,
    ) {
        let catalog = match (catalog, self.planner.take()) {
            (Some(catalog), _) => catalog,
            (None, Some(previous)) => previous.into_catalog(),
            (None, None) => Catalog::default(),
        };
        let sheet = self.sheet.clone();
        let stamp = Stamp {
            now,
            ids,
            actor: actor.clone(),
        };
        self.planner = Some(match map.entity() {
            Entity::Users => Planner::Users(UserPlanner::new(
                sheet,
                map,
                catalog,
                options.create_only,
                options.create_groups,
                stamp,
                options.dry_run,
            )),
            _ => Planner::Catalog(CatalogPlanner::new(
                sheet,
                map,
                catalog,
                options.create_only,
                stamp,
            )),
        });
    }

    /// Turns a planned batch into what the writer runs: its data (while the import may still
    /// apply) and its history rows.
    async fn record_batch(
        &mut self,
        data: Option<PreparedWrites>,
        report: &mut ImportReport,
        options: &ImportOptions,
        writer: &Writer,
        backend: Backend,
    ) -> PreparedWrites {
        let log = std::mem::take(&mut report.log);
        if self.writing == Writing::Data && !may_apply(self.file_failed, report, options) {
            writer.send(Message::Discard).await;
            self.writing = Writing::Discarded;
        }
        let mut writes = PreparedWrites::new(backend);
        match self.writing {
            Writing::Data => {
                if let Some(data) = data {
                    writes.append(data);
                }
                self.record(log, true, &mut writes);
            }
            Writing::Plan => self.record(log, true, &mut writes),
            Writing::Discarded => self.record(log, false, &mut writes),
        }
        writes
    }

    fn record(&mut self, log: BatchLog, with_changes: bool, writes: &mut PreparedWrites) {
        let BatchLog {
            changes,
            unchanged,
            failures,
        } = log;
        if with_changes && (!changes.is_empty() || !unchanged.is_empty()) {
            self.chunks.changes += 1;
            let chunk = ChangeChunk {
                sheet: self.sheet.clone(),
                changes,
                unchanged,
            };
            writes.insert_chunk(
                ChunkTable::Changes,
                self.chunks.id,
                self.chunks.changes,
                to_json(&chunk),
            );
        }
        if !failures.is_empty() {
            self.chunks.failures += 1;
            let chunk = FailureChunk {
                sheet: self.sheet.clone(),
                rows: failures,
            };
            writes.insert_chunk(
                ChunkTable::Failures,
                self.chunks.id,
                self.chunks.failures,
                to_json(&chunk),
            );
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_string(value).unwrap_or_default()
}

/// The reader's events after the look-ahead stage: batches carry what the store holds for them.
// A handful of Opened/Started events per import against thousands of batches: boxing the
// large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Staged {
    Opened(source::Opened),
    /// A sheet's headers are good; the catalog comes with the first sheet only.
    Started(HeaderMap, Option<Catalog>),
    Batch(StagedBatch),
    Linked(i64),
    Fatal(Issue),
    Failed(StoreError),
}

struct StagedBatch {
    rows: u64,
    failed: Vec<(u64, bool, Vec<Issue>)>,
    /// Rows with a record to plan, with the problems their cells already had.
    valid: Vec<(u64, Record, Vec<RowIssue>)>,
    lookup: Option<Lookup>,
}

/// The look-ahead stage: a task with its own read connection that loads the catalog and, for
/// each batch of users, the existing users and e-mail owners, while the planner works on the
/// batch before. Into a directory that had no user when the import took the write lock
/// (`empty_directory`, see `Writer::empty_directory`) there is nothing to look up, and the
/// queries, a tenth of a million-user first import's reading, are skipped.
fn look_ahead(
    mut events: mpsc::Receiver<Event>,
    mut reads: muster_store::PooledConnection,
    empty_directory: bool,
) -> mpsc::Receiver<Staged> {
    let (out, staged) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut users = false;
        let mut catalog_loaded = false;
        while let Some(event) = events.recv().await {
            let stage = match event {
                Event::Opened(opened) => Ok(Staged::Opened(opened)),
                Event::Started(map) => {
                    users = map.entity() == Entity::Users;
                    if catalog_loaded {
                        Ok(Staged::Started(map, None))
                    } else {
                        catalog_loaded = true;
                        muster_store::load_catalog(&mut reads)
                            .await
                            .map(|catalog| Staged::Started(map, Some(catalog)))
                    }
                }
                Event::Linked(previous) => Ok(Staged::Linked(previous)),
                Event::Fatal(issue) => Ok(Staged::Fatal(issue)),
                Event::Batch(rows) => stage_batch(&mut reads, rows, users, empty_directory)
                    .await
                    .map(Staged::Batch),
            };
            let failed = stage.is_err();
            if out
                .send(stage.unwrap_or_else(Staged::Failed))
                .await
                .is_err()
                || failed
            {
                break;
            }
        }
    });
    staged
}

async fn stage_batch(
    reads: &mut Connection,
    rows: Vec<source::Parsed>,
    users: bool,
    empty_directory: bool,
) -> Result<StagedBatch, StoreError> {
    let mut batch = StagedBatch {
        rows: rows.len() as u64,
        failed: Vec::new(),
        valid: Vec::with_capacity(rows.len()),
        lookup: None,
    };
    for parsed in rows {
        match parsed.record {
            Some(record) => batch.valid.push((parsed.row, record, parsed.issues)),
            None => batch.failed.push((
                parsed.row,
                parsed.secret,
                source::in_column_order(parsed.issues),
            )),
        }
    }
    if users && empty_directory {
        batch.lookup = Some(Lookup::default());
    } else if users {
        let user_rows = batch
            .valid
            .iter()
            .filter_map(|(_, record, _)| match record {
                Record::User(user) => Some(user),
                _ => None,
            });
        batch.lookup = Some(look_up(reads, user_rows).await?);
    }
    Ok(batch)
}

/// What the writer task is asked to do, in order.
enum Message {
    Writes(PreparedWrites),
    /// Roll the data back to the savepoint (the import will not apply); keep the transaction.
    Discard,
}

/// The task that owns the import's transaction and applies batches in order.
struct Writer {
    messages: mpsc::Sender<Message>,
    /// For building the suspended filter indexes beside the commit (`finish`).
    store: Store,
    /// The directory had no user when the transaction began, and none can appear until it
    /// ends: true only where the filter indexes were suspended, which holds the users table
    /// (SQLite's write lock; PostgreSQL's table locks).
    empty_directory: bool,
    /// The transaction, and the filter indexes suspended in it (see
    /// `muster_store::suspend_filter_indexes`), which `finish` must then bring back.
    task: tokio::task::JoinHandle<
        Result<(muster_store::Transaction, Option<SuspendedIndexes>), StoreError>,
    >,
}

impl Writer {
    /// `data`: the import writes data (not a preview), so a first import into an empty
    /// directory may suspend the filter indexes for the length of the transaction.
    async fn start(store: &Store, data: bool) -> Result<Writer, StoreError> {
        let mut tx = store.begin().await?;
        muster_store::savepoint(&mut tx, DATA_SAVEPOINT).await?;
        // After the savepoint: rolling back to it (an atomic import that will not apply) takes
        // the suspension back with the data.
        let mut suspended = match data {
            true => muster_store::suspend_filter_indexes(&mut tx).await?,
            false => None,
        };
        let empty_directory = suspended.is_some();
        // Two batches in flight bound the memory while letting planning run ahead of writing.
        let (messages, mut incoming) = mpsc::channel::<Message>(2);
        let task = tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                match message {
                    Message::Writes(writes) => writes.execute(&mut tx).await?,
                    Message::Discard => {
                        muster_store::rollback_to_savepoint(&mut tx, DATA_SAVEPOINT).await?;
                        suspended = None;
                    }
                }
            }
            Ok((tx, suspended))
        });
        Ok(Writer {
            messages,
            store: store.clone(),
            empty_directory,
            task,
        })
    }

    async fn send(&self, message: Message) {
        // A send fails only when the task ended early after a failed write; `finish` reports
        // that error, and the planner may as well finish validating the file meanwhile.
        let _ = self.messages.send(message).await;
    }

    /// Waits for every queued write, records the job's end (and its audit entry, when it changed
    /// the store) and commits; without an end, rolls everything back (a cancelled import).
    /// Returns false, having rolled back, when the job no longer held its record (it was taken
    /// for dead meanwhile).
    async fn finish(
        self,
        end: Option<(&Job<'_>, ImportOutcome)>,
        audit_entry: Option<muster_store::AuditEntry>,
    ) -> Result<bool, StoreError> {
        drop(self.messages);
        let (mut tx, suspended) = match self.task.await {
            Ok(result) => result?,
            Err(join) => return Err(StoreError::Interrupted(join.to_string())),
        };
        match end {
            Some((job, outcome)) => {
                // On SQLite the suspended filter indexes are built in a transaction of their
                // own that waits for this one and runs during its checkpoint (see
                // `muster_store::build_filter_indexes`); if this one rolls back, the indexes it
                // dropped come back with it and that build finds nothing to do.
                if suspended == Some(SuspendedIndexes::BuildBeforeCommit) {
                    muster_store::restore_filter_indexes(&mut tx).await?;
                }
                let indexes = (suspended == Some(SuspendedIndexes::BuildAfterCommit)).then(|| {
                    let store = self.store.clone();
                    tokio::spawn(async move { muster_store::build_filter_indexes(&store).await })
                });
                let committed = Self::commit_end(tx, job, &outcome, audit_entry.as_ref()).await;
                if let Some(indexes) = indexes {
                    match indexes.await {
                        Ok(built) => built?,
                        Err(join) => return Err(StoreError::Interrupted(join.to_string())),
                    }
                }
                committed
            }
            None => {
                tx.rollback().await?;
                Ok(true)
            }
        }
    }
}

impl Writer {
    /// Records the job's end and its audit entry and commits; false, having rolled back, when
    /// the job no longer held its record.
    async fn commit_end(
        mut tx: muster_store::Transaction,
        job: &Job<'_>,
        outcome: &ImportOutcome,
        audit_entry: Option<&muster_store::AuditEntry>,
    ) -> Result<bool, StoreError> {
        if !muster_store::finish_job(&mut tx, job.id, job.holder, outcome).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(entry) = audit_entry {
            muster_store::insert_audit(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Whether the import can still be applied: the file was read to its end so far, and either no
/// row failed or the import is partial.
fn may_apply(file_failed: bool, report: &ImportReport, options: &ImportOptions) -> bool {
    !file_failed && (options.partial || !report.has_failures())
}

/// Plans one batch and returns its data writes when `want_data` says, after planning, that
/// they will be run (building statements that a preview or a rejected import drops would only
/// cost time).
fn plan_batch(
    planner: &mut Planner,
    batch: StagedBatch,
    report: &mut ImportReport,
    ctx: &Context,
    backend: Backend,
    want_data: &dyn Fn(&ImportReport) -> bool,
) -> Option<PreparedWrites> {
    for (row, secret, issues) in batch.failed {
        report.fail_row(row, secret, issues);
    }
    let writes = match (planner, batch.lookup) {
        (Planner::Users(users), Some(lookup)) => {
            let rows = batch
                .valid
                .into_iter()
                .filter_map(|(row, record, issues)| match record {
                    Record::User(user) => Some((row, user, issues)),
                    _ => None,
                });
            let writes = users.plan(rows, lookup, report, ctx);
            want_data(report).then(|| writes.prepare(backend))
        }
        (Planner::Catalog(catalog), _) => {
            let writes = catalog.plan(batch.valid, report);
            want_data(report).then(|| writes.prepare(backend))
        }
        (Planner::Users(_), None) => None,
    };
    writes.filter(|w| !w.is_empty())
}
