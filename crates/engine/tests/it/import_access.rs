//! Imports, previews and reverts run for an actor: the permission catalog and the
//! no-escalation rule apply to every row (SPEC §5), and a refused row is a positioned row
//! error. The local operator holds every permission; users hold their roles' permissions.

use muster_engine::directory::catalog::{create_group, set_group_roles, NewEntry};
use muster_engine::directory::Expected;
use muster_engine::{
    apply_plan, import_file, list_audit, revert_import, Actor, AuditQuery, Context, Error,
    ImportOptions, ImportReport, ImportSource, ImportStatus, Source,
};
use muster_store::Store;

use crate::scenarios;
use crate::support::{context, operator};

/// `text` as an upload named `rows.csv`, as a browser would send it.
fn csv(text: &str) -> ImportSource {
    ImportSource::read("rows.csv", text.as_bytes()).expect("spooling the upload")
}

async fn import(store: &Store, ctx: &Context, text: &str, options: ImportOptions) -> ImportReport {
    let source = csv(text);
    import_file(store, &source, &options, ctx)
        .await
        .expect("the import runs")
}

async fn import_ok(store: &Store, text: &str) {
    let report = import(store, &operator(), text, ImportOptions::default()).await;
    assert_eq!(report.status, ImportStatus::Applied, "{:?}", report.errors);
    assert_eq!(report.counts.failed, 0, "{:?}", report.errors);
}

/// Roles `viewer` (read) and `importer` (import and write users, no credentials), and the
/// users `ivy` (importer), `vic` (viewer) and `adam` (administrator).
async fn directory(store: &Store) {
    import_ok(
        store,
        "Role,Permissions\nviewer,users.read\nimporter,\"users.read, users.write, users.import, imports.read, imports.revert\"\n",
    )
    .await;
    import_ok(
        store,
        "Username,Name,Roles\nivy,Ivy Importer,importer\nvic,Vic Viewer,viewer\nadam,Adam Admin,administrator\n",
    )
    .await;
}

async fn as_user(store: &Store, username: &str) -> Context {
    context(
        Actor::for_user(store, username, Source::Console)
            .await
            .expect("the user can act"),
    )
}

/// The (column, message) of every problem of `row`.
fn problems(report: &ImportReport, row: u64) -> Vec<(String, String)> {
    report
        .errors
        .iter()
        .filter(|e| e.position.row == row)
        .map(|e| {
            (
                e.position.column.clone().unwrap_or_default(),
                e.kind.to_string(),
            )
        })
        .collect()
}

async fn an_import_needs_the_import_permission_and_the_refusal_is_audited(store: &Store) {
    directory(store).await;
    let vic = as_user(store, "vic").await;
    let source = csv("Username,Name\nnew,New\n");
    let error = import_file(store, &source, &ImportOptions::default(), &vic)
        .await
        .expect_err("a viewer cannot import");
    assert!(matches!(error, Error::Forbidden(_)), "{error}");
    let log = list_audit(
        store,
        &operator(),
        &AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("the operator reads the audit log");
    assert_eq!(log[0].outcome, "refused");
    assert_eq!(log[0].actor, "vic");
    assert!(log[0].changes[0]
        .after
        .as_deref()
        .unwrap_or_default()
        .contains("users.import"));
    assert_eq!(
        log[1].action, "import.apply",
        "the directory's import is audited"
    );
}

async fn a_row_granting_a_role_beyond_the_actor_is_refused_at_its_cell(store: &Store) {
    directory(store).await;
    let ivy = as_user(store, "ivy").await;
    let report = import(
        store,
        &ivy,
        "Username,Name,Roles\nnew1,New One,importer\nnew2,New Two,administrator\n",
        ImportOptions {
            partial: true,
            ..ImportOptions::default()
        },
    )
    .await;
    assert_eq!(report.counts.created, 1, "{:?}", report.errors);
    let refused = problems(&report, 3);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "Roles");
    assert!(
        refused[0].1.starts_with("forbidden: role `administrator`"),
        "{refused:?}"
    );
    // An atomic import with the same row applies nothing.
    let atomic = import(
        store,
        &ivy,
        "Username,Name,Roles\nnew3,New Three,viewer\nnew4,New Four,administrator\n",
        ImportOptions::default(),
    )
    .await;
    assert_eq!(atomic.status, ImportStatus::Rejected);
    let mut conn = store.acquire().await.expect("connection");
    let found = muster_store::fetch_users(&mut conn, &["new3", "new4"])
        .await
        .expect("read");
    assert!(
        found.is_empty(),
        "an atomic import with a refused row applies nothing"
    );
}

async fn joining_a_group_whose_roles_exceed_the_actor_is_refused(store: &Store) {
    directory(store).await;
    // The operator makes a group that gives its members the administrator role.
    let ctx = operator();
    let group = create_group(
        store,
        &ctx,
        &NewEntry {
            name: "Admins".into(),
            description: None,
        },
    )
    .await
    .expect("a group");
    set_group_roles(
        store,
        &ctx,
        &group.id,
        Expected(group.version),
        &["administrator".to_owned()],
    )
    .await
    .expect("the group gives administrator");
    let ivy = as_user(store, "ivy").await;
    let report = import(
        store,
        &ivy,
        "Username,Name,User group\nnew,New,Admins\n",
        ImportOptions::default(),
    )
    .await;
    assert_eq!(report.status, ImportStatus::Rejected);
    let refused = problems(&report, 2);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "User group");
    assert!(
        refused[0]
            .1
            .starts_with("forbidden: joining group `Admins`"),
        "{refused:?}"
    );
    // A member of the group acts with the group's roles.
    import_ok(store, "Username,Name,User group\nvic,Vic Viewer,Admins\n").await;
    let vic = as_user(store, "vic").await;
    assert!(vic.actor.holds(muster_domain::Permission::AuditRead));
}

async fn a_role_beyond_the_actor_cannot_be_created_or_widened(store: &Store) {
    directory(store).await;
    // Give ivy roles.write too, but not audit.read.
    import_ok(
        store,
        "Role,Permissions\nimporter,\"users.read, users.write, users.import, imports.read, imports.revert, roles.write\"\n",
    )
    .await;
    let ivy = as_user(store, "ivy").await;
    let report = import(
        store,
        &ivy,
        "Role,Permissions\nreader,users.read\nspy,\"users.read, audit.read\"\nviewer,\"users.read, users.credentials\"\n",
        ImportOptions { partial: true, ..ImportOptions::default() },
    )
    .await;
    assert_eq!(report.counts.created, 1, "{:?}", report.errors);
    for row in [3, 4] {
        let refused = problems(&report, row);
        assert!(
            refused
                .iter()
                .any(|(c, m)| c == "Permissions" && m.starts_with("forbidden:")),
            "row {row}: {refused:?}"
        );
    }
}

async fn nobody_changes_their_own_roles_password_or_mfa_through_an_import(store: &Store) {
    directory(store).await;
    let adam = as_user(store, "adam").await;
    let report = import(
        store,
        &adam,
        "Username,Name,Roles,Password,Ignore MFA\nadam,Adam Admin,\"administrator, viewer\",Another-L0ng-Passphrase,Yes\n",
        ImportOptions::default(),
    )
    .await;
    assert_eq!(report.status, ImportStatus::Rejected);
    let columns: Vec<String> = problems(&report, 2)
        .into_iter()
        .filter(|(_, m)| m.contains("their own"))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(
        columns,
        ["Roles", "Password", "Ignore MFA"],
        "{:?}",
        report.errors
    );
    // Changing one's own name is fine.
    let named = import(
        store,
        &adam,
        "Username,Name\nadam,Adam Renamed\n",
        ImportOptions::default(),
    )
    .await;
    assert_eq!(named.status, ImportStatus::Applied, "{:?}", named.errors);
}

async fn secrets_need_the_credentials_permission(store: &Store) {
    directory(store).await;
    let ivy = as_user(store, "ivy").await;
    let report = import(
        store,
        &ivy,
        "Username,Name,Password\nnew,New,Another-L0ng-Passphrase\n",
        ImportOptions::default(),
    )
    .await;
    let refused = problems(&report, 2);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "Password");
    assert!(refused[0].1.contains("users.credentials"));
}

async fn a_preview_is_checked_again_for_whoever_applies_it(store: &Store) {
    directory(store).await;
    let preview = import(
        store,
        &operator(),
        "Username,Name,Roles\nvic,Vic Viewer,administrator\n",
        ImportOptions {
            dry_run: true,
            ..ImportOptions::default()
        },
    )
    .await;
    let id = preview.import_id.expect("an id");
    let ivy = as_user(store, "ivy").await;
    let error = apply_plan(store, id, &ivy)
        .await
        .expect_err("ivy cannot grant administrator");
    let Error::Forbidden(refusal) = &error else {
        panic!("expected a refused plan, got {error}");
    };
    assert!(
        refusal
            .to_string()
            .starts_with("role `administrator` holds"),
        "{refusal}"
    );
    apply_plan(store, id, &operator())
        .await
        .expect("the operator applies it");
}

async fn a_revert_does_not_give_back_roles_beyond_the_actor(store: &Store) {
    directory(store).await;
    // The operator takes administrator away from adam; ivy may revert imports but may not
    // grant administrator, so her revert leaves adam alone and says why.
    let report = import(
        store,
        &operator(),
        "Username,Roles\nadam,viewer\n",
        ImportOptions::default(),
    )
    .await;
    let id = report.import_id.expect("an id");
    let ivy = as_user(store, "ivy").await;
    let revert = revert_import(store, id, true, &ivy)
        .await
        .expect("the revert runs");
    assert_eq!(revert.restored, 0);
    assert_eq!(revert.status, ImportStatus::Conflicted);
    assert!(
        revert.conflicts[0].reason.starts_with("forbidden:"),
        "{:?}",
        revert.conflicts
    );
    let vic = as_user(store, "vic").await;
    let error = revert_import(store, id, false, &vic)
        .await
        .expect_err("vic may not revert");
    assert!(matches!(error, Error::Forbidden(_)), "{error}");
    let by_operator = revert_import(store, id, false, &operator())
        .await
        .expect("the operator may");
    assert_eq!(by_operator.restored, 1);
    assert_eq!(by_operator.status, ImportStatus::Applied);
}

scenarios!(
    an_import_needs_the_import_permission_and_the_refusal_is_audited,
    a_row_granting_a_role_beyond_the_actor_is_refused_at_its_cell,
    joining_a_group_whose_roles_exceed_the_actor_is_refused,
    a_role_beyond_the_actor_cannot_be_created_or_widened,
    nobody_changes_their_own_roles_password_or_mfa_through_an_import,
    secrets_need_the_credentials_permission,
    a_preview_is_checked_again_for_whoever_applies_it,
    a_revert_does_not_give_back_roles_beyond_the_actor,
);
