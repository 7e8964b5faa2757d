//! The users use cases of the directory, with actors of different permissions: what each one
//! writes, what it refuses (a missing permission, an escalation through a role or a group, one's
//! own record), stale versions, and the audit entries left behind.

use muster_credentials::PlainPassword;
use muster_domain::Permission;
use muster_engine::directory::catalog::{self, find_group, set_group_roles, NewEntry, NewRole};
use muster_engine::directory::users::{
    activate_user, create_user, deactivate_user, delete_user, edit_user, find_user, get_user,
    list_users, rename_user, reset_mfa, set_password, set_user_department, set_user_groups,
    set_user_roles, update_user, NewUser, UserEdit, UserPatch, UserQuery, UserView,
};
use muster_engine::directory::Expected;
use muster_engine::{
    list_audit, Actor, AuditQuery, AuditRecord, Conflict, Context, Entity, Error, Invalid, Missing,
    Refusal, Source, Taken, Through,
};
use muster_store::Store;

use crate::scenarios;
use crate::support::{context, operator};

const GOOD_PASSWORD: &str = "correct horse battery staple";

/// Creates a role, group or department through the directory's use cases.
async fn add(store: &Store, entity: Entity, name: &str, permissions: &[&str]) {
    let ctx = operator();
    let entry = NewEntry {
        name: name.into(),
        description: None,
    };
    let added = match entity {
        Entity::Roles => {
            let role = NewRole {
                name: name.into(),
                description: None,
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            };
            catalog::create_role(store, &ctx, &role).await.map(drop)
        }
        Entity::Groups => catalog::create_group(store, &ctx, &entry).await.map(drop),
        _ => catalog::create_department(store, &ctx, &entry)
            .await
            .map(drop),
    };
    added.unwrap_or_else(|e| panic!("adding {name}: {e}"));
}

/// Gives the group `group` the role `role`, through the groups use case.
async fn give_group_role(store: &Store, group: &str, role: &str) {
    let ctx = operator();
    let found = find_group(store, &ctx, group)
        .await
        .unwrap_or_else(|e| panic!("finding group {group}: {e}"));
    let mut roles: Vec<String> = found.roles.iter().map(|r| r.name.clone()).collect();
    roles.push(role.to_owned());
    set_group_roles(store, &ctx, &found.id, Expected(found.version), &roles)
        .await
        .unwrap_or_else(|e| panic!("giving group {group} the role {role}: {e}"));
}

/// The catalog the scenarios share: a harmless role, a powerful one, a group giving the
/// powerful one, a plain group and two departments.
async fn catalog(store: &Store) {
    add(store, Entity::Roles, "Viewer", &["users.read"]).await;
    add(
        store,
        Entity::Roles,
        "Role Admin",
        &["users.read", "roles.write"],
    )
    .await;
    add(store, Entity::Groups, "Ops", &[]).await;
    add(store, Entity::Groups, "Readers", &[]).await;
    add(store, Entity::Departments, "Sales", &[]).await;
    add(store, Entity::Departments, "Support", &[]).await;
    give_group_role(store, "ops", "role admin").await;
}

fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.into(),
        name: format!("{username} Example"),
        ..NewUser::default()
    }
}

async fn create(store: &Store, new: NewUser) -> UserView {
    create_user(store, &operator(), new)
        .await
        .expect("creating a user")
}

/// A context for an API user with exactly these permissions, who is not `user` (unless `as`).
fn acting(permissions: &[Permission]) -> Context {
    context(Actor::user(
        "00000000-0000-7000-8000-000000000001",
        "helpdesk",
        "helpdesk",
        Source::Api,
        permissions.iter().copied(),
    ))
}

/// The same permissions, acting as the user `view` itself.
fn acting_as(view: &UserView, permissions: &[Permission]) -> Context {
    context(Actor::user(
        view.id.clone(),
        view.username.to_lowercase(),
        view.username.clone(),
        Source::Console,
        permissions.iter().copied(),
    ))
}

async fn audit(store: &Store, action: &str) -> Vec<AuditRecord> {
    let query = AuditQuery {
        action: Some(action.into()),
        limit: 100,
        ..AuditQuery::default()
    };
    list_audit(store, &operator(), &query)
        .await
        .expect("reading the audit log")
}

fn names(refs: &[muster_engine::directory::NameRef]) -> Vec<&str> {
    refs.iter().map(|r| r.name.as_str()).collect()
}

fn field<'a>(record: &'a AuditRecord, name: &str) -> Option<&'a muster_engine::AuditChange> {
    record.changes.iter().find(|c| c.field == name)
}

async fn created_users_are_read_back_by_id_and_username(store: &Store) {
    catalog(store).await;
    let alice = create(
        store,
        NewUser {
            email: Some("Alice@Example.com".into()),
            department: Some("sales".into()),
            roles: vec!["viewer".into()],
            groups: vec!["Readers".into()],
            password: Some(PlainPassword::new(GOOD_PASSWORD.into())),
            ..new_user("Alice")
        },
    )
    .await;
    assert_eq!(alice.version, 1);
    assert!(alice.has_password && !alice.mfa_enrolled && alice.active);
    assert_eq!(
        alice.department.as_ref().map(|d| d.name.as_str()),
        Some("Sales")
    );
    assert_eq!(names(&alice.roles), ["Viewer"]);
    assert_eq!(names(&alice.groups), ["Readers"]);
    assert_eq!(alice.created_at, "2027-01-15T08:00:00Z");
    let by_id = get_user(store, &operator(), &alice.id).await.expect("get");
    assert_eq!(by_id, alice);
    let by_name = find_user(store, &operator(), "ALICE").await.expect("find");
    assert_eq!(by_name, alice);
    let bob = create(store, new_user("bob")).await;
    assert!(
        !bob.has_password,
        "no password leaves the provisional marker"
    );
    let entries = audit(store, "user.create").await;
    assert_eq!(entries.len(), 2);
    let entry = entries
        .iter()
        .find(|e| e.target_name == "Alice")
        .expect("Alice's entry");
    assert_eq!(entry.target_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(
        field(entry, "roles").and_then(|c| c.after.as_deref()),
        Some("Viewer")
    );
    assert_eq!(
        field(entry, "password").and_then(|c| c.after.as_deref()),
        Some("set")
    );
    let text = serde_json::to_string(&entry.changes).expect("json");
    assert!(!text.contains("argon2"), "no hash in the audit log: {text}");
    assert!(matches!(
        get_user(store, &operator(), "no-such-id").await,
        Err(Error::NotFound(Missing::Record { .. }))
    ));
}

async fn every_bad_field_is_reported_at_once(store: &Store) {
    catalog(store).await;
    let result = create_user(
        store,
        &operator(),
        NewUser {
            name: String::new(),
            email: Some("not an address".into()),
            phone: Some("call me".into()),
            roles: vec!["Nobody".into()],
            password: Some(PlainPassword::new("short".into())),
            ..new_user("carol")
        },
    )
    .await;
    let Err(Error::Invalid(Invalid::Fields(problems))) = result else {
        panic!("expected the fields refused: {result:?}");
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["name", "email", "phone", "password", "roles"]);
    assert!(problems[4].message.contains("Nobody") || problems[4].message.contains("nobody"));
    assert!(
        find_user(store, &operator(), "carol").await.is_err(),
        "nothing created"
    );
}

async fn taken_usernames_and_emails_are_conflicts_naming_the_owner(store: &Store) {
    let alice = create(
        store,
        NewUser {
            email: Some("alice@example.com".into()),
            ..new_user("alice")
        },
    )
    .await;
    let again = create_user(store, &operator(), new_user("ALICE")).await;
    assert!(
        matches!(
            again,
            Err(Error::Conflict(Conflict::Taken(Taken::User { .. })))
        ),
        "{again:?}"
    );
    let bob = create(store, new_user("bob")).await;
    let patch = UserPatch {
        email: Some(Some("ALICE@example.com".into())),
        ..UserPatch::default()
    };
    let taken = update_user(store, &operator(), &bob.id, Expected(bob.version), patch).await;
    match taken {
        Err(Error::Conflict(Conflict::Taken(taken @ Taken::Email { .. }))) => {
            assert!(taken.to_string().contains("alice"), "{taken}")
        }
        other => panic!("expected a conflict: {other:?}"),
    }
    // Keeping one's own e-mail is not a conflict.
    let own = UserPatch {
        email: Some(Some("Alice@Example.com".into())),
        ..UserPatch::default()
    };
    let kept = update_user(store, &operator(), &alice.id, Expected(1), own).await;
    assert_eq!(
        kept.expect("own e-mail").email.as_deref(),
        Some("Alice@Example.com")
    );
}

async fn updates_change_only_the_given_fields_and_stale_ones_are_refused(store: &Store) {
    let dora = create(
        store,
        NewUser {
            email: Some("dora@example.com".into()),
            phone: Some("+1 555 0100".into()),
            ..new_user("dora")
        },
    )
    .await;
    let patch = UserPatch {
        name: Some("Dora Explorer".into()),
        phone: Some(None),
        ..UserPatch::default()
    };
    let updated = update_user(store, &operator(), &dora.id, Expected(1), patch)
        .await
        .expect("update");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "Dora Explorer");
    assert_eq!(updated.phone, None);
    assert_eq!(updated.email, dora.email, "a field not given is kept");
    let stale = UserPatch {
        name: Some("Lost Update".into()),
        ..UserPatch::default()
    };
    match update_user(store, &operator(), &dora.id, Expected(1), stale).await {
        Err(Error::Conflict(Conflict::Stale {
            expected, actual, ..
        })) => assert_eq!((expected, actual), (1, 2)),
        other => panic!("expected a stale version: {other:?}"),
    }
    let now = get_user(store, &operator(), &dora.id).await.expect("get");
    assert_eq!(
        (now.name.as_str(), now.version),
        ("Dora Explorer", 2),
        "nothing lost"
    );
    let nothing = update_user(
        store,
        &operator(),
        &dora.id,
        Expected(2),
        UserPatch::default(),
    )
    .await
    .expect("an empty patch");
    assert_eq!(
        nothing.version, 2,
        "a patch changing nothing writes nothing"
    );
    let entries = audit(store, "user.update").await;
    assert_eq!(entries.len(), 1);
    let fields: Vec<&str> = entries[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["name", "phone"]);
    assert_eq!(
        field(&entries[0], "name").and_then(|c| c.before.as_deref()),
        Some("dora Example")
    );
}

async fn a_rename_keeps_the_id_memberships_and_mfa(store: &Store) {
    catalog(store).await;
    let erin = create(
        store,
        NewUser {
            roles: vec!["Viewer".into()],
            groups: vec!["Ops".into()],
            department: Some("Support".into()),
            ..new_user("erin")
        },
    )
    .await;
    enrol_mfa(store, "erin").await;
    create(store, new_user("frank")).await;
    let taken = rename_user(store, &operator(), &erin.id, Expected(1), "Frank").await;
    assert!(
        matches!(
            taken,
            Err(Error::Conflict(Conflict::Taken(Taken::Username { .. })))
        ),
        "{taken:?}"
    );
    let renamed = rename_user(store, &operator(), &erin.id, Expected(1), "Erin.Smith")
        .await
        .expect("rename");
    assert_eq!(renamed.id, erin.id);
    assert_eq!(renamed.username, "Erin.Smith");
    assert_eq!(renamed.version, 2);
    assert_eq!(names(&renamed.roles), ["Viewer"]);
    assert_eq!(names(&renamed.groups), ["Ops"]);
    assert_eq!(renamed.department, erin.department);
    assert!(renamed.mfa_enrolled, "the MFA enrolment follows the key");
    assert!(matches!(
        find_user(store, &operator(), "erin").await,
        Err(Error::NotFound(Missing::Record { .. }))
    ));
    assert_eq!(
        find_user(store, &operator(), "erin.smith")
            .await
            .expect("find")
            .id,
        erin.id
    );
    let entries = audit(store, "user.rename").await;
    let change = field(&entries[0], "username").expect("username change");
    assert_eq!(
        (change.before.as_deref(), change.after.as_deref()),
        (Some("erin"), Some("Erin.Smith"))
    );
}

pub async fn enrol_mfa(store: &Store, username_key: &str) {
    let mut conn = store.acquire().await.expect("connection");
    let user = muster_store::fetch_users(&mut conn, &[username_key])
        .await
        .expect("reading the user")
        .pop()
        .expect("the user");
    muster_store::directory_users::insert_mfa(&mut conn, &user.id, "JBSWY3DPEHPK3PXP", 1)
        .await
        .expect("enrolling MFA");
}

async fn deactivation_activation_and_deletion(store: &Store) {
    catalog(store).await;
    let gina = create(
        store,
        NewUser {
            groups: vec!["Readers".into()],
            ..new_user("gina")
        },
    )
    .await;
    let off = deactivate_user(store, &operator(), &gina.id, Expected(1))
        .await
        .expect("deactivate");
    assert!(!off.active);
    assert!(matches!(
        Actor::for_user(store, "gina", Source::Console).await,
        Err(Error::Forbidden(Refusal::InactiveUser { .. }))
    ));
    let on = activate_user(store, &operator(), &gina.id, Expected(2))
        .await
        .expect("activate");
    assert!(on.active);
    assert_eq!(on.version, 3);
    enrol_mfa(store, "gina").await;
    let enrolled = || async {
        let mut conn = store.acquire().await.expect("connection");
        muster_store::any_mfa_enrolment(&mut conn)
            .await
            .expect("enrolments")
    };
    let stale = delete_user(store, &operator(), &gina.id, Expected(2)).await;
    assert!(
        matches!(stale, Err(Error::Conflict(Conflict::Stale { .. }))),
        "{stale:?}"
    );
    assert!(enrolled().await, "a stale delete keeps the enrolment");
    delete_user(store, &operator(), &gina.id, Expected(3))
        .await
        .expect("delete");
    assert!(!enrolled().await, "the enrolment goes with the user");
    assert!(matches!(
        get_user(store, &operator(), &gina.id).await,
        Err(Error::NotFound(Missing::Record { .. }))
    ));
    let readers = UserQuery {
        group: Some("Readers".into()),
        ..UserQuery::default()
    };
    let page = list_users(store, &operator(), &readers)
        .await
        .expect("list");
    assert!(page.items.is_empty(), "the membership went with the user");
    assert_eq!(audit(store, "user.deactivate").await.len(), 1);
    let deleted = audit(store, "user.delete").await;
    assert_eq!(
        field(&deleted[0], "groups").and_then(|c| c.before.as_deref()),
        Some("Readers")
    );
    let gone = delete_user(store, &operator(), &gina.id, Expected(3)).await;
    assert!(
        matches!(gone, Err(Error::NotFound(Missing::Record { .. }))),
        "{gone:?}"
    );
}

async fn passwords_need_the_credentials_permission_and_meet_the_policy(store: &Store) {
    let hank = create(store, new_user("hank")).await;
    let writer = acting(&[Permission::UsersRead, Permission::UsersWrite]);
    let password = || Some(PlainPassword::new(GOOD_PASSWORD.into()));
    let refused = set_password(store, &writer, &hank.id, Expected(1), password()).await;
    assert!(
        matches!(
            refused,
            Err(Error::Forbidden(Refusal::Lacks {
                permission: Permission::UsersCredentials,
                ..
            }))
        ),
        "{refused:?}"
    );
    let weak = set_password(
        store,
        &operator(),
        &hank.id,
        Expected(1),
        Some(PlainPassword::new("hank-hank-hank-hank".into())),
    )
    .await;
    assert!(
        matches!(weak, Err(Error::Invalid(Invalid::Fields(ref p))) if p[0].field == "password"),
        "{weak:?}"
    );
    let set = set_password(store, &operator(), &hank.id, Expected(1), password())
        .await
        .expect("set");
    assert!(set.has_password);
    assert_eq!(set.version, 2);
    let cleared = set_password(store, &operator(), &hank.id, Expected(2), None)
        .await
        .expect("clear");
    assert!(!cleared.has_password);
    let itself = acting_as(&hank, &[Permission::UsersCredentials]);
    let own = set_password(store, &itself, &hank.id, Expected(3), password()).await;
    assert!(
        matches!(own, Err(Error::Forbidden(Refusal::OwnRecord { .. }))),
        "{own:?}"
    );
    let entries = audit(store, "user.password").await;
    let outcomes: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e.outcome.as_str(),
                e.changes.last().and_then(|c| c.after.as_deref()),
            )
        })
        .collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert!(outcomes.contains(&("done", Some("set"))), "{outcomes:?}");
    assert!(
        outcomes.contains(&("done", Some("cleared"))),
        "{outcomes:?}"
    );
    assert_eq!(outcomes.iter().filter(|(o, _)| *o == "refused").count(), 2);
}

async fn mfa_reset_forgets_the_enrolment(store: &Store) {
    let ivy = create(store, new_user("ivy")).await;
    enrol_mfa(store, "ivy").await;
    let itself = acting_as(&ivy, &[Permission::UsersCredentials]);
    let own = reset_mfa(store, &itself, &ivy.id, Expected(1)).await;
    assert!(
        matches!(own, Err(Error::Forbidden(Refusal::OwnRecord { .. }))),
        "{own:?}"
    );
    let reset = reset_mfa(store, &operator(), &ivy.id, Expected(1))
        .await
        .expect("reset");
    assert!(!reset.mfa_enrolled);
    assert_eq!(reset.version, 2);
    let again = reset_mfa(store, &operator(), &ivy.id, Expected(2))
        .await
        .expect("reset again");
    assert_eq!(again.version, 2, "nothing to reset, nothing written");
    let entries = audit(store, "user.mfa_reset").await;
    let done: Vec<&AuditRecord> = entries.iter().filter(|e| e.outcome == "done").collect();
    assert_eq!(done.len(), 1);
    assert_eq!(
        field(done[0], "mfa").and_then(|c| c.after.as_deref()),
        Some("cleared")
    );
}

async fn roles_and_groups_beyond_the_actor_are_refused(store: &Store) {
    catalog(store).await;
    let jack = create(store, new_user("jack")).await;
    let helpdesk = acting(&[Permission::UsersRead, Permission::UsersWrite]);
    let role = set_user_roles(
        store,
        &helpdesk,
        &jack.id,
        Expected(1),
        &["Role Admin".into()],
    )
    .await;
    match role {
        Err(Error::Forbidden(Refusal::Escalation(e))) => {
            assert_eq!(
                (e.through, e.lacking.as_slice()),
                (Through::Role, &[Permission::RolesWrite][..])
            )
        }
        other => panic!("expected an escalation through a role: {other:?}"),
    }
    let group = set_user_groups(store, &helpdesk, &jack.id, Expected(1), &["ops".into()]).await;
    match group {
        Err(Error::Forbidden(Refusal::Escalation(e))) => assert_eq!(e.through, Through::Group),
        other => panic!("expected an escalation through a group: {other:?}"),
    }
    let created = create_user(
        store,
        &helpdesk,
        NewUser {
            groups: vec!["Ops".into()],
            ..new_user("kate")
        },
    )
    .await;
    assert!(
        matches!(created, Err(Error::Forbidden(Refusal::Escalation(_)))),
        "{created:?}"
    );
    let viewer = set_user_roles(store, &helpdesk, &jack.id, Expected(1), &["viewer".into()])
        .await
        .expect("a role within the actor's permissions");
    assert_eq!(names(&viewer.roles), ["Viewer"]);
    assert_eq!(viewer.version, 2);
    let readers = set_user_groups(store, &helpdesk, &jack.id, Expected(2), &["Readers".into()])
        .await
        .expect("a group giving nothing");
    assert_eq!(names(&readers.groups), ["Readers"]);
    let unknown =
        set_user_groups(store, &helpdesk, &jack.id, Expected(3), &["Nowhere".into()]).await;
    assert!(matches!(unknown, Err(Error::Invalid(_))), "{unknown:?}");
    // A user never changes their own roles or groups, whatever they hold.
    let itself = acting_as(&readers, &Permission::ALL);
    let own = set_user_roles(store, &itself, &jack.id, Expected(3), &[]).await;
    assert!(
        matches!(own, Err(Error::Forbidden(Refusal::OwnRecord { .. }))),
        "{own:?}"
    );
    let operator_grant =
        set_user_groups(store, &operator(), &jack.id, Expected(3), &["Ops".into()])
            .await
            .expect("the operator holds everything");
    assert_eq!(names(&operator_grant.groups), ["Ops"]);
    let roles = audit(store, "user.roles").await;
    let refused = roles.iter().filter(|e| e.outcome == "refused").count();
    assert_eq!(
        (refused, roles.len()),
        (2, 3),
        "one refused escalation, one own record"
    );
    let groups = audit(store, "user.groups").await;
    let done = groups
        .iter()
        .find(|e| e.outcome == "done" && e.actor.starts_with("operator"));
    let change = done
        .and_then(|e| field(e, "groups"))
        .expect("groups change");
    assert_eq!(
        (change.before.as_deref(), change.after.as_deref()),
        (Some("Readers"), Some("Ops"))
    );
}

/// An edit form's fields, department, roles and groups are one change: a refused grant or an
/// unknown group saves none of it, and a whole edit is one audit entry at one new version.
async fn an_edit_is_applied_whole_or_not_at_all(store: &Store) {
    catalog(store).await;
    let jack = create(store, new_user("jack")).await;
    let helpdesk = acting(&[Permission::UsersRead, Permission::UsersWrite]);
    let edit = |roles: &[&str], groups: &[&str]| UserEdit {
        patch: UserPatch {
            name: Some("Jack Renamed".into()),
            ..UserPatch::default()
        },
        department: Some(Some("Sales".into())),
        roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
        groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
    };
    let escalating = edit_user(
        store,
        &helpdesk,
        &jack.id,
        Expected(1),
        edit(&["Role Admin"], &[]),
    )
    .await;
    assert!(
        matches!(escalating, Err(Error::Forbidden(Refusal::Escalation(_)))),
        "{escalating:?}"
    );
    let unknown = edit_user(
        store,
        &helpdesk,
        &jack.id,
        Expected(1),
        edit(&[], &["Nowhere"]),
    )
    .await;
    assert!(matches!(unknown, Err(Error::Invalid(_))), "{unknown:?}");
    let untouched = get_user(store, &operator(), &jack.id).await.expect("jack");
    assert_eq!(
        (
            untouched.name.as_str(),
            untouched.version,
            untouched.department.is_none()
        ),
        ("jack Example", 1, true),
        "nothing of a refused edit is saved"
    );

    let whole = edit_user(
        store,
        &helpdesk,
        &jack.id,
        Expected(1),
        edit(&["Viewer"], &["Readers"]),
    )
    .await
    .expect("an edit within the actor's permissions");
    assert_eq!(whole.version, 2, "one write");
    assert_eq!(whole.name, "Jack Renamed");
    assert_eq!(names(&whole.roles), ["Viewer"]);
    assert_eq!(names(&whole.groups), ["Readers"]);
    let entries: Vec<AuditRecord> = audit(store, "user.update")
        .await
        .into_iter()
        .filter(|e| e.outcome == "done")
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    for name in ["name", "department", "roles", "groups"] {
        assert!(
            field(&entries[0], name).is_some(),
            "{name} in {:?}",
            entries[0]
        );
    }
    // The same sets in another order change nothing, so not even one's own edit is refused.
    let itself = acting_as(&whole, &Permission::ALL);
    let same = edit_user(
        store,
        &itself,
        &jack.id,
        Expected(2),
        UserEdit {
            roles: Some(vec!["viewer".into()]),
            groups: Some(vec!["readers".into()]),
            ..UserEdit::default()
        },
    )
    .await
    .expect("an edit that changes nothing");
    assert_eq!(same.version, 2);
}

async fn a_missing_permission_is_refused_and_recorded(store: &Store) {
    let lena = create(store, new_user("lena")).await;
    let reader = acting(&[Permission::UsersRead]);
    assert_eq!(
        get_user(store, &reader, &lena.id).await.expect("read").id,
        lena.id
    );
    let created = create_user(store, &reader, new_user("mike")).await;
    assert!(
        matches!(
            created,
            Err(Error::Forbidden(Refusal::Lacks {
                permission: Permission::UsersWrite,
                ..
            }))
        ),
        "{created:?}"
    );
    let renamed = rename_user(store, &reader, &lena.id, Expected(1), "lena2").await;
    assert!(matches!(renamed, Err(Error::Forbidden(_))), "{renamed:?}");
    let nobody = acting(&[]);
    let listed = list_users(store, &nobody, &UserQuery::default()).await;
    assert!(matches!(listed, Err(Error::Forbidden(_))), "{listed:?}");
    let ignore = UserPatch {
        ignore_mfa: Some(true),
        ..UserPatch::default()
    };
    let writer = acting(&[Permission::UsersWrite]);
    let ignored = update_user(store, &writer, &lena.id, Expected(1), ignore).await;
    assert!(matches!(ignored, Err(Error::Forbidden(_))), "{ignored:?}");
    assert_eq!(
        audit(store, "user.create")
            .await
            .iter()
            .filter(|e| e.outcome == "refused")
            .count(),
        1
    );
    assert_eq!(audit(store, "user.rename").await[0].outcome, "refused");
    assert_eq!(audit(store, "user.update").await[0].outcome, "refused");
    let unchanged = get_user(store, &operator(), &lena.id).await.expect("get");
    assert_eq!(
        (unchanged.username.as_str(), unchanged.version),
        ("lena", 1)
    );
}

async fn departments_are_set_and_cleared(store: &Store) {
    catalog(store).await;
    let nina = create(store, new_user("nina")).await;
    let sales = set_user_department(store, &operator(), &nina.id, Expected(1), Some("SALES"))
        .await
        .expect("set");
    assert_eq!(
        sales.department.as_ref().map(|d| d.name.as_str()),
        Some("Sales")
    );
    let unknown =
        set_user_department(store, &operator(), &nina.id, Expected(2), Some("Legal")).await;
    assert!(matches!(unknown, Err(Error::Invalid(_))), "{unknown:?}");
    let none = set_user_department(store, &operator(), &nina.id, Expected(2), None)
        .await
        .expect("clear");
    assert_eq!((none.department, none.version), (None, 3));
}

async fn lists_walk_pages_by_cursor_with_filters(store: &Store) {
    catalog(store).await;
    for i in 0..23 {
        let username = format!("user{i:02}");
        let mut new = new_user(&username);
        new.department = Some(if i % 2 == 0 { "Sales" } else { "Support" }.into());
        if i % 3 == 0 {
            new.groups = vec!["Readers".into()];
        }
        if i % 5 == 0 {
            new.roles = vec!["Viewer".into()];
        }
        new.active = Some(i % 7 != 0);
        if i == 17 {
            new.name = "Needle In Haystack".into();
        }
        create(store, new).await;
    }
    let walk = |query: UserQuery| async move {
        let mut seen = Vec::new();
        let mut query = query;
        loop {
            let page = list_users(store, &operator(), &query).await.expect("page");
            assert!(page.items.len() <= query.limit.unwrap_or(50));
            seen.extend(page.items.into_iter().map(|u| u.username));
            match page.next {
                Some(next) => query.cursor = Some(next),
                None => return seen,
            }
        }
    };
    let all = walk(UserQuery {
        limit: Some(5),
        ..UserQuery::default()
    })
    .await;
    let expected: Vec<String> = (0..23).map(|i| format!("user{i:02}")).collect();
    assert_eq!(all, expected, "every user once, in key order");
    let expect = |pick: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..23)
            .filter(|i| pick(*i))
            .map(|i| format!("user{i:02}"))
            .collect()
    };
    let by =
        |department: Option<&str>, group: Option<&str>, role: Option<&str>, active| UserQuery {
            department: department.map(str::to_owned),
            group: group.map(str::to_owned),
            role: role.map(str::to_owned),
            active,
            limit: Some(2),
            ..UserQuery::default()
        };
    assert_eq!(
        walk(by(Some("sales"), None, None, None)).await,
        expect(&|i| i % 2 == 0)
    );
    assert_eq!(
        walk(by(None, Some("READERS"), None, None)).await,
        expect(&|i| i % 3 == 0)
    );
    assert_eq!(
        walk(by(None, None, Some("viewer"), None)).await,
        expect(&|i| i % 5 == 0)
    );
    assert_eq!(
        walk(by(
            Some("Support"),
            Some("Readers"),
            Some("Viewer"),
            Some(true)
        ))
        .await,
        expect(&|i| i % 2 == 1 && i % 3 == 0 && i % 5 == 0 && i % 7 != 0)
    );
    assert_eq!(
        walk(by(None, None, None, Some(false))).await,
        expect(&|i| i % 7 == 0)
    );
    assert!(walk(by(None, Some("Nowhere"), None, None)).await.is_empty());
    let search = walk(UserQuery {
        search: Some("needle".into()),
        limit: Some(3),
        ..UserQuery::default()
    })
    .await;
    assert_eq!(search, ["user17"]);
    let bad = list_users(
        store,
        &operator(),
        &UserQuery {
            cursor: Some("not a cursor".into()),
            ..UserQuery::default()
        },
    )
    .await;
    assert!(
        matches!(bad, Err(Error::Invalid(Invalid::Fields(ref p))) if p[0].field == "cursor"),
        "{bad:?}"
    );
    let clamped = list_users(
        store,
        &operator(),
        &UserQuery {
            limit: Some(0),
            ..UserQuery::default()
        },
    )
    .await
    .expect("a limit of 0 is clamped to 1");
    assert_eq!(clamped.items.len(), 1);
}

async fn opening_a_form_without_its_permission_is_refused_and_recorded(store: &Store) {
    let lena = create(store, new_user("lena")).await;
    let reader = acting(&[Permission::UsersRead]);
    let refused = muster_engine::directory::require_for_form(
        store,
        &reader,
        Permission::UsersWrite,
        "user.update",
        "user",
        Some(&lena.id),
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(Error::Forbidden(Refusal::Lacks {
                permission: Permission::UsersWrite,
                ..
            }))
        ),
        "{refused:?}"
    );
    let entries = audit(store, "user.update").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].outcome, "refused");
    assert_eq!(entries[0].target_id.as_deref(), Some(lena.id.as_str()));
    let writer = acting(&[Permission::UsersWrite]);
    muster_engine::directory::require_for_form(
        store,
        &writer,
        Permission::UsersWrite,
        "user.create",
        "user",
        None,
    )
    .await
    .expect("a writer may open the form");
    assert!(audit(store, "user.create")
        .await
        .iter()
        .all(|e| e.outcome != "refused"));
}

scenarios!(
    an_edit_is_applied_whole_or_not_at_all,
    created_users_are_read_back_by_id_and_username,
    every_bad_field_is_reported_at_once,
    taken_usernames_and_emails_are_conflicts_naming_the_owner,
    updates_change_only_the_given_fields_and_stale_ones_are_refused,
    a_rename_keeps_the_id_memberships_and_mfa,
    deactivation_activation_and_deletion,
    passwords_need_the_credentials_permission_and_meet_the_policy,
    mfa_reset_forgets_the_enrolment,
    roles_and_groups_beyond_the_actor_are_refused,
    a_missing_permission_is_refused_and_recorded,
    departments_are_set_and_cleared,
    lists_walk_pages_by_cursor_with_filters,
    opening_a_form_without_its_permission_is_refused_and_recorded,
);
