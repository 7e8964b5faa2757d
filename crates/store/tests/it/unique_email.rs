//! E-mail keys are unique; email_owners says who holds one.

use muster_store::{email_owners, PreparedWrites, Store, UserRecord};

use crate::support::{bare_user, commit, fetch};

fn with_email(key: &str, email_key: &str) -> UserRecord {
    UserRecord {
        email: Some(email_key.to_uppercase()),
        email_key: Some(email_key.into()),
        ..bare_user(key)
    }
}

async fn duplicate_email_in_one_batch_fails_and_stores_nothing(store: &Store) {
    // The same e-mail key twice in one statement.
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users(vec![
        with_email("ann", "same@example.org"),
        with_email("ben", "same@example.org"),
    ]);
    let mut tx = store.begin().await.expect("begin");
    let result = writes.execute(&mut tx).await;
    assert!(result.is_err(), "a duplicate e-mail key must fail");
    tx.rollback().await.expect("rollback");
    assert!(fetch(store, &["ann", "ben"]).await.is_empty());

    // In two statements of one execute: the first succeeded, the rollback removes it too.
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users(vec![
        with_email("ann", "same@example.org"),
        bare_user("cid"),
    ]);
    writes.insert_users(vec![with_email("ben", "same@example.org")]);
    let mut tx = store.begin().await.expect("begin");
    let err = writes
        .execute(&mut tx)
        .await
        .expect_err("a duplicate e-mail key must fail");
    assert!(matches!(err, muster_store::StoreError::Sql(_)), "{err:?}");
    tx.rollback().await.expect("rollback");
    assert!(fetch(store, &["ann", "ben", "cid"]).await.is_empty());
    let mut conn = store.acquire().await.expect("acquire");
    assert!(email_owners(&mut conn, &["same@example.org"])
        .await
        .expect("email_owners")
        .is_empty());
}

async fn duplicate_email_against_a_stored_user_fails(store: &Store) {
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users(vec![with_email("ann", "ann@example.org")]);
    commit(store, writes).await;

    for via_upsert in [false, true] {
        let mut writes = PreparedWrites::new(store.backend());
        if via_upsert {
            writes.upsert_users(vec![with_email("ben", "ann@example.org")]);
        } else {
            writes.insert_users(vec![with_email("ben", "ann@example.org")]);
        }
        let mut tx = store.begin().await.expect("begin");
        assert!(
            writes.execute(&mut tx).await.is_err(),
            "upsert: {via_upsert}"
        );
        tx.rollback().await.expect("rollback");
    }
    assert_eq!(
        fetch(store, &["ann", "ben"]).await,
        [with_email("ann", "ann@example.org")]
    );

    // Users without an e-mail never conflict with each other (NULL is not a value).
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users(vec![bare_user("x1"), bare_user("x2"), bare_user("x3")]);
    commit(store, writes).await;
    assert_eq!(fetch(store, &["x1", "x2", "x3"]).await.len(), 3);
}

async fn email_owners_maps_keys_to_users(store: &Store) {
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users(vec![
        with_email("ann", "ann@example.org"),
        with_email("zoë", "zoë@exämple.org"),
        bare_user("nomail"),
    ]);
    commit(store, writes).await;

    let mut conn = store.acquire().await.expect("acquire");
    let owners = email_owners(
        &mut conn,
        &[
            "ann@example.org",
            "zoë@exämple.org",
            "ANN@EXAMPLE.ORG",
            "nobody@example.org",
        ],
    )
    .await
    .expect("email_owners");
    assert_eq!(owners.len(), 2, "{owners:?}");
    assert_eq!(owners["ann@example.org"], "ann");
    assert_eq!(owners["zoë@exämple.org"], "zoë");
    assert!(email_owners(&mut conn, &[])
        .await
        .expect("no keys")
        .is_empty());
    drop(conn);

    // Moving an e-mail from one user to another in one transaction: clear it, then give it.
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_users(vec![bare_user("ann")]);
    writes.upsert_users(vec![with_email("nomail", "ann@example.org")]);
    commit(store, writes).await;
    let mut conn = store.acquire().await.expect("acquire");
    let owners = email_owners(&mut conn, &["ann@example.org"])
        .await
        .expect("email_owners");
    assert_eq!(owners["ann@example.org"], "nomail");
}

crate::scenarios!(
    duplicate_email_in_one_batch_fails_and_stores_nothing,
    duplicate_email_against_a_stored_user_fails,
    email_owners_maps_keys_to_users,
);
