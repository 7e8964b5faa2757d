//! Stable identities: every record gets an immutable UUID when it is created, and the records
//! that existed before ids (the built-in administrator role, say) got one from the migration.

use muster_engine::directory::catalog::{create_role, NewRole};
use muster_store::Store;

use crate::scenarios;
use crate::support::operator;

fn is_uuid(id: &str, version: char) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with(version)
}

async fn new_and_migrated_records_have_uuids(store: &Store) {
    let role = NewRole {
        name: "Auditor".into(),
        description: None,
        permissions: vec!["audit.read".into()],
    };
    create_role(store, &operator(), &role)
        .await
        .expect("adding a role");
    let mut conn = store.acquire().await.expect("connection");
    let catalog = muster_store::load_catalog(&mut conn)
        .await
        .expect("catalog");
    let auditor = &catalog.roles["auditor"].named.id;
    let administrator = &catalog.roles["administrator"].named.id;
    assert!(
        is_uuid(auditor, '7'),
        "a new record's id is a UUIDv7: {auditor}"
    );
    assert!(
        is_uuid(administrator, '4'),
        "a migrated record's id is a UUIDv4: {administrator}"
    );
    assert_ne!(auditor, administrator);
}

scenarios!(new_and_migrated_records_have_uuids);
