//! Busy errors that name the job keeping the database busy. SQLite runs one writer at a time: a
//! write that waited out the connection's busy timeout fails with `StoreError::Busy(None)`,
//! whichever statement of a use case it was (its first write, a later one, its commit, or the
//! audit entry of a refusal). Every public use case runs inside [`naming_job`], which fills in
//! the running job there, so no use case has to catch busy errors at each write, and none
//! returns a bare busy error while a job is recorded as running.

use std::future::Future;

use muster_store::{BusyJob, JobStatus, Store, StoreError};

use crate::error::Error;
use crate::timefmt::rfc3339_utc;

/// Runs a public use case: a busy error it ends with names the running job, when one is
/// recorded. Every other outcome passes through as it is.
pub(crate) async fn naming_job<T>(
    store: &Store,
    use_case: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match use_case.await {
        Err(Error::Store(error)) => Err(Error::Store(explain(store, error).await)),
        outcome => outcome,
    }
}

/// A busy error names the job that keeps the database busy, when a running one is recorded.
/// The job's record was committed before it started writing, so it is there to read while the
/// job holds the database (readers never wait on SQLite in WAL mode).
async fn explain(store: &Store, error: StoreError) -> StoreError {
    if !matches!(error, StoreError::Busy(None)) {
        return error;
    }
    let Ok(mut conn) = store.acquire().await else {
        return error;
    };
    match muster_store::imports_with_status(&mut conn, JobStatus::Running).await {
        Ok(running) => match running.into_iter().next() {
            Some(job) => StoreError::Busy(Some(BusyJob {
                kind: job.kind,
                id: job.id,
                actor: job.actor,
                started: rfc3339_utc(job.started_at),
            })),
            None => error,
        },
        Err(_) => error,
    }
}
