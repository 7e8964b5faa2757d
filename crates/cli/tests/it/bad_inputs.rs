//! SPEC §8: every bad input gets a clear, positioned error and loses nothing — the store after a
//! rejected import is exactly the store before it.

use std::path::Path;

use rust_xlsxwriter::{Formula, Workbook};
use serde_json::Value;

use crate::support::{assert_counts, assert_error, both, errors, Store};

/// A store with something in it: a role, a group, a department and one user.
fn seed(store: &Store) {
    store.role("staff", &["users.read"]);
    store.group("Ops");
    store.import_csv_ok(
        "seed.csv",
        "Username,Name,Department,E-mail,Phone,Roles,User group\nalice,Alice Liddell,Sales,alice@example.com,+44 20 7946 0958,staff,Ops\n",
        &[],
    );
}

/// Imports `path` (atomic) and checks it is rejected with exit 1 and leaves the store unchanged.
#[track_caller]
fn rejected_file(store: &Store, path: &Path, extra: &[&str]) -> Value {
    let before = store.snapshot();
    let out = store.import(path, extra);
    assert_eq!(
        out.code, 1,
        "a bad file must exit 1:\n{}\n{}",
        out.stdout, out.stderr
    );
    let report = out.json();
    assert_eq!(report["status"], "rejected", "{report:#}");
    assert!(
        report["issue_count"].as_u64().unwrap_or(0) >= 1,
        "{report:#}"
    );
    assert!(!errors(&report).is_empty(), "{report:#}");
    assert_eq!(
        store.snapshot(),
        before,
        "a rejected import changed the store"
    );
    report
}

#[track_caller]
fn rejected(store: &Store, name: &str, bytes: impl AsRef<[u8]>, extra: &[&str]) -> Value {
    let path = store.file(name, bytes);
    rejected_file(store, &path, extra)
}

fn unclosed_quote(store: &Store) {
    seed(store);
    let report = rejected(
        store,
        "quote.csv",
        "Username,Name\nbob,Bob\n\"carl,Carl\ndan,Dan\n",
        &[],
    );
    // The error names the line where the quote opened, and is placed on that row.
    let all = errors(&report);
    assert!(
        all.iter().any(|(sheet, row, _, message)| sheet == "quote"
            && *row == 3
            && message.contains("line 3")
            && message.contains("never closed")),
        "{all:#?}"
    );
    assert_eq!(store.table("users", &[]).keys(), ["alice"]);
}

fn ragged_row(store: &Store) {
    seed(store);
    let report = rejected(
        store,
        "ragged.csv",
        "Username,Name\nbob,Bob\ncarl,Carl,surplus\ndan,Dan\n",
        &[],
    );
    let all = errors(&report);
    assert!(
        all.iter().any(|(s, row, _, m)| s == "ragged"
            && *row == 3
            && m.contains("3 cells")
            && m.contains("header has 2")),
        "{all:#?}"
    );
    assert_eq!(report["failed"], 1, "{report:#}");
    assert_eq!(store.table("users", &[]).keys(), ["alice"]);
}

fn line_break_in_username(store: &Store) {
    seed(store);
    let report = rejected(
        store,
        "linebreak.csv",
        "Username,Name\nbob,Bob\n\"carl\nsmith\",Carl\n",
        &[],
    );
    assert_error(&report, "linebreak", 3, Some("Username"), "line break");
    assert_counts(&report, 1, 0, 0, 1);
}

fn unknown_header(store: &Store) {
    seed(store);
    let report = rejected(
        store,
        "typo.csv",
        "Username,Name,Emial\nbob,Bob,bob@example.com\n",
        &[],
    );
    assert_error(&report, "typo", 1, Some("Emial"), "did you mean `E-mail`");
}

fn duplicate_usernames(store: &Store) {
    seed(store);
    // PRECIS UsernameCaseMapped: Bob, BOB and fullwidth ＢＯＢ are one user.
    let report = rejected(
        store,
        "dups.csv",
        "Username,Name\nBob,Bob One\nBOB,Bob Two\nＢＯＢ,Bob Three\ncarl,Carl\n",
        &[],
    );
    assert_error(&report, "dups", 3, Some("Username"), "first on row 2");
    assert_error(&report, "dups", 4, Some("Username"), "first on row 2");
    assert_counts(&report, 2, 0, 0, 2);
    // An existing user under another case is the same user, too.
    let report = rejected(
        store,
        "dups2.csv",
        "Username,Name\nALICE,Alice One\nＡＬＩＣＥ,Alice Two\n",
        &[],
    );
    assert_error(&report, "dups2", 3, Some("Username"), "first on row 2");
}

fn duplicate_emails(store: &Store) {
    seed(store);
    let text = "Username,Name,E-mail\nbob,Bob,bob@example.com\ncarl,Carl,BOB@Example.com\ndan,Dan,Alice@Example.com\n";
    let report = rejected(store, "emails.csv", text, &[]);
    assert_error(&report, "emails", 3, Some("E-mail"), "row 2");
    assert_error(&report, "emails", 4, Some("E-mail"), "alice");
    assert_counts(&report, 1, 0, 0, 2);
    // The owner itself may keep (or re-case) its own address.
    store.import_csv_ok("own.csv", "Username,E-mail\nalice,alice@example.com\n", &[]);
}

fn unknown_role(store: &Store) {
    seed(store);
    let report = rejected(
        store,
        "badrole.csv",
        "Username,Name,Roles\nbob,Bob,\"staff, auditor\"\n",
        &[],
    );
    assert_error(&report, "badrole", 2, Some("Roles"), "auditor");
    assert_counts(&report, 0, 0, 0, 1);
}

fn unknown_group_and_create_groups(store: &Store) {
    seed(store);
    let text = "Username,Name,User group\nbob,Bob,\"Ops, Night shift\"\n";
    let report = rejected(store, "badgroup.csv", text, &[]);
    assert_error(&report, "badgroup", 2, Some("User group"), "Night shift");
    assert_error(
        &report,
        "badgroup",
        2,
        Some("User group"),
        "the import does not create groups",
    );
    // With --create-groups the same file creates the group and the user.
    let report = store.import_csv_ok("badgroup.csv", text, &["--create-groups"]);
    assert_counts(&report, 1, 0, 0, 0);
    assert_eq!(
        report["groups_created"],
        serde_json::json!(["Night shift"]),
        "{report:#}"
    );
    assert_eq!(store.table("groups", &[]).keys(), ["Night shift", "Ops"]);
    assert_eq!(
        store.table("users", &[]).get("bob", "User group"),
        "Night shift, Ops"
    );
}

fn invalid_email_locale_timezone(store: &Store) {
    seed(store);
    let text = "Username,Name,E-mail,Locale,Timezone\nbob,Bob,not-an-address,english please,Mars/Olympus\n";
    let report = rejected(store, "invalid.csv", text, &[]);
    // Every problem of the row, not only the first.
    assert_error(&report, "invalid", 2, Some("E-mail"), "not-an-address");
    assert_error(&report, "invalid", 2, Some("Locale"), "english please");
    assert_error(&report, "invalid", 2, Some("Timezone"), "Mars/Olympus");
    assert_eq!(report["issue_count"], 3, "{report:#}");
    assert_counts(&report, 0, 0, 0, 1);
}

fn over_long_cell(store: &Store) {
    seed(store);
    let text = format!("Username,Name\nbob,{}\ncarl,Carl\n", "N".repeat(300));
    let report = rejected(store, "long.csv", text, &[]);
    assert_error(&report, "long", 2, Some("Name"), "too long");
    let text = format!("Username,Name\n{},Long Username\n", "u".repeat(65));
    let report = rejected(store, "longuser.csv", text, &[]);
    assert_error(&report, "longuser", 2, Some("Username"), "64");
}

fn empty_file(store: &Store) {
    seed(store);
    let report = rejected(store, "empty.csv", "", &[]);
    let all = errors(&report);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].0, "empty");
    assert!(all[0].3.contains("no rows"), "{all:#?}");
}

fn header_only_file(store: &Store) {
    seed(store);
    let report = rejected(store, "header.csv", "Username,Name,E-mail\n", &[]);
    let all = errors(&report);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].0, "header");
    assert!(all[0].3.contains("no data rows"), "{all:#?}");
}

fn xlsx_not_a_zip(store: &Store) {
    seed(store);
    let report = rejected(store, "users.xlsx", "Username,Name\nbob,Bob\n", &[]);
    let all = errors(&report);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(all[0].3.contains("not a zip"), "{all:#?}");
    assert_eq!(all[0].1, 0, "a whole-file problem is on row 0: {all:#?}");
}

fn xlsx_error_cell(store: &Store) {
    seed(store);
    let mut workbook = Workbook::new();
    let sheet = workbook
        .add_worksheet()
        .set_name("Users")
        .expect("sheet name");
    for (col, header) in ["Username", "Name", "E-mail"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header).expect("write");
    }
    sheet.write_string(1, 0, "bob").expect("write");
    sheet.write_string(1, 1, "Bob").expect("write");
    sheet.write_string(1, 2, "bob@example.com").expect("write");
    sheet.write_string(2, 0, "carl").expect("write");
    sheet.write_string(2, 1, "Carl").expect("write");
    sheet
        .write_formula(2, 2, Formula::new("=NA()").set_result("#N/A"))
        .expect("write");
    let path = store.path("errors.xlsx");
    workbook.save(&path).expect("save xlsx");
    let report = rejected_file(store, &path, &[]);
    assert_error(&report, "Users", 3, Some("E-mail"), "#N/A");
    assert_counts(&report, 1, 0, 0, 1);
}

const WEAK: [&str; 3] = ["Tr0ub4dor&3", "password1234", "bob-Secret-Words-99"];

fn weak_password(store: &Store) {
    seed(store);
    let text = format!(
        "Username,Name,Password\ncarl,Carl,{}\ndan,Dan,{}\nbob,Bob,{}\n",
        WEAK[0], WEAK[1], WEAK[2]
    );
    let path = store.file("weak.csv", &text);
    let report = rejected_file(store, &path, &[]);
    assert_error(&report, "weak", 2, Some("Password"), "12");
    assert_error(&report, "weak", 3, Some("Password"), "common");
    assert_error(&report, "weak", 4, Some("Password"), "username");
    // Neither the JSON report nor the readable summary quotes a password.
    let readable = store.run(&["import".as_ref(), path.as_os_str()]);
    assert_eq!(readable.code, 1, "{}", readable.stderr);
    assert!(
        readable.stdout.contains("row 3"),
        "the summary shows positions: {}",
        readable.stdout
    );
    let json = store.import(&path, &[]);
    for password in WEAK {
        for (what, text) in [
            ("readable stdout", &readable.stdout),
            ("readable stderr", &readable.stderr),
            ("json stdout", &json.stdout),
            ("json stderr", &json.stderr),
        ] {
            assert!(
                !text.contains(password),
                "{what} quotes the password {password}:\n{text}"
            );
        }
    }
}

fn bcrypt_cost_31(store: &Store) {
    seed(store);
    let hash = "$2b$31$KRGxLBS0Lxe3KBCwKxOzLexLDeu0ZfqJ6Zh.W7mY3p8b.A0i3jVjK";
    let report = rejected(
        store,
        "bcrypt.csv",
        format!("Username,Name,Password hash\nbob,Bob,{hash}\n"),
        &[],
    );
    assert_error(&report, "bcrypt", 2, Some("Password hash"), "cost");
    assert!(
        !report.to_string().contains("KRGxLBS0Lxe3KBCwKxOzLexLDeu0"),
        "the report quotes the hash: {report}"
    );
    // The same body at an acceptable cost is taken.
    let ok = store.import_csv_ok(
        "bcrypt10.csv",
        &format!(
            "Username,Name,Password hash\nbob,Bob,{}\n",
            hash.replace("$31$", "$10$")
        ),
        &[],
    );
    assert_counts(&ok, 1, 0, 0, 0);
}

fn missing_name_for_new_user(store: &Store) {
    seed(store);
    // No Name column at all: fine for the existing user, an error for the new one.
    let report = rejected(
        store,
        "noname.csv",
        "Username,Phone\nalice,+1 555 0100\nbob,+1 555 0101\n",
        &[],
    );
    assert_error(&report, "noname", 3, Some("Name"), "Name");
    assert_counts(&report, 0, 1, 0, 1);
    // A blank Name cell is an error too (a name is required).
    let report = rejected(store, "blankname.csv", "Username,Name\nbob,\n", &[]);
    assert_error(&report, "blankname", 2, Some("Name"), "");
}

fn wrong_encoding_label(store: &Store) {
    seed(store);
    let path = store.file("label.csv", "Username,Name\nbob,Bob\n");
    let out = store.import(&path, &["--encoding", "klingon-8"]);
    assert_ne!(
        out.code, 0,
        "an unknown encoding label is refused: {}",
        out.stdout
    );
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("klingon-8"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(store.table("users", &[]).keys(), ["alice"]);
}

both!(
    unclosed_quote,
    ragged_row,
    line_break_in_username,
    unknown_header,
    duplicate_usernames,
    duplicate_emails,
    unknown_role,
    unknown_group_and_create_groups,
    invalid_email_locale_timezone,
    over_long_cell,
    empty_file,
    header_only_file,
    xlsx_not_a_zip,
    xlsx_error_cell,
    weak_password,
    bcrypt_cost_31,
    missing_name_for_new_user,
    wrong_encoding_label,
);

/// `Position.column` is documented (engine/src/issue.rs) as "the column header as written in the
/// file"; reader errors should name the header too, not a spreadsheet letter.
fn read_error_column_is_a_header(store: &Store) {
    let path = store.file("quote.csv", "Username,Name\nbob,\"Bob\n");
    let out = store.import(&path, &[]);
    let all = errors(&out.json());
    assert!(
        all.iter()
            .all(|(_, _, column, _)| column.as_deref() != Some("B")),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|(_, _, column, _)| column.as_deref() == Some("Name")),
        "{all:#?}"
    );
}

mod read_error_column_is_a_header {
    #[test]
    fn sqlite() {
        crate::support::run_sqlite(super::read_error_column_is_a_header);
    }
}

/// A CSV file's name is not a spreadsheet's sheet name: `group.csv` with a `Username` column
/// holds users. Headers that only a users sheet has must decide the entity.
fn csv_file_name_does_not_override_users_headers(store: &Store) {
    seed(store);
    for name in ["group.csv", "roles.csv", "department.csv"] {
        let path = store.file(name, "Username,Name\nbob,Bob\n");
        let out = store.import(&path, &[]);
        assert_eq!(out.code, 0, "{name}: {}\n{}", out.stdout, out.stderr);
        let report = out.json();
        assert_eq!(report["entity"], "users", "{name}: {report:#}");
    }
    assert_eq!(store.table("users", &[]).keys(), ["alice", "bob"]);
}

both!(csv_file_name_does_not_override_users_headers);

/// The `--json` report's `entity` says what the sheet was recognised as, also when its header row
/// is what failed (the entity was known before the headers were mapped).
fn header_error_report_names_the_entity(store: &Store) {
    let path = store.file("typo.csv", "Username,Name,Emial\nbob,Bob,bob@example.com\n");
    let report = store.import(&path, &[]).json();
    assert_eq!(report["entity"], "users", "{report:#}");
    assert_eq!(report["format"], "csv", "{report:#}");
}

mod header_error_report_names_the_entity {
    #[test]
    fn sqlite() {
        crate::support::run_sqlite(super::header_error_report_names_the_entity);
    }
}
