//! Groups one at a time: members joining and leaving (each joining user a grant of the group's
//! roles), the roles a group gives, renames that keep both, deletes, and the refusals.

use muster_domain::Permission;
use muster_engine::directory::catalog::{self, References};
use muster_engine::directory::Expected;
use muster_engine::{Conflict, Error, ErrorKind, Invalid, Refusal, Through};
use muster_store::Store;

use crate::catalog_fixtures::{actor, audit, entry, import_users, role, strings, user, user_actor};
use crate::scenarios;
use crate::support::operator;

const USERS: &str = "Username,Name\nann,Ann\nbob,Bob\nrita,Rita\n";

async fn members_join_and_leave_and_the_group_version_moves(store: &Store) {
    let ctx = operator();
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("create");
    import_users(store, USERS).await;
    let (ann, bob) = (user(store, "ann").await.id, user(store, "bob").await.id);
    let joined = catalog::add_members(
        store,
        &ctx,
        &ops.id,
        Expected(1),
        &[ann.clone(), bob.clone()],
    )
    .await
    .expect("add");
    assert_eq!((joined.members, joined.version), (2, 2));
    assert_eq!(user(store, "ann").await.group_keys, ["ops"]);
    // Adding a member again changes nothing and keeps the version.
    let again = catalog::add_members(
        store,
        &ctx,
        &ops.id,
        Expected(2),
        std::slice::from_ref(&ann),
    )
    .await
    .expect("add again");
    assert_eq!((again.members, again.version), (2, 2));
    let left = catalog::remove_members(
        store,
        &ctx,
        &ops.id,
        Expected(2),
        std::slice::from_ref(&bob),
    )
    .await
    .expect("remove");
    assert_eq!((left.members, left.version), (1, 3));
    assert!(user(store, "bob").await.group_keys.is_empty());
    let stale = catalog::add_members(
        store,
        &ctx,
        &ops.id,
        Expected(2),
        std::slice::from_ref(&bob),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(stale, Error::Conflict(Conflict::Stale { actual: 3, .. })),
        "{stale}"
    );
    assert!(user(store, "bob").await.group_keys.is_empty());
    let unknown =
        catalog::add_members(store, &ctx, &ops.id, Expected(3), &strings(&["no-such-id"]))
            .await
            .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    let entries = audit(store, "group.members").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].changes[0].after.as_deref(), Some("ann, bob"));
    assert_eq!(entries[0].changes[0].before.as_deref(), Some("bob"));
    assert_eq!(entries[0].changes[0].after, None);
}

async fn joining_a_group_whose_roles_exceed_the_actor_is_refused(store: &Store) {
    let ctx = operator();
    role(store, "Writers", &["users.write"]).await;
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("create");
    let plain = catalog::create_group(store, &ctx, &entry("Plain"))
        .await
        .expect("create");
    catalog::set_group_roles(store, &ctx, &ops.id, Expected(1), &strings(&["writers"]))
        .await
        .expect("roles");
    import_users(store, USERS).await;
    let ann = user(store, "ann").await.id;
    let manager = actor(&[Permission::GroupsWrite, Permission::UsersRead]);
    let e = catalog::add_members(
        store,
        &manager,
        &ops.id,
        Expected(2),
        std::slice::from_ref(&ann),
    )
    .await
    .unwrap_err();
    let Error::Forbidden(Refusal::Escalation(escalation)) = &e else {
        panic!("expected an escalation, got {e}");
    };
    assert_eq!(
        (escalation.through, escalation.name.as_str()),
        (Through::Group, "Ops")
    );
    assert_eq!(escalation.lacking, [Permission::UsersWrite]);
    assert!(user(store, "ann").await.group_keys.is_empty());
    let refused = audit(store, "group.members").await;
    assert_eq!((refused.len(), refused[0].outcome.as_str()), (1, "refused"));
    // A group that gives no role is no escalation.
    catalog::add_members(store, &manager, &plain.id, Expected(1), &[ann])
        .await
        .expect("joining a plain group");
}

async fn a_user_actor_does_not_change_their_own_membership(store: &Store) {
    let ops = catalog::create_group(store, &operator(), &entry("Ops"))
        .await
        .expect("create");
    import_users(store, USERS).await;
    let rita = user_actor(
        store,
        "rita",
        &[Permission::GroupsWrite, Permission::GroupsRead],
    )
    .await;
    let own = user(store, "rita").await.id;
    let ann = user(store, "ann").await.id;
    for ids in [vec![own.clone()], vec![ann.clone(), own.clone()]] {
        let e = catalog::add_members(store, &rita, &ops.id, Expected(1), &ids)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Forbidden(Refusal::OwnRecord { .. })),
            "{e}"
        );
    }
    let added = catalog::add_members(store, &rita, &ops.id, Expected(1), &[ann])
        .await
        .expect("adding someone else");
    assert_eq!(added.members, 1);
    let e = catalog::remove_members(store, &rita, &ops.id, Expected(2), &[own])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Forbidden(Refusal::OwnRecord { .. })),
        "{e}"
    );
}

async fn giving_a_group_a_role_beyond_the_actor_is_refused(store: &Store) {
    let ctx = operator();
    role(store, "Readers", &["users.read"]).await;
    role(store, "Role admins", &["roles.write"]).await;
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("create");
    let manager = actor(&[Permission::GroupsWrite, Permission::UsersRead]);
    let e = catalog::set_group_roles(
        store,
        &manager,
        &ops.id,
        Expected(1),
        &strings(&["readers", "role admins"]),
    )
    .await
    .unwrap_err();
    let Error::Forbidden(Refusal::Escalation(escalation)) = &e else {
        panic!("expected an escalation, got {e}");
    };
    assert_eq!(
        (escalation.through, escalation.name.as_str()),
        (Through::Role, "Role admins")
    );
    let given = catalog::set_group_roles(
        store,
        &manager,
        &ops.id,
        Expected(1),
        &strings(&["READERS"]),
    )
    .await
    .expect("a role within the actor's permissions");
    assert_eq!(given.version, 2);
    assert_eq!(
        given
            .roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["Readers"]
    );
    let e = catalog::set_group_roles(
        store,
        &ctx,
        &ops.id,
        Expected(2),
        &strings(&["Nobody", "bad,name"]),
    )
    .await
    .unwrap_err();
    let Error::Invalid(Invalid::Fields(problems)) = &e else {
        panic!("expected Invalid, got {e}");
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().all(|p| p.field == "roles"));
    let entries = audit(store, "group.roles").await;
    let done: Vec<_> = entries.iter().filter(|e| e.outcome == "done").collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].changes[0].before.as_deref(), Some(""));
    assert_eq!(done[0].changes[0].after.as_deref(), Some("Readers"));
    assert_eq!(entries.iter().filter(|e| e.outcome == "refused").count(), 1);
}

async fn a_rename_keeps_members_and_roles(store: &Store) {
    let ctx = operator();
    role(store, "Readers", &["users.read"]).await;
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("create");
    catalog::create_group(store, &ctx, &entry("Night shift"))
        .await
        .expect("create");
    catalog::set_group_roles(store, &ctx, &ops.id, Expected(1), &strings(&["Readers"]))
        .await
        .expect("roles");
    import_users(store, USERS).await;
    let ann = user(store, "ann").await.id;
    catalog::add_members(store, &ctx, &ops.id, Expected(2), &[ann])
        .await
        .expect("add");
    let renamed = catalog::rename_group(store, &ctx, &ops.id, Expected(3), "Operations")
        .await
        .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.members, renamed.version),
        ("Operations", 1, 4)
    );
    assert_eq!(renamed.roles.len(), 1);
    assert_eq!(user(store, "ann").await.group_keys, ["operations"]);
    let found = catalog::find_group(store, &ctx, "operations")
        .await
        .expect("find");
    assert_eq!(found.id, ops.id);
    let taken = catalog::rename_group(store, &ctx, &ops.id, Expected(4), "NIGHT  SHIFT")
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict, "{taken}");
    let entries = audit(store, "group.rename").await;
    assert_eq!(entries[0].changes[0].after.as_deref(), Some("Operations"));
}

async fn a_group_with_members_is_deleted_only_with_its_references(store: &Store) {
    let ctx = operator();
    let ops = catalog::create_group(store, &ctx, &entry("Ops"))
        .await
        .expect("create");
    import_users(store, USERS).await;
    let ids = vec![user(store, "ann").await.id, user(store, "bob").await.id];
    catalog::add_members(store, &ctx, &ops.id, Expected(1), &ids)
        .await
        .expect("add");
    let e = catalog::delete_group(store, &ctx, &ops.id, Expected(2), References::Refuse)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("2 members"), "{e}");
    let nobody = actor(&[Permission::GroupsRead]);
    let e = catalog::delete_group(store, &nobody, &ops.id, Expected(2), References::Remove)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden);
    catalog::delete_group(store, &ctx, &ops.id, Expected(2), References::Remove)
        .await
        .expect("delete");
    assert!(user(store, "ann").await.group_keys.is_empty());
    let listed = catalog::list_groups(store, &ctx, &Default::default())
        .await
        .expect("list");
    assert!(listed.items.is_empty());
    let entries = audit(store, "group.delete").await;
    let outcomes: Vec<&str> = entries.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["done", "refused"]);
}

scenarios!(
    members_join_and_leave_and_the_group_version_moves,
    joining_a_group_whose_roles_exceed_the_actor_is_refused,
    a_user_actor_does_not_change_their_own_membership,
    giving_a_group_a_role_beyond_the_actor_is_refused,
    a_rename_keeps_members_and_roles,
    a_group_with_members_is_deleted_only_with_its_references,
);
