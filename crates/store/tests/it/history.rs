//! The import history tables: ids in ledger order, a status claimed once, chunks and archive
//! pieces (binary, on both backends) read back in order, savepoints, reference counts, leases
//! taken, renewed and found expired, typed options and summaries (of earlier releases too).

use muster_store::{
    ArchiveState, CatalogTable, ChunkTable, Connection, ImportJobOptions, ImportOutcome, JobKind,
    JobOptions, JobStatus, JobSummary, Lease, LeaseTake, Membership, NamedKind, NewImport,
    PreparedWrites, Store,
};

use crate::support::{bare_user, named};

const HOLDER: &str = "host:1:1:0123456789abcdef";

fn lease(holder: &str, until: i64) -> Lease {
    Lease {
        holder: holder.to_owned(),
        until,
        heartbeat_at: 1_000,
    }
}

fn new_import() -> NewImport {
    NewImport {
        kind: JobKind::Import,
        actor: "cli:test".into(),
        lease: lease(HOLDER, 31_000),
        started_at: 1_000,
        file_name: "users.csv".into(),
        file_size: 42,
        sha256: "ab".repeat(32),
        format: None,
        options: JobOptions::Import(ImportJobOptions::default()),
        fixes_id: None,
        revert_of: None,
    }
}

fn outcome(status: JobStatus) -> ImportOutcome {
    ImportOutcome {
        status,
        finished_at: 2_000,
        format: None,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        summary: JobSummary::default(),
        fixes_id: None,
    }
}

/// A record that ended with `status` (a new record is always `running` first).
async fn insert_ended(conn: &mut Connection, status: JobStatus) -> i64 {
    let id = muster_store::insert_import(conn, &new_import())
        .await
        .expect("insert");
    if status != JobStatus::Running {
        assert!(muster_store::finish_job(conn, id, HOLDER, &outcome(status))
            .await
            .expect("finish"));
    }
    id
}

async fn record(conn: &mut Connection, id: i64) -> muster_store::ImportRecord {
    muster_store::import_record(conn, id)
        .await
        .expect("read")
        .expect("exists")
}

async fn ids_follow_each_other_and_records_read_back(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let first = insert_ended(&mut conn, JobStatus::Running).await;
    let second = insert_ended(&mut conn, JobStatus::Running).await;
    assert_eq!((first, second), (1, 2));
    let outcome = ImportOutcome {
        status: JobStatus::Applied,
        finished_at: 2_000,
        format: Some("csv".into()),
        created: 3,
        updated: 4,
        unchanged: 5,
        failed: 6,
        summary: serde_json::from_str(r#"{"x":1}"#).expect("summary"),
        fixes_id: Some(first),
    };
    assert!(
        muster_store::finish_job(&mut conn, second, HOLDER, &outcome)
            .await
            .expect("finish")
    );
    let record = muster_store::import_record(&mut conn, second)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (
            record.status,
            record.created,
            record.failed,
            record.fixes_id
        ),
        (JobStatus::Applied, 3, 6, Some(first))
    );
    assert_eq!(record.summary.report["x"], 1, "{:?}", record.summary);
    assert_eq!(
        muster_store::fixed_by(&mut conn, first)
            .await
            .expect("fixed_by"),
        [second]
    );
    assert_eq!(
        muster_store::applied_with_sha256(&mut conn, &"ab".repeat(32), 99)
            .await
            .expect("sha"),
        [second]
    );
    assert_eq!(
        muster_store::imports_with_status(&mut conn, JobStatus::Running)
            .await
            .expect("running")
            .len(),
        1
    );
    let listed: Vec<i64> = muster_store::list_imports(&mut conn, 10)
        .await
        .expect("list")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, [second, first], "newest first");
}

async fn a_status_is_claimed_once(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = insert_ended(&mut conn, JobStatus::DryRun).await;
    let (from, to) = (JobStatus::DryRun, JobStatus::Applied);
    assert!(
        !muster_store::claim_status(&mut conn, id, "other:2:2:02", from, to, 4)
            .await
            .expect("claim"),
        "only the holder of the record's lease claims it"
    );
    assert!(
        muster_store::claim_status(&mut conn, id, HOLDER, from, to, 5)
            .await
            .expect("claim")
    );
    assert!(
        !muster_store::claim_status(&mut conn, id, HOLDER, from, to, 6)
            .await
            .expect("claim"),
        "claimed once"
    );
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (record.status, record.applied_at),
        (JobStatus::Applied, Some(5))
    );
    assert!(muster_store::claim_revert(
        &mut conn,
        id,
        JobStatus::Applied,
        None,
        JobStatus::Reverted,
        9
    )
    .await
    .expect("claim"));
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (record.status, record.reverted_by),
        (JobStatus::Reverted, Some(9))
    );
}

/// A revert claims an import only in the status it read and from the revert it read last, so
/// two reverts of a partly reverted import cannot both walk the same leftovers.
async fn a_revert_claims_from_the_last_revert_only(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = insert_ended(&mut conn, JobStatus::Applied).await;
    assert!(muster_store::claim_revert(
        &mut conn,
        id,
        JobStatus::Applied,
        None,
        JobStatus::PartlyReverted,
        8
    )
    .await
    .expect("claim"));
    assert!(!muster_store::claim_revert(
        &mut conn,
        id,
        JobStatus::Applied,
        None,
        JobStatus::Reverted,
        9
    )
    .await
    .expect("claim"));
    assert!(!muster_store::claim_revert(
        &mut conn,
        id,
        JobStatus::PartlyReverted,
        Some(7),
        JobStatus::Reverted,
        9
    )
    .await
    .expect("claim"));
    assert!(muster_store::claim_revert(
        &mut conn,
        id,
        JobStatus::PartlyReverted,
        Some(8),
        JobStatus::Reverted,
        9
    )
    .await
    .expect("claim"));
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (record.status, record.reverted_by),
        (JobStatus::Reverted, Some(9))
    );
}

async fn chunks_and_archive_pieces_read_back_in_order(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = insert_ended(&mut conn, JobStatus::Running).await;
    let mut writes = PreparedWrites::new(store.backend());
    for seq in 1..=5 {
        writes.insert_chunk(ChunkTable::Changes, id, seq, format!("changes {seq}"));
        // Every byte value, so nothing on the way treats the piece as text.
        writes.insert_archive_piece(
            id,
            seq,
            (0..=255u8).cycle().skip(seq as usize).take(3_000).collect(),
        );
    }
    writes.insert_chunk(ChunkTable::Failures, id, 1, "failures 1".into());
    writes.execute(&mut conn).await.expect("insert");
    let first = muster_store::read_chunks(&mut conn, ChunkTable::Changes, id, 0, 2)
        .await
        .expect("read");
    assert_eq!(
        first,
        [(1, "changes 1".to_owned()), (2, "changes 2".to_owned())]
    );
    let rest = muster_store::read_chunks(&mut conn, ChunkTable::Changes, id, 2, 10)
        .await
        .expect("read");
    assert_eq!(rest.len(), 3);
    assert_eq!(
        muster_store::read_chunks(&mut conn, ChunkTable::Failures, id, 0, 10)
            .await
            .expect("read")
            .len(),
        1
    );
    let pieces = muster_store::read_archive(&mut conn, id, 0, 10)
        .await
        .expect("archive");
    assert_eq!(pieces.len(), 5);
    assert_eq!(
        pieces[2].1,
        (0..=255u8).cycle().skip(3).take(3_000).collect::<Vec<u8>>()
    );
}

async fn a_savepoint_drops_only_what_came_after_it(store: &Store) {
    let mut tx = store.begin().await.expect("begin");
    let id = muster_store::insert_import(&mut tx, &new_import())
        .await
        .expect("insert");
    muster_store::savepoint(&mut tx, "import_data")
        .await
        .expect("savepoint");
    let mut data = PreparedWrites::new(store.backend());
    data.insert_users(vec![bare_user("alice")]);
    data.execute(&mut tx).await.expect("data");
    muster_store::rollback_to_savepoint(&mut tx, "import_data")
        .await
        .expect("rollback to");
    let mut history = PreparedWrites::new(store.backend());
    history.insert_chunk(ChunkTable::Failures, id, 1, "kept".into());
    history.execute(&mut tx).await.expect("history");
    tx.commit().await.expect("commit");
    let mut conn = store.acquire().await.expect("connection");
    assert!(muster_store::fetch_users(&mut conn, &["alice"])
        .await
        .expect("fetch")
        .is_empty());
    assert_eq!(
        muster_store::read_chunks(&mut conn, ChunkTable::Failures, id, 0, 10)
            .await
            .expect("read")
            .len(),
        1
    );
}

async fn references_are_counted_and_deletes_cascade(store: &Store) {
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(
        NamedKind::Department,
        &[named("sales", "Sales", "", 1), named("ops", "Ops", "", 1)],
    );
    writes.upsert_named(NamedKind::Group, &[named("staff", "Staff", "", 1)]);
    let users = ["a", "b"]
        .map(|k| muster_store::UserRecord {
            department_key: Some("sales".into()),
            ..bare_user(k)
        })
        .to_vec();
    writes.insert_users(users);
    writes.replace_memberships(
        Membership::Groups,
        vec![],
        vec![("a".into(), "staff".into()), ("b".into(), "staff".into())],
    );
    let mut conn = store.acquire().await.expect("connection");
    writes.execute(&mut conn).await.expect("setup");
    let departments =
        muster_store::reference_counts(&mut conn, CatalogTable::Departments, &["sales", "ops"])
            .await
            .expect("count");
    assert_eq!(departments, [("sales".to_owned(), 2)], "ops is unused");
    let mut delete = PreparedWrites::new(store.backend());
    delete.delete_users(vec!["a".into()], true);
    delete.execute(&mut conn).await.expect("delete");
    let groups = muster_store::reference_counts(&mut conn, CatalogTable::Groups, &["staff"])
        .await
        .expect("count");
    assert_eq!(
        groups,
        [("staff".to_owned(), 1)],
        "a's membership went with a"
    );
    let mut delete = PreparedWrites::new(store.backend());
    delete.delete_catalog(CatalogTable::Groups, vec!["staff".into()]);
    delete.execute(&mut conn).await.expect("delete group");
    assert!(muster_store::fetch_users(&mut conn, &["b"])
        .await
        .expect("fetch")[0]
        .group_keys
        .is_empty());
}

/// Only the holder renews its lease, and only while its job runs.
async fn a_lease_is_renewed_by_its_holder_only(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = insert_ended(&mut conn, JobStatus::Running).await;
    assert_eq!(record(&mut conn, id).await.lease, lease(HOLDER, 31_000));
    assert!(
        !muster_store::renew_lease(&mut conn, id, "other:2:2:ff", 5_000, (31_000, 35_000))
            .await
            .expect("renew")
    );
    assert!(
        muster_store::renew_lease(&mut conn, id, HOLDER, 5_000, (31_000, 35_000))
            .await
            .expect("renew")
    );
    let renewed = record(&mut conn, id).await.lease;
    assert_eq!((renewed.until, renewed.heartbeat_at), (35_000, 5_000));
    assert!(!renewed.expired(34_999) && renewed.expired(35_000));
    assert!(
        muster_store::finish_job(&mut conn, id, HOLDER, &outcome(JobStatus::Applied))
            .await
            .expect("finish")
    );
    assert!(
        !muster_store::renew_lease(&mut conn, id, HOLDER, 6_000, (35_000, 36_000))
            .await
            .expect("renew"),
        "an ended job has no lease to renew"
    );
}

/// A job whose lease expired is failed once, only under the lease the caller saw; its old
/// holder then learns at its next heartbeat that it lost the job, and cannot record an end.
async fn an_expired_lease_is_failed_once_and_its_holder_learns_it(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = insert_ended(&mut conn, JobStatus::Running).await;
    let seen = record(&mut conn, id).await.lease;
    let note = JobSummary::note("its holder is gone; nothing of it was applied");
    let stale = lease(HOLDER, seen.until - 1);
    assert!(
        !muster_store::fail_abandoned(&mut conn, id, &stale, "me:3:3:aa", 40_000, &note)
            .await
            .expect("fail"),
        "a lease renewed since it was read is not taken"
    );
    assert!(
        muster_store::fail_abandoned(&mut conn, id, &seen, "me:3:3:aa", 40_000, &note)
            .await
            .expect("fail")
    );
    assert!(
        !muster_store::fail_abandoned(&mut conn, id, &seen, "me:3:3:aa", 40_001, &note)
            .await
            .expect("fail"),
        "failed once"
    );
    let failed = record(&mut conn, id).await;
    assert_eq!(
        (failed.status, failed.finished_at, failed.summary),
        (JobStatus::Failed, Some(40_000), note)
    );
    assert_eq!(failed.lease.holder, "me:3:3:aa");
    assert!(
        !muster_store::renew_lease(&mut conn, id, HOLDER, 41_000, (seen.until, 71_000))
            .await
            .expect("renew"),
        "the old holder's heartbeat finds its lease taken"
    );
    assert!(
        !muster_store::finish_job(&mut conn, id, HOLDER, &outcome(JobStatus::Applied))
            .await
            .expect("finish"),
        "the old holder cannot record an end over the failure"
    );
    assert_eq!(record(&mut conn, id).await.status, JobStatus::Failed);
}

/// A stored preview is applied under a lease taken on its record: a second taker is refused
/// while the lease runs, and gets it once it expired; nobody takes it once it was applied.
async fn a_preview_lease_is_taken_while_free_only(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = insert_ended(&mut conn, JobStatus::DryRun).await;
    let preview = JobStatus::DryRun;
    let first = Lease {
        holder: "a:1:1:01".into(),
        until: 32_000,
        heartbeat_at: 2_000,
    };
    assert_eq!(
        muster_store::take_lease(&mut conn, id, preview, &first)
            .await
            .expect("take"),
        LeaseTake::Taken
    );
    let second = Lease {
        holder: "b:2:2:02".into(),
        until: 33_000,
        heartbeat_at: 3_000,
    };
    assert_eq!(
        muster_store::take_lease(&mut conn, id, preview, &second)
            .await
            .expect("take"),
        LeaseTake::Held(first.clone()),
        "the live holder is named"
    );
    assert!(
        muster_store::renew_lease(&mut conn, id, "a:1:1:01", 4_000, (32_000, 34_000))
            .await
            .expect("renew")
    );
    muster_store::release_lease(&mut conn, id, "a:1:1:01", 5_000)
        .await
        .expect("release");
    assert!(
        !muster_store::renew_lease(&mut conn, id, "a:1:1:01", 5_500, (34_000, 35_500))
            .await
            .expect("renew"),
        "a renewal that arrives after the lease was released (the record is still a preview, \
         under the same holder) finds it ended"
    );
    let later = Lease {
        heartbeat_at: 6_000,
        until: 36_000,
        ..second
    };
    assert_eq!(
        muster_store::take_lease(&mut conn, id, preview, &later)
            .await
            .expect("take"),
        LeaseTake::Taken,
        "a released lease is free"
    );
    let (from, to) = (JobStatus::DryRun, JobStatus::Applied);
    assert!(
        muster_store::claim_status(&mut conn, id, "b:2:2:02", from, to, 7_000)
            .await
            .expect("claim")
    );
    muster_store::release_lease(&mut conn, id, "b:2:2:02", 8_000)
        .await
        .expect("release");
    let after = Lease {
        holder: "c:3:3:03".into(),
        until: 39_000,
        heartbeat_at: 9_000,
    };
    assert_eq!(
        muster_store::take_lease(&mut conn, id, preview, &after)
            .await
            .expect("take"),
        LeaseTake::Moved(Some(JobStatus::Applied)),
        "an applied preview is not taken again"
    );
}

/// Rows written by earlier releases (before leases; options and summary as they wrote them)
/// read back as typed values.
async fn a_record_of_an_earlier_release_reads_back(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    insert_as_released_before(&mut conn).await;
    let old = record(&mut conn, 7).await;
    assert_eq!(
        (old.kind, old.status),
        (JobKind::Import, JobStatus::Applied)
    );
    let JobOptions::Import(options) = &old.options else {
        panic!("import options: {:?}", old.options);
    };
    assert!(options.partial && options.delimiter.as_deref() == Some(";"));
    let archive = old.summary.archive.as_ref().expect("archive");
    assert_eq!(archive.state, ArchiveState::Rewritten);
    assert_eq!(archive.encoding.as_deref(), Some("UTF-8"));
    assert_eq!(old.summary.departments_created, ["Sales"]);
    assert_eq!(old.summary.report["warning_count"], 0);
    assert_eq!(old.lease.holder, "", "no lease before the upgrade");
}

/// Inserts an `imports` row as release 0.x wrote it, leaving the lease columns to their defaults.
async fn insert_as_released_before(conn: &mut Connection) {
    let options = r#"{"entity":null,"dry_run":false,"partial":true,"create_only":false,"create_groups":false,"sheet":null,"delimiter":";","encoding":null}"#;
    let summary = r#"{"import_id":7,"status":"applied","departments_created":["Sales"],"groups_created":[],"warning_count":0,"warnings":[],"archive":{"state":"rewritten","blanked_cells":2,"note":"password and password-hash cells were blanked","compression":"deflate","delimiter":";","encoding":"UTF-8"}}"#;
    sqlx::query(
        &format!(
            "INSERT INTO imports (id, kind, actor, owner, started_at, file_name, file_size, sha256, options, status, summary) \
             VALUES (7, 'import', 'cli:old', 'old-host:9:9', 1000, 'old.csv', 1, 'aa', '{options}', 'applied', '{summary}')"
        ),
    )
    .execute(&mut *conn)
    .await
    .expect("old row");
}

crate::scenarios!(
    ids_follow_each_other_and_records_read_back,
    a_status_is_claimed_once,
    a_revert_claims_from_the_last_revert_only,
    chunks_and_archive_pieces_read_back_in_order,
    a_savepoint_drops_only_what_came_after_it,
    references_are_counted_and_deletes_cascade,
    a_lease_is_renewed_by_its_holder_only,
    an_expired_lease_is_failed_once_and_its_holder_learns_it,
    a_preview_lease_is_taken_while_free_only,
    a_record_of_an_earlier_release_reads_back,
);

/// Migration 4 on a database of an earlier release: its records take their owner as holder and
/// a lease that ended when they started, so a record left running then is failed as abandoned
/// by the first command after the upgrade.
#[test]
fn an_earlier_release_database_upgrades_its_records_to_leases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use sqlx::Connection as _;
        let file = dir.path().join("muster.db");
        let mut old = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .expect("old database");
        for script in [
            "CREATE TABLE muster_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            include_str!("../../migrations/0001_initial.sql"),
            include_str!("../../migrations/0002_import_history.sql"),
            "INSERT INTO muster_migrations (version, applied_at) VALUES (1, 0), (2, 0)",
            "INSERT INTO imports (id, kind, actor, owner, started_at, file_name, file_size, sha256, options, status, summary) \
             VALUES (1, 'import', 'cli:old', 'old-host:9:9', 1000, 'old.csv', 1, 'aa', '{}', 'running', '{}')",
        ] {
            sqlx::raw_sql(script).execute(&mut old).await.expect("old schema");
        }
        old.close().await.expect("close");
        let store = Store::open(&muster_store::DatabaseUrl::sqlite_in(dir.path()))
            .await
            .expect("upgrade");
        let mut conn = store.acquire().await.expect("connection");
        let upgraded = record(&mut conn, 1).await;
        assert_eq!(upgraded.lease, Lease { holder: "old-host:9:9".into(), until: 1000, heartbeat_at: 1000 });
        assert!(upgraded.lease.expired(1000));
        assert_eq!(upgraded.options, JobOptions::Import(ImportJobOptions::default()));
        assert_eq!(upgraded.summary, JobSummary::default());
    });
}
