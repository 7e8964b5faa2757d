//! refresh_statistics runs on both backends, on an empty store and after writes.

use muster_store::{Membership, PreparedWrites, Store};

use crate::support::{bare_user, commit, fetch};

async fn refresh_statistics_runs(store: &Store) {
    store.refresh_statistics().await.expect("on an empty store");
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users((0..50).map(|i| bare_user(&format!("stat{i:02}"))).collect());
    writes.replace_memberships(
        Membership::Roles,
        vec![],
        vec![("stat00".into(), "administrator".into())],
    );
    commit(store, writes).await;
    store.refresh_statistics().await.expect("after writes");
    assert_eq!(
        fetch(store, &["stat00"]).await[0].role_keys,
        ["administrator"]
    );
}

crate::scenarios!(refresh_statistics_runs);
