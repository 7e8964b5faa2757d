//! SPEC §2–3 update semantics: a present column is authoritative, an absent column untouched, a
//! blank cell clears (but blank Active keeps, blank Password keeps); `--create-only` turns an
//! existing key into an error; usernames match through PRECIS.

use crate::support::{assert_counts, assert_error, both, Store};

fn seed(store: &Store) {
    store.role("staff", &["users.read"]);
    store.group("Ops");
    store.import_csv_ok(
        "full.csv",
        "Username,Name,Password,Department,E-mail,Phone,Active,Ignore MFA,Roles,User group,Locale,Timezone\n\
         alice,Alice Liddell,,Sales,alice@example.com,+44 20 7946 0958,No,Yes,staff,Ops,en-GB,Europe/London\n",
        &[],
    );
}

fn absent_columns_are_untouched(store: &Store) {
    seed(store);
    let before = store.table("users", &[]).without_timestamps();
    let report = store.import_csv_ok("name.csv", "Username,Name\nalice,Alice Renamed\n", &[]);
    assert_counts(&report, 0, 1, 0, 0);
    let after = store.table("users", &[]).without_timestamps();
    for header in &before.headers {
        let expected = if header == "Name" {
            "Alice Renamed".to_owned()
        } else {
            before.get("alice", header)
        };
        assert_eq!(after.get("alice", header), expected, "column {header}");
    }
}

fn blank_cells_clear_but_blank_active_keeps(store: &Store) {
    seed(store);
    let report = store.import_csv_ok(
        "clear.csv",
        "Username,Phone,Locale,User group\nalice,,,\n",
        &[],
    );
    assert_counts(&report, 0, 1, 0, 0);
    let users = store.table("users", &[]);
    assert_eq!(users.get("alice", "Phone"), "");
    assert_eq!(users.get("alice", "Locale"), "");
    assert_eq!(users.get("alice", "User group"), "");
    assert_eq!(users.get("alice", "E-mail"), "alice@example.com");
    assert_eq!(users.get("alice", "Roles"), "staff");
    // Blank Active (and Ignore MFA) keep what is stored.
    let report = store.import_csv_ok("active.csv", "Username,Active,Ignore MFA\nalice,,\n", &[]);
    assert_counts(&report, 0, 0, 1, 0);
    let users = store.table("users", &[]);
    assert_eq!(users.get("alice", "Active"), "No");
    assert_eq!(users.get("alice", "Ignore MFA"), "Yes");
    // Booleans in other spellings.
    let report = store.import_csv_ok("active2.csv", "Username,Enabled\nalice,TRUE\n", &[]);
    assert_counts(&report, 0, 1, 0, 0);
    assert_eq!(store.table("users", &[]).get("alice", "Active"), "Yes");
}

fn create_only_refuses_existing(store: &Store) {
    seed(store);
    let before = store.snapshot();
    let path = store.file("create.csv", "Username,Name\nbob,Bob\nALICE,Alice Again\n");
    let out = store.import(&path, &["--create-only"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "rejected", "{report:#}");
    assert_error(&report, "create", 3, Some("Username"), "already exists");
    assert_eq!(store.snapshot(), before);
    // Without the existing row it goes through.
    let report = store.import_csv_ok(
        "create2.csv",
        "Username,Name\nbob,Bob\n",
        &["--create-only"],
    );
    assert_counts(&report, 1, 0, 0, 0);
}

fn usernames_match_through_precis(store: &Store) {
    seed(store);
    let report = store.import_csv_ok("wide.csv", "Username,Name\nＡＬＩＣＥ,Wide Alice\n", &[]);
    assert_counts(&report, 0, 1, 0, 0);
    let users = store.table("users", &[]);
    assert_eq!(users.rows.len(), 1, "{users:#?}");
    assert_eq!(users.get("alice", "Name"), "Wide Alice");
    let report = store.import_csv_ok("upper.csv", "Username,Name\nAlice,Wide Alice\n", &[]);
    assert_counts(&report, 0, 0, 1, 0);
}

fn roles_and_groups_lists(store: &Store) {
    seed(store);
    store.role("auditor", &["audit.read"]);
    // Trimmed, duplicates collapsed, case-insensitive names.
    let report = store.import_csv_ok(
        "lists.csv",
        "Username,Roles,Groups\nalice,\" STAFF ,auditor,staff \",\" ops,Ops\"\n",
        &[],
    );
    assert_counts(&report, 0, 1, 0, 0);
    let users = store.table("users", &[]);
    assert_eq!(users.get("alice", "Roles"), "auditor, staff");
    assert_eq!(users.get("alice", "User group"), "Ops");
    // A blank Roles cell removes every role.
    let report = store.import_csv_ok("noroles.csv", "Username,Roles\nalice,\n", &[]);
    assert_counts(&report, 0, 1, 0, 0);
    assert_eq!(store.table("users", &[]).get("alice", "Roles"), "");
}

both!(
    absent_columns_are_untouched,
    blank_cells_clear_but_blank_active_keeps,
    create_only_refuses_existing,
    usernames_match_through_precis,
    roles_and_groups_lists,
);
