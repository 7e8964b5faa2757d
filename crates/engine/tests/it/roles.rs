//! Roles one at a time: permissions shown with their descriptions, no role created or widened
//! beyond the actor, the built-in administrator role protected, renames that keep holders and
//! the groups giving the role, and deletes that refuse or take the role away.

use muster_domain::Permission;
use muster_engine::directory::catalog::{self, CatalogQuery, NewRole, References, RolePatch};
use muster_engine::directory::Expected;
use muster_engine::{Conflict, Error, ErrorKind, Invalid, Refusal};
use muster_store::Store;

use crate::catalog_fixtures::{actor, audit, entry, import_users, role, strings, user};
use crate::scenarios;
use crate::support::operator;

fn new_role(name: &str, permissions: &[&str]) -> NewRole {
    NewRole {
        name: name.to_owned(),
        description: Some("A role".into()),
        permissions: strings(permissions),
    }
}

fn permissions(patch: &[&str]) -> RolePatch {
    RolePatch {
        description: None,
        permissions: Some(strings(patch)),
    }
}

async fn roles_show_their_permissions_in_catalog_order(store: &Store) {
    let ctx = operator();
    let created = catalog::create_role(
        store,
        &ctx,
        &new_role("Helpdesk", &["users.write", "GROUPS.read users.read"]),
    )
    .await
    .expect("create");
    let codes: Vec<&str> = created.permissions.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["users.read", "users.write", "groups.read"]);
    assert_eq!(
        created.permissions[0].description,
        Permission::UsersRead.description()
    );
    assert!(!created.builtin);
    let got = catalog::get_role(store, &ctx, &created.id)
        .await
        .expect("get");
    assert_eq!(got, created);
    let admin = catalog::find_role(store, &ctx, "Administrator")
        .await
        .expect("find");
    assert!(admin.builtin);
    assert_eq!(admin.permissions.len(), Permission::ALL.len());
    let page = catalog::list_roles(
        store,
        &ctx,
        &CatalogQuery {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(page.items[0].name, "administrator");
    assert!(page.next.is_some());
    let bad = catalog::create_role(
        store,
        &ctx,
        &new_role("Odd", &["user.read", "launch.missiles"]),
    )
    .await
    .unwrap_err();
    let Error::Invalid(Invalid::Fields(problems)) = &bad else {
        panic!("expected Invalid, got {bad}");
    };
    assert_eq!(problems.len(), 2);
    assert!(problems[0].message.contains("users.read"), "{problems:?}");
    let entries = audit(store, "role.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].changes.last().and_then(|c| c.after.as_deref()),
        Some("groups.read, users.read, users.write")
    );
}

async fn creating_or_widening_a_role_beyond_the_actor_is_refused(store: &Store) {
    let manager = actor(&[
        Permission::RolesWrite,
        Permission::RolesRead,
        Permission::UsersRead,
    ]);
    let e = catalog::create_role(
        store,
        &manager,
        &new_role("Writers", &["users.read", "users.write"]),
    )
    .await
    .unwrap_err();
    let Error::Forbidden(Refusal::Escalation(escalation)) = &e else {
        panic!("expected an escalation, got {e}");
    };
    assert_eq!(escalation.lacking, [Permission::UsersWrite]);
    assert_eq!(
        catalog::find_role(store, &manager, "Writers")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let readers = catalog::create_role(store, &manager, &new_role("Readers", &["users.read"]))
        .await
        .expect("a role within the actor's permissions");
    // Users hold it now: widening it would grant them the new permission.
    import_users(store, "Username,Name,Roles\nann,Ann,Readers\n").await;
    let e = catalog::update_role(
        store,
        &manager,
        &readers.id,
        Expected(1),
        &permissions(&["users.read", "tokens.manage"]),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Forbidden(Refusal::Escalation(_))), "{e}");
    let kept = catalog::get_role(store, &manager, &readers.id)
        .await
        .expect("get");
    assert_eq!((kept.version, kept.permissions.len()), (1, 1));
    // Narrowing is no escalation, even of a permission the actor lacks.
    let wide = role(store, "Wide", &["users.read", "tokens.manage"]).await;
    let narrowed = catalog::update_role(
        store,
        &manager,
        &wide.id,
        Expected(1),
        &permissions(&["users.read"]),
    )
    .await
    .expect("narrowing");
    assert_eq!(narrowed.permissions.len(), 1);
    let refused: Vec<String> = [
        audit(store, "role.create").await,
        audit(store, "role.update").await,
    ]
    .concat()
    .into_iter()
    .filter(|e| e.outcome == "refused")
    .map(|e| e.target_name)
    .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    let reader = actor(&[Permission::RolesRead]);
    let e = catalog::update_role(store, &reader, &wide.id, Expected(2), &permissions(&[]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Forbidden(Refusal::Lacks {
                permission: Permission::RolesWrite,
                ..
            })
        ),
        "{e}"
    );
    let e = catalog::get_role(store, &actor(&[]), &wide.id)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden);
}

async fn the_administrator_role_is_protected(store: &Store) {
    let ctx = operator();
    let admin = catalog::find_role(store, &ctx, "administrator")
        .await
        .expect("find");
    let v = Expected(admin.version);
    let e = catalog::rename_role(store, &ctx, &admin.id, v, "Root")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    let e = catalog::delete_role(store, &ctx, &admin.id, v, References::Remove)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let e = catalog::update_role(store, &ctx, &admin.id, v, &permissions(&["users.read"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    let patch = RolePatch {
        description: Some("Everything".into()),
        permissions: None,
    };
    let e = catalog::update_role(store, &ctx, &admin.id, v, &patch)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    // Giving it what it already holds changes nothing and is no error.
    let same = catalog::get_role(store, &ctx, &admin.id)
        .await
        .expect("read");
    let codes: Vec<String> = Permission::ALL
        .iter()
        .map(|p| p.code().to_owned())
        .collect();
    let unchanged = RolePatch {
        description: None,
        permissions: Some(codes),
    };
    let kept = catalog::update_role(store, &ctx, &admin.id, v, &unchanged)
        .await
        .expect("an unchanged role");
    assert_eq!(kept.version, same.version);
}

async fn a_rename_keeps_holders_and_the_groups_that_give_it(store: &Store) {
    let ctx = operator();
    let readers = role(store, "Readers", &["users.read"]).await;
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("group");
    catalog::set_group_roles(store, &ctx, &ops.id, Expected(1), &strings(&["Readers"]))
        .await
        .expect("roles");
    import_users(store, "Username,Name,Roles\nann,Ann,Readers\n").await;
    let renamed = catalog::rename_role(store, &ctx, &readers.id, Expected(1), "Viewers")
        .await
        .expect("rename");
    assert_eq!((renamed.users, renamed.groups, renamed.version), (1, 1, 2));
    assert_eq!(user(store, "ann").await.role_keys, ["viewers"]);
    let group = catalog::get_group(store, &ctx, &ops.id)
        .await
        .expect("group");
    assert_eq!(group.roles[0].name, "Viewers");
    let stale = catalog::rename_role(store, &ctx, &readers.id, Expected(1), "Lookers")
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            Error::Conflict(Conflict::Stale {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{stale}"
    );
    assert_eq!(
        catalog::get_role(store, &ctx, &readers.id)
            .await
            .expect("get")
            .name,
        "Viewers"
    );
    let entries = audit(store, "role.rename").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].changes[0].before.as_deref(), Some("Readers"));
}

async fn a_held_role_is_deleted_only_with_its_references(store: &Store) {
    let ctx = operator();
    let readers = role(store, "Readers", &["users.read"]).await;
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("group");
    catalog::set_group_roles(store, &ctx, &ops.id, Expected(1), &strings(&["Readers"]))
        .await
        .expect("roles");
    import_users(store, "Username,Name,Roles\nann,Ann,Readers\n").await;
    let e = catalog::delete_role(store, &ctx, &readers.id, Expected(1), References::Refuse)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        e.to_string()
            .contains("held by 1 user directly and given by 1 group"),
        "{e}"
    );
    catalog::delete_role(store, &ctx, &readers.id, Expected(1), References::Remove)
        .await
        .expect("delete");
    assert!(user(store, "ann").await.role_keys.is_empty());
    let group = catalog::get_group(store, &ctx, &ops.id)
        .await
        .expect("group");
    assert!(group.roles.is_empty());
    assert_eq!(
        group.version, 3,
        "the group lost a role, so its version moved"
    );
    assert_eq!(
        catalog::get_role(store, &ctx, &readers.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let entries = audit(store, "role.delete").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_id.as_deref(), Some(readers.id.as_str()));
}

scenarios!(
    roles_show_their_permissions_in_catalog_order,
    creating_or_widening_a_role_beyond_the_actor_is_refused,
    the_administrator_role_is_protected,
    a_rename_keeps_holders_and_the_groups_that_give_it,
    a_held_role_is_deleted_only_with_its_references,
);
