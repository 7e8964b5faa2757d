//! A job held by a lease: when its lease is taken for expired (another instance's recovery),
//! the job stops at its next heartbeat, its transaction rolls back and nothing of it is
//! applied, as the history already says. PostgreSQL only: on SQLite the running job holds the
//! database's one write lock, so no recovery can mark it while it writes (a live writer), which
//! `jobs` in the CLI's suite covers.

use std::time::Duration;

use muster_engine::{
    import_file, list_imports, recover_interrupted, Conflict, Error, ImportOptions, ImportSource,
    LeaseTimes, LeasedJob,
};
use muster_store::Store;

use crate::support::{on_postgres, operator};

fn big_upload(rows: usize) -> ImportSource {
    let mut text = String::from("Username,Name\n");
    for i in 0..rows {
        text.push_str(&format!("user{i:07},User {i}\n"));
    }
    ImportSource::read("big.csv", text.as_bytes()).expect("spooling the upload")
}

async fn an_import_whose_lease_is_taken_over_applies_nothing(store: &Store) {
    let mut ctx = operator();
    ctx.lease = LeaseTimes {
        length: Duration::from_secs(2),
        heartbeat: Duration::from_millis(500),
    };
    // The operator's clock is fixed; the lease needs a real one to be renewed and to lapse.
    ctx.now = Box::new(muster_engine::system_now);
    let source = big_upload(400_000);
    let options = ImportOptions::default();
    let importing = import_file(store, &source, &options, &ctx);
    // Once the import is recorded as running, another "instance" whose clock is an hour ahead
    // takes its lease for expired, between two heartbeats (a renewal in between would show the
    // holder alive, and the recovery would rightly leave it). Both run in this task.
    let taking_over = async {
        let mut waited = Duration::ZERO;
        loop {
            let history = list_imports(store, &operator(), 5).await.expect("history");
            if history
                .iter()
                .any(|e| e.status == muster_store::JobStatus::Running)
            {
                break;
            }
            assert!(waited < Duration::from_secs(60), "the import never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += Duration::from_millis(20);
        }
        let an_hour_later = muster_engine::system_now() + 3_600_000;
        recover_interrupted(store, an_hour_later)
            .await
            .expect("recovery")
    };
    let (outcome, recovered) = tokio::join!(importing, taking_over);
    assert_eq!(recovered.len(), 1, "the running import is taken for dead");
    assert!(
        matches!(
            outcome,
            Err(Error::Conflict(Conflict::LeaseLost {
                job: LeasedJob::Import,
                ..
            }))
        ),
        "the import stops: {:?}",
        outcome.map(|r| r.status)
    );
    let mut conn = store.acquire().await.expect("connection");
    let found = muster_store::fetch_users(&mut conn, &["user0000000", "user0399999"])
        .await
        .expect("read");
    assert!(found.is_empty(), "nothing of it was applied");
    let history = list_imports(store, &operator(), 5).await.expect("history");
    assert_eq!(history[0].status, muster_store::JobStatus::Failed);
}

#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn an_import_whose_lease_is_taken_over_applies_nothing_on_postgres() {
    on_postgres(|store| async move {
        an_import_whose_lease_is_taken_over_applies_nothing(&store).await
    });
}
