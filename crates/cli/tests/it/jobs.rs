//! Issue 8: jobs held by leases. A running record whose lease expired is failed by the next
//! command wherever its holder ran (here: a record left by another host), a live one is left
//! alone, and on SQLite a second writer waiting for a running import gets a clear "busy" naming
//! it and the exit code for a temporary condition, never "database is locked". The kill -9
//! scenario (`interrupt`) covers a dead holder on this host.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use muster_store::{DatabaseUrl, ImportJobOptions, JobKind, JobOptions, Lease, NewImport};

use crate::support::{both, run_sqlite, Store};

/// The exit code of a command that found the database busy (see the CLI's `main`).
const EXIT_BUSY: i32 = 75;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Writes `running` records held by each (holder, lease end), as other instances would.
fn insert_running(store: &Store, leases: &[(&str, i64)]) -> Vec<i64> {
    // The first command creates (and migrates) the store.
    assert_eq!(store.run(&["imports", "list"]).code, 0);
    let url = match store.url() {
        Some(url) => DatabaseUrl::new(url),
        None => DatabaseUrl::sqlite_in(&store.data_dir().canonicalize().expect("data dir")),
    };
    runtime().block_on(async {
        let opened = muster_store::Store::open(&url).await.expect("open");
        let mut conn = opened.acquire().await.expect("connection");
        let mut ids = Vec::new();
        for &(holder, until) in leases {
            let new = NewImport {
                kind: JobKind::Import,
                actor: "cli:elsewhere".into(),
                lease: Lease {
                    holder: holder.to_owned(),
                    until,
                    heartbeat_at: until - 30_000,
                },
                started_at: until - 60_000,
                file_name: "remote.csv".into(),
                file_size: 10,
                sha256: "cd".repeat(32),
                format: None,
                options: JobOptions::Import(ImportJobOptions::default()),
                fixes_id: None,
                revert_of: None,
            };
            ids.push(
                muster_store::insert_import(&mut conn, &new)
                    .await
                    .expect("insert"),
            );
        }
        drop(conn);
        opened.close().await;
        ids
    })
}

fn an_expired_lease_from_another_host_is_failed_by_the_next_command(store: &Store) {
    let now = now_ms();
    let ids = insert_running(
        store,
        &[
            ("other-host.example:4242:1:0123456789abcdef", now - 5_000),
            ("other-host.example:4343:1:fedcba9876543210", now + 600_000),
        ],
    );
    let (dead, live) = (ids[0], ids[1]);
    let out = store.run(&["imports", "list", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("job {dead} was interrupted")),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(&format!("job {live} ")),
        "{}",
        out.stderr
    );
    let status = |id: i64| store.import_entry(&id.to_string())["status"].clone();
    assert_eq!(status(dead), "failed");
    assert_eq!(
        status(live),
        "running",
        "a live lease is left to its holder"
    );
    let shown = store.run(&["imports", "show", &dead.to_string(), "--json"]);
    let note = shown.json()["summary"]["note"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        note.contains("lease") && note.contains("nothing of it was applied"),
        "{note}"
    );
}

both!(an_expired_lease_from_another_host_is_failed_by_the_next_command);

/// A users file big enough that its apply holds the database well past the busy wait.
fn big_file(store: &Store, rows: usize) -> std::path::PathBuf {
    let mut text = String::from("Username,Name,E-mail,Department,User group\n");
    for i in 0..rows {
        text.push_str(&format!(
            "user{i:07},User {i},user{i}@example.com,Dept {},Group {}\n",
            i % 50,
            i % 20
        ));
    }
    store.file("big.csv", text)
}

fn spawn_import(store: &Store, file: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("--data-dir")
        .arg(store.data_dir())
        .arg("import")
        .arg(file)
        .args(["--create-groups", "--json"])
        .env_remove("MUSTER_DATA_DIR")
        .env_remove("MUSTER_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting muster")
}

/// Waits until the import has written its first batch: then it holds SQLite's write lock until
/// it ends. Its users appear to readers only at the commit, so the sign is the WAL growing.
fn wait_until_writing(store: &Store, child: &mut Child) {
    let wal = store.data_dir().join("muster.db-wal");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the import ended before the second one started: {status}");
        }
        let running = store.imports().iter().any(|e| e["status"] == "running");
        let wal_size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if running && wal_size > 4 * 1024 * 1024 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the import never started writing");
}

fn a_second_writer_is_told_busy_naming_the_running_import(store: &Store) {
    // Big enough that the first import still writes when the second gives up after SQLite's
    // 10 s busy timeout: a first import into an empty directory builds its indexes at the end
    // and writes fast, so 600,000 rows were once done in time.
    let file = big_file(store, 2_000_000);
    // The store is created (and migrated) first, so the import is entry 1 of its history.
    assert!(store.imports().is_empty());
    let mut first = spawn_import(store, &file);
    wait_until_writing(store, &mut first);
    let started = Instant::now();
    let small = store.file("small.csv", "Username,Name\nbob,Bob\n");
    let out = store.run(&["import".as_ref(), small.as_os_str(), "--json".as_ref()]);
    let waited = started.elapsed();
    let still_running = first.try_wait().expect("try_wait").is_none();
    let _ = first.kill();
    let _ = first.wait();
    assert!(
        still_running,
        "the first import ended before the second gave up; make the file bigger"
    );
    assert_eq!(out.code, EXIT_BUSY, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("busy: import 1 is running (started by cli:")
            && out.stderr.contains("try again when it ends"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("locked"), "{}", out.stderr);
    assert_eq!(out.json()["status"], "busy");
    assert!(waited < Duration::from_secs(60), "waited {waited:?}");
    // Nothing of the refused import was recorded, and the next command finds the killed one.
    let next = store.run(&["imports", "list", "--json"]);
    assert!(
        next.stderr.contains("job 1 was interrupted"),
        "{}",
        next.stderr
    );
    let list = next.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["status"], "failed");
}

/// SQLite only: PostgreSQL runs writers side by side.
#[test]
fn a_second_writer_is_told_busy_naming_the_running_import_on_sqlite() {
    run_sqlite(a_second_writer_is_told_busy_naming_the_running_import);
}
