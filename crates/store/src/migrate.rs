//! A deliberately small migration runner: numbered SQL files embedded in the binary, applied in
//! order inside one transaction each, recorded in `muster_migrations`. The same files run on both
//! backends, which is why they are written in the SQL subset SQLite and PostgreSQL share.

use sqlx::{AnyPool, Executor, Row};

use crate::{Backend, Result, StoreError};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_import_history.sql")),
    (4, include_str!("../migrations/0004_job_leases.sql")),
];

pub(crate) async fn run(pool: &AnyPool) -> Result<()> {
    pool.execute(
        "CREATE TABLE IF NOT EXISTS muster_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM muster_migrations")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    for &(version, script) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        let failed = |cause| StoreError::Migration { version, cause };
        let mut tx = pool.begin().await.map_err(failed)?;
        for statement in statements(script) {
            let statement = for_backend(&statement, &tx);
            tx.execute(statement.as_str()).await.map_err(failed)?;
        }
        sqlx::query("INSERT INTO muster_migrations (version, applied_at) VALUES ($1, 0)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
    }
    Ok(())
}

/// The migrations are written once; the only SQLite-specific text they may hold is the table
/// option `WITHOUT ROWID`, which PostgreSQL does not know (its tables have no rowid anyway).
fn for_backend(statement: &str, conn: &sqlx::AnyConnection) -> String {
    if Backend::of(conn) == Backend::Sqlite {
        statement.to_owned()
    } else {
        statement.replace(") WITHOUT ROWID;", ");")
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
