//! Issue 3 and SPEC §8: Ctrl-C during an atomic apply leaves the store as before and records the
//! import as cancelled; a kill -9 mid-apply leaves the store as before and the next start
//! records the import as failed. These tests really signal the process.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{both, Store};

/// A users file big enough that its apply takes a while on any machine.
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
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    match store.url() {
        Some(url) => args.extend(["--database-url".into(), url.into()]),
        None => args.extend(["--data-dir".into(), store.data_dir().as_os_str().to_owned()]),
    }
    args.extend([
        "import".into(),
        file.as_os_str().to_owned(),
        "--create-groups".into(),
        "--json".into(),
    ]);
    Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(&args)
        .env_remove("MUSTER_DATA_DIR")
        .env_remove("MUSTER_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting muster")
}

/// Waits until the import is recorded as running, then a little longer so that it is writing.
fn wait_until_applying(store: &Store, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the import ended before it could be interrupted: {status}");
        }
        if store.imports().iter().any(|e| e["status"] == "running") {
            std::thread::sleep(Duration::from_millis(700));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the import was never recorded as running");
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

fn ctrl_c_cancels_and_rolls_back(store: &Store) {
    let file = big_file(store, 150_000);
    let before = store.snapshot();
    let mut child = spawn_import(store, &file);
    wait_until_applying(store, &mut child);
    signal(&child, "-INT");
    let output = child.wait_with_output().expect("waiting for muster");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(130),
        "exit 130 after Ctrl-C: {stderr}"
    );
    assert_eq!(
        store.snapshot(),
        before,
        "nothing of a cancelled import is applied"
    );
    // Issue 7 item 21: the report does not read as applied; it says how far the run got.
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    assert_eq!(report["status"], "cancelled", "{report}");
    for count in ["created", "updated", "unchanged", "failed"] {
        assert_eq!(report[count], 0, "{count} of a cancelled import: {report}");
    }
    assert_eq!(
        report["departments_created"],
        serde_json::json!([]),
        "{report}"
    );
    assert!(
        report["rows_checked"].as_u64().is_some_and(|n| n > 0),
        "{report}"
    );
    let list = store.imports();
    assert_eq!(list[0]["status"], "cancelled", "{list:?}");
}

fn kill_9_leaves_nothing_and_is_failed_on_next_start(store: &Store) {
    let file = big_file(store, 150_000);
    let before = store.snapshot();
    let mut child = spawn_import(store, &file);
    wait_until_applying(store, &mut child);
    signal(&child, "-KILL");
    let _ = child.wait();
    // The next command is the next start: it notices the dead import.
    let out = store.run(&["imports", "list", "--json"]);
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    let list = out.json();
    assert_eq!(list[0]["status"], "failed", "{list}");
    assert_eq!(
        store.snapshot(),
        before,
        "a killed import leaves the store as before"
    );
    // And the store works normally afterwards.
    store.import_csv_ok("after.csv", "Username,Name\nalice,Alice\n", &[]);
}

both!(
    ctrl_c_cancels_and_rolls_back,
    kill_9_leaves_nothing_and_is_failed_on_next_start
);
