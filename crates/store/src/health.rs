//! Whether the databases answer: the server's readiness probe asks this. Migrations have run by
//! then (opening the store runs them), so a store that answers is ready.

use sqlx::Executor;

use crate::{Result, Store};

/// Runs the cheapest query there is on a pooled connection of the main database and of the
/// sign-in database (on PostgreSQL the same one).
pub async fn ping(store: &Store) -> Result<()> {
    let mut conn = store.acquire().await?;
    conn.execute("SELECT 1").await?;
    let mut signin = store.acquire_signin().await?;
    signin.execute("SELECT 1").await?;
    Ok(())
}
