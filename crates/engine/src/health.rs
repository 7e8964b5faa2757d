//! Readiness for a server's probe: the store's databases (the main one and the sign-in one)
//! answer a query. Migrations need no check of their
//! own, since a store is only ever opened after they have run.

use muster_store::Store;

use crate::error::Error;

/// Ok when both databases answer; the store's error (unavailable or internal) otherwise.
pub async fn check_ready(store: &Store) -> Result<(), Error> {
    muster_store::ping(store).await?;
    Ok(())
}

/// The import history summed by kind and status (jobs and the rows they counted), for a
/// server's metrics. Like readiness it is operational, not a reading of the directory, so it
/// takes no actor: it names no user and no file.
pub async fn job_totals(store: &Store) -> Result<Vec<muster_store::JobTotals>, Error> {
    let mut conn = store.acquire().await?;
    Ok(muster_store::job_totals(&mut conn).await?)
}
