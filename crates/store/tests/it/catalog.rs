//! Departments, groups and roles written with PreparedWrites and read back with load_catalog.

use muster_store::{Backend, NamedKind, NamedRecord, PreparedWrites, RoleRecord, Store};

use crate::support::{catalog as load, commit, named, role};

async fn named_records_round_trip_and_update(store: &Store) {
    let departments = [
        named("sales", "Sales", "Sells things", 10),
        named("r&d", "R&D", "", 11),
        named("près", "Près", "Ünïcode", 12),
    ];
    let groups = [
        named(
            "sales",
            "Sales group",
            "Same key as a department, another table",
            13,
        ),
        named("vpn", "VPN", "", 14),
    ];
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(NamedKind::Department, &departments);
    writes.upsert_named(NamedKind::Group, &groups);
    commit(store, writes).await;

    let catalog = load(store).await;
    assert_eq!(
        catalog.departments.values().cloned().collect::<Vec<_>>(),
        sorted(&departments)
    );
    assert_eq!(
        catalog.groups.values().cloned().collect::<Vec<_>>(),
        sorted(&groups)
    );
    assert_eq!(
        catalog.departments["près"], departments[2],
        "keyed by name key"
    );

    // An upsert changes name, description and updated_at, keeps created_at, adds the new ones.
    let renamed = NamedRecord {
        name: "SALES".into(),
        description: "".into(),
        created_at: 99,
        updated_at: 20,
        ..departments[0].clone()
    };
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(
        NamedKind::Department,
        &[renamed.clone(), named("hr", "HR", "People", 21)],
    );
    commit(store, writes).await;
    let catalog = load(store).await;
    assert_eq!(catalog.departments.len(), 4);
    assert_eq!(
        catalog.departments["sales"],
        NamedRecord {
            created_at: 10,
            ..renamed
        }
    );
    assert_eq!(catalog.departments["hr"], named("hr", "HR", "People", 21));
    assert_eq!(catalog.departments["r&d"], departments[1], "untouched");
    assert_eq!(
        catalog.groups["sales"], groups[0],
        "the group of the same key is another record"
    );
    assert_eq!(catalog.roles.len(), 1);
}

fn sorted(records: &[NamedRecord]) -> Vec<NamedRecord> {
    let mut records = records.to_vec();
    records.sort_by(|a, b| a.name_key.cmp(&b.name_key));
    records
}

async fn many_groups_span_statements(store: &Store) {
    let groups: Vec<NamedRecord> = (0..2_500)
        .map(|i| named(&format!("g{i:04}"), &format!("G{i:04}"), "", i))
        .collect();
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(NamedKind::Group, &groups);
    commit(store, writes).await;
    let catalog = load(store).await;
    assert_eq!(catalog.groups.values().cloned().collect::<Vec<_>>(), groups);
}

async fn roles_replace_their_permissions(store: &Store) {
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_roles(&[
        role("viewer", &["users.read", "groups.read"], 1),
        role("editor", &["users.write", "users.read"], 2),
        role("nobody", &[], 3),
    ]);
    commit(store, writes).await;
    let catalog = load(store).await;
    assert_eq!(
        catalog.roles.keys().collect::<Vec<_>>(),
        ["administrator", "editor", "nobody", "viewer"]
    );
    assert_eq!(
        catalog.roles["viewer"],
        role("viewer", &["groups.read", "users.read"], 1),
        "permissions sorted"
    );
    assert_eq!(
        catalog.roles["editor"].permissions,
        ["users.read", "users.write"]
    );
    assert!(catalog.roles["nobody"].permissions.is_empty());
    assert_eq!(catalog.roles["administrator"].permissions.len(), 15);

    // The second upsert replaces the sets: nothing of the old set survives unless listed again.
    let viewer = RoleRecord {
        named: NamedRecord {
            name: "Viewer".into(),
            description: "Reads".into(),
            created_at: 50,
            updated_at: 5,
            ..role("viewer", &[], 1).named
        },
        permissions: vec!["users.export".into()],
    };
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_roles(&[
        viewer.clone(),
        role("editor", &[], 6),
        role("nobody", &["audit.read", "tokens.manage"], 7),
    ]);
    commit(store, writes).await;
    let catalog = load(store).await;
    assert_eq!(catalog.roles.len(), 4);
    assert_eq!(catalog.roles["viewer"].permissions, ["users.export"]);
    assert_eq!(
        catalog.roles["viewer"].named,
        NamedRecord {
            created_at: 1,
            ..viewer.named
        }
    );
    assert!(
        catalog.roles["editor"].permissions.is_empty(),
        "{:?}",
        catalog.roles["editor"]
    );
    assert_eq!(catalog.roles["editor"].named.updated_at, 6);
    assert_eq!(
        catalog.roles["nobody"].permissions,
        ["audit.read", "tokens.manage"]
    );
    assert_eq!(
        catalog.roles["administrator"].permissions.len(),
        15,
        "roles not listed are untouched"
    );

    // The same upsert twice is idempotent (no duplicate grants).
    for _ in 0..2 {
        let mut writes = PreparedWrites::new(store.backend());
        writes.upsert_roles(&[role("editor", &["users.read", "users.write"], 8)]);
        commit(store, writes).await;
    }
    assert_eq!(
        load(store).await.roles["editor"].permissions,
        ["users.read", "users.write"]
    );
}

async fn store_reports_its_backend(store: &Store) {
    // The macro runs each scenario once per backend; the store must say which it is.
    let name = store
        .acquire()
        .await
        .expect("acquire")
        .backend_name()
        .to_lowercase();
    let expected = if name.contains("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    assert_eq!(store.backend(), expected, "backend name {name}");
}

crate::scenarios!(
    named_records_round_trip_and_update,
    many_groups_span_statements,
    roles_replace_their_permissions,
    store_reports_its_backend,
);
