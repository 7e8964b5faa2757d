//! What the department, group and role scenarios share: users imported from a small CSV,
//! actors of chosen permissions, and the audit entries of an action.

use muster_domain::Permission;
use muster_engine::directory::catalog::{self, NewEntry, NewRole};
use muster_engine::{
    import_file, list_audit, Actor, AuditQuery, AuditRecord, Context, ImportOptions, ImportSource,
    Source,
};
use muster_store::{Store, UserRecord};

use crate::support::{context, operator};

/// Imports users from CSV text (header `Username,Name,Department,Roles,User group`); departments
/// are created as the importer does, roles and groups must exist.
pub async fn import_users(store: &Store, csv: &str) {
    let source = ImportSource::read("users.csv", csv.as_bytes()).expect("spooling the CSV");
    let report = import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("importing users");
    assert!(!report.has_failures(), "{:?}", report.errors);
}

pub async fn user(store: &Store, username: &str) -> UserRecord {
    let mut conn = store.acquire().await.expect("connection");
    muster_store::fetch_users(&mut conn, &[username])
        .await
        .expect("reading a user")
        .pop()
        .unwrap_or_else(|| panic!("no user {username}"))
}

/// A user of the API holding exactly `permissions`, not in the directory.
pub fn actor(permissions: &[Permission]) -> Context {
    context(Actor::user(
        "00000000-0000-7000-8000-000000000000",
        "api-client",
        "api-client",
        Source::Api,
        permissions.iter().copied(),
    ))
}

/// The directory's user `username` acting with exactly `permissions`.
pub async fn user_actor(store: &Store, username: &str, permissions: &[Permission]) -> Context {
    let u = user(store, username).await;
    context(Actor::user(
        u.id,
        u.username_key,
        u.username,
        Source::Console,
        permissions.iter().copied(),
    ))
}

/// The audit entries of `action`, newest first.
pub async fn audit(store: &Store, action: &str) -> Vec<AuditRecord> {
    let query = AuditQuery {
        action: Some(action.to_owned()),
        limit: 100,
        ..AuditQuery::default()
    };
    list_audit(store, &operator(), &query)
        .await
        .expect("reading the audit log")
}

pub fn entry(name: &str) -> NewEntry {
    NewEntry {
        name: name.to_owned(),
        description: None,
    }
}

pub async fn role(store: &Store, name: &str, permissions: &[&str]) -> catalog::RoleView {
    let new = NewRole {
        name: name.to_owned(),
        description: None,
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    };
    catalog::create_role(store, &operator(), &new)
        .await
        .expect("creating a role")
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
