//! The import history: one `imports` row per import, preview, apply or revert, and the chunked
//! tables beside it (see `migrations/0002_import_history.sql`). The store only keeps the values;
//! the engine decides what a plan, a journal entry or a failed row holds (JSON it writes and
//! reads back), so this module knows nothing of spreadsheets.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::jobs::{decode, options_from_text, to_text};
use crate::sql::{placeholders, Placeholders};
use crate::writes::PreparedWrites;
use crate::{Connection, Result, StoreError};
use crate::{JobKind, JobOptions, JobStatus, JobSummary, Lease};

/// Every column of an `imports` row.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRecord {
    pub id: i64,
    pub kind: JobKind,
    /// Who ran it, e.g. `cli:alice`.
    pub actor: String,
    /// Who holds (or last held) the job, and until when.
    pub lease: Lease,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// For previews: when the stored plan was applied.
    pub applied_at: Option<i64>,
    pub file_name: String,
    pub file_size: i64,
    pub sha256: String,
    pub format: Option<String>,
    pub options: JobOptions,
    pub status: JobStatus,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub summary: JobSummary,
    /// The import whose error workbook this file was made from.
    pub fixes_id: Option<i64>,
    /// For a revert: the import it undid.
    pub revert_of: Option<i64>,
    /// For an import: the revert that undid it.
    pub reverted_by: Option<i64>,
}

const IMPORT_COLUMNS: &str = "id, kind, actor, holder, started_at, finished_at, applied_at, file_name, file_size, \
    sha256, format, options, status, created, updated, unchanged, failed, summary, fixes_id, revert_of, reverted_by, \
    lease_until, heartbeat_at";

/// What is known when a job starts. Its status is `running`, held by `lease`.
#[derive(Clone, Debug)]
pub struct NewImport {
    pub kind: JobKind,
    pub actor: String,
    pub lease: Lease,
    pub started_at: i64,
    pub file_name: String,
    pub file_size: i64,
    pub sha256: String,
    pub format: Option<String>,
    pub options: JobOptions,
    pub fixes_id: Option<i64>,
    pub revert_of: Option<i64>,
}

/// What is known when it ends.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    pub status: JobStatus,
    pub finished_at: i64,
    pub format: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub summary: JobSummary,
    pub fixes_id: Option<i64>,
}

/// The chunked tables that hold JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkTable {
    /// The plan or journal of an import.
    Changes,
    /// Its failed rows.
    Failures,
}

impl ChunkTable {
    fn name(self) -> &'static str {
        match self {
            ChunkTable::Changes => "import_changes",
            ChunkTable::Failures => "import_failures",
        }
    }
}

/// Inserts the row and returns its id: the next number after the highest, so ids read like a
/// ledger (1, 2, 3…). Two processes inserting at once collide on the key; the loser retries.
pub async fn insert_import(conn: &mut Connection, new: &NewImport) -> Result<i64> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "INSERT INTO imports (id, kind, actor, owner, holder, lease_until, heartbeat_at, started_at, file_name, \
         file_size, sha256, format, options, status, summary, fixes_id, revert_of) VALUES ({})",
        placeholders(style, 1, 17)
    );
    let mut last_error = None;
    for _ in 0..5 {
        let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM imports")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        let inserted = sqlx::query(&sql)
            .bind(id)
            .bind(new.kind.as_str())
            .bind(new.actor.as_str())
            // `owner` is what earlier releases read; it names the same holder.
            .bind(new.lease.holder.as_str())
            .bind(new.lease.holder.as_str())
            .bind(new.lease.until)
            .bind(new.lease.heartbeat_at)
            .bind(new.started_at)
            .bind(new.file_name.as_str())
            .bind(new.file_size)
            .bind(new.sha256.as_str())
            .bind(new.format.as_deref())
            .bind(to_text(&new.options))
            .bind(JobStatus::Running.as_str())
            .bind("{}")
            .bind(new.fixes_id)
            .bind(new.revert_of)
            .execute(&mut *conn)
            .await;
        match inserted {
            Ok(_) => return Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                last_error = Some(sqlx::Error::Database(e))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Sql(
        last_error.unwrap_or(sqlx::Error::RowNotFound),
    ))
}

pub async fn import_record(conn: &mut Connection, id: i64) -> Result<Option<ImportRecord>> {
    let sql = format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE id = {}",
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(record_from_row).transpose()
}

/// The newest imports first.
pub async fn list_imports(conn: &mut Connection, limit: i64) -> Result<Vec<ImportRecord>> {
    let sql = format!("SELECT {IMPORT_COLUMNS} FROM imports ORDER BY id DESC LIMIT {limit}");
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(record_from_row).collect()
}

pub async fn imports_with_status(
    conn: &mut Connection,
    status: JobStatus,
) -> Result<Vec<ImportRecord>> {
    let sql = format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE status = {} ORDER BY id",
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let rows = sqlx::query(&sql)
        .bind(status.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(record_from_row).collect()
}

/// How many jobs of one kind ended (or stand) in one status, and the rows they counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobTotals {
    pub kind: JobKind,
    pub status: JobStatus,
    pub jobs: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
}

/// The history summed by kind and status, for the server's metrics: one small grouped read of
/// the `imports` table (one row per job, so a million-row import is one row here).
pub async fn job_totals(conn: &mut Connection) -> Result<Vec<JobTotals>> {
    // The casts: PostgreSQL sums BIGINT as NUMERIC, which the Any driver does not read.
    let sql = "SELECT kind, status, CAST(COUNT(*) AS BIGINT), \
        CAST(COALESCE(SUM(created), 0) AS BIGINT), CAST(COALESCE(SUM(updated), 0) AS BIGINT), \
        CAST(COALESCE(SUM(unchanged), 0) AS BIGINT), CAST(COALESCE(SUM(failed), 0) AS BIGINT) \
        FROM imports GROUP BY kind, status ORDER BY kind, status";
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            Ok(JobTotals {
                kind: decode(0, JobKind::parse(row.try_get(0)?))?,
                status: decode(1, JobStatus::parse(row.try_get(1)?))?,
                jobs: row.try_get(2)?,
                created: row.try_get(3)?,
                updated: row.try_get(4)?,
                unchanged: row.try_get(5)?,
                failed: row.try_get(6)?,
            })
        })
        .collect()
}

/// Earlier applied imports of a file with this SHA-256 (excluding `except`).
pub async fn applied_with_sha256(
    conn: &mut Connection,
    sha256: &str,
    except: i64,
) -> Result<Vec<i64>> {
    let p = |n| placeholders(Placeholders::of(conn), n, 1);
    let sql = format!("SELECT id FROM imports WHERE sha256 = {} AND status = 'applied' AND kind = 'import' AND id <> {} ORDER BY id", p(1), p(2));
    let rows = sqlx::query(&sql)
        .bind(sha256)
        .bind(except)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(StoreError::from))
        .collect()
}

/// The imports made from this import's error workbook.
pub async fn fixed_by(conn: &mut Connection, id: i64) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT id FROM imports WHERE fixes_id = {} ORDER BY id",
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(StoreError::from))
        .collect()
}

/// Moves a record held by `holder` from one status to another, stamping `applied_at`, only if
/// it is still in the first and still held by `holder`: the guard that makes "apply twice" fail
/// even when two processes try at once, and that keeps a job taken for dead meanwhile from
/// committing (a revert claims its import with [`claim_revert`]). Returns whether this caller
/// won. Run it inside the transaction that does the work, as its last write before the commit:
/// on PostgreSQL the update locks the record until the commit, and the heartbeat's renewals of
/// the same record's lease would wait behind it.
pub async fn claim_status(
    conn: &mut Connection,
    id: i64,
    holder: &str,
    from: JobStatus,
    to: JobStatus,
    applied_at: i64,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let p = |n| placeholders(style, n, 1);
    let sql = format!(
        "UPDATE imports SET status = {}, applied_at = {} WHERE id = {} AND status = {} AND holder = {}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5)
    );
    let done = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(applied_at)
        .bind(id)
        .bind(from.as_str())
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims an import for a revert: moves it from `from` to `to` and records `revert` as the
/// entry that reverted it, only if it is still in `from` and was last reverted by `last` (`None`
/// for never). Matching the last revert too means that two reverts of a partly reverted import
/// cannot both win and walk the same leftovers. Returns whether this caller won.
pub async fn claim_revert(
    conn: &mut Connection,
    id: i64,
    from: JobStatus,
    last: Option<i64>,
    to: JobStatus,
    revert: i64,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let p = |n| placeholders(style, n, 1);
    let last_clause = match last {
        Some(_) => format!("reverted_by = {}", p(5)),
        None => "reverted_by IS NULL".to_owned(),
    };
    let sql = format!("UPDATE imports SET status = {}, reverted_by = {} WHERE id = {} AND status = {} AND {last_clause}", p(1), p(2), p(3), p(4));
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(revert)
        .bind(id)
        .bind(from.as_str());
    if let Some(last) = last {
        query = query.bind(last);
    }
    let done = query.execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// Up to `limit` chunks after sequence number `after`, in order.
pub async fn read_chunks(
    conn: &mut Connection,
    table: ChunkTable,
    import_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let style = Placeholders::of(conn);
    let p = |n| placeholders(style, n, 1);
    let sql = format!(
        "SELECT seq, data FROM {} WHERE import_id = {} AND seq > {} ORDER BY seq LIMIT {limit}",
        table.name(),
        p(1),
        p(2)
    );
    let rows = sqlx::query(&sql)
        .bind(import_id)
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Up to `limit` pieces of an import's archived file after sequence number `after`.
pub async fn read_archive(
    conn: &mut Connection,
    import_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Vec<u8>)>> {
    let style = Placeholders::of(conn);
    let p = |n| placeholders(style, n, 1);
    let sql = format!("SELECT seq, data FROM import_archive WHERE import_id = {} AND seq > {} ORDER BY seq LIMIT {limit}", p(1), p(2));
    let rows = sqlx::query(&sql)
        .bind(import_id)
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// How many users (departments), memberships (groups) or grants (roles) point at each key.
pub async fn reference_counts(
    conn: &mut Connection,
    kind: CatalogTable,
    keys: &[&str],
) -> Result<Vec<(String, i64)>> {
    let (table, column) = match kind {
        CatalogTable::Departments => ("users", "department_key"),
        CatalogTable::Groups => ("group_members", "group_key"),
        // A role a group gives its members is in use as much as one held directly.
        CatalogTable::Roles => (
            "(SELECT role_key FROM user_roles UNION ALL SELECT role_key FROM group_roles) AS held",
            "role_key",
        ),
    };
    let mut counts = Vec::new();
    for chunk in keys.chunks(1_000) {
        let sql = format!(
            "SELECT {column}, COUNT(*) FROM {table} WHERE {column} IN ({}) GROUP BY {column}",
            placeholders(Placeholders::of(conn), 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(*key);
        }
        for row in query.fetch_all(&mut *conn).await? {
            counts.push((row.try_get(0)?, row.try_get(1)?));
        }
    }
    Ok(counts)
}

/// The three catalog tables, for deletes and reference counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogTable {
    Departments,
    Groups,
    Roles,
}

impl CatalogTable {
    pub(crate) fn table(self) -> &'static str {
        match self {
            CatalogTable::Departments => "departments",
            CatalogTable::Groups => "user_groups",
            CatalogTable::Roles => "roles",
        }
    }
}

impl PreparedWrites {
    /// One chunk of a plan, journal or failure list.
    pub fn insert_chunk(&mut self, table: ChunkTable, import_id: i64, seq: i64, data: String) {
        let sql = format!(
            "INSERT INTO {} (import_id, seq, data) VALUES ({}, {}, {})",
            table.name(),
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3)
        );
        let mut args = sqlx::any::AnyArguments::default();
        crate::writes::add(&mut args, import_id);
        crate::writes::add(&mut args, seq);
        crate::writes::add(&mut args, data);
        self.push(sql, args);
    }

    /// One piece of an archived upload.
    pub fn insert_archive_piece(&mut self, import_id: i64, seq: i64, data: Vec<u8>) {
        let sql = format!(
            "INSERT INTO import_archive (import_id, seq, data) VALUES ({}, {}, {})",
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3)
        );
        let mut args = sqlx::any::AnyArguments::default();
        crate::writes::add(&mut args, import_id);
        crate::writes::add(&mut args, seq);
        crate::writes::add(&mut args, data);
        self.push(sql, args);
    }
}

fn record_from_row(row: &AnyRow) -> Result<ImportRecord> {
    let kind = decode(1, JobKind::parse(row.try_get(1)?))?;
    let options: String = row.try_get(11)?;
    let summary: String = row.try_get(17)?;
    let damaged = |index: usize| {
        move |e: serde_json::Error| {
            StoreError::Sql(sqlx::Error::ColumnDecode {
                index: index.to_string(),
                source: Box::new(e),
            })
        }
    };
    Ok(ImportRecord {
        id: row.try_get(0)?,
        kind,
        actor: row.try_get(2)?,
        lease: Lease {
            holder: row.try_get(3)?,
            until: row.try_get(21)?,
            heartbeat_at: row.try_get(22)?,
        },
        started_at: row.try_get(4)?,
        finished_at: row.try_get(5)?,
        applied_at: row.try_get(6)?,
        file_name: row.try_get(7)?,
        file_size: row.try_get(8)?,
        sha256: row.try_get(9)?,
        format: row.try_get(10)?,
        options: options_from_text(kind, &options).map_err(damaged(11))?,
        status: decode(12, JobStatus::parse(row.try_get(12)?))?,
        created: row.try_get(13)?,
        updated: row.try_get(14)?,
        unchanged: row.try_get(15)?,
        failed: row.try_get(16)?,
        summary: serde_json::from_str(&summary).map_err(damaged(17))?,
        fixes_id: row.try_get(18)?,
        revert_of: row.try_get(19)?,
        reverted_by: row.try_get(20)?,
    })
}
