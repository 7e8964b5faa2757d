//! A first import into an empty directory on SQLite: the indexes that serve the directory's
//! filters (users by department, role holders, group members) are dropped inside the import's
//! transaction and built once after it, in a transaction of their own that overlaps the
//! import's commit (`build_filter_indexes`). SQLite builds an index from sorted keys faster
//! than it updates one row by row when the rows arrive out of the index's order, as they do for
//! these three (each department, role or group is a run of keys that every row appends to at a
//! different place): on the 1M-user benchmark, keeping them up to date cost 1.5 s more of the
//! writer's time than building them at the end.
//!
//! The users' id and e-mail indexes stay and are kept up to date row by row. Ids of one import
//! increase, so every new id is appended to the end of its index; and an import usually
//! arrives in an order close to its e-mails' (they follow the usernames). Kept, they cost the
//! writer about 0.4 s of a million-user import, while it waits for the planner anyway, against
//! 0.75 s for building them afterwards, when nothing else runs; and uniqueness stays checked
//! by the database at every statement.
//!
//! It is safe on SQLite because DDL is transactional there and readers in WAL mode keep their
//! snapshot: a rolled-back import (or a rollback to the data savepoint) takes the drop back,
//! and the only moment a reader finds the filter indexes missing is the second between the
//! import's commit and theirs, when filtered lists are slower, never wrong. A process killed in
//! that second leaves them to `ensure_filter_indexes`, which every open runs.
//!
//! On PostgreSQL the same suspension saves about a seventh of a million-user first import
//! (keeping three more B-trees up to date row by row, against one sorted build each), but it
//! differs in two ways. Dropping an index locks its table exclusively until the transaction
//! ends, so the users and membership tables stay locked for the whole import: readers of an
//! empty directory wait for the imported one instead of seeing it empty, which is all they
//! could have seen meanwhile. And PostgreSQL has no single writer to keep the directory empty
//! between the check and the drop, so emptiness is checked again under the lock, and a
//! directory that gained users meanwhile gets its indexes back with the savepoint. The indexes
//! are built inside the import's transaction, before it commits: nothing can read the tables
//! before then anyway, and a process that dies leaves the drop rolled back.

use sqlx::{Executor, Row};

use crate::{Backend, Connection, Result};

/// The filter indexes of migration 3, as it creates them; `IF NOT EXISTS`, so that building
/// them after a first import's commit (see `build_filter_indexes`) changes nothing when that
/// import rolled back and kept them.
pub(crate) const FILTER_INDEXES: [(&str, &str); 3] = [
    (
        "users_by_department",
        "CREATE INDEX IF NOT EXISTS users_by_department ON users (department_key)",
    ),
    (
        "user_roles_by_role",
        "CREATE INDEX IF NOT EXISTS user_roles_by_role ON user_roles (role_key)",
    ),
    (
        "group_members_by_group",
        "CREATE INDEX IF NOT EXISTS group_members_by_group ON group_members (group_key)",
    ),
];

/// How an import brings back the filter indexes it suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspendedIndexes {
    /// SQLite: `build_filter_indexes`, in a transaction of its own that the import's commit lets
    /// run.
    BuildAfterCommit,
    /// PostgreSQL: `restore_filter_indexes`, inside the import's transaction before it commits.
    BuildBeforeCommit,
}

/// When the directory has no user yet, drops the filter indexes inside the caller's transaction
/// and says how the caller must bring them back before (or, on SQLite, as) it commits. With
/// users present, does nothing and returns `None`.
pub async fn suspend_filter_indexes(conn: &mut Connection) -> Result<Option<SuspendedIndexes>> {
    if !directory_is_empty(conn).await? {
        return Ok(None);
    }
    match Backend::of(conn) {
        Backend::Sqlite => {
            // The caller's transaction holds SQLite's write lock: nobody adds a user until it
            // ends.
            drop_filter_indexes(conn).await?;
            Ok(Some(SuspendedIndexes::BuildAfterCommit))
        }
        Backend::Postgres => {
            const SUSPENSION: &str = "suspend_filter_indexes";
            crate::savepoint(conn, SUSPENSION).await?;
            drop_filter_indexes(conn).await?;
            // The drops hold the tables now; another transaction may have committed users
            // between the first look and them.
            if !directory_is_empty(conn).await? {
                crate::rollback_to_savepoint(conn, SUSPENSION).await?;
                return Ok(None);
            }
            sqlx::query(&format!("RELEASE SAVEPOINT {SUSPENSION}"))
                .execute(&mut *conn)
                .await?;
            Ok(Some(SuspendedIndexes::BuildBeforeCommit))
        }
    }
}

async fn directory_is_empty(conn: &mut Connection) -> Result<bool> {
    let empty: i64 = sqlx::query("SELECT CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(empty == 1)
}

/// The users' e-mail index, which a large removal also suspends: nothing is inserted while
/// users are removed, and building it again checks uniqueness as the statements would have.
const EMAIL_INDEX: (&str, &str) = (
    "users_by_email",
    "CREATE UNIQUE INDEX users_by_email ON users (email_key)",
);

/// On SQLite, when `removing` users are at least half of the directory (a revert of a first
/// import removes all of it), drops the filter and e-mail indexes inside the caller's
/// transaction and returns true; the caller must call `restore_indexes_after_removal` before
/// anything reads by them and before it commits. Deleting a million users from four more
/// indexes entry by entry cost more than building them again over the users that stay. The id
/// index stays: a revert finds renamed users by id.
pub async fn suspend_filter_indexes_for_removal(
    conn: &mut Connection,
    removing: u64,
) -> Result<bool> {
    if Backend::of(conn) != Backend::Sqlite || removing == 0 {
        return Ok(false);
    }
    let users: i64 = sqlx::query("SELECT count(*) FROM users")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if u64::try_from(users).unwrap_or(u64::MAX) > removing.saturating_mul(2) {
        return Ok(false);
    }
    drop_filter_indexes(conn).await?;
    conn.execute(format!("DROP INDEX IF EXISTS {}", EMAIL_INDEX.0).as_str())
        .await?;
    Ok(true)
}

/// Builds the indexes `suspend_filter_indexes_for_removal` dropped, inside the caller's
/// transaction.
pub async fn restore_indexes_after_removal(conn: &mut Connection) -> Result<()> {
    conn.execute(EMAIL_INDEX.1).await?;
    restore_filter_indexes(conn).await
}

async fn drop_filter_indexes(conn: &mut Connection) -> Result<()> {
    for (name, _) in FILTER_INDEXES {
        conn.execute(format!("DROP INDEX IF EXISTS {name}").as_str())
            .await?;
    }
    Ok(())
}

/// Builds the filter indexes that a first import committed without, in a transaction of their
/// own. The import calls it before it commits: the transaction waits for SQLite's write lock,
/// which the import's commit releases before it checkpoints the write-ahead log into the
/// database file, so the index build runs on the second core during that checkpoint instead of
/// before it (a million-user import's 1.1 s of index build overlaps its 1.3 s of checkpoint).
/// Until it commits, readers see the new users without those indexes: slower filtered lists,
/// never wrong ones; a process that dies in between leaves them to `ensure_filter_indexes` at
/// the next open.
pub async fn build_filter_indexes(store: &crate::Store) -> Result<()> {
    let mut tx = store.begin_writing().await?;
    restore_filter_indexes(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// On SQLite, builds any filter index that is missing (a process that died between a first
/// import's commit and its index build). Reads the schema first, so that opening a store while
/// another process writes never waits for its lock.
pub(crate) async fn ensure_filter_indexes(pool: &sqlx::AnyPool) -> Result<()> {
    let mut conn = pool.acquire().await?;
    if Backend::of(&conn) != Backend::Sqlite {
        return Ok(());
    }
    let present = index_names(&mut conn).await?;
    let missing: Vec<&str> = FILTER_INDEXES
        .iter()
        .filter(|(name, _)| !present.iter().any(|p| p == name))
        .map(|(_, create)| *create)
        .collect();
    for create in missing {
        conn.execute(create).await?;
    }
    Ok(())
}

/// Builds the filter indexes again, inside the caller's transaction.
pub async fn restore_filter_indexes(conn: &mut Connection) -> Result<()> {
    if Backend::of(conn) == Backend::Postgres {
        // The default 64 MB makes a million-row sort spill to disk in runs; the setting ends
        // with the transaction.
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            .await?;
    }
    for (_, create) in FILTER_INDEXES {
        conn.execute(create).await?;
    }
    Ok(())
}

/// The names of the directory's indexes as the database lists them, sorted (for tests and
/// diagnostics).
pub async fn index_names(conn: &mut Connection) -> Result<Vec<String>> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        Backend::Postgres => "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
    };
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get(0).map_err(Into::into))
        .collect()
}
