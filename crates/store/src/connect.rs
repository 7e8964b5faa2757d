//! Opening a store from a URL: the backend is chosen by the scheme, SQLite gets the pragmas an
//! import-heavy embedded database wants, and migrations run before anyone else sees the pool.

use std::fmt;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::{migrate, Result, StoreError};

/// Which database server is behind the URL. Kept for the few places where the dialects cannot
/// share SQL; everything else ignores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend behind an open connection.
    pub(crate) fn of(conn: &crate::Connection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// A database URL whose `Debug` and `Display` hide the password, so it can go into errors and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL of the embedded store inside a data directory.
    pub fn sqlite_in(dir: &std::path::Path) -> DatabaseUrl {
        DatabaseUrl(format!(
            "sqlite://{}?mode=rwc",
            dir.join("muster.db").display()
        ))
    }

    /// The URL of the sign-in database beside a SQLite store: the same path with `-signin`
    /// before its extension (`DATA_DIR/muster.db` → `DATA_DIR/muster-signin.db`, `PATH` →
    /// `PATH-signin`), with the URL's parameters kept, and created when missing whatever the main
    /// URL's `mode` says (an existing store opened without `mode=rwc` has no sign-in file yet).
    /// None for PostgreSQL, whose sign-in tables live in the main database.
    pub fn signin_companion(&self) -> Option<DatabaseUrl> {
        if self.backend()? != Backend::Sqlite {
            return None;
        }
        let rest = &self.0["sqlite:".len()..];
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let slashes = if path.starts_with("//") { "//" } else { "" };
        let path = &path[slashes.len()..];
        if path.is_empty() || path == ":memory:" {
            // An in-memory store keeps its sign-in tables in memory too.
            return Some(DatabaseUrl("sqlite::memory:".to_owned()));
        }
        let name_start = path.rfind('/').map_or(0, |i| i + 1);
        let companion = match path[name_start..].rfind('.') {
            Some(dot) if dot > 0 => {
                let dot = name_start + dot;
                format!("{}-signin{}", &path[..dot], &path[dot..])
            }
            _ => format!("{path}-signin"),
        };
        let params: Vec<&str> = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty() && !p.starts_with("mode="))
            .chain(["mode=rwc"])
            .collect();
        Some(DatabaseUrl(format!(
            "sqlite:{slashes}{companion}?{}",
            params.join("&")
        )))
    }

    pub fn backend(&self) -> Option<Backend> {
        if self.0.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if self.0.starts_with("postgres://") || self.0.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The full URL, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> String {
        // postgres://user:secret@host/db → postgres://user:***@host/db
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let Some((auth, host)) = rest.split_once('@') else {
            return self.0.clone();
        };
        match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Configures the SQLite library once, before it initialises (i.e. before the first connection):
///
/// - memory statistics off: with them on (the bundled default) every allocation and free inside
///   SQLite takes one process-wide mutex, and sqlx frees fetched values on another thread than
///   the one that allocated them; profiling a re-import showed a fifth of its time in that lock;
/// - allocations through mimalloc instead of the C library's malloc, which took a fifth of the
///   SQLite writer thread's time in a large import (the writer is an import's critical path).
fn configure_sqlite_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let methods = libsqlite3_sys::sqlite3_mem_methods {
            xMalloc: Some(sqlite_alloc::malloc),
            xFree: Some(sqlite_alloc::free),
            xRealloc: Some(sqlite_alloc::realloc),
            xSize: Some(sqlite_alloc::size),
            xRoundup: Some(sqlite_alloc::roundup),
            xInit: Some(sqlite_alloc::init),
            xShutdown: Some(sqlite_alloc::shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: sqlite3_config must run before sqlite3_initialize, i.e. before any connection
        // opens; the Once runs it before this process opens its first store. SQLite copies the
        // methods struct. Had a connection opened earlier, SQLite would return SQLITE_MISUSE and
        // change nothing, which is harmless.
        unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MALLOC,
                &methods as *const libsqlite3_sys::sqlite3_mem_methods,
            );
        }
    });
}

/// The allocator SQLite is given: mimalloc, which aligns to 16 bytes (SQLite needs 8) and reports
/// usable sizes, as `xSize` requires.
mod sqlite_alloc {
    use std::os::raw::{c_int, c_void};

    pub unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        libmimalloc_sys::mi_malloc(n.max(0) as usize)
    }
    pub unsafe extern "C" fn free(p: *mut c_void) {
        libmimalloc_sys::mi_free(p)
    }
    pub unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        libmimalloc_sys::mi_realloc(p, n.max(0) as usize)
    }
    pub unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        c_int::try_from(libmimalloc_sys::mi_usable_size(p)).unwrap_or(c_int::MAX)
    }
    pub unsafe extern "C" fn roundup(n: c_int) -> c_int {
        n.saturating_add(7) & !7
    }
    pub unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        0
    }
    pub unsafe extern "C" fn shutdown(_: *mut c_void) {}
}

/// How long the first connection to a server may take. An unreachable server should be
/// reported in seconds, not after the pool's 30 s acquire timeout.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Connects once, outside any pool, and closes again. A pool retries failed connections until
/// its acquire timeout and then reports only "pool timed out", losing the cause; one direct
/// attempt fails fast with the driver's own error ("Connection refused", a bad password, an
/// unknown database).
async fn probe(options: &AnyConnectOptions) -> std::result::Result<(), sqlx::Error> {
    use sqlx::{ConnectOptions, Connection};
    match tokio::time::timeout(PROBE_TIMEOUT, options.connect()).await {
        Ok(conn) => conn?.close().await,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer from the server within {} s",
                PROBE_TIMEOUT.as_secs()
            ),
        ))),
    }
}

/// An open, migrated database: the main pool and the sign-in pool (on SQLite a second file, see
/// `DatabaseUrl::signin_companion`; on PostgreSQL the same pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    signin: AnyPool,
    backend: Backend,
}

/// The pragmas of every SQLite connection, main or sign-in. 8 KiB pages for a new store (an
/// existing one keeps its own: the size is fixed once the file has a table): half the pages,
/// syscalls and B-tree cells of 4 KiB for the same rows, which made a million-user first import
/// 10% faster, most of it in the commit's checkpoint. WAL lets exports read while an import
/// writes; NORMAL sync is durable at each commit in WAL mode; a 32 MB cache per connection keeps
/// a big import's upper index pages in memory within the memory budget.
const SQLITE_PRAGMAS: [&str; 7] = [
    "PRAGMA page_size = 8192",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA cache_size = -32768",
    "PRAGMA temp_store = MEMORY",
];

/// The pragmas of a sign-in connection: WAL and NORMAL sync as the main file, and a short wait
/// for the lock, because its writers (a sign-in, a session touch) are single-row statements
/// that end in a moment; a small cache, since its tables are small.
const SQLITE_SIGNIN_PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA cache_size = -4096",
];

/// A pool for `options` whose connections run `pragmas` when they open (SQLite), or turn JIT off
/// (PostgreSQL).
async fn connect_pool(
    backend: Backend,
    options: AnyConnectOptions,
    max_connections: u32,
    pragmas: &'static [&'static str],
) -> std::result::Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Postgres {
                    // JIT compilation pays off for long analytical queries; muster's are short
                    // batches, and right after a bulk load stale statistics make every one look
                    // expensive enough to compile: measured 143 ms of JIT on a 3 ms query, which
                    // made a million-row re-import take minutes.
                    conn.execute("SET jit = off").await?;
                }
                if backend == Backend::Sqlite {
                    for pragma in pragmas {
                        conn.execute(*pragma).await?;
                    }
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

impl Store {
    /// Connects, applies SQLite pragmas where relevant, and runs pending migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<Store> {
        sqlx::any::install_default_drivers();
        configure_sqlite_library();
        let backend = url
            .backend()
            .ok_or_else(|| StoreError::UnsupportedUrl(url.clone()))?;
        let connect_error = |cause| StoreError::Connect {
            url: url.clone(),
            cause,
        };
        let options = AnyConnectOptions::from_str(url.expose()).map_err(connect_error)?;
        if backend == Backend::Postgres {
            probe(&options).await.map_err(connect_error)?;
        }
        let max_connections = if backend == Backend::Sqlite { 4 } else { 8 };
        let pool = connect_pool(backend, options, max_connections, &SQLITE_PRAGMAS)
            .await
            .map_err(connect_error)?;
        migrate::run(&pool, &migrate::MAIN).await?;
        crate::bulk::ensure_filter_indexes(&pool).await?;
        let signin = match url.signin_companion() {
            Some(signin_url) => {
                let connect_error = |cause| StoreError::Connect {
                    url: signin_url.clone(),
                    cause,
                };
                let options =
                    AnyConnectOptions::from_str(signin_url.expose()).map_err(connect_error)?;
                connect_pool(backend, options, 4, &SQLITE_SIGNIN_PRAGMAS)
                    .await
                    .map_err(connect_error)?
            }
            None => pool.clone(),
        };
        migrate::run(&signin, &migrate::SIGNIN).await?;
        Ok(Store {
            pool,
            signin,
            backend,
        })
    }

    /// Refreshes the planner's statistics after a bulk change, so the next queries are planned
    /// for the table sizes they will meet.
    pub async fn refresh_statistics(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Postgres => "ANALYZE users, user_roles, group_members",
            Backend::Sqlite => "PRAGMA optimize",
        };
        self.pool.execute(sql).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction: everything an import writes goes through one, so a failure or a
    /// crash leaves the store as it was.
    pub async fn begin(&self) -> Result<crate::Transaction> {
        Ok(self.pool.begin().await?)
    }

    /// Starts a transaction that writes after reading, holding SQLite's one write lock from its
    /// start (`BEGIN IMMEDIATE`), as a transaction whose first statement writes does. SQLite
    /// cannot wait for the lock in a transaction that has read: it fails the first write at
    /// once as busy while another writer holds the database, and always once another writer
    /// committed since that read, so a long job that reads before it writes would fail
    /// half-way instead of waiting out the busy timeout at its start. PostgreSQL locks rows as
    /// they are written.
    pub async fn begin_writing(&self) -> Result<crate::Transaction> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => self.begin().await,
        }
    }

    /// A connection for a writer that keeps referential integrity itself, checking every
    /// reference it writes: on SQLite, foreign-key enforcement is off on it, because SQLite runs
    /// a cascade program per deleted row (a million-user revert spent most of its time there;
    /// measured three times slower than deleting the memberships explicitly without it). The
    /// connection is closed when dropped, never returned to the pool. PostgreSQL keeps its
    /// checks, which cost it little.
    pub async fn acquire_self_checking(&self) -> Result<crate::PooledConnection> {
        let mut conn = self.pool.acquire().await?;
        conn.close_on_drop();
        if self.backend == Backend::Sqlite {
            conn.execute("PRAGMA foreign_keys = OFF").await?;
        }
        Ok(conn)
    }

    /// A connection whose writes do not wait for another writer: on SQLite, one that gives up
    /// as busy after a moment instead of the pool's long busy timeout (closed when dropped, so
    /// the setting never reaches the pool). For work that may as well be left to a later
    /// command, such as recording a dead job, while a live one holds the database.
    pub async fn acquire_briefly(&self) -> Result<crate::PooledConnection> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Sqlite {
            conn.close_on_drop();
            conn.execute("PRAGMA busy_timeout = 250").await?;
        }
        Ok(conn)
    }

    /// A connection outside any transaction, for reads.
    pub async fn acquire(&self) -> Result<crate::PooledConnection> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection to the sign-in database (sessions, throttles, second-factor steps and
    /// recovery codes), for reads and single-statement writes. On SQLite it is another file, so
    /// it never waits for an import holding the main database's write lock.
    pub async fn acquire_signin(&self) -> Result<crate::PooledConnection> {
        Ok(self.signin.acquire().await?)
    }

    /// A transaction on the sign-in database that reads before it writes (a throttle counted
    /// up, a session rotated): on SQLite it takes the sign-in file's write lock from its start,
    /// for the reason `begin_writing` gives.
    pub async fn begin_signin(&self) -> Result<crate::Transaction> {
        match self.backend {
            Backend::Sqlite => Ok(self.signin.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => Ok(self.signin.begin().await?),
        }
    }

    /// A connection to the main database whose writes give up at once instead of waiting for
    /// another writer: on SQLite a busy timeout of zero (closed when dropped, so the setting
    /// never reaches the pool), on PostgreSQL a lock timeout of a tenth of a second for each
    /// statement. For writes that may as well wait for a later occasion, such as re-hashing an
    /// imported password at sign-in while an import holds the database.
    pub async fn acquire_without_waiting(&self) -> Result<crate::PooledConnection> {
        let mut conn = self.pool.acquire().await?;
        conn.close_on_drop();
        match self.backend {
            Backend::Sqlite => conn.execute("PRAGMA busy_timeout = 0").await?,
            Backend::Postgres => conn.execute("SET lock_timeout = 100").await?,
        };
        Ok(conn)
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.signin.close().await;
    }
}
