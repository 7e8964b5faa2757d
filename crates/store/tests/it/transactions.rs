//! A transaction that does not commit leaves nothing behind, and on SQLite one begun for
//! writing holds the database's write lock from its start.

use muster_store::{Membership, NamedKind, PreparedWrites, Store};

use crate::support::{bare_user, catalog, fetch, named, on_sqlite, role};

fn everything(store: &Store) -> PreparedWrites {
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(NamedKind::Department, &[named("sales", "Sales", "", 1)]);
    writes.upsert_named(NamedKind::Group, &[named("staff", "Staff", "", 1)]);
    writes.upsert_roles(&[
        role("viewer", &["users.read"], 1),
        role("administrator", &["users.read"], 2),
    ]);
    let users = (0..3_000)
        .map(|i| muster_store::UserRecord {
            department_key: Some("sales".into()),
            ..bare_user(&format!("r{i:04}"))
        })
        .collect();
    writes.insert_users(users);
    writes.replace_memberships(
        Membership::Roles,
        vec![],
        vec![("r0000".into(), "viewer".into())],
    );
    writes.replace_memberships(
        Membership::Groups,
        vec![],
        vec![("r0001".into(), "staff".into())],
    );
    writes
}

async fn assert_untouched(store: &Store) {
    assert!(fetch(store, &["r0000", "r0001", "r2999"]).await.is_empty());
    let catalog = catalog(store).await;
    assert!(catalog.departments.is_empty() && catalog.groups.is_empty());
    assert_eq!(catalog.roles.keys().collect::<Vec<_>>(), ["administrator"]);
    assert_eq!(
        catalog.roles["administrator"].permissions.len(),
        15,
        "the built-in role kept its grants"
    );
}

async fn rolled_back_transaction_leaves_nothing(store: &Store) {
    let mut tx = store.begin().await.expect("begin");
    everything(store).execute(&mut tx).await.expect("execute");
    // Inside the transaction the writes are visible…
    assert_eq!(
        muster_store::fetch_users(&mut tx, &["r0000", "r2999"])
            .await
            .expect("fetch")
            .len(),
        2
    );
    tx.rollback().await.expect("rollback");
    // …and after the rollback they are gone.
    assert_untouched(store).await;
}

async fn dropped_transaction_leaves_nothing(store: &Store) {
    let mut tx = store.begin().await.expect("begin");
    everything(store).execute(&mut tx).await.expect("execute");
    drop(tx);
    assert_untouched(store).await;
}

async fn committed_transaction_keeps_everything(store: &Store) {
    let mut tx = store.begin().await.expect("begin");
    everything(store).execute(&mut tx).await.expect("execute");
    tx.commit().await.expect("commit");
    assert_eq!(fetch(store, &["r0000", "r0001", "r2999"]).await.len(), 3);
    assert_eq!(fetch(store, &["r0000"]).await[0].role_keys, ["viewer"]);
    assert_eq!(fetch(store, &["r0001"]).await[0].group_keys, ["staff"]);
}

crate::scenarios!(
    rolled_back_transaction_leaves_nothing,
    dropped_transaction_leaves_nothing,
    committed_transaction_keeps_everything,
);

/// One department, written by a connection that gives up at once when another writer holds
/// SQLite's write lock.
async fn write_briefly(store: &Store) -> Result<(), muster_store::StoreError> {
    let mut conn = store.acquire_briefly().await.expect("connection");
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(NamedKind::Department, &[named("ops", "Ops", "", 1)]);
    writes.execute(&mut conn).await
}

/// A transaction begun for writing holds SQLite's write lock before its first statement, so a
/// job that reads before it writes waits for the lock at its start instead of failing later.
async fn a_writing_transaction_holds_the_database_from_its_start(store: &Store) {
    let tx = store.begin_writing().await.expect("begin");
    let refused = write_briefly(store).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.is_busy()),
        "another writer waits: {refused:?}"
    );
    tx.rollback().await.expect("rollback");
    write_briefly(store).await.expect("the lock is free again");
}

#[test]
fn a_writing_transaction_holds_the_database_from_its_start_on_sqlite() {
    on_sqlite(|store| async move {
        a_writing_transaction_holds_the_database_from_its_start(&store).await
    });
}
