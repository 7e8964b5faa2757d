//! Creating and dropping whole PostgreSQL databases, for tests and benchmarks that need a fresh
//! database per run so runs never see each other's data.

use sqlx::{Connection as _, Executor};

use crate::{DatabaseUrl, Result, StoreError};

/// Creates database `name` on the server of `server` (any database URL on it) and returns the
/// URL of the new database. `name` must be a plain identifier.
pub async fn create_postgres_database(server: &DatabaseUrl, name: &str) -> Result<DatabaseUrl> {
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database names are plain identifiers"
    );
    let mut conn = connect(server).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    conn.close().await?;
    Ok(with_database(server, name))
}

/// Drops database `name`, closing any connection still open to it.
pub async fn drop_postgres_database(server: &DatabaseUrl, name: &str) -> Result<()> {
    let mut conn = connect(server).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    conn.close().await?;
    Ok(())
}

async fn connect(server: &DatabaseUrl) -> Result<sqlx::AnyConnection> {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(server.expose())
        .await
        .map_err(|cause| StoreError::Connect {
            url: server.clone(),
            cause,
        })
}

/// The same server URL with its database path replaced, query string kept.
fn with_database(server: &DatabaseUrl, name: &str) -> DatabaseUrl {
    let url = server.expose();
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => DatabaseUrl::new(format!("{host_part}/{name}?{query}")),
        None => DatabaseUrl::new(format!("{host_part}/{name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_and_keeps_the_query() {
        let server = DatabaseUrl::new("postgres://u:p@h:5432/test?sslmode=disable");
        assert_eq!(
            with_database(&server, "x").expose(),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database(&DatabaseUrl::new("postgres://h"), "y").expose(),
            "postgres://h/y"
        );
    }
}
