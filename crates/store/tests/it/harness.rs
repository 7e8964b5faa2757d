//! The harness of the store's and the engine's integration tests (the engine's `support.rs`
//! includes this file): a fresh store per test, SQLite in a temporary directory and PostgreSQL
//! in a fresh database dropped when the test ends, and `scenarios!`, which runs a scenario on
//! both.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use muster_store::{create_postgres_database, drop_postgres_database, DatabaseUrl, Store};

pub const POSTGRES_URL_VAR: &str = "MUSTER_TEST_POSTGRES_URL";

/// A multi-thread runtime with two workers, as the binary runs the store.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a tokio runtime")
}

/// Runs `scenario` on a store opened in a fresh temporary data directory.
pub fn on_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::sqlite_in(dir.path());
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&url).await.expect("opening the SQLite store");
        scenario(store.clone()).await;
        store.close().await;
    });
}

/// The PostgreSQL server URL. PostgreSQL tests are ignored unless the crate was built with
/// `MUSTER_TEST_POSTGRES_URL` set (see `build.rs`), so an unset variable here is a mistake, not
/// a reason to pass without running.
pub fn postgres_server() -> DatabaseUrl {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => DatabaseUrl::new(url),
        _ => panic!("MUSTER_TEST_POSTGRES_URL was set when the tests were built but is unset now"),
    }
}

/// Under CI the PostgreSQL tests must run: ignoring them there would hide a backend.
#[test]
fn postgres_runs_under_ci() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci || cfg!(muster_postgres),
        "CI=true but MUSTER_TEST_POSTGRES_URL is unset: the PostgreSQL tests would be ignored"
    );
}

/// Runs `scenario` on a store opened in a fresh PostgreSQL database, dropped afterwards.
pub fn on_postgres<F, Fut>(scenario: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = postgres_server();
    let rt = runtime();
    let database = rt.block_on(PgDatabase::create(server));
    rt.block_on(async {
        let store = Store::open(&database.url)
            .await
            .expect("opening the PostgreSQL store");
        scenario(store.clone()).await;
        store.close().await;
    });
    // The runtime goes first so no pooled connection outlives it; the guard then drops the
    // database (forcibly, should a connection remain).
    drop(rt);
    drop(database);
}

/// A database created for one test, dropped when the guard is (even when the test panics).
pub struct PgDatabase {
    server: DatabaseUrl,
    name: String,
    pub url: DatabaseUrl,
}

impl PgDatabase {
    pub async fn create(server: DatabaseUrl) -> PgDatabase {
        let name = unique_database_name();
        let url = create_postgres_database(&server, &name)
            .await
            .unwrap_or_else(|e| panic!("creating the PostgreSQL database {name}: {e}"));
        PgDatabase { server, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // A fresh current-thread runtime: the test's runtime may be gone, or this may run inside
        // an unwinding panic.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let result = match rt {
            Ok(rt) => rt
                .block_on(drop_postgres_database(&self.server, &self.name))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            eprintln!(
                "could not drop the PostgreSQL test database {}: {e}",
                self.name
            );
        }
    }
}

/// `<crate>_<pid>_<counter>_<nanos>`: lowercase, digits and underscores, unique across
/// parallel tests and processes.
pub fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // The crate's name keeps the store's and the engine's test databases apart in listings.
    let crate_name = env!("CARGO_PKG_NAME").replace('-', "_");
    format!("{crate_name}_{}_{n}_{nanos}", std::process::id())
}

/// Generates `mod $name { #[test] fn sqlite(); #[test] fn postgres() }` for
/// `async fn $name(store: &Store)` in the enclosing module.
#[macro_export]
macro_rules! scenarios {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $crate::support::on_sqlite(|store| async move { super::$name(&store).await });
                }

                #[test]
                #[cfg_attr(not(muster_postgres), ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL")]
                fn postgres() {
                    $crate::support::on_postgres(|store| async move { super::$name(&store).await });
                }
            }
        )+
    };
}
