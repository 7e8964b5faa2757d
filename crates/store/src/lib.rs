//! The store: the only crate of muster that holds SQL. It opens SQLite (the embedded default) or
//! PostgreSQL from a URL, runs the one migration set on either, and offers the batch reads and
//! writes the use cases need. Both backends go through sqlx's `Any` driver with one code path:
//! the SQL is written in the subset both read the same way, with `$N` placeholders (SQLite
//! accepts them too). It knows nothing of spreadsheets and does not judge data: callers hand it
//! records that the domain crate has already checked.

mod admin;
mod audit;
mod bulk;
mod catalog;
mod connect;
mod directory_catalog;
/// Single-user reads and conditional writes, named through the module
/// (`directory_users::update_user`) so they are not mistaken for the import's batch functions.
pub mod directory_users;
mod health;
mod history;
mod jobs;
mod migrate;
/// One-time links in the sign-in database (`one_time_tokens::claim_token`).
pub mod one_time_tokens;
mod packed;
mod records;
/// The sign-in database's statements, named through the module (`signin::insert_session`).
pub mod signin;
mod sql;
mod users;
mod writes;

pub use admin::{create_postgres_database, drop_postgres_database};
pub use audit::{insert_audit, list_audit, AuditChange, AuditEntry, AuditQuery};
pub use bulk::{
    build_filter_indexes, index_names, restore_filter_indexes, restore_indexes_after_removal,
    suspend_filter_indexes, suspend_filter_indexes_for_removal, SuspendedIndexes,
};
pub use catalog::{load_catalog, Catalog, NamedKind};
pub use connect::{Backend, DatabaseUrl, Store};
pub use directory_catalog::{
    catalog_entries_page, change_group_members, delete_catalog_entry, detach_catalog_references,
    fetch_catalog_entry, group_role_rows, insert_catalog_entry, replace_group_roles,
    replace_role_permissions, role_permission_codes, update_catalog_entry, CatalogEntryRow,
    EntryLookup, GroupRoleRow,
};
pub use directory_users::{any_mfa_enrolment, StoredUser};
pub use health::ping;
pub use history::{
    applied_with_sha256, claim_revert, claim_status, fixed_by, import_record, imports_with_status,
    insert_import, job_totals, list_imports, read_archive, read_chunks, reference_counts,
    CatalogTable, ChunkTable, ImportOutcome, ImportRecord, JobTotals, NewImport,
};
pub use jobs::{
    fail_abandoned, finish_job, release_lease, renew_lease, take_lease, ArchiveCompression,
    ArchiveRecord, ArchiveState, ImportJobOptions, JobKind, JobOptions, JobStatus, JobSummary,
    Lease, LeaseTake, RevertJobOptions, UnknownValue,
};
pub use records::{NamedRecord, RoleRecord, UserRecord};
pub use users::{
    email_owners, fetch_users, fetch_users_by_id, users_page, Membership, UserFilter, UserPage,
};
pub use writes::PreparedWrites;

pub use sqlx::AnyConnection as Connection;
/// A connection taken from the store's pool, returned to it when dropped.
pub type PooledConnection = sqlx::pool::PoolConnection<sqlx::Any>;

/// A transaction on either backend, owned (not borrowing the store), so a task can hold it.
pub type Transaction = sqlx::Transaction<'static, sqlx::Any>;

/// A transaction on a connection the caller holds (see `Store::acquire_self_checking`).
pub type BorrowedTransaction<'c> = sqlx::Transaction<'c, sqlx::Any>;

pub async fn begin_on(conn: &mut PooledConnection) -> Result<BorrowedTransaction<'_>> {
    Ok(sqlx::Connection::begin(&mut **conn).await?)
}

/// Marks a point inside a transaction that `rollback_to_savepoint` can return to, undoing what
/// came after while keeping the transaction (an atomic import that fails part-way keeps its
/// history rows but drops its data writes).
pub async fn savepoint(conn: &mut Connection, name: &str) -> Result<()> {
    sqlx::query(&format!("SAVEPOINT {name}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn rollback_to_savepoint(conn: &mut Connection, name: &str) -> Result<()> {
    sqlx::query(&format!("ROLLBACK TO SAVEPOINT {name}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("RELEASE SAVEPOINT {name}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Everything that can go wrong in the store. The database's own message is kept because it is
/// what an operator needs to fix an unreachable or misconfigured server.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // Each cause is part of its message and therefore not also `source()`: an error chain would
    // print it twice.
    #[error("cannot open the database {url:?}: {cause}")]
    Connect {
        url: DatabaseUrl,
        cause: sqlx::Error,
    },
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://…")]
    UnsupportedUrl(DatabaseUrl),
    #[error("migration {version} failed: {cause}")]
    Migration { version: i64, cause: sqlx::Error },
    #[error("database error: {0}")]
    Sql(sqlx::Error),
    #[error("the task holding the transaction stopped: {0}")]
    Interrupted(String),
    /// SQLite runs one writer at a time and another one kept the database past the wait (the
    /// connection's busy timeout). The engine names the running job when it can find it.
    #[error("busy: {}; try again when it ends", match .0 { Some(job) => job.to_string(), None => "another command is writing to the database".to_owned() })]
    Busy(Option<BusyJob>),
}

/// The job that keeps the database busy, as a busy error names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusyJob {
    pub kind: jobs::JobKind,
    pub id: i64,
    pub actor: String,
    /// When it started, as the caller renders times.
    pub started: String,
}

impl std::fmt::Display for BusyJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} is running (started by {} at {})",
            self.kind.as_str(),
            self.id,
            self.actor,
            self.started
        )
    }
}

impl StoreError {
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }
}

/// SQLite's primary result codes for "another connection holds the lock" (SQLITE_BUSY) and
/// "a lock inside this connection's shared cache" (SQLITE_LOCKED); the extended codes keep them
/// in their low byte.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

impl From<sqlx::Error> for StoreError {
    fn from(cause: sqlx::Error) -> StoreError {
        // Only SQLite's errors are looked at: a PostgreSQL SQLSTATE is a different code space.
        if let Some(db) = cause
            .as_database_error()
            .and_then(|db| db.try_downcast_ref::<sqlx::sqlite::SqliteError>())
        {
            let code = sqlx::error::DatabaseError::code(db).and_then(|c| c.parse::<i64>().ok());
            if code.is_some_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED)) {
                return StoreError::Busy(None);
            }
        }
        StoreError::Sql(cause)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
