//! The import history tables: ids in ledger order, a status claimed once, chunks and archive
//! pieces (binary, on both backends) read back in order, savepoints, reference counts.

use muster_store::{
    CatalogTable, ChunkTable, ImportOutcome, Membership, NamedKind, NewImport, PreparedWrites,
    Store,
};

use crate::support::{bare_user, named};

fn new_import(status: &str) -> NewImport {
    NewImport {
        kind: "import".into(),
        actor: "cli:test".into(),
        owner: "host:1:1".into(),
        started_at: 1_000,
        file_name: "users.csv".into(),
        file_size: 42,
        sha256: "ab".repeat(32),
        format: None,
        options: "{}".into(),
        status: status.into(),
        summary: "{}".into(),
        fixes_id: None,
        revert_of: None,
    }
}

async fn ids_follow_each_other_and_records_read_back(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let first = muster_store::insert_import(&mut conn, &new_import("running"))
        .await
        .expect("insert");
    let second = muster_store::insert_import(&mut conn, &new_import("running"))
        .await
        .expect("insert");
    assert_eq!((first, second), (1, 2));
    let mut finish = PreparedWrites::new(store.backend());
    let outcome = ImportOutcome {
        status: "applied".into(),
        finished_at: 2_000,
        format: Some("csv".into()),
        created: 3,
        updated: 4,
        unchanged: 5,
        failed: 6,
        summary: r#"{"x":1}"#.into(),
        fixes_id: Some(first),
    };
    finish.finish_import(second, &outcome);
    finish.execute(&mut conn).await.expect("finish");
    let record = muster_store::import_record(&mut conn, second)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (
            record.status.as_str(),
            record.created,
            record.failed,
            record.fixes_id
        ),
        ("applied", 3, 6, Some(first))
    );
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
        muster_store::imports_with_status(&mut conn, "running")
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
    let id = muster_store::insert_import(&mut conn, &new_import("dry_run"))
        .await
        .expect("insert");
    assert!(
        muster_store::claim_status(&mut conn, id, "dry_run", "applied", 5)
            .await
            .expect("claim")
    );
    assert!(
        !muster_store::claim_status(&mut conn, id, "dry_run", "applied", 6)
            .await
            .expect("claim")
    );
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (record.status.as_str(), record.applied_at),
        ("applied", Some(5))
    );
    assert!(
        muster_store::claim_revert(&mut conn, id, "applied", None, "reverted", 9)
            .await
            .expect("claim")
    );
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (record.status.as_str(), record.reverted_by),
        ("reverted", Some(9))
    );
}

/// A revert claims an import only in the status it read and from the revert it read last, so
/// two reverts of a partly reverted import cannot both walk the same leftovers.
async fn a_revert_claims_from_the_last_revert_only(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = muster_store::insert_import(&mut conn, &new_import("applied"))
        .await
        .expect("insert");
    assert!(
        muster_store::claim_revert(&mut conn, id, "applied", None, "partly_reverted", 8)
            .await
            .expect("claim")
    );
    assert!(
        !muster_store::claim_revert(&mut conn, id, "applied", None, "reverted", 9)
            .await
            .expect("claim")
    );
    assert!(
        !muster_store::claim_revert(&mut conn, id, "partly_reverted", Some(7), "reverted", 9)
            .await
            .expect("claim")
    );
    assert!(
        muster_store::claim_revert(&mut conn, id, "partly_reverted", Some(8), "reverted", 9)
            .await
            .expect("claim")
    );
    let record = muster_store::import_record(&mut conn, id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (record.status.as_str(), record.reverted_by),
        ("reverted", Some(9))
    );
}

async fn chunks_and_archive_pieces_read_back_in_order(store: &Store) {
    let mut conn = store.acquire().await.expect("connection");
    let id = muster_store::insert_import(&mut conn, &new_import("running"))
        .await
        .expect("insert");
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
    let id = muster_store::insert_import(&mut tx, &new_import("running"))
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
    delete.delete_users(vec!["a".into()]);
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

crate::scenarios!(
    ids_follow_each_other_and_records_read_back,
    a_status_is_claimed_once,
    a_revert_claims_from_the_last_revert_only,
    chunks_and_archive_pieces_read_back_in_order,
    a_savepoint_drops_only_what_came_after_it,
    references_are_counted_and_deletes_cascade,
);
