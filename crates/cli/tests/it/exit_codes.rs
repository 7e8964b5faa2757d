//! Exit codes: 0 applied, 1 rows rejected, 2 usage or environment errors (unreadable file,
//! unreachable database, bad flags).

use crate::support::{both, muster, Store};

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

both!(missing_file_exits_2, bad_flags_exit_2);

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
