//! What an `imports` record holds, as typed values: its kind and status (text only at the SQL
//! edge, through `as_str` and `parse`), its options and summary (serde types this module turns
//! into JSON text and back), and the lease that says who runs it (see
//! `migrations/0004_job_leases.sql`). Records written by earlier releases read back: the JSON
//! field names are the ones they used, and every field they may lack has a default.
//!
//! A job (an import, an apply of a stored preview, a revert) is held by a holder, an opaque
//! instance id, until its lease expires. The holder renews it with [`renew_lease`]; anyone may
//! fail a running job whose lease expired with [`fail_abandoned`], which succeeds only if the
//! lease is still the one the caller saw, so a job that renewed in between is left alone. The
//! job writes its end with [`finish_job`], which succeeds only while it still holds the record.
//! A stored preview is applied under a lease taken with [`take_lease`], and its holder moves it
//! to `applied` (`claim_status`) only at the end of the apply's transaction.

use serde::{Deserialize, Serialize};

use crate::sql::{placeholders, Placeholders};
use crate::{Connection, Result, StoreError};

/// What a record is the history of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// An import, a preview (dry run) or, once applied, the preview's apply.
    Import,
    Revert,
}

/// Where a record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// The job is running, held by the record's lease.
    Running,
    Applied,
    /// An atomic import with failed rows: nothing written.
    Rejected,
    /// A preview: its plan is stored and can be applied.
    DryRun,
    Cancelled,
    /// Stopped by an error, or found abandoned (its lease expired): nothing of it applied.
    Failed,
    Reverted,
    /// A revert left some of the import's records alone; it can be reverted again.
    PartlyReverted,
}

/// Text in a kind or status column that no release of muster writes.
#[derive(Debug, thiserror::Error)]
#[error("unknown {column} `{value}` in the imports table")]
pub struct UnknownValue {
    column: &'static str,
    value: String,
}

impl JobKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Import => "import",
            JobKind::Revert => "revert",
        }
    }

    pub fn parse(text: &str) -> Result<JobKind, UnknownValue> {
        match text {
            "import" => Ok(JobKind::Import),
            "revert" => Ok(JobKind::Revert),
            _ => Err(UnknownValue {
                column: "kind",
                value: text.to_owned(),
            }),
        }
    }
}

impl JobStatus {
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Running,
        JobStatus::Applied,
        JobStatus::Rejected,
        JobStatus::DryRun,
        JobStatus::Cancelled,
        JobStatus::Failed,
        JobStatus::Reverted,
        JobStatus::PartlyReverted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Applied => "applied",
            JobStatus::Rejected => "rejected",
            JobStatus::DryRun => "dry_run",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Failed => "failed",
            JobStatus::Reverted => "reverted",
            JobStatus::PartlyReverted => "partly_reverted",
        }
    }

    pub fn parse(text: &str) -> Result<JobStatus, UnknownValue> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownValue {
                column: "status",
                value: text.to_owned(),
            })
    }
}

// `pad`, so that a width in a format string (a column of `imports list`) applies.
impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The options an import ran with, as `imports show` lists them and `imports apply` reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportJobOptions {
    pub entity: Option<String>,
    pub dry_run: bool,
    pub partial: bool,
    pub create_only: bool,
    pub create_groups: bool,
    pub sheet: Option<String>,
    /// The CSV delimiter asked for, as one character.
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
}

/// The options a revert ran with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RevertJobOptions {
    pub force: bool,
}

/// A record's options; which one a record holds follows from its kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum JobOptions {
    Import(ImportJobOptions),
    Revert(RevertJobOptions),
}

/// How a job ended, beyond its counts: a note when it stopped early, the description of the
/// archived upload, the catalog entries it created for its users, and the rest of the report it
/// ended with (per-sheet counts, warnings, the first problems), kept for display as it was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveRecord>,
    /// Departments and groups the import created (or would create) for its users; a revert
    /// removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departments_created: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups_created: Vec<String>,
    /// Everything else the report held, read by no code, only shown.
    #[serde(flatten)]
    pub report: serde_json::Map<String, serde_json::Value>,
}

impl JobSummary {
    /// A summary that says only why the job stopped.
    pub fn note(note: impl Into<String>) -> JobSummary {
        JobSummary {
            note: Some(note.into()),
            ..JobSummary::default()
        }
    }
}

/// What became of the uploaded file's copy in `import_archive`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRecord {
    pub state: ArchiveState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blanked_cells: Option<u64>,
    /// How the pieces are compressed; none means stored as uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<ArchiveCompression>,
    /// How to read the copy back: its delimiter (one character) and encoding.
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub encoding: Option<String>,
}

impl ArchiveRecord {
    /// No copy was kept, for `reason`.
    pub fn not_archived(reason: impl Into<String>) -> ArchiveRecord {
        ArchiveRecord {
            state: ArchiveState::NotArchived,
            note: Some(reason.into()),
            blanked_cells: None,
            compression: None,
            delimiter: None,
            encoding: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveState {
    /// The file as uploaded (it held no secret cell).
    Verbatim,
    /// Secret cells were blanked.
    Rewritten,
    /// The file broke off; the rows before are kept.
    Truncated,
    NotArchived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveCompression {
    Deflate,
}

/// Who holds a job and until when (unix milliseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// An opaque instance id; the engine writes `host:pid:start:random`.
    pub holder: String,
    /// The lease ends then unless renewed.
    pub until: i64,
    /// The last renewal.
    pub heartbeat_at: i64,
}

impl Lease {
    pub fn expired(&self, now: i64) -> bool {
        self.until <= now
    }
}

pub(crate) fn options_from_text(kind: JobKind, text: &str) -> serde_json::Result<JobOptions> {
    Ok(match kind {
        JobKind::Import => JobOptions::Import(serde_json::from_str(text)?),
        JobKind::Revert => JobOptions::Revert(serde_json::from_str(text)?),
    })
}

pub(crate) fn to_text<T: Serialize>(value: &T) -> String {
    // Structs of strings, numbers and JSON values always serialise.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// Extends the lease of a job its holder still holds (a running job, or a stored preview being
/// applied) from `held_until`, the expiry the holder last wrote, to `until`; returns false when
/// `holder` lost it (the job ended, or someone failed it as abandoned). The expiry is compared
/// too because a renewal can reach the database after the job's end: on PostgreSQL it waits
/// behind the job's last write and then finds a finished preview still `dry_run` under the same
/// holder; only the expiry, which every end rewrites, tells that the lease is no longer the one
/// being renewed.
pub async fn renew_lease(
    conn: &mut Connection,
    id: i64,
    holder: &str,
    now: i64,
    (held_until, until): (i64, i64),
) -> Result<bool> {
    let p = |n| placeholders(Placeholders::of(conn), n, 1);
    let sql = format!(
        "UPDATE imports SET lease_until = {}, heartbeat_at = {} WHERE id = {} AND holder = {} \
         AND lease_until = {} AND status IN ('running', 'dry_run')",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5)
    );
    let done = sqlx::query(&sql)
        .bind(until)
        .bind(now)
        .bind(id)
        .bind(holder)
        .bind(held_until)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a running job as failed because its holder is gone: only if it is still running
/// under the lease the caller saw (`seen`), so a holder that renewed meanwhile keeps its job.
/// `by` becomes the holder, which tells the old holder, at its next heartbeat, that it lost the
/// job. Returns whether this caller failed it.
pub async fn fail_abandoned(
    conn: &mut Connection,
    id: i64,
    seen: &Lease,
    by: &str,
    now: i64,
    summary: &JobSummary,
) -> Result<bool> {
    let p = |n| placeholders(Placeholders::of(conn), n, 1);
    let sql = format!(
        "UPDATE imports SET status = 'failed', finished_at = {}, summary = {}, holder = {}, lease_until = {} \
         WHERE id = {} AND status = 'running' AND holder = {} AND lease_until = {}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7)
    );
    let done = sqlx::query(&sql)
        .bind(now)
        .bind(to_text(summary))
        .bind(by)
        .bind(now)
        .bind(id)
        .bind(seen.holder.as_str())
        .bind(seen.until)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes how a job ended, only while `holder` still holds it running. Run it inside the job's
/// transaction, before its commit: when it returns false the job was failed as abandoned
/// meanwhile, and the caller must roll back, since the history already says nothing applied.
pub async fn finish_job(
    conn: &mut Connection,
    id: i64,
    holder: &str,
    outcome: &crate::ImportOutcome,
) -> Result<bool> {
    let p = |n| placeholders(Placeholders::of(conn), n, 1);
    let sql = format!(
        "UPDATE imports SET status = {}, finished_at = {}, format = {}, created = {}, updated = {}, unchanged = {}, \
         failed = {}, summary = {}, fixes_id = {}, lease_until = {} WHERE id = {} AND holder = {} AND status = 'running'",
        p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), p(9), p(10), p(11), p(12)
    );
    let done = sqlx::query(&sql)
        .bind(outcome.status.as_str())
        .bind(outcome.finished_at)
        .bind(outcome.format.as_deref())
        .bind(outcome.created)
        .bind(outcome.updated)
        .bind(outcome.unchanged)
        .bind(outcome.failed)
        .bind(to_text(&outcome.summary))
        .bind(outcome.fixes_id)
        .bind(outcome.finished_at)
        .bind(id)
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How an attempt to take a record's lease ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseTake {
    /// The caller holds the lease now.
    Taken,
    /// Another holder's lease is live; this is it.
    Held(Lease),
    /// The record is no longer in the status the caller asked for (a stored preview applied
    /// meanwhile): the status it has now, or None if the record is gone.
    Moved(Option<JobStatus>),
}

/// Takes the lease of a record that is not running (a stored preview about to be applied) for
/// the lease's holder, if the record is still in `status` and nobody holds it now.
pub async fn take_lease(
    conn: &mut Connection,
    id: i64,
    status: JobStatus,
    lease: &Lease,
) -> Result<LeaseTake> {
    let p = |n| placeholders(Placeholders::of(conn), n, 1);
    let sql = format!(
        "UPDATE imports SET holder = {}, lease_until = {}, heartbeat_at = {} WHERE id = {} AND status = {} \
         AND (lease_until <= {} OR holder = {})",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7)
    );
    let done = sqlx::query(&sql)
        .bind(lease.holder.as_str())
        .bind(lease.until)
        .bind(lease.heartbeat_at)
        .bind(id)
        .bind(status.as_str())
        .bind(lease.heartbeat_at)
        .bind(lease.holder.as_str())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 1 {
        return Ok(LeaseTake::Taken);
    }
    Ok(match crate::import_record(conn, id).await? {
        Some(record) if record.status == status => LeaseTake::Held(record.lease),
        other => LeaseTake::Moved(other.map(|r| r.status)),
    })
}

/// Ends a lease taken with [`take_lease`] (or renewed on a record that is not running).
pub async fn release_lease(conn: &mut Connection, id: i64, holder: &str, now: i64) -> Result<()> {
    let p = |n| placeholders(Placeholders::of(conn), n, 1);
    let sql = format!(
        "UPDATE imports SET lease_until = {} WHERE id = {} AND holder = {}",
        p(1),
        p(2),
        p(3)
    );
    sqlx::query(&sql)
        .bind(now)
        .bind(id)
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Turns a kind or status column's text into its value, or a decoding error naming it.
pub(crate) fn decode<T>(index: usize, parsed: Result<T, UnknownValue>) -> Result<T> {
    parsed.map_err(|e| {
        StoreError::Sql(sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: Box::new(e),
        })
    })
}
