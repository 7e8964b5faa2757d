//! SPEC §3.4 and issue 2: a plaintext password is never written anywhere — not the store, not a
//! log, not an error message — and passwords and hashes are never exported.

use std::path::Path;

use crate::support::{assert_counts, assert_error, both, Backend, Store};

const SENTINEL: &str = "Sentinel-Pa55word-XYZZY-42";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The needles: the sentinel as UTF-8 and as UTF-16 (either order), in case anything re-encodes it.
fn needles() -> Vec<Vec<u8>> {
    let le: Vec<u8> = SENTINEL
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let be: Vec<u8> = SENTINEL
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    vec![SENTINEL.as_bytes().to_vec(), le, be]
}

#[track_caller]
fn assert_clean(what: &str, bytes: &[u8]) {
    for needle in needles() {
        assert!(
            !contains(bytes, &needle),
            "the password sentinel was found in {what}"
        );
    }
}

fn password_sentinel_is_never_written(store: &Store) {
    // Row 2 is good; row 3 fails (bad e-mail) so an error is reported for a row holding the
    // sentinel; row 4's password contains its username, so the policy message is about it.
    let text = format!(
        "Username,Name,Password,E-mail\n\
         alice,Alice,{SENTINEL},alice@example.com\n\
         bob,Bob,{SENTINEL},not-an-address\n\
         xyzzy,Xyzzy,{SENTINEL},xyzzy@example.com\n"
    );
    let path = store.file("sentinel.csv", &text);
    // Logging turned all the way up must not leak it either.
    let mut outputs = Vec::new();
    let readable = store.run(&["import".as_ref(), path.as_os_str(), "--partial".as_ref()]);
    assert_eq!(readable.code, 1, "{}\n{}", readable.stdout, readable.stderr);
    outputs.push(("readable import", readable));
    let json = store.import(&path, &["--partial"]);
    assert_eq!(json.code, 1, "{}\n{}", json.stdout, json.stderr);
    let report = json.json();
    assert_counts(&report, 0, 0, 1, 2);
    assert_error(&report, "sentinel", 3, Some("E-mail"), "not-an-address");
    assert_error(&report, "sentinel", 4, Some("Password"), "username");
    outputs.push(("json import", json));
    let dry = store.import(&path, &["--dry-run"]);
    outputs.push(("dry run", dry));
    for (what, out) in &outputs {
        assert_clean(&format!("{what} stdout"), &out.raw_stdout);
        assert_clean(&format!("{what} stderr"), &out.raw_stderr);
    }
    assert_eq!(store.table("users", &[]).keys(), ["alice"]);
    for format in ["csv", "xlsx", "ods"] {
        let exported = store.export_file("users", format, &format!("users.{format}"));
        assert_clean(
            &format!("the {format} export"),
            &std::fs::read(&exported).expect("read export"),
        );
    }
    if store.backend == Backend::Sqlite {
        let all = files(store.data_dir());
        assert!(
            all.iter().any(|p| p.extension().is_some_and(|e| e == "db")),
            "no database file in {all:?}"
        );
        for file in all {
            assert_clean(
                &file.display().to_string(),
                &std::fs::read(&file).expect("read store file"),
            );
        }
    }
}

/// The same with verbose logging on: tracing must not print the password either.
fn password_sentinel_not_in_logs(store: &Store) {
    let path = store.file(
        "sentinel.csv",
        format!("Username,Name,Password\ncarol,Carol,{SENTINEL}\ndave,Dave,short\n"),
    );
    assert_eq!(
        store.backend,
        Backend::Sqlite,
        "this scenario scans the SQLite data directory"
    );
    let mut args: Vec<&std::ffi::OsStr> = vec!["--data-dir".as_ref(), store.data_dir().as_os_str()];
    args.extend(["import".as_ref(), path.as_os_str(), "--partial".as_ref()]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(&args)
        .env("MUSTER_LOG", "trace")
        .output()
        .expect("run muster");
    assert_eq!(output.status.code(), Some(1));
    assert_clean("stdout with MUSTER_LOG=trace", &output.stdout);
    assert_clean("stderr with MUSTER_LOG=trace", &output.stderr);
    for file in files(store.data_dir()) {
        assert_clean(
            &file.display().to_string(),
            &std::fs::read(&file).expect("read store file"),
        );
    }
}

fn hashes_are_never_exported(store: &Store) {
    let bcrypt = "$2b$10$KRGxLBS0Lxe3KBCwKxOzLexLDeu0ZfqJ6Zh.W7mY3p8b.A0i3jVjK";
    let argon = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQxMjM0NTY3OA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let django =
        "pbkdf2_sha256$600000$c29tZXNhbHQxMjM0$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let text = format!(
        "Username,Name,Password hash\nhal,Hal,{bcrypt}\nida,Ida,\"{argon}\"\njan,Jan,{django}\n"
    );
    let report = store.import_csv_ok("hashes.csv", &text, &[]);
    assert_counts(&report, 3, 0, 0, 0);
    let table = store.table("users", &[]);
    assert!(
        !table
            .headers
            .iter()
            .any(|h| h.to_lowercase().contains("password")),
        "{:?}",
        table.headers
    );
    for format in ["csv", "xlsx", "ods"] {
        let exported =
            std::fs::read(store.export_file("users", format, &format!("hashes.{format}")))
                .expect("read");
        for needle in [
            "KRGxLBS0Lxe3KBCwKxOzLexLDeu0",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "$2b$",
            "argon2",
            "pbkdf2",
        ] {
            assert!(
                !contains(&exported, needle.as_bytes()),
                "{format} export contains {needle}"
            );
        }
    }
}

both!(
    password_sentinel_is_never_written,
    hashes_are_never_exported
);

#[test]
fn password_sentinel_not_in_logs_sqlite() {
    crate::support::run_sqlite(password_sentinel_not_in_logs);
}
