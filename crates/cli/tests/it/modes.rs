//! SPEC §3: atomic (default) vs partial vs dry run, and a re-import that changes and writes
//! nothing.

use crate::support::{assert_counts, assert_error, both, Store};

/// Three good rows and one bad one (row 4: an invalid e-mail).
const MIXED: &str = "Username,Name,E-mail,Department\n\
    ann,Ann,ann@example.com,Sales\n\
    ben,Ben,ben@example.com,Sales\n\
    cat,Cat,not-an-address,Sales\n\
    dan,Dan,dan@example.com,Support\n";

fn atomic_rejects_everything(store: &Store) {
    store.role("staff", &["users.read"]);
    let before = store.snapshot();
    let path = store.file("mixed.csv", MIXED);
    let out = store.import(&path, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "rejected", "{report:#}");
    assert_eq!(report["failed"], 1, "{report:#}");
    assert_error(&report, "mixed", 4, Some("E-mail"), "not-an-address");
    assert_eq!(
        store.snapshot(),
        before,
        "an atomic import with a bad row wrote something"
    );
    assert!(store.table("users", &[]).rows.is_empty());
    assert!(
        store.table("departments", &[]).rows.is_empty(),
        "departments of a rejected import were created"
    );
    // The readable summary says so too, with the position.
    let readable = store.run(&["import".as_ref(), path.as_os_str()]);
    assert_eq!(readable.code, 1);
    assert!(readable.stdout.contains("rejected"), "{}", readable.stdout);
    assert!(
        readable.stdout.contains("row 4") && readable.stdout.contains("E-mail"),
        "{}",
        readable.stdout
    );
}

fn partial_applies_the_valid_rows(store: &Store) {
    let path = store.file("mixed.csv", MIXED);
    let out = store.import(&path, &["--partial"]);
    assert_eq!(
        out.code, 1,
        "rows were rejected: {}\n{}",
        out.stdout, out.stderr
    );
    let report = out.json();
    assert_eq!(report["status"], "applied", "{report:#}");
    assert_counts(&report, 3, 0, 0, 1);
    assert_error(&report, "mixed", 4, Some("E-mail"), "not-an-address");
    assert_eq!(store.table("users", &[]).keys(), ["ann", "ben", "dan"]);
    assert_eq!(store.table("departments", &[]).keys(), ["Sales", "Support"]);
    // Fixing the bad row and importing again creates it and leaves the others alone.
    let fixed = MIXED.replace("not-an-address", "cat@example.com");
    let report = store.import_csv_ok("mixed.csv", &fixed, &["--partial"]);
    assert_counts(&report, 1, 0, 3, 0);
}

fn dry_run_writes_nothing(store: &Store) {
    // A clean dry run: exit 0, counts reported, nothing written.
    let clean = MIXED.replace("not-an-address", "cat@example.com");
    let path = store.file("clean.csv", &clean);
    let out = store.import(&path, &["--dry-run"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "dry_run", "{report:#}");
    assert_counts(&report, 4, 0, 0, 0);
    assert_eq!(
        report["departments_created"],
        serde_json::json!(["Sales", "Support"]),
        "{report:#}"
    );
    assert!(
        store.table("users", &[]).rows.is_empty(),
        "a dry run created users"
    );
    assert!(
        store.table("departments", &[]).rows.is_empty(),
        "a dry run created departments"
    );
    // A dry run with errors: exit 1, still nothing written.
    let path = store.file("mixed.csv", MIXED);
    let out = store.import(&path, &["--dry-run"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "dry_run", "{report:#}");
    assert_counts(&report, 3, 0, 0, 1);
    assert_error(&report, "mixed", 4, Some("E-mail"), "not-an-address");
    // Even combined with --partial, a dry run writes nothing.
    let out = store.import(&path, &["--dry-run", "--partial"]);
    assert_eq!(out.json()["status"], "dry_run");
    assert!(
        store.table("users", &[]).rows.is_empty(),
        "a dry run created users"
    );
    // And on a populated store it reports updates without making them.
    store.import_csv_ok("clean.csv", &clean, &[]);
    let before = store.snapshot();
    let changed = clean.replace("Ann,", "Ann Changed,");
    let path = store.file("changed.csv", &changed);
    let report = store.import(&path, &["--dry-run"]).json();
    assert_counts(&report, 0, 1, 3, 0);
    assert_eq!(store.snapshot(), before);
}

/// Users with every column, valid plaintext passwords and a bcrypt hash.
const FULL: &str = "Username,Name,Password,Department,E-mail,Phone,Active,Ignore MFA,Roles,User group,Locale,Timezone\n\
    ann,Ann Example,Correct-Horse-Battery-71,Sales,ann@example.com,+1 202 555 0100,Yes,No,staff,Ops,en-US,America/New_York\n\
    ben,Ben Example,Another-Long-Phrase-93,Support,ben@example.com,0044 20 7946,No,Yes,,Ops,fr,Europe/Paris\n\
    cat,Cat Example,,,,,,,,,,\n";

fn reimport_writes_nothing(store: &Store) {
    store.role("staff", &["users.read"]);
    store.group("Ops");
    let path = store.file("full.csv", FULL);
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 3, 0, 0, 0);
    let first = store.export("users", &[]);
    // Timestamps have one-second resolution in the export: make any write visible.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 0, 0, 3, 0);
    assert_eq!(
        report["departments_created"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert_eq!(
        store.export("users", &[]),
        first,
        "a re-import changed `Updated at` (it wrote)"
    );
    // The store's own exports re-imported: unchanged too, and still nothing written.
    for format in ["csv", "xlsx", "ods"] {
        let exported = store.export_file("users", format, &format!("again.{format}"));
        let report = store.import_ok(&exported, &[]);
        assert_counts(&report, 0, 0, 3, 0);
    }
    assert_eq!(store.export("users", &[]), first);
}

fn reimport_with_password_hash_is_unchanged(store: &Store) {
    let text = "Username,Name,Password hash\n\
        hal,Hal,$2b$10$KRGxLBS0Lxe3KBCwKxOzLexLDeu0ZfqJ6Zh.W7mY3p8b.A0i3jVjK\n\
        ida,Ida,\"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQxMjM0NTY3OA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"\n";
    let path = store.file("hashes.csv", text);
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 2, 0, 0, 0);
    let first = store.export("users", &[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 0, 0, 2, 0);
    assert_eq!(store.export("users", &[]), first);
}

both!(
    atomic_rejects_everything,
    partial_applies_the_valid_rows,
    dry_run_writes_nothing,
    reimport_writes_nothing,
    reimport_with_password_hash_is_unchanged,
);
