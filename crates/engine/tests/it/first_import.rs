//! A first import into an empty directory. On SQLite it skips the look-ups an empty directory
//! cannot answer and builds the filter indexes once at its end (`muster_store::bulk`); what it
//! reports and stores must not differ from any other import's: duplicates inside the file are
//! still found by the planner, and the directory's filtered lists work on what it wrote.

use muster_engine::directory::users::{list_users, UserQuery};
use muster_engine::{
    import_file, ImportOptions, ImportSource, ImportStatus, IssueKind, Positioned,
};
use muster_store::Store;

use crate::scenarios;
use crate::support::operator;

async fn a_first_import_finds_duplicates_in_the_file_and_leaves_filters_working(store: &Store) {
    let setup = "Role,Permissions\nviewer,users.read\n";
    let source = ImportSource::read("roles.csv", setup.as_bytes()).expect("spooling");
    import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("the roles");
    let text = "Username,Name,E-mail,Department,Roles\n\
                ann,Ann,ann@example.org,Sales,viewer\n\
                ben,Ben,ANN@example.org,Sales,\n\
                ann,Ann again,other@example.org,Ops,\n\
                cas,Cas,cas@example.org,Ops,viewer\n";
    let source = ImportSource::read("people.csv", text.as_bytes()).expect("spooling");
    let options = ImportOptions {
        partial: true,
        ..ImportOptions::default()
    };
    let report = import_file(store, &source, &options, &operator())
        .await
        .expect("the import runs");
    assert_eq!(report.status, ImportStatus::Applied, "{:?}", report.errors);
    assert_eq!((report.counts.created, report.counts.failed), (2, 2));
    let problem = |row: u64| -> &IssueKind {
        let issue: &Positioned<IssueKind> = report
            .errors
            .iter()
            .find(|issue| issue.position.row == row)
            .expect("a problem on the row");
        &issue.kind
    };
    assert!(
        matches!(problem(3), IssueKind::DuplicateEmail { first_row: 2, .. }),
        "{:?}",
        problem(3)
    );
    assert!(
        matches!(problem(4), IssueKind::DuplicateKey { first_row: 2, .. }),
        "{:?}",
        problem(4)
    );

    let ctx = operator();
    let listed = |query: UserQuery| {
        let ctx = &ctx;
        async move {
            list_users(store, ctx, &query)
                .await
                .expect("a list")
                .items
                .into_iter()
                .map(|user| user.username)
                .collect::<Vec<_>>()
        }
    };
    let by_department = UserQuery {
        department: Some("Ops".into()),
        ..UserQuery::default()
    };
    assert_eq!(listed(by_department).await, ["cas"]);
    let by_role = UserQuery {
        role: Some("viewer".into()),
        ..UserQuery::default()
    };
    assert_eq!(listed(by_role).await, ["ann", "cas"]);
    let mut conn = store.acquire().await.expect("connection");
    let indexes = muster_store::index_names(&mut conn).await.expect("indexes");
    for name in [
        "users_by_id",
        "users_by_email",
        "users_by_department",
        "user_roles_by_role",
        "group_members_by_group",
    ] {
        assert!(indexes.iter().any(|n| n == name), "{name} in {indexes:?}");
    }
}

scenarios!(a_first_import_finds_duplicates_in_the_file_and_leaves_filters_working);
