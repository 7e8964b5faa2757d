//! A job held by a lease: while it runs, its heartbeat keeps the lease alive however long the
//! job takes; when its lease is taken for expired (another instance's recovery, or another
//! apply of the same preview), the job stops at its next heartbeat, its transaction rolls back
//! and nothing of it is applied, as the history already says. PostgreSQL only: on SQLite the
//! running job holds the database's one write lock, so its renewals wait and no other instance
//! can take the job while it writes (a live writer), which `jobs` in the CLI's suite covers.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use muster_engine::{
    apply_plan, import_file, list_imports, recover_interrupted, revert_import, system_now,
    Conflict, Context, Error, ImportOptions, ImportSource, ImportStatus, LeaseTimes, LeasedJob,
};
use muster_store::{JobStatus, Lease, Store};

use crate::support::{on_postgres, operator};

fn big_upload(rows: usize) -> ImportSource {
    let mut text = String::from("Username,Name\n");
    for i in 0..rows {
        text.push_str(&format!("user{i:07},User {i}\n"));
    }
    ImportSource::read("big.csv", text.as_bytes()).expect("spooling the upload")
}

/// The operator with the system's clock (the operator's is fixed; a lease needs a real one to
/// be renewed and to lapse) and leases of `length`, renewed every `heartbeat`.
fn leased_operator(length: Duration, heartbeat: Duration) -> Context {
    let mut ctx = operator();
    ctx.lease = LeaseTimes { length, heartbeat };
    ctx.now = Box::new(system_now);
    ctx
}

/// Short leases, so a job of a few seconds outlives many of them.
fn short_leases() -> Context {
    leased_operator(Duration::from_millis(300), Duration::from_millis(50))
}

async fn an_import_whose_lease_is_taken_over_applies_nothing(store: &Store) {
    let ctx = leased_operator(Duration::from_secs(2), Duration::from_millis(500));
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
        // A renewal that lands between the recovery's read of the lease and its conditional
        // take-over makes the recovery rightly leave the job (the holder showed itself alive);
        // the other instance simply looks again, as the next command would.
        let mut recovered = Vec::new();
        for _ in 0..50 {
            recovered = recover_interrupted(store, an_hour_later)
                .await
                .expect("recovery");
            if !recovered.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        recovered
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

/// What another connection saw of the newest record's lease while a job ran.
#[derive(Debug, Default)]
struct LeaseWatch {
    /// Looks at the record while the job held it (its lease live).
    held: u32,
    /// The first look, after the job held the record, at a lease that had lapsed while the
    /// record still said the job was under way: the time of the look and the lease seen.
    lapsed: Option<(i64, Lease)>,
    /// How long the job ran.
    took: Duration,
}

/// Runs `job` while another connection reads the newest record of the history every 20 ms,
/// as another instance deciding whether its holder is alive would.
async fn watch_lease<T>(store: &Store, job: impl Future<Output = T>) -> (T, LeaseWatch) {
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let running = async {
        let out = job.await;
        done.store(true, Ordering::SeqCst);
        (out, started.elapsed())
    };
    let watching = async {
        let mut watch = LeaseWatch::default();
        let mut conn = store.acquire().await.expect("connection");
        while !done.load(Ordering::SeqCst) {
            // The time is taken before the read: a renewal can only move the lease later.
            let now = system_now();
            let newest = muster_store::list_imports(&mut conn, 1)
                .await
                .expect("history");
            // A job's record says `running` (an import, a revert) or `dry_run` (a preview being
            // applied) until the job commits its end; only then may the lease lapse.
            let under_way = newest
                .first()
                .filter(|r| matches!(r.status, JobStatus::Running | JobStatus::DryRun));
            if let Some(record) = under_way {
                if !record.lease.expired(now) {
                    watch.held += 1;
                } else if watch.held > 0 && watch.lapsed.is_none() {
                    watch.lapsed = Some((now, record.lease.clone()));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watch
    };
    let ((out, took), mut watch) = tokio::join!(running, watching);
    watch.took = took;
    (out, watch)
}

/// The job was seen held, ran past twice its lease's length (a lease never renewed would have
/// been seen lapsed), and its lease never lapsed.
fn assert_held_throughout(what: &str, watch: &LeaseWatch, ctx: &Context) {
    assert!(
        watch.took > ctx.lease.length * 2,
        "{what} took {:?}, too little to outlive its lease; make the file bigger",
        watch.took
    );
    assert!(watch.held > 0, "{what} was never seen holding its record");
    assert!(
        watch.lapsed.is_none(),
        "{what}'s lease was seen lapsed while it ran (at, lease): {:?}; {watch:?}",
        watch.lapsed
    );
}

/// A stored preview of `rows` users, ready to apply. It is made on the system's clock, so that
/// its lease ended in the past of the apply that follows.
async fn stored_preview(store: &Store, rows: usize) -> i64 {
    let options = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let report = import_file(store, &big_upload(rows), &options, &short_leases())
        .await
        .expect("preview");
    assert_eq!(report.status, ImportStatus::DryRun);
    report.import_id.expect("the preview's record")
}

/// The apply of a stored preview holds the preview's record by a lease, which its heartbeat
/// renews while the apply runs: another instance never sees it lapse, however long the apply.
async fn an_apply_keeps_its_lease_while_it_runs(store: &Store) {
    let id = stored_preview(store, 100_000).await;
    let ctx = short_leases();
    let (applied, watch) = watch_lease(store, apply_plan(store, id, &ctx)).await;
    let report = applied.expect("apply");
    assert_eq!(report.status, ImportStatus::Applied);
    assert_held_throughout("the apply", &watch, &ctx);
}

#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn an_apply_keeps_its_lease_while_it_runs_on_postgres() {
    on_postgres(|store| async move { an_apply_keeps_its_lease_while_it_runs(&store).await });
}

/// An import and its revert keep their leases alive the same way. Their leases are longer than
/// the apply's: the import plans each batch of rows in one stretch beside its heartbeat, which
/// in a debug build takes a good part of the short lease.
async fn an_import_and_its_revert_keep_their_leases_while_they_run(store: &Store) {
    let ctx = leased_operator(Duration::from_secs(1), Duration::from_millis(50));
    let (source, options) = (big_upload(300_000), ImportOptions::default());
    let importing = import_file(store, &source, &options, &ctx);
    let (imported, watch) = watch_lease(store, importing).await;
    let report = imported.expect("import");
    assert_eq!(report.status, ImportStatus::Applied);
    assert_held_throughout("the import", &watch, &ctx);
    let id = report.import_id.expect("the import's record");
    let (reverted, watch) = watch_lease(store, revert_import(store, id, false, &ctx)).await;
    assert_eq!(reverted.expect("revert").status, ImportStatus::Applied);
    assert_held_throughout("the revert", &watch, &ctx);
}

#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn an_import_and_its_revert_keep_their_leases_while_they_run_on_postgres() {
    on_postgres(|store| async move {
        an_import_and_its_revert_keep_their_leases_while_they_run(&store).await
    });
}

/// Another instance applies the same preview once the first apply's lease looks expired to it
/// (its clock is an hour ahead): it takes the lease, the first apply stops at its next
/// heartbeat with nothing of it applied, and the preview is applied once, by the second.
async fn an_apply_whose_lease_is_taken_over_applies_nothing(store: &Store) {
    let id = stored_preview(store, 100_000).await;
    let first_ctx = short_leases();
    let mut later_ctx = short_leases();
    later_ctx.now = Box::new(|| system_now() + 3_600_000);
    let first = apply_plan(store, id, &first_ctx);
    let second = async {
        let mut conn = store.acquire().await.expect("connection");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let record = muster_store::import_record(&mut conn, id)
                .await
                .expect("read")
                .expect("the preview");
            if !record.lease.expired(system_now()) {
                break;
            }
            assert!(Instant::now() < deadline, "the first apply never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Let the first apply write for a while, so the second meets its uncommitted rows.
        tokio::time::sleep(Duration::from_millis(500)).await;
        apply_plan(store, id, &later_ctx).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(
        matches!(
            first,
            Err(Error::Conflict(Conflict::LeaseLost {
                job: LeasedJob::Apply,
                ..
            }))
        ),
        "the first apply stops: {:?}",
        first.map(|r| r.status)
    );
    let second = second.expect("the second apply");
    assert_eq!(second.status, ImportStatus::Applied);
    assert_eq!(second.created, 100_000);
    let mut conn = store.acquire().await.expect("connection");
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("the preview");
    assert_eq!(record.status, JobStatus::Applied);
    let found = muster_store::fetch_users(&mut conn, &["user0000000", "user0099999"])
        .await
        .expect("read");
    assert_eq!(found.len(), 2, "applied once, by the second apply");
}

#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn an_apply_whose_lease_is_taken_over_applies_nothing_on_postgres() {
    on_postgres(
        |store| async move { an_apply_whose_lease_is_taken_over_applies_nothing(&store).await },
    );
}
