//! Exit codes: 0 applied, 1 rows rejected, 2 usage or environment errors (unreadable file,
//! unreachable database, bad flags, an engine error that is not found, a conflict or invalid),
//! 77 forbidden; with `--json` an engine error also carries its kind.

use serde_json::Value;

use crate::support::{both, muster, Out, Store};

fn missing_file_exits_2(store: &Store) {
    let missing = store.path("no-such-file.csv");
    let out = store.import(&missing, &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("no-such-file.csv"),
        "the error names the file: {}",
        out.stderr
    );
    // Nothing was created along the way.
    assert!(store.table("users", &[]).rows.is_empty());
}

fn bad_flags_exit_2(store: &Store) {
    let path = store.file("users.csv", "Username,Name\nbob,Bob\n");
    for args in [
        vec![
            "import",
            path.to_str().expect("utf-8 path"),
            "--delimiter",
            "::",
        ],
        vec![
            "import",
            path.to_str().expect("utf-8 path"),
            "--entity",
            "widgets",
        ],
        vec!["export", "widgets"],
        vec!["export", "users", "--format", "pdf"],
        vec!["export", "users", "--active", "maybe"],
        vec![
            "role",
            "add",
            "auditor",
            "--permission",
            "no.such.permission",
        ],
    ] {
        let out = store.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}\n{}", out.stdout, out.stderr);
    }
    assert!(store.table("users", &[]).rows.is_empty());
    assert!(store
        .table("roles", &[])
        .rows
        .iter()
        .all(|r| r[0] != "auditor"));
}

/// A failed command with `--json`: its exit code, and the one object it printed.
fn failure(out: &Out, code: i32, kind: &str) -> Value {
    assert_eq!(out.code, code, "{}\n{}", out.stdout, out.stderr);
    let json = out.json();
    assert_eq!(json["status"], "error", "{json}");
    assert_eq!(json["kind"], kind, "{json}");
    json
}

fn each_engine_failure_exits_with_its_kind(store: &Store) {
    let missing = store.run(&["imports", "revert", "999", "--json"]);
    let json = failure(&missing, 2, "not_found");
    assert_eq!(json["message"], "there is no import 999");

    let users = store.file("users.csv", "Username,Name\nbob,Bob\n");
    let preview = store.import(&users, &["--dry-run"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let id = preview.json()["import_id"].to_string();
    assert_eq!(store.run(&["imports", "apply", &id]).code, 0);
    let twice = store.run(&["imports", "apply", &id, "--json"]);
    let json = failure(&twice, 2, "conflict");
    assert_eq!(json["message"], format!("import {id} was already applied"));

    let broken = store.file("broken.csv", "Username,Name\ncarl,Carl\n,No Username\n");
    let preview = store.import(&broken, &["--dry-run"]);
    assert_eq!(preview.code, 1, "a failed row: {}", preview.stderr);
    let id = preview.json()["import_id"].to_string();
    let atomic = store.run(&["imports", "apply", &id, "--json"]);
    failure(&atomic, 2, "invalid");
    assert!(
        atomic
            .stderr
            .contains("hint: preview it with `muster import FILE --dry-run --partial`"),
        "{}",
        atomic.stderr
    );

    store.role("viewer", &["users.read"]);
    store.import_csv_ok("vic.csv", "Username,Name,Roles\nvic,Vic,viewer\n", &[]);
    for command in [&["imports", "list", "--json"][..], &["audit", "--json"]] {
        let args: Vec<&str> = ["--as", "vic"].iter().chain(command).copied().collect();
        let refused = store.run(&args);
        let json = failure(&refused, 77, "forbidden");
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|m| m.contains("forbidden: vic lacks the permission")),
            "{json}"
        );
    }
}

both!(
    missing_file_exits_2,
    bad_flags_exit_2,
    each_engine_failure_exits_with_its_kind
);

#[test]
fn unreachable_database_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("users.csv");
    std::fs::write(&file, "Username,Name\nbob,Bob\n").expect("write");
    for args in [
        vec![
            "--database-url",
            "postgres://postgres@127.0.0.1:1/x",
            "import",
            file.to_str().expect("utf-8"),
            "--json",
        ],
        vec![
            "--database-url",
            "postgres://postgres@127.0.0.1:1/x",
            "export",
            "users",
        ],
    ] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let started = std::time::Instant::now();
        let out = muster(&args);
        assert_eq!(out.code, 2, "{args:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            !out.stderr.trim().is_empty(),
            "an environment error says what went wrong"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "gave up too slowly"
        );
    }
}

#[test]
fn database_url_password_is_not_printed() {
    let args = [
        "--database-url",
        "postgres://postgres:Hunter2-Secret@127.0.0.1:1/x",
        "export",
        "users",
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let out = muster(&args);
    assert_eq!(out.code, 2);
    assert!(
        !out.stderr.contains("Hunter2-Secret") && !out.stdout.contains("Hunter2-Secret"),
        "{}",
        out.stderr
    );
}
