//! Users through PreparedWrites and fetch_users: a field-by-field round trip, large key lists,
//! upserts and membership replacement.

use muster_store::{Membership, NamedKind, PreparedWrites, Store, UserRecord};

use crate::support::{bare_user, commit, fetch, named, role};

/// Departments, groups and roles the users below refer to.
async fn seed_catalog(store: &Store) {
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_named(
        NamedKind::Department,
        &[
            named("sales", "Sales", "", 1),
            named("r&d", "R&D", "Research", 1),
        ],
    );
    writes.upsert_named(
        NamedKind::Group,
        &[
            named("staff", "Staff", "", 1),
            named("vpn", "VPN", "", 1),
            named("ops", "Ops", "", 1),
        ],
    );
    writes.upsert_roles(&[
        role("viewer", &["users.read"], 1),
        role("editor", &["users.read", "users.write"], 1),
    ]);
    commit(store, writes).await;
}

fn full_user() -> UserRecord {
    UserRecord {
        id: "0193a1f0-0000-7000-8000-00000000a11c".into(),
        username_key: "alice".into(),
        username: "Alice".into(),
        name: "Alice Liddell".into(),
        email: Some("Alice@Example.org".into()),
        email_key: Some("alice@example.org".into()),
        phone: Some("+44 20 7946 0000".into()),
        department_key: Some("r&d".into()),
        active: false,
        ignore_mfa: true,
        locale: Some("en-GB".into()),
        timezone: Some("Europe/London".into()),
        password_hash: "$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0".into(),
        created_at: 1_600_000_000_123,
        updated_at: 1_700_000_000_456,
        last_login_at: Some(1_710_000_000_789),
        role_keys: vec!["administrator".into(), "editor".into(), "viewer".into()],
        group_keys: vec!["ops".into(), "staff".into(), "vpn".into()],
    }
}

fn non_ascii_user() -> UserRecord {
    UserRecord {
        id: "0193a1f0-0000-7000-8000-0000000020e0".into(),
        username_key: "zoë".into(),
        username: "Zoë".into(),
        name: "Zoë Ångström-Łukasiewicz 日本".into(),
        email: Some("zoë@exämple.org".into()),
        email_key: Some("zoë@exämple.org".into()),
        department_key: Some("sales".into()),
        locale: Some("fr-CA".into()),
        timezone: Some("America/Montreal".into()),
        last_login_at: Some(0),
        role_keys: vec!["viewer".into()],
        group_keys: vec!["staff".into()],
        ..bare_user("zoë")
    }
}

/// The membership pairs of `users`, deliberately out of order.
fn membership_pairs(users: &[UserRecord], kind: Membership) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = users
        .iter()
        .flat_map(|u| {
            let keys = match kind {
                Membership::Roles => &u.role_keys,
                Membership::Groups => &u.group_keys,
            };
            keys.iter()
                .map(move |k| (u.username_key.clone(), k.clone()))
        })
        .collect();
    pairs.reverse();
    pairs
}

async fn insert_with_memberships(store: &Store, users: Vec<UserRecord>) {
    let mut writes = PreparedWrites::new(store.backend());
    let roles = membership_pairs(&users, Membership::Roles);
    let groups = membership_pairs(&users, Membership::Groups);
    writes.insert_users(users);
    writes.replace_memberships(Membership::Roles, vec![], roles);
    writes.replace_memberships(Membership::Groups, vec![], groups);
    commit(store, writes).await;
}

async fn round_trip_field_by_field(store: &Store) {
    seed_catalog(store).await;
    let bare = bare_user("bob");
    let users = vec![bare.clone(), full_user(), non_ascii_user()];
    insert_with_memberships(store, users.clone()).await;

    let mut expected = users.clone();
    expected.sort_by(|a, b| a.username_key.cmp(&b.username_key));
    let found = fetch(store, &["zoë", "nobody", "alice", "bob", "ZOË", "zoe"]).await;
    assert_eq!(
        found.len(),
        3,
        "missing keys are absent and keys are not folded: {found:#?}"
    );
    for (found, expected) in found.iter().zip(&expected) {
        assert_eq!(found, expected);
    }

    // One by one, and the bare user's optional fields really are None.
    assert_eq!(fetch(store, &["bob"]).await, [bare]);
    let bob = &fetch(store, &["bob"]).await[0];
    assert!(bob.email.is_none() && bob.email_key.is_none() && bob.phone.is_none());
    assert!(bob.department_key.is_none() && bob.locale.is_none() && bob.timezone.is_none());
    assert!(bob.last_login_at.is_none() && bob.role_keys.is_empty() && bob.group_keys.is_empty());
    assert_eq!(fetch(store, &["zoë"]).await, [non_ascii_user()]);

    // Nothing asked, nothing found; nothing existing, nothing found.
    assert!(fetch(store, &[]).await.is_empty());
    assert!(fetch(store, &["ghost", "phantom"]).await.is_empty());
}

async fn fetch_users_reads_more_than_one_chunk(store: &Store) {
    seed_catalog(store).await;
    let users: Vec<UserRecord> = (0..2_500)
        .map(|i| UserRecord {
            email: Some(format!("U{i:04}@example.com")),
            email_key: Some(format!("u{i:04}@example.com")),
            role_keys: if i % 3 == 0 {
                vec!["viewer".into()]
            } else {
                vec![]
            },
            group_keys: if i % 2 == 0 {
                vec!["staff".into(), "vpn".into()]
            } else {
                vec![]
            },
            ..bare_user(&format!("u{i:04}"))
        })
        .collect();
    insert_with_memberships(store, users.clone()).await;

    // 2,500 present keys plus missing ones interleaved, spanning three chunks of 1,000.
    let mut keys: Vec<String> = Vec::new();
    for (i, user) in users.iter().enumerate().rev() {
        keys.push(user.username_key.clone());
        if i % 500 == 0 {
            keys.push(format!("missing{i}"));
        }
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert!(refs.len() > 2_000);
    let found = fetch(store, &refs).await;
    assert_eq!(found.len(), 2_500);
    assert_eq!(found, users, "every user once, field by field");

    let owners = {
        let mut conn = store.acquire().await.expect("acquire");
        let email_keys: Vec<String> = (0..2_500).map(|i| format!("u{i:04}@example.com")).collect();
        let refs: Vec<&str> = email_keys.iter().map(String::as_str).collect();
        muster_store::email_owners(&mut conn, &refs)
            .await
            .expect("email_owners")
    };
    assert_eq!(owners.len(), 2_500);
    assert_eq!(owners["u2499@example.com"], "u2499");
}

async fn upsert_changes_fields_and_keeps_created_at(store: &Store) {
    seed_catalog(store).await;
    let original = full_user();
    insert_with_memberships(store, vec![original.clone(), bare_user("bob")]).await;

    let changed = UserRecord {
        username: "ALICE".into(),
        name: "Alice Pleasance Liddell".into(),
        email: None,
        email_key: None,
        phone: Some("+1 555 0100".into()),
        department_key: Some("sales".into()),
        active: true,
        ignore_mfa: false,
        locale: None,
        timezone: Some("UTC".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: 42, // ignored: the row keeps its creation time
        updated_at: 1_800_000_000_000,
        last_login_at: None, // ignored too: logins own it, imports never set it
        ..original.clone()
    };
    let mut writes = PreparedWrites::new(store.backend());
    writes.upsert_users(vec![changed.clone(), bare_user("carol")]);
    commit(store, writes).await;

    let expected = UserRecord {
        created_at: original.created_at,
        last_login_at: original.last_login_at,
        ..changed
    };
    assert_eq!(
        fetch(store, &["alice"]).await,
        [expected],
        "memberships untouched by upsert_users"
    );
    assert_eq!(
        fetch(store, &["carol"]).await,
        [bare_user("carol")],
        "upsert creates missing users"
    );
    assert_eq!(
        fetch(store, &["bob"]).await,
        [bare_user("bob")],
        "other users untouched"
    );
    let mut conn = store.acquire().await.expect("acquire");
    let owners = muster_store::email_owners(&mut conn, &["alice@example.org"])
        .await
        .expect("email_owners");
    assert!(owners.is_empty(), "the e-mail key was cleared: {owners:?}");
}

async fn replace_memberships_replaces(store: &Store) {
    seed_catalog(store).await;
    let alice = full_user();
    let zoe = non_ascii_user();
    insert_with_memberships(store, vec![alice.clone(), zoe.clone()]).await;

    // alice: roles and groups replaced; zoë: listed in clear with nothing new, so emptied.
    let mut writes = PreparedWrites::new(store.backend());
    writes.replace_memberships(
        Membership::Roles,
        vec!["alice".into(), "zoë".into()],
        vec![("alice".into(), "viewer".into())],
    );
    writes.replace_memberships(
        Membership::Groups,
        vec!["alice".into(), "zoë".into()],
        vec![
            ("alice".into(), "vpn".into()),
            ("alice".into(), "ops".into()),
        ],
    );
    commit(store, writes).await;
    let found = fetch(store, &["alice", "zoë"]).await;
    assert_eq!(found[0].role_keys, ["viewer"]);
    assert_eq!(found[0].group_keys, ["ops", "vpn"]);
    assert!(found[1].role_keys.is_empty(), "{:?}", found[1].role_keys);
    assert!(found[1].group_keys.is_empty(), "{:?}", found[1].group_keys);

    // Users not listed in clear keep theirs; a user in clear only for roles keeps groups.
    let mut writes = PreparedWrites::new(store.backend());
    writes.replace_memberships(
        Membership::Roles,
        vec!["alice".into()],
        vec![("alice".into(), "editor".into())],
    );
    writes.replace_memberships(
        Membership::Groups,
        vec![],
        vec![("zoë".into(), "staff".into())],
    );
    commit(store, writes).await;
    let found = fetch(store, &["alice", "zoë"]).await;
    assert_eq!(found[0].role_keys, ["editor"]);
    assert_eq!(found[0].group_keys, ["ops", "vpn"]);
    assert_eq!(found[1].group_keys, ["staff"]);
    assert_eq!(
        UserRecord {
            role_keys: vec![],
            group_keys: vec![],
            ..found[1].clone()
        },
        UserRecord {
            role_keys: vec![],
            group_keys: vec![],
            ..zoe
        }
    );
}

async fn replace_memberships_clears_more_than_one_delete_chunk(store: &Store) {
    seed_catalog(store).await;
    let users: Vec<UserRecord> = (0..1_200)
        .map(|i| UserRecord {
            group_keys: vec!["staff".into()],
            ..bare_user(&format!("m{i:04}"))
        })
        .collect();
    let keys: Vec<String> = users.iter().map(|u| u.username_key.clone()).collect();
    insert_with_memberships(store, users).await;
    let mut writes = PreparedWrites::new(store.backend());
    let pairs = keys.iter().map(|k| (k.clone(), "vpn".to_owned())).collect();
    writes.replace_memberships(Membership::Groups, keys.clone(), pairs);
    commit(store, writes).await;
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let found = fetch(store, &refs).await;
    assert_eq!(found.len(), 1_200);
    assert!(
        found.iter().all(|u| u.group_keys == ["vpn"]),
        "{:?}",
        found.iter().find(|u| u.group_keys != ["vpn"])
    );
}

/// No stored user field is ever an empty string (the domain refuses them; optional fields are
/// NULL). Were one stored anyway, reading it back must not silently shift the other fields: the
/// record is either exact or the read fails.
async fn an_empty_string_field_never_reads_back_as_another_record(store: &Store) {
    let odd = UserRecord {
        phone: Some(String::new()),
        locale: Some(String::new()),
        ..bare_user("odd")
    };
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_users(vec![odd.clone()]);
    commit(store, writes).await;
    let mut conn = store.acquire().await.expect("acquire");
    match muster_store::fetch_users(&mut conn, &["odd"]).await {
        Ok(found) => assert_eq!(found, [odd]),
        Err(e) => assert!(e.to_string().contains("packed user row"), "{e}"),
    }
}

crate::scenarios!(
    an_empty_string_field_never_reads_back_as_another_record,
    round_trip_field_by_field,
    fetch_users_reads_more_than_one_chunk,
    upsert_changes_fields_and_keeps_created_at,
    replace_memberships_replaces,
    replace_memberships_clears_more_than_one_delete_chunk,
);

/// A first import suspends the filter indexes inside its transaction and builds them again
/// (SQLite after its commit, PostgreSQL before it); a rollback takes the suspension back. The
/// id and e-mail indexes are never suspended, so a duplicate is refused by the statement that
/// writes it. With users present, nothing is suspended.
async fn filter_indexes_are_suspended_only_for_an_empty_directory_and_come_back(store: &Store) {
    let indexes = |store: &Store| {
        let store = store.clone();
        async move {
            let mut conn = store.acquire().await.expect("connection");
            muster_store::index_names(&mut conn)
                .await
                .expect("index names")
        }
    };
    let before = indexes(store).await;
    for name in [
        "users_by_id",
        "users_by_email",
        "users_by_department",
        "user_roles_by_role",
        "group_members_by_group",
    ] {
        assert!(before.iter().any(|n| n == name), "{name} in {before:?}");
    }
    let mut tx = store.begin().await.expect("begin");
    let suspended = muster_store::suspend_filter_indexes(&mut tx)
        .await
        .expect("suspend");
    let expected = match store.backend() {
        muster_store::Backend::Sqlite => muster_store::SuspendedIndexes::BuildAfterCommit,
        muster_store::Backend::Postgres => muster_store::SuspendedIndexes::BuildBeforeCommit,
    };
    assert_eq!(suspended, Some(expected));
    let inside = muster_store::index_names(&mut tx)
        .await
        .expect("index names");
    assert!(
        !inside.iter().any(|n| n == "user_roles_by_role"),
        "suspended inside the transaction: {inside:?}"
    );
    let mut twin = bare_user("bob");
    twin.email = Some("same@example.com".to_owned());
    twin.email_key = twin.email.clone();
    let mut writes = muster_store::PreparedWrites::new(store.backend());
    writes.insert_users(vec![twin.clone()]);
    writes
        .execute(&mut tx)
        .await
        .expect("the first holder of an e-mail");
    twin.username_key = "carol".to_owned();
    twin.username = "carol".to_owned();
    twin.id = "user-carol".to_owned();
    let mut writes = muster_store::PreparedWrites::new(store.backend());
    writes.insert_users(vec![twin]);
    assert!(
        writes.execute(&mut tx).await.is_err(),
        "the e-mail index is kept while the filter indexes are suspended"
    );
    tx.rollback().await.expect("rollback");
    assert_eq!(
        indexes(store).await,
        before,
        "a rollback takes the suspension back"
    );

    let mut tx = store.begin().await.expect("begin");
    if muster_store::suspend_filter_indexes(&mut tx)
        .await
        .expect("suspend")
        .is_some()
    {
        muster_store::restore_filter_indexes(&mut tx)
            .await
            .expect("restore");
    }
    tx.commit().await.expect("commit");
    assert_eq!(
        indexes(store).await,
        before,
        "restored as migration 3 made them"
    );

    let mut writes = muster_store::PreparedWrites::new(store.backend());
    writes.insert_users(vec![bare_user("alice")]);
    commit(store, writes).await;
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        muster_store::suspend_filter_indexes(&mut tx)
            .await
            .expect("suspend"),
        None
    );
    tx.rollback().await.expect("rollback");
}

crate::scenarios!(filter_indexes_are_suspended_only_for_an_empty_directory_and_come_back);

/// PostgreSQL has no single writer: a user committed between a first import's look at the
/// directory and its drop of the filter indexes must not leave the import without them. Here
/// the user's insert is still open when the import looks (the directory reads empty), so the
/// drop waits for its table lock; once the insert commits, the import looks again under the
/// lock, keeps its indexes and says nothing was suspended.
#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn a_user_committed_during_the_suspension_keeps_the_filter_indexes_on_postgres() {
    crate::support::on_postgres(|store| async move {
        let mut racing = store.begin().await.expect("begin the racing insert");
        let mut writes = muster_store::PreparedWrites::new(store.backend());
        writes.insert_users(vec![bare_user("alice")]);
        writes.execute(&mut racing).await.expect("insert alice");

        let import = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.expect("begin the import");
                let suspended = muster_store::suspend_filter_indexes(&mut tx)
                    .await
                    .expect("suspend");
                let inside = muster_store::index_names(&mut tx).await.expect("indexes");
                tx.rollback().await.expect("rollback");
                (suspended, inside)
            })
        };
        // Long enough for the import to have looked and to be waiting on the drop.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !import.is_finished(),
            "the drop waits for the insert's lock"
        );
        racing.commit().await.expect("commit alice");

        let (suspended, inside) = import.await.expect("import task");
        assert_eq!(suspended, None);
        assert!(
            inside.iter().any(|n| n == "user_roles_by_role"),
            "the indexes stay: {inside:?}"
        );
    });
}
