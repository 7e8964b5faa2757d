//! Renames do not break history: a revert finds a renamed user by id (the journal names users
//! by id), treats the rename as a change made since the import, and when forced puts the user
//! back as the import found it, under its old username, memberships included.

use muster_engine::directory::users::{find_user, rename_user};
use muster_engine::directory::Expected;
use muster_engine::{import_file, revert_import, ImportOptions, ImportSource, ImportStatus};
use muster_store::Store;

use crate::scenarios;
use crate::support::operator;

async fn import(store: &Store, text: &str) -> i64 {
    let source = ImportSource::read("rows.csv", text.as_bytes()).expect("spooling");
    let report = import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("the import runs");
    assert_eq!(report.status, ImportStatus::Applied, "{:?}", report.errors);
    report.import_id.expect("an id")
}

async fn rename(store: &Store, from: &str, to: &str) {
    let ctx = operator();
    let user = find_user(store, &ctx, from).await.expect("the user");
    rename_user(store, &ctx, &user.id, Expected(user.version), to)
        .await
        .expect("the rename");
}

async fn a_revert_finds_a_user_renamed_since_the_import(store: &Store) {
    import(store, "Role,Permissions\nviewer,users.read\n").await;
    let created = import(store, "Username,Name\nalice,Alice\n").await;
    rename(store, "alice", "alicia").await;
    let ctx = operator();
    let kept = revert_import(store, created, false, &ctx)
        .await
        .expect("revert");
    assert_eq!(
        kept.status,
        ImportStatus::Conflicted,
        "the rename is a change since"
    );
    assert_eq!(kept.removed, 0);
    assert!(find_user(store, &ctx, "alicia").await.is_ok());
    let forced = revert_import(store, created, true, &ctx)
        .await
        .expect("forced");
    assert_eq!(
        forced.removed, 1,
        "the renamed user is the one the import created"
    );
    assert!(find_user(store, &ctx, "alicia").await.is_err());
}

async fn a_forced_revert_gives_a_renamed_user_its_old_name_and_memberships(store: &Store) {
    import(store, "Role,Permissions\nviewer,users.read\n").await;
    import(store, "Username,Name,Roles\nbob,Bob,viewer\n").await;
    let changed = import(store, "Username,Name,Roles\nbob,Robert,\n").await;
    rename(store, "bob", "bobby").await;
    let ctx = operator();
    let revert = revert_import(store, changed, true, &ctx)
        .await
        .expect("forced");
    assert_eq!(revert.restored, 1);
    assert!(find_user(store, &ctx, "bobby").await.is_err());
    let bob = find_user(store, &ctx, "bob").await.expect("bob is back");
    assert_eq!(bob.name, "Bob");
    let roles: Vec<&str> = bob.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(roles, ["viewer"]);
}

/// The journal's key of a user now belongs to another user: the revert reads users by key
/// first, and must take the one it finds for the journaled user only when the ids agree.
async fn a_revert_tells_a_renamed_user_from_a_new_holder_of_its_old_name(store: &Store) {
    let created = import(store, "Username,Name\nalice,Alice\n").await;
    rename(store, "alice", "alicia").await;
    import(store, "Username,Name\nalice,Another Alice\n").await;
    let ctx = operator();
    let newcomer = find_user(store, &ctx, "alice")
        .await
        .expect("the new alice");
    let kept = revert_import(store, created, false, &ctx)
        .await
        .expect("revert");
    assert_eq!(
        kept.status,
        ImportStatus::Conflicted,
        "alicia was renamed since"
    );
    assert_eq!(kept.removed, 0);
    let forced = revert_import(store, created, true, &ctx)
        .await
        .expect("forced");
    assert_eq!(forced.removed, 1);
    assert!(
        find_user(store, &ctx, "alicia").await.is_err(),
        "the import's user is gone"
    );
    let still = find_user(store, &ctx, "alice")
        .await
        .expect("the new alice stays");
    assert_eq!(still.id, newcomer.id);
}

/// A removed user's MFA enrolment goes with it, also on SQLite's revert connection, which
/// checks references itself instead of cascading.
async fn a_revert_removes_the_mfa_enrolments_of_the_users_it_removes(store: &Store) {
    let created = import(store, "Username,Name\nalice,Alice\nbob,Bob\n").await;
    crate::users::enrol_mfa(store, "alice").await;
    let mut conn = store.acquire().await.expect("connection");
    let report = revert_import(store, created, false, &operator())
        .await
        .expect("revert");
    assert_eq!(report.removed, 2);
    assert!(!muster_store::any_mfa_enrolment(&mut conn)
        .await
        .expect("enrolments"));
}

scenarios!(
    a_revert_finds_a_user_renamed_since_the_import,
    a_forced_revert_gives_a_renamed_user_its_old_name_and_memberships,
    a_revert_tells_a_renamed_user_from_a_new_holder_of_its_old_name,
    a_revert_removes_the_mfa_enrolments_of_the_users_it_removes,
);
