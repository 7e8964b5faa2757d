//! One-time tokens in the sign-in database: a claim succeeds once and only before expiry, a
//! released claim can be made again, pending tokens are counted, and retiring keeps only the
//! used, unexpired ones.

use muster_store::one_time_tokens::{self as db, OneTimeTokenRow};
use muster_store::Store;

use crate::scenarios;

const NOW: i64 = 1_800_000_000_000;

fn token(hash: &str, purpose: &str, user: &str, expires_at: i64) -> OneTimeTokenRow {
    OneTimeTokenRow {
        token_hash: hash.into(),
        purpose: purpose.into(),
        user_id: user.into(),
        created_at: NOW,
        expires_at,
        used_at: None,
        created_by: "tester".into(),
    }
}

async fn a_token_is_claimed_once_before_it_expires(store: &Store) {
    let mut conn = store.acquire_signin().await.unwrap();
    db::insert_token(&mut conn, &token("h1", "reset", "u1", NOW + 1000))
        .await
        .unwrap();
    assert!(!db::claim_token(&mut conn, "h1", "invitation", NOW)
        .await
        .unwrap());
    assert!(!db::claim_token(&mut conn, "h1", "reset", NOW + 1000)
        .await
        .unwrap());
    assert!(db::claim_token(&mut conn, "h1", "reset", NOW)
        .await
        .unwrap());
    assert!(!db::claim_token(&mut conn, "h1", "reset", NOW)
        .await
        .unwrap());
    let stored = db::token_by_hash(&mut conn, "h1").await.unwrap().unwrap();
    assert_eq!(stored.used_at, Some(NOW));

    // Given back (what it was claimed for failed), it can be claimed again.
    db::release_token(&mut conn, "h1", NOW).await.unwrap();
    assert_eq!(
        db::token_by_hash(&mut conn, "h1")
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
    assert!(db::claim_token(&mut conn, "h1", "reset", NOW + 1)
        .await
        .unwrap());
    assert!(db::token_by_hash(&mut conn, "nope")
        .await
        .unwrap()
        .is_none());
}

async fn pending_tokens_are_counted_and_retired(store: &Store) {
    let mut tx = store.begin_signin().await.unwrap();
    for (hash, purpose, user, expires) in [
        ("a", "reset", "u1", NOW + 10),
        ("b", "reset", "u1", NOW + 10),
        ("c", "reset", "u1", NOW - 1),
        ("d", "invitation", "u1", NOW + 10),
        ("e", "reset", "u2", NOW + 10),
    ] {
        db::insert_token(&mut tx, &token(hash, purpose, user, expires))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut conn = store.acquire_signin().await.unwrap();
    assert_eq!(
        db::pending_tokens(&mut conn, "u1", "reset", NOW)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db::pending_tokens(&mut conn, "u1", "invitation", NOW)
            .await
            .unwrap(),
        1
    );
    assert!(db::claim_token(&mut conn, "a", "reset", NOW).await.unwrap());
    assert_eq!(
        db::pending_tokens(&mut conn, "u1", "reset", NOW)
            .await
            .unwrap(),
        1
    );

    // Retiring u1's tokens keeps the used, unexpired one and leaves u2's alone.
    assert_eq!(
        db::retire_user_tokens(&mut conn, "u1", NOW).await.unwrap(),
        3
    );
    assert!(db::token_by_hash(&mut conn, "a").await.unwrap().is_some());
    for gone in ["b", "c", "d"] {
        assert!(
            db::token_by_hash(&mut conn, gone).await.unwrap().is_none(),
            "{gone}"
        );
    }
    assert_eq!(
        db::delete_expired_tokens(&mut conn, "u2", NOW + 10)
            .await
            .unwrap(),
        1
    );
    assert!(db::delete_token(&mut conn, "a").await.unwrap());
    assert!(!db::delete_token(&mut conn, "a").await.unwrap());
}

scenarios!(
    a_token_is_claimed_once_before_it_expires,
    pending_tokens_are_counted_and_retired,
);
