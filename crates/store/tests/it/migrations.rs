//! Migrations: idempotent on reopening, and a new store's catalog holds the built-in role.

use muster_store::{DatabaseUrl, Store};

use crate::support::{self, bare_user, catalog, commit, fetch};

/// The whole permission catalog (SPEC §1), as the domain crate spells it.
const ALL_PERMISSIONS: [&str; 15] = [
    "audit.read",
    "departments.read",
    "departments.write",
    "groups.read",
    "groups.write",
    "imports.read",
    "imports.revert",
    "roles.read",
    "roles.write",
    "tokens.manage",
    "users.credentials",
    "users.export",
    "users.import",
    "users.read",
    "users.write",
];

async fn new_catalog_holds_only_the_administrator(store: &Store) {
    let catalog = catalog(store).await;
    assert!(catalog.departments.is_empty(), "{:?}", catalog.departments);
    assert!(catalog.groups.is_empty(), "{:?}", catalog.groups);
    assert_eq!(catalog.roles.keys().collect::<Vec<_>>(), ["administrator"]);
    let admin = &catalog.roles["administrator"];
    assert_eq!(admin.named.name_key, "administrator");
    assert_eq!(admin.named.name, "administrator");
    assert_eq!(
        admin.permissions, ALL_PERMISSIONS,
        "sorted, every code once"
    );
}

crate::scenarios!(new_catalog_holds_only_the_administrator);

/// Opens the store at `url` three times in a row (each open runs the migrations), keeping data.
async fn reopen_keeps_data(url: &DatabaseUrl) {
    let first = Store::open(url).await.expect("first open");
    let mut writes = muster_store::PreparedWrites::new(first.backend());
    writes.insert_users(vec![bare_user("kept")]);
    commit(&first, writes).await;
    // A second store on the same database while the first is still open, then a third after.
    let second = Store::open(url)
        .await
        .expect("second open: migrations must be idempotent");
    assert_eq!(fetch(&second, &["kept"]).await, [bare_user("kept")]);
    new_catalog_holds_only_the_administrator(&second).await;
    first.close().await;
    second.close().await;
    let third = Store::open(url).await.expect("third open");
    assert_eq!(fetch(&third, &["kept"]).await, [bare_user("kept")]);
    third.close().await;
}

#[test]
fn opening_the_same_sqlite_data_dir_twice_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::sqlite_in(dir.path());
    support::runtime().block_on(reopen_keeps_data(&url));
    assert!(dir.path().join("muster.db").is_file());
}

#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn opening_the_same_postgres_database_twice_is_idempotent() {
    let server = support::postgres_server();
    let rt = support::runtime();
    let database = rt.block_on(support::PgDatabase::create(server));
    rt.block_on(reopen_keeps_data(&database.url));
    drop(rt);
    drop(database);
}

/// Four stores opened at the same moment on a database nobody migrated yet: each waits for the
/// migration another is running instead of failing on "table already exists".
async fn concurrent_first_opens_migrate_once(url: &DatabaseUrl) {
    let opens = (0..4).map(|_| Store::open(url));
    let stores = futures_util::future::join_all(opens).await;
    for store in stores {
        let store = store.expect("every concurrent open succeeds");
        new_catalog_holds_only_the_administrator(&store).await;
        store.close().await;
    }
}

#[test]
fn concurrent_first_opens_of_a_sqlite_data_dir_migrate_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::sqlite_in(dir.path());
    support::runtime().block_on(concurrent_first_opens_migrate_once(&url));
}

#[test]
#[cfg_attr(
    not(muster_postgres),
    ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL"
)]
fn concurrent_first_opens_of_a_postgres_database_migrate_once() {
    let server = support::postgres_server();
    let rt = support::runtime();
    let database = rt.block_on(support::PgDatabase::create(server));
    rt.block_on(concurrent_first_opens_migrate_once(&database.url));
    drop(rt);
    drop(database);
}

#[test]
fn an_unsupported_url_is_refused() {
    let url = DatabaseUrl::new("mysql://u:secret@h/db");
    let err = support::runtime()
        .block_on(Store::open(&url))
        .expect_err("mysql is not supported");
    assert!(
        matches!(err, muster_store::StoreError::UnsupportedUrl(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("secret"), "{err}");
}

/// A first import on SQLite commits its users before it builds the filter indexes; a process
/// that dies in between leaves them missing, and the next open builds them.
#[test]
fn opening_a_sqlite_store_builds_missing_filter_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::sqlite_in(dir.path());
    support::runtime().block_on(async {
        let store = Store::open(&url).await.expect("first open");
        let all = {
            let mut conn = store.acquire().await.expect("connection");
            let all = muster_store::index_names(&mut conn).await.expect("indexes");
            use sqlx::Executor;
            for name in ["users_by_department", "group_members_by_group"] {
                conn.execute(format!("DROP INDEX {name}").as_str())
                    .await
                    .expect("dropping an index");
            }
            all
        };
        store.close().await;
        let store = Store::open(&url).await.expect("second open");
        let mut conn = store.acquire().await.expect("connection");
        let now = muster_store::index_names(&mut conn).await.expect("indexes");
        assert_eq!(now, all, "the open built the missing indexes again");
        drop(conn);
        store.close().await;
    });
}
