//! Departments one at a time: reads and pages, partial updates against a version, renames that
//! keep the users, deletes that refuse or remove the references, and refusals recorded.

use muster_domain::Permission;
use muster_engine::directory::catalog::{self, CatalogQuery, EntryPatch, NewEntry, References};
use muster_engine::directory::Expected;
use muster_engine::{Conflict, Error, ErrorKind, Invalid, Refusal};
use muster_store::Store;

use crate::catalog_fixtures::{actor, audit, entry, import_users, user};
use crate::scenarios;
use crate::support::operator;

async fn departments_are_read_found_and_listed_in_pages(store: &Store) {
    let ctx = operator();
    let mut ids = Vec::new();
    for name in ["Sales", "Support", "Finance", "Legal", "Research"] {
        ids.push(
            catalog::create_department(store, &ctx, &entry(name))
                .await
                .expect("create")
                .id,
        );
    }
    let got = catalog::get_department(store, &ctx, &ids[0])
        .await
        .expect("get");
    assert_eq!((got.name.as_str(), got.version, got.users), ("Sales", 1, 0));
    let found = catalog::find_department(store, &ctx, "  SALES ")
        .await
        .expect("find");
    assert_eq!(found, got);
    let missing = catalog::find_department(store, &ctx, "Nowhere")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    let mut names = Vec::new();
    let mut query = CatalogQuery {
        limit: 2,
        ..CatalogQuery::default()
    };
    loop {
        let page = catalog::list_departments(store, &ctx, &query)
            .await
            .expect("page");
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|d| d.name));
        match page.next {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(names, ["Finance", "Legal", "Research", "Sales", "Support"]);
    let search = CatalogQuery {
        search: Some("S".into()),
        limit: 500,
        ..CatalogQuery::default()
    };
    let matched: Vec<String> = catalog::list_departments(store, &ctx, &search)
        .await
        .expect("search")
        .items
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(matched, ["Research", "Sales", "Support"]);
    let bad_cursor = CatalogQuery {
        cursor: Some("not hex".into()),
        limit: 10,
        ..CatalogQuery::default()
    };
    let e = catalog::list_departments(store, &ctx, &bad_cursor)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);

    import_users(
        store,
        "Username,Name,Department\nann,Ann,Sales\nbob,Bob,sales\n",
    )
    .await;
    let sales = catalog::get_department(store, &ctx, &ids[0])
        .await
        .expect("get");
    assert_eq!(sales.users, 2);
}

async fn bad_input_names_every_field_and_a_taken_name_is_a_conflict(store: &Store) {
    let ctx = operator();
    let bad = NewEntry {
        name: "North, South".into(),
        description: Some("bell\u{7}".into()),
    };
    let Error::Invalid(Invalid::Fields(problems)) = catalog::create_department(store, &ctx, &bad)
        .await
        .unwrap_err()
    else {
        panic!("expected Invalid");
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["name", "description"]);
    catalog::create_department(store, &ctx, &entry("Sales"))
        .await
        .expect("create");
    let taken = catalog::create_department(store, &ctx, &entry("SALES"))
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict, "{taken}");
}

async fn a_stale_update_is_refused_and_nothing_is_lost(store: &Store) {
    let ctx = operator();
    let created = catalog::create_department(store, &ctx, &entry("Sales"))
        .await
        .expect("create");
    let first = EntryPatch {
        description: Some("Sells things".into()),
    };
    let updated = catalog::update_department(store, &ctx, &created.id, Expected(1), &first)
        .await
        .expect("update");
    assert_eq!(
        (updated.version, updated.description.as_str()),
        (2, "Sells things")
    );
    let late = EntryPatch {
        description: Some("Overwrites".into()),
    };
    let e = catalog::update_department(store, &ctx, &created.id, Expected(1), &late)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Conflict(Conflict::Stale {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let now = catalog::get_department(store, &ctx, &created.id)
        .await
        .expect("get");
    assert_eq!((now.version, now.description.as_str()), (2, "Sells things"));
    let entries = audit(store, "department.update").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].changes[0].field, "description");
    assert_eq!(entries[0].changes[0].before.as_deref(), Some(""));
    assert_eq!(entries[0].changes[0].after.as_deref(), Some("Sells things"));
}

async fn a_rename_keeps_the_users_and_a_taken_name_is_a_conflict(store: &Store) {
    let ctx = operator();
    let sales = catalog::create_department(store, &ctx, &entry("Sales"))
        .await
        .expect("create");
    catalog::create_department(store, &ctx, &entry("Support"))
        .await
        .expect("create");
    import_users(store, "Username,Name,Department\nann,Ann,Sales\n").await;
    let renamed = catalog::rename_department(store, &ctx, &sales.id, Expected(1), "Field Sales")
        .await
        .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.version, renamed.users),
        ("Field Sales", 2, 1)
    );
    assert_eq!(
        user(store, "ann").await.department_key.as_deref(),
        Some("field sales")
    );
    assert!(catalog::find_department(store, &ctx, "sales")
        .await
        .is_err());
    let taken = catalog::rename_department(store, &ctx, &sales.id, Expected(2), "support")
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict, "{taken}");
    let entries = audit(store, "department.rename").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_id.as_deref(), Some(sales.id.as_str()));
    assert_eq!(entries[0].changes[0].before.as_deref(), Some("Sales"));
    assert_eq!(entries[0].changes[0].after.as_deref(), Some("Field Sales"));
}

async fn a_department_with_users_is_deleted_only_with_its_references(store: &Store) {
    let ctx = operator();
    let sales = catalog::create_department(store, &ctx, &entry("Sales"))
        .await
        .expect("create");
    import_users(
        store,
        "Username,Name,Department\nann,Ann,Sales\nbob,Bob,Sales\n",
    )
    .await;
    let e = catalog::delete_department(store, &ctx, &sales.id, Expected(1), References::Refuse)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("2 users"), "{e}");
    assert!(catalog::get_department(store, &ctx, &sales.id)
        .await
        .is_ok());
    catalog::delete_department(store, &ctx, &sales.id, Expected(1), References::Remove)
        .await
        .expect("delete");
    let gone = catalog::get_department(store, &ctx, &sales.id)
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert_eq!(user(store, "ann").await.department_key, None);
    let entries = audit(store, "department.delete").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_name, "Sales");
    assert!(entries[0].changes.iter().any(|c| c.field == "references"));
}

async fn a_reader_cannot_change_departments_and_the_refusal_is_recorded(store: &Store) {
    let sales = catalog::create_department(store, &operator(), &entry("Sales"))
        .await
        .expect("create");
    let reader = actor(&[Permission::DepartmentsRead]);
    assert!(catalog::get_department(store, &reader, &sales.id)
        .await
        .is_ok());
    let patch = EntryPatch {
        description: Some("x".into()),
    };
    let e = catalog::update_department(store, &reader, &sales.id, Expected(1), &patch)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Forbidden(Refusal::Lacks {
                permission: Permission::DepartmentsWrite,
                ..
            })
        ),
        "{e}"
    );
    let refused = audit(store, "department.update").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].outcome, "refused");
    assert_eq!(refused[0].target_name, "Sales");
    let nobody = actor(&[]);
    let e = catalog::list_departments(store, &nobody, &CatalogQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden);
    let untouched = catalog::get_department(store, &operator(), &sales.id)
        .await
        .expect("get");
    assert_eq!((untouched.version, untouched.description.as_str()), (1, ""));
}

scenarios!(
    departments_are_read_found_and_listed_in_pages,
    bad_input_names_every_field_and_a_taken_name_is_a_conflict,
    a_stale_update_is_refused_and_nothing_is_lost,
    a_rename_keeps_the_users_and_a_taken_name_is_a_conflict,
    a_department_with_users_is_deleted_only_with_its_references,
    a_reader_cannot_change_departments_and_the_refusal_is_recorded,
);
