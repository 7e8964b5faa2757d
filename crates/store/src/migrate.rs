//! A deliberately small migration runner: numbered SQL files embedded in the binary, applied in
//! order inside one transaction each, recorded in a version table. The same files run on both
//! backends, which is why they are written in the SQL subset SQLite and PostgreSQL share.
//!
//! Two lists run at every open: the main database's (`MAIN`, recorded in `muster_migrations`)
//! and the sign-in database's (`SIGNIN`, recorded in `signin_schema_version`), which on SQLite is
//! a file of its own and on PostgreSQL the same database (see `connect.rs`).

use sqlx::{AnyPool, Executor, Row};

use crate::{Backend, Result, StoreError};

/// A list of migrations and the table that records which of them ran.
pub(crate) struct Migrations {
    table: &'static str,
    scripts: &'static [(i64, &'static str)],
}

pub(crate) const MAIN: Migrations = Migrations {
    table: "muster_migrations",
    scripts: MAIN_SCRIPTS,
};

/// The sign-in database's own list. Version 1 holds every table of the account branch; the
/// one-time tokens of mail follow as version 2.
pub(crate) const SIGNIN: Migrations = Migrations {
    table: "signin_schema_version",
    scripts: &[
        (1, include_str!("../migrations/signin/0001_sessions.sql")),
        (
            2,
            include_str!("../migrations/signin/0002_one_time_tokens.sql"),
        ),
    ],
};

const MAIN_SCRIPTS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_import_history.sql")),
    (3, include_str!("../migrations/0003_identities.sql")),
    (4, include_str!("../migrations/0004_job_leases.sql")),
    (5, include_str!("../migrations/0005_mfa_by_user_id.sql")),
    (6, include_str!("../migrations/0006_password_change.sql")),
];

/// A fresh random UUID (version 4) per row, as text: what migration 3 gives the records that
/// existed before ids. SQLite evaluates `randomblob` once per call and row, so each piece is
/// drawn on its own; the variant nibble is one of 8, 9, a, b.
const SQLITE_NEW_ID: &str =
    "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' \
    || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) \
    || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))";
/// PostgreSQL 13 and later have `gen_random_uuid` built in.
const POSTGRES_NEW_ID: &str = "gen_random_uuid()::text";

pub(crate) async fn run(pool: &AnyPool, migrations: &Migrations) -> Result<()> {
    let table = migrations.table;
    let created = pool
        .execute(
            format!("CREATE TABLE IF NOT EXISTS {table} (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
                .as_str(),
        )
        .await;
    match created {
        Ok(_) => {}
        // PostgreSQL's IF NOT EXISTS is not safe against another process creating the table
        // at the same moment: the loser gets a unique violation in the catalog, or, when the
        // other's table type is already visible, "duplicate object" (42710) or "duplicate
        // table" (42P07); the table it wanted exists either way.
        Err(sqlx::Error::Database(e))
            if e.is_unique_violation()
                || matches!(e.code().as_deref(), Some("42710" | "42P07")) => {}
        Err(e) => return Err(e.into()),
    }
    let applied: Vec<i64> = sqlx::query(&format!("SELECT version FROM {table}"))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    for &(version, script) in migrations.scripts {
        if applied.contains(&version) {
            continue;
        }
        let failed = |cause| StoreError::Migration { version, cause };
        let mut tx = pool.begin().await.map_err(failed)?;
        // The version is claimed first, as the transaction's first statement: a second process
        // migrating the same new database at the same moment waits here until the first
        // commits, then finds the version taken and leaves it (two `muster` commands started
        // together on a fresh store once collided on "table already exists").
        let claim = format!("INSERT INTO {table} (version, applied_at) VALUES ($1, 0)");
        let claimed = sqlx::query(&claim).bind(version).execute(&mut *tx).await;
        match claimed {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await.map_err(failed)?;
                continue;
            }
            Err(e) => return Err(failed(e)),
        }
        for statement in statements(script) {
            let statement = for_backend(&statement, &tx);
            tx.execute(statement.as_str()).await.map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
    }
    Ok(())
}

/// The migrations are written once. What the backends spell differently is written as a word
/// this function replaces: the table option `WITHOUT ROWID`, which PostgreSQL does not know (its
/// tables have no rowid anyway), `MUSTER_NEW_ID` (a random UUID per row) and
/// `MUSTER_SERIAL_KEY` (an auto-numbered primary key).
fn for_backend(statement: &str, conn: &sqlx::AnyConnection) -> String {
    if Backend::of(conn) == Backend::Sqlite {
        statement
            .replace("MUSTER_NEW_ID", SQLITE_NEW_ID)
            .replace("MUSTER_SERIAL_KEY", "INTEGER PRIMARY KEY")
    } else {
        statement
            .replace(") WITHOUT ROWID;", ");")
            .replace("MUSTER_NEW_ID", POSTGRES_NEW_ID)
            .replace(
                "MUSTER_SERIAL_KEY",
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
    }
}

/// Splits a script at semicolons that end a line, dropping comment lines. Our migrations never
/// put a semicolon at the end of a line inside a string, which keeps this honest.
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_statements_and_skips_comments() {
        let parts =
            super::statements("-- c\nCREATE TABLE a (x TEXT);\nINSERT INTO a VALUES\n ('y');\n");
        assert_eq!(parts.len(), 2);
        assert!(parts[1].contains("('y')"));
    }
}
