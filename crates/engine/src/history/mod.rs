//! The import history as use cases: starting and closing an import's record, noticing jobs
//! whose holder died, listing and showing imports, and giving back the archived upload.
//!
//! A record is written (status `running`, held by a lease: see `lease`) and committed before a
//! job touches any data, so a process killed mid-apply leaves a trace: its transaction never
//! commits, the store stays as it was, and a later command finds a `running` record whose
//! holder is dead — its lease expired, wherever it ran, or its process is gone from this host —
//! and records it `failed`.

pub(crate) mod diff;
pub(crate) mod error_workbook;
pub(crate) mod journal;

use std::io::Write;

use muster_domain::Permission;
use muster_store::{
    ArchiveCompression, ChunkTable, ImportRecord, JobKind, JobOptions, JobStatus, JobSummary,
    NewImport, Store, StoreError,
};
use serde::Serialize;

use crate::audit::{self, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Error, Internal, Invalid, Missing, Unavailable};
use crate::history::journal::{Change, ChangeChunk, FailureChunk, LoggedIssue};
use crate::lease::holder_is_gone_here;
use crate::timefmt::rfc3339_utc;

/// Records every running job whose holder is dead as failed; returns their ids. A holder is
/// dead when its lease expired (wherever it ran) or when it is a process of this host that is
/// gone (at once). Every command calls this at start (SPEC §8: a kill mid-apply leaves the
/// store as before, and the history must say so).
pub async fn recover_interrupted(store: &Store, now: i64) -> Result<Vec<i64>, Error> {
    busy::naming_job(store, async move {
        let running = {
            let mut conn = store.acquire().await?;
            muster_store::imports_with_status(&mut conn, JobStatus::Running).await?
        };
        let by = format!(
            "recovery:{}:{}",
            crate::lease::hostname(),
            std::process::id()
        );
        let mut recovered = Vec::new();
        for record in running {
            let lease = &record.lease;
            let note = if holder_is_gone_here(&lease.holder) {
                "the process running this job ended before it finished (killed or crashed); nothing of it was applied".to_owned()
            } else if lease.expired(now) {
                format!(
                    "its holder ({}) stopped renewing its lease (last at {}) and is taken for dead, wherever it ran; nothing of it was applied",
                    lease.holder,
                    rfc3339_utc(lease.heartbeat_at)
                )
            } else {
                continue;
            };
            // On SQLite a writer that holds the database is alive (a dead process's locks are
            // gone with it); such a record is left for a later command instead of waiting.
            let mut conn = store.acquire_briefly().await?;
            match muster_store::fail_abandoned(
                &mut conn,
                record.id,
                lease,
                &by,
                now,
                &JobSummary::note(note),
            )
            .await
            {
                Ok(true) => recovered.push(record.id),
                Ok(false) => {}
                Err(error) if error.is_busy() => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(recovered)
    })
    .await
}

/// Inserts a job's record, `running` under its lease, and commits it.
pub(crate) async fn begin(store: &Store, new: &NewImport) -> Result<i64, StoreError> {
    let mut conn = store.acquire().await?;
    muster_store::insert_import(&mut conn, new).await
}

/// One line of `imports list`.
#[derive(Debug, Serialize)]
pub struct ImportEntry {
    pub id: i64,
    pub kind: JobKind,
    pub status: JobStatus,
    pub actor: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub applied_at: Option<String>,
    pub file_name: String,
    pub file_size: i64,
    pub sha256: String,
    pub format: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub fixes_import_id: Option<i64>,
    pub revert_of: Option<i64>,
    pub reverted_by: Option<i64>,
}

impl From<&ImportRecord> for ImportEntry {
    fn from(r: &ImportRecord) -> ImportEntry {
        ImportEntry {
            id: r.id,
            kind: r.kind,
            status: r.status,
            actor: r.actor.clone(),
            started_at: rfc3339_utc(r.started_at),
            finished_at: r.finished_at.map(rfc3339_utc),
            applied_at: r.applied_at.map(rfc3339_utc),
            file_name: r.file_name.clone(),
            file_size: r.file_size,
            sha256: r.sha256.clone(),
            format: r.format.clone(),
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            failed: r.failed,
            fixes_import_id: r.fixes_id,
            revert_of: r.revert_of,
            reverted_by: r.reverted_by,
        }
    }
}

/// The newest `limit` imports, newest first.
/// The newest `limit` entries of the history; needs `imports.read`.
pub async fn list_imports(
    store: &Store,
    ctx: &Context,
    limit: i64,
) -> Result<Vec<ImportEntry>, Error> {
    busy::naming_job(store, async move {
        let target = Target::history();
        audit::require(store, ctx, Permission::ImportsRead, "import.list", &target).await?;
        let mut conn = store.acquire().await?;
        Ok(muster_store::list_imports(&mut conn, limit)
            .await?
            .iter()
            .map(ImportEntry::from)
            .collect())
    })
    .await
}

/// Everything `imports show` prints.
#[derive(Debug, Serialize)]
pub struct ImportDetails {
    #[serde(flatten)]
    pub entry: ImportEntry,
    pub options: JobOptions,
    /// The import's report as it ended: per-sheet counts, warnings, the first problems.
    pub summary: JobSummary,
    /// Imports made from this import's error workbook.
    pub fixed_by: Vec<i64>,
    /// Every row's outcome in file order (created, updated, unchanged or failed), at most the
    /// requested number. A rejected import lists its failed rows only: nothing of it applied.
    pub rows: Vec<RowOutcome>,
    /// More rows exist than were listed.
    pub rows_truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct RowOutcome {
    pub sheet: String,
    pub row: u64,
    /// `created`, `updated`, `unchanged` or `failed` (for a preview: what applying it would do).
    pub outcome: &'static str,
    pub entity: Option<&'static str>,
    pub key: Option<String>,
    /// Field-level changes, before → after (passwords only as "changed").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// A failed row's problems; in JSON each carries its sentence too (`message`).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "journal::serialize_shown"
    )]
    pub errors: Vec<LoggedIssue>,
}

#[derive(Debug, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// Chunks read per query while walking an import's plan or failures: four batches of 2,000.
const CHUNKS_PER_READ: i64 = 4;

/// Walks one chunk table of an import in order, a few chunks per query, parsing each.
pub(crate) struct ChunkCursor {
    id: i64,
    table: ChunkTable,
    after: i64,
    pending: std::collections::VecDeque<(i64, String)>,
}

impl ChunkCursor {
    pub fn new(id: i64, table: ChunkTable) -> ChunkCursor {
        ChunkCursor {
            id,
            table,
            after: 0,
            pending: std::collections::VecDeque::new(),
        }
    }

    /// The next chunk, or None after the last.
    pub async fn next<T: serde::de::DeserializeOwned>(
        &mut self,
        conn: &mut muster_store::Connection,
    ) -> Result<Option<T>, Error> {
        if self.pending.is_empty() {
            self.pending.extend(
                muster_store::read_chunks(conn, self.table, self.id, self.after, CHUNKS_PER_READ)
                    .await?,
            );
        }
        let Some((seq, data)) = self.pending.pop_front() else {
            return Ok(None);
        };
        self.after = seq;
        let id = self.id;
        serde_json::from_str(&data).map(Some).map_err(|e| {
            Error::Internal(Internal::DamagedHistory {
                id,
                detail: format!("chunk {seq}: {e}"),
            })
        })
    }
}

pub async fn show_import(
    store: &Store,
    ctx: &Context,
    id: i64,
    limit: usize,
) -> Result<ImportDetails, Error> {
    busy::naming_job(store, async move {
        let (mut conn, record) = readable_import(store, ctx, id, "import.read").await?;
        let fixed_by = muster_store::fixed_by(&mut conn, id).await?;
        // Each table holds its batches in file order, so whole batches up to `limit` rows of each
        // are enough to list the first `limit` rows of both; reading stops there, which keeps
        // `show` of a million-row import cheap.
        let mut rows = Vec::new();
        // A revert's own journal lists the records it left alone (see `revert`).
        let left_alone = record.kind == JobKind::Revert;
        for_each_chunk(&mut conn, id, ChunkTable::Changes, |chunk: ChangeChunk| {
            for change in chunk.changes {
                let mut row = change_outcome(&chunk.sheet, change);
                if left_alone {
                    row.outcome = "left alone";
                }
                rows.push(row);
            }
            for (row, key) in chunk.unchanged {
                rows.push(RowOutcome {
                    sheet: chunk.sheet.clone(),
                    row,
                    outcome: "unchanged",
                    entity: None,
                    key: Some(key),
                    changes: Vec::new(),
                    errors: Vec::new(),
                });
            }
            Ok(rows.len() <= limit)
        })
        .await?;
        let mut failures = Vec::new();
        for_each_chunk(
            &mut conn,
            id,
            ChunkTable::Failures,
            |chunk: FailureChunk| {
                for failed in chunk.rows {
                    failures.push(RowOutcome {
                        sheet: chunk.sheet.clone(),
                        row: failed.row,
                        outcome: "failed",
                        entity: None,
                        key: None,
                        changes: Vec::new(),
                        errors: failed.issues,
                    });
                }
                Ok(failures.len() <= limit)
            },
        )
        .await?;
        rows.extend(failures);
        rows.sort_by(|a, b| (a.sheet.as_str(), a.row).cmp(&(b.sheet.as_str(), b.row)));
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok(ImportDetails {
            entry: ImportEntry::from(&record),
            options: record.options,
            summary: record.summary,
            fixed_by,
            rows,
            rows_truncated: more,
        })
    })
    .await
}

/// Calls `visit` with every stored chunk of one table of an import, in order, until it
/// returns false.
pub(crate) async fn for_each_chunk<T: serde::de::DeserializeOwned>(
    conn: &mut muster_store::Connection,
    id: i64,
    table: ChunkTable,
    mut visit: impl FnMut(T) -> Result<bool, Error>,
) -> Result<(), Error> {
    let mut cursor = ChunkCursor::new(id, table);
    while let Some(chunk) = cursor.next(conn).await? {
        if !visit(chunk)? {
            break;
        }
    }
    Ok(())
}

fn change_outcome(sheet: &str, change: Change) -> RowOutcome {
    let outcome = if change.is_create() {
        "created"
    } else {
        "updated"
    };
    let mut row = RowOutcome {
        sheet: sheet.to_owned(),
        row: change.row(),
        outcome,
        entity: Some(change.entity()),
        key: Some(change.key().to_owned()),
        changes: Vec::new(),
        errors: Vec::new(),
    };
    row.changes = match change {
        Change::User {
            before,
            after: Some(after),
            ..
        } => crate::history::diff::user_changes(before.as_ref(), &after),
        Change::User { .. } => Vec::new(),
        Change::Department { before, after, .. } | Change::Group { before, after, .. } => {
            crate::history::diff::named_changes(before.as_ref(), &after, None)
        }
        Change::Role { before, after, .. } => {
            let permissions = (
                before.as_ref().map(|b| b.permissions.join(", ")),
                after.permissions.join(", "),
            );
            crate::history::diff::named_changes(
                before.as_ref().map(|b| &b.named),
                &after.named,
                Some(permissions),
            )
        }
    };
    row
}

/// A user an import created, as its journal names it: the id (empty in journals written before
/// ids existed) and the username key.
pub(crate) struct CreatedUser {
    pub id: String,
    pub key: String,
}

/// The users an applied import created, in file order, read from its journal; needs
/// `imports.read`. An entry that is a revert, or an import that applied nothing (a preview, a
/// rejected or cancelled one), is invalid: it created nobody.
pub(crate) async fn created_users(
    store: &Store,
    ctx: &Context,
    id: i64,
    action: &str,
) -> Result<Vec<CreatedUser>, Error> {
    let (mut conn, record) = readable_import(store, ctx, id, action).await?;
    if record.kind == JobKind::Revert {
        return Err(Invalid::NotAnImport(id).into());
    }
    if !matches!(
        record.status,
        JobStatus::Applied | JobStatus::PartlyReverted | JobStatus::Reverted
    ) {
        let status = record.status;
        return Err(Invalid::CreatedNobody { id, status }.into());
    }
    let mut created = Vec::new();
    for_each_chunk(&mut conn, id, ChunkTable::Changes, |chunk: ChangeChunk| {
        for change in chunk.changes {
            if let Change::User {
                key,
                id,
                before: None,
                ..
            } = change
            {
                created.push(CreatedUser { id, key });
            }
        }
        Ok(true)
    })
    .await?;
    Ok(created)
}

/// Writes the archived upload of an import to `out`.
pub async fn download_archive(
    store: &Store,
    ctx: &Context,
    id: i64,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    busy::naming_job(store, async move {
        let (mut conn, record) = readable_import(store, ctx, id, "import.download").await?;
        write_archive(&mut conn, &record, out).await
    })
    .await
}

/// Checks that the actor may read the history (`action` names what for the audit of a refusal)
/// and reads import `id`'s record, with the connection it was read on.
async fn readable_import(
    store: &Store,
    ctx: &Context,
    id: i64,
    action: &str,
) -> Result<(muster_store::PooledConnection, ImportRecord), Error> {
    let target = Target::import_number(id);
    audit::require(store, ctx, Permission::ImportsRead, action, &target).await?;
    let mut conn = store.acquire().await?;
    let record = muster_store::import_record(&mut conn, id)
        .await?
        .ok_or(Missing::Import(id))?;
    Ok((conn, record))
}

/// Writes the archive of `record` to `out`, inflating it if it was stored deflated.
async fn write_archive(
    conn: &mut muster_store::Connection,
    record: &ImportRecord,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let id = record.id;
    let archive = record.summary.archive.as_ref();
    let mut counted = CountingWriter {
        inner: out,
        written: 0,
    };
    let pieces = if archive.and_then(|a| a.compression) == Some(ArchiveCompression::Deflate) {
        let mut inflate = flate2::write::DeflateDecoder::new(&mut counted);
        let pieces = copy_archive(conn, id, &mut inflate).await?;
        inflate.try_finish().map_err(Unavailable::File)?;
        pieces
    } else {
        copy_archive(conn, id, &mut counted).await?
    };
    counted.flush().map_err(Unavailable::File)?;
    if pieces == 0 {
        let reason = archive
            .and_then(|a| a.note.clone())
            .unwrap_or_else(|| "nothing was archived for it".to_owned());
        return Err(Missing::Archive { id, reason }.into());
    }
    Ok(counted.written)
}

/// What `PreparedErrorWorkbook::write` wrote.
#[derive(Debug, Serialize)]
pub struct ErrorWorkbookWritten {
    pub rows: u64,
    /// `csv` or `xlsx`.
    pub format: &'static str,
    /// Something the administrator should know before re-importing it.
    pub note: Option<String>,
}

/// The error workbook of an import, ready to write: its failed rows and its archived upload,
/// opened. Made in two steps so that the caller knows the format before choosing an output.
pub struct PreparedErrorWorkbook {
    id: i64,
    rejected: bool,
    failed: std::collections::BTreeMap<String, Vec<crate::history::journal::FailedRowLog>>,
    source: crate::history::error_workbook::ErrorWorkbookSource,
    /// The archived upload the source reads; removed when this is dropped.
    _archive: tempfile::NamedTempFile,
}

/// Prepares the error workbook of import `id`: its failed rows, cut from the archived upload,
/// with an `Errors` column (SPEC §3.5). Importing the fixed file links back to `id`.
pub async fn prepare_error_workbook(
    store: &Store,
    ctx: &Context,
    id: i64,
) -> Result<PreparedErrorWorkbook, Error> {
    busy::naming_job(store, async move {
        use crate::history::error_workbook::ErrorWorkbookSource;
        let (mut conn, record) = readable_import(store, ctx, id, "import.errors").await?;
        let mut failed: std::collections::BTreeMap<
            String,
            Vec<crate::history::journal::FailedRowLog>,
        > = std::collections::BTreeMap::new();
        for_each_chunk(
            &mut conn,
            id,
            ChunkTable::Failures,
            |chunk: FailureChunk| {
                failed.entry(chunk.sheet).or_default().extend(chunk.rows);
                Ok(true)
            },
        )
        .await?;
        if failed.is_empty() {
            return Err(Missing::FailedRows(id).into());
        }
        let mut archive = tempfile::NamedTempFile::new().map_err(Unavailable::File)?;
        write_archive(&mut conn, &record, archive.as_file_mut()).await?;
        drop(conn);
        let read = crate::import::upload::archive_read_options(record.summary.archive.as_ref());
        let (source, archive) = tokio::task::spawn_blocking(move || {
            ErrorWorkbookSource::open(archive.path(), &read).map(|source| (source, archive))
        })
        .await
        .map_err(|join| StoreError::Interrupted(join.to_string()))??;
        Ok(PreparedErrorWorkbook {
            id,
            rejected: record.status == JobStatus::Rejected,
            failed,
            source,
            _archive: archive,
        })
    })
    .await
}

impl PreparedErrorWorkbook {
    /// CSV for a CSV upload, XLSX for an XLSX or ODS one.
    pub fn format(&self) -> muster_sheets::Format {
        self.source.format()
    }

    /// Writes the workbook to `out`.
    pub async fn write(self, out: Box<dyn Write + Send>) -> Result<ErrorWorkbookWritten, Error> {
        let PreparedErrorWorkbook {
            id,
            rejected,
            failed,
            source,
            _archive,
        } = self;
        let written = tokio::task::spawn_blocking(move || {
            let written = source.write(id, &failed, out);
            // The archive is read until the workbook is written.
            drop(_archive);
            written
        })
        .await
        .map_err(|join| StoreError::Interrupted(join.to_string()))??;
        let mut notes = Vec::new();
        if rejected {
            notes.push(format!("import {id} was rejected, so none of its rows were applied: importing only these fixed rows leaves out the valid ones — fix them in the original file instead, or import it first so that its valid rows apply"));
        }
        if written.rows_skipped > 0 {
            notes.push(format!("{} failed row(s) could not be taken from the archive (whole-file problems or rows the reader rejected); the history of import {id} lists them", written.rows_skipped));
        }
        Ok(ErrorWorkbookWritten {
            rows: written.rows_written,
            format: written.format.extension(),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        })
    }
}

// An error workbook that cannot be made is muster's fault or its history's, whichever step
// failed: the archive is what muster stored, and the workbook goes to an output that was
// already opened.
impl From<error_workbook::ErrorWorkbookError> for Error {
    fn from(error: error_workbook::ErrorWorkbookError) -> Error {
        use error_workbook::ErrorWorkbookError as Failed;
        Error::Internal(match error {
            Failed::Read(cause) => Internal::ArchiveUnreadable(cause),
            Failed::Write(cause) => Internal::ErrorWorkbookUnwritable(cause),
        })
    }
}

/// Writes the stored pieces of an archive to `sink` in order; returns how many there were.
async fn copy_archive(
    conn: &mut muster_store::Connection,
    id: i64,
    sink: &mut dyn Write,
) -> Result<u64, Error> {
    let mut after = 0;
    let mut count = 0;
    loop {
        let pieces = muster_store::read_archive(conn, id, after, 8).await?;
        let Some(&(last, _)) = pieces.last() else {
            return Ok(count);
        };
        for (_, data) in pieces {
            sink.write_all(&data).map_err(Unavailable::File)?;
            count += 1;
        }
        after = last;
    }
}

/// Counts the bytes that reach the caller's writer (after decompression).
struct CountingWriter<'a> {
    inner: &'a mut dyn Write,
    written: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl From<crate::import::report::ImportStatus> for JobStatus {
    fn from(status: crate::import::report::ImportStatus) -> JobStatus {
        use crate::import::report::ImportStatus;
        match status {
            ImportStatus::Applied => JobStatus::Applied,
            ImportStatus::Rejected => JobStatus::Rejected,
            ImportStatus::DryRun => JobStatus::DryRun,
            ImportStatus::Cancelled => JobStatus::Cancelled,
            // Outcomes of applying a preview and of reverting: the preview stays a preview,
            // and a revert that left records makes its import partly reverted.
            ImportStatus::Stale => JobStatus::DryRun,
            ImportStatus::Conflicted => JobStatus::PartlyReverted,
        }
    }
}
