//! The store's test support: the shared harness (`harness.rs`) and builders for records.

use muster_store::{NamedRecord, RoleRecord, Store, UserRecord};

#[path = "harness.rs"]
mod harness;
pub use harness::*;

/// A user with only the required fields set.
pub fn bare_user(key: &str) -> UserRecord {
    UserRecord {
        id: format!("user-{key}"),
        username_key: key.to_owned(),
        username: key.to_owned(),
        name: format!("Name of {key}"),
        email: None,
        email_key: None,
        phone: None,
        department_key: None,
        active: true,
        ignore_mfa: false,
        locale: None,
        timezone: None,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${key}"),
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
        last_login_at: None,
        role_keys: Vec::new(),
        group_keys: Vec::new(),
    }
}

pub fn named(key: &str, name: &str, description: &str, at: i64) -> NamedRecord {
    NamedRecord {
        id: format!("named-{key}"),
        name_key: key.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        created_at: at,
        updated_at: at,
    }
}

pub fn role(key: &str, permissions: &[&str], at: i64) -> RoleRecord {
    RoleRecord {
        named: named(key, key, &format!("Role {key}"), at),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// Runs `writes` in a transaction and commits it.
pub async fn commit(store: &Store, writes: muster_store::PreparedWrites) {
    let mut tx = store.begin().await.expect("begin");
    writes.execute(&mut tx).await.expect("executing the writes");
    tx.commit().await.expect("commit");
}

/// Fetches users by key on a pooled connection, sorted by key.
pub async fn fetch(store: &Store, keys: &[&str]) -> Vec<UserRecord> {
    let mut conn = store.acquire().await.expect("acquire");
    let mut users = muster_store::fetch_users(&mut conn, keys)
        .await
        .expect("fetch_users");
    users.sort_by(|a, b| a.username_key.cmp(&b.username_key));
    users
}

pub async fn catalog(store: &Store) -> muster_store::Catalog {
    let mut conn = store.acquire().await.expect("acquire");
    muster_store::load_catalog(&mut conn)
        .await
        .expect("load_catalog")
}
