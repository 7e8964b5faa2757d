//! Issue 7, items 11, 12, 14 and 15: what an import and a revert say they did is what they did.
//! A row reports every problem at once; a revert that left conflicts can be finished with
//! `--force`; the templates' sample rows never change existing data; and warnings come once per
//! name, in the tense of what happened.

use serde_json::Value;

use crate::support::{assert_counts, both, Store};

fn id_of(report: &Value) -> String {
    report["import_id"]
        .as_u64()
        .expect("an import id")
        .to_string()
}

/// (row, column, message) of every problem of a report.
fn problems(report: &Value) -> Vec<(u64, String, String)> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap_or("").to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Item 12: `Active = Maybe`, a taken e-mail, an unknown role and an unknown group are reported
/// together, in the order of the row's columns, and all four reach the error workbook.
fn a_row_reports_all_of_its_problems_at_once(store: &Store) {
    store.role("viewer", &["users.read"]);
    store.group("staff");
    store.import_csv_ok(
        "first.csv",
        "Username,Name,E-mail\ncarol,Carol,taken@example.com\n",
        &[],
    );
    let text = "Username,Name,E-mail,Active,Roles,User group\n\
                alice,Alice,alice@example.com,Yes,viewer,staff\n\
                bob,Bob,taken@example.com,Maybe,nosuchrole,nosuchgroup\n";
    let file = store.file("users.csv", text);
    let out = store.import(&file, &["--partial"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let report = out.json();
    assert_counts(&report, 1, 0, 0, 1);
    let got = problems(&report);
    let columns: Vec<&str> = got.iter().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(
        columns,
        ["E-mail", "Active", "Roles", "User group"],
        "{got:?}"
    );
    assert!(got.iter().all(|(row, _, _)| *row == 3), "{got:?}");
    assert!(
        got[0].2.contains("already belongs to user `carol`"),
        "{got:?}"
    );
    assert!(got[1].2.contains("`Maybe`"), "{got:?}");
    assert!(got[2].2.contains("nosuchrole"), "{got:?}");
    assert!(got[3].2.contains("nosuchgroup"), "{got:?}");
    // The history and the error workbook keep all four.
    let id = id_of(&report);
    let show = store.run(&["imports", "show", &id, "--json"]).json();
    let failed = show["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "failed")
        .expect("the failed row")
        .clone();
    assert_eq!(failed["errors"].as_array().unwrap().len(), 4, "{failed}");
    let errors = store.path("errors.csv");
    let written = store.run(&[
        "imports".as_ref(),
        "errors".as_ref(),
        id.as_ref(),
        "-o".as_ref(),
        errors.as_os_str(),
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let content = std::fs::read_to_string(&errors).unwrap();
    let bob = content
        .lines()
        .find(|l| l.starts_with("bob,") || l.starts_with("\"bob\","))
        .expect("bob's row");
    for needle in [
        "taken@example.com` already belongs",
        "`Maybe`",
        "nosuchrole",
        "nosuchgroup",
    ] {
        assert!(
            bob.contains(needle),
            "the Errors cell lists `{needle}`: {bob}"
        );
    }
    // An XLSX import's error workbook puts a note on each bad cell.
    let path = store.path("users.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("Users").unwrap();
    for (r, line) in text.lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    book.save(&path).unwrap();
    let id = id_of(&store.import(&path, &["--partial"]).json());
    let xlsx = store.path("errors.xlsx");
    let written = store.run(&[
        "imports".as_ref(),
        "errors".as_ref(),
        id.as_ref(),
        "-o".as_ref(),
        xlsx.as_os_str(),
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let name = zip
        .file_names()
        .find(|n| n.starts_with("xl/comments"))
        .expect("notes on the bad cells")
        .to_owned();
    let mut notes = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(&name).unwrap(), &mut notes).unwrap();
    assert_eq!(
        notes.matches("<comment ").count(),
        4,
        "one note on each bad cell: {notes}"
    );
}

/// Item 12 for a catalog sheet: a bad description and a repeated name are reported together.
fn a_catalog_row_reports_all_of_its_problems_at_once(store: &Store) {
    let text = "Group,Description\nstaff,Everyone\nStaff,\"bad\u{1}\"\n";
    let file = store.file("groups.csv", text);
    let out = store.import(&file, &["--entity", "groups"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let got = problems(&out.json());
    let columns: Vec<&str> = got.iter().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(columns, ["Group", "Description"], "{got:?}");
    assert!(
        got[0].2.contains("appears again: first on row 2"),
        "{got:?}"
    );
}

/// Item 11: a revert that left a changed user alone suggests `--force`, and `--force` then
/// reverts what was left (only that), instead of answering "already reverted".
fn force_finishes_a_revert_that_left_conflicts(store: &Store) {
    let file = store.file(
        "users.csv",
        "Username,Name,Department
alice,Alice,Sales
bob,Bob,Sales
",
    );
    let id = id_of(&store.import_ok(&file, &[]));
    store.import_csv_ok(
        "later.csv",
        "Username,Phone
bob,+1 555 0100
",
        &[],
    );
    let out = store.run(&["imports", "revert", &id]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("`muster imports revert {id} --force`")),
        "{}",
        out.stdout
    );
    assert_eq!(store.import_entry(&id)["status"], "partly_reverted");
    assert_eq!(store.table("users", &[]).keys(), vec!["bob"]);
    // The revert's own entry lists what it left.
    let revert_id = store.import_entry(&id)["reverted_by"].to_string();
    let show = store.run(&["imports", "show", &revert_id, "--json"]).json();
    let left: Vec<&Value> = show["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "left alone")
        .collect();
    assert_eq!(
        left.iter()
            .map(|r| r["key"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["sales", "bob"],
        "{show}"
    );
    // The forced revert takes up bob and then the department nobody uses any more.
    let out = store.run(&["imports", "revert", &id, "--force", "--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(
        (report["removed"].as_u64(), report["already_gone"].as_u64()),
        (Some(2), Some(0)),
        "bob and Sales, not alice again: {report}"
    );
    assert_eq!(report["import_status"], "reverted");
    assert!(store.table("users", &[]).keys().is_empty());
    assert!(!store.export("departments", &[]).contains("Sales"));
    assert_eq!(store.import_entry(&id)["status"], "reverted");
    let again = store.run(&["imports", "revert", &id, "--force"]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("already reverted"),
        "{}",
        again.stderr
    );
}

/// Item 11: a department still in use is never removed, so no hint offers `--force` for it; the
/// import stays partly reverted and a later revert removes it once it is free.
fn no_force_hint_for_what_force_would_not_change(store: &Store) {
    let file = store.file(
        "users.csv",
        "Username,Name,Department
carol,Carol,Sales
",
    );
    let id = id_of(&store.import_ok(&file, &[]));
    store.import_csv_ok(
        "dave.csv",
        "Username,Name,Department
dave,Dave,Sales
",
        &[],
    );
    let out = store.run(&["imports", "revert", &id]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("still used"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("--force"),
        "forcing would not remove a department in use: {}",
        out.stdout
    );
    let forced = store
        .run(&["imports", "revert", &id, "--force", "--json"])
        .json();
    assert_eq!(
        (
            forced["removed"].as_u64(),
            forced["forceable"].as_u64(),
            forced["left"].as_u64()
        ),
        (Some(0), Some(0), Some(1)),
        "{forced}"
    );
    assert_eq!(store.import_entry(&id)["status"], "partly_reverted");
    store.import_csv_ok(
        "dave-moves.csv",
        "Username,Department
dave,
",
        &[],
    );
    let out = store.run(&["imports", "revert", &id, "--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["removed"], 1);
    assert!(!store.export("departments", &[]).contains("Sales"));
    assert_eq!(store.import_entry(&id)["status"], "reverted");
}

/// Forty department names that are not near-duplicates of one another.
const DEPARTMENTS: [&str; 40] = [
    "Accounting",
    "Botany",
    "Catering",
    "Design",
    "Engineering",
    "Finance",
    "Geology",
    "Harbour",
    "Imaging",
    "Journalism",
    "Kitchen",
    "Logistics",
    "Marketing",
    "Nursing",
    "Optics",
    "Payroll",
    "Quarry",
    "Research",
    "Security",
    "Treasury",
    "Upholstery",
    "Vineyard",
    "Warehouse",
    "Xylography",
    "Yachting",
    "Zoology",
    "Archive",
    "Bakery",
    "Cinema",
    "Dairy",
    "Forestry",
    "Garage",
    "Hospital",
    "Insurance",
    "Jewellery",
    "Laboratory",
    "Mailroom",
    "Nursery",
    "Orchestra",
    "Pharmacy",
];

/// 2,000 users spread over the forty new departments, three of them granted a privileged role.
fn many_rows() -> String {
    let mut text = String::from("Username,Name,Department,Roles\n");
    for i in 0..2000 {
        let role = if i % 700 == 5 { "admins" } else { "" };
        text.push_str(&format!(
            "user{i},User {i},{},{role}\n",
            DEPARTMENTS[i % 40]
        ));
    }
    text
}

fn warnings_with(report: &Value, needle: &str) -> Vec<Value> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["message"].as_str().unwrap().contains(needle))
        .cloned()
        .collect()
}

/// Item 15: one warning per new department (its row count and first row) and per privileged
/// role, in the tense of what happened, and no line repeating the "departments created" one.
fn warnings_come_once_per_name_in_the_right_tense(store: &Store) {
    store.role("admins", &["users.write"]);
    let file = store.file("users.csv", many_rows());
    let preview = store.import(&file, &["--dry-run"]).json();
    let planned = warnings_with(&preview, "the import will create it");
    assert_eq!(planned.len(), 40, "{}", preview["warnings"]);
    assert_eq!(
        preview["warning_count"], 41,
        "40 departments and one role: {}",
        preview["warnings"]
    );
    let accounting = planned
        .iter()
        .find(|w| w["message"].as_str().unwrap().contains("`Accounting`"))
        .unwrap();
    assert_eq!(
        (
            accounting["row"].as_u64(),
            accounting["count"].as_u64(),
            accounting["column"].as_str()
        ),
        (Some(2), Some(50), Some("Department"))
    );
    let granted = warnings_with(&preview, "grants role `admins`");
    assert_eq!(
        (
            granted.len(),
            granted[0]["count"].as_u64(),
            granted[0]["row"].as_u64()
        ),
        (1, Some(3), Some(7)),
        "{granted:?}"
    );
    // The readable summary names the departments once and lists the other warnings.
    let text = store.run(&["import".as_ref(), file.as_os_str(), "--dry-run".as_ref()]);
    assert_eq!(
        text.stdout.matches("Accounting").count(),
        1,
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("departments to be created: "),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("1 warning(s):"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("grants role `admins`, which holds users.write (3 rows, the first row 7)"),
        "{}",
        text.stdout
    );
    // Rejected: the same warnings, in the conditional.
    let bad = store.file(
        "bad.csv",
        format!("{}bad user,Bad,Accounting,\n", many_rows()),
    );
    let rejected = store.import(&bad, &[]).json();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        warnings_with(&rejected, "the import would have created it").len(),
        40,
        "{}",
        rejected["warnings"]
    );
    // Applied: in the past, in the report and in the history.
    let applied = store.import_ok(&file, &[]);
    assert_eq!(
        warnings_with(&applied, "the import created it").len(),
        40,
        "{}",
        applied["warnings"]
    );
    assert!(warnings_with(&applied, "will create").is_empty());
    let show = store
        .run(&["imports", "show", &id_of(&applied), "--json"])
        .json();
    let stored = warnings_with(&show["summary"], "the import created it");
    assert_eq!(stored.len(), 40);
    assert!(stored.iter().all(|w| w["count"] == 50), "{stored:?}");
}

/// Item 15: a re-import that changed nothing offers no revert, and a revert of it says why.
fn a_re_import_that_changed_nothing_offers_no_revert(store: &Store) {
    let file = store.file("users.csv", "Username,Name,Department\nalice,Alice,Sales\n");
    store.import_ok(&file, &[]);
    let again = store.run(&["import".as_ref(), file.as_os_str()]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("nothing to revert"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("imports revert"), "{}", again.stdout);
    let id = id_of(&store.import_ok(&file, &[]));
    let out = store.run(&["imports", "revert", &id]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("nothing to revert"), "{}", out.stderr);
    assert_counts(&store.import_ok(&file, &[]), 0, 0, 1, 0);
}

/// Every (template, format) pair muster writes: each entity's sheet as XLSX and CSV, and the
/// workbook (XLSX only).
const TEMPLATES: [(&str, &str); 9] = [
    ("users", "xlsx"),
    ("users", "csv"),
    ("groups", "xlsx"),
    ("groups", "csv"),
    ("roles", "xlsx"),
    ("roles", "csv"),
    ("departments", "xlsx"),
    ("departments", "csv"),
    ("workbook", "xlsx"),
];

fn write_template(store: &Store, kind: &str, format: &str) -> std::path::PathBuf {
    let path = store.path(&format!("template-{kind}.{format}"));
    let _ = std::fs::remove_file(&path);
    let out = store.run(&[
        "template".as_ref(),
        kind.as_ref(),
        "--format".as_ref(),
        format.as_ref(),
        "-o".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(
        out.code, 0,
        "template {kind} {format}: {}{}",
        out.stdout, out.stderr
    );
    path
}

/// Item 14: a store that already holds every name the templates use (those of earlier versions
/// too) loses nothing and changes nothing when each template is imported unedited; the samples
/// only create.
fn an_unedited_template_never_changes_existing_data(store: &Store) {
    store.role("viewer", &["users.read", "groups.read", "users.export"]);
    store.role("Sample role", &["users.export"]);
    store.group("staff");
    store.group("Sample group");
    store.department("Sales");
    store.department("Sample department");
    store.import_csv_ok(
        "people.csv",
        "Username,Name,E-mail,Department,Roles,User group\n\
         jdoe,Jane Doe,jane.doe@example.com,Sales,viewer,staff\n\
         sample.user,Someone Real,sample.user@example.com,Sales,viewer,Sample group\n",
        &[],
    );
    for (kind, format) in TEMPLATES {
        let before: Vec<_> = ["users", "groups", "roles", "departments"]
            .map(|e| store.table(e, &[]))
            .into();
        let path = write_template(store, kind, format);
        let report = store.import_ok(&path, &[]);
        assert_eq!(report["updated"], 0, "{kind} {format}: {report}");
        assert!(
            report["created"].as_u64().unwrap() >= 1,
            "{kind} {format}: {report}"
        );
        for (entity, earlier) in ["users", "groups", "roles", "departments"]
            .iter()
            .zip(before)
        {
            let now = store.table(entity, &[]);
            for row in &earlier.rows {
                assert!(
                    now.rows.contains(row),
                    "{kind} {format} changed {entity} {row:?}; now {:?}",
                    now.rows
                );
            }
        }
    }
}

both!(
    an_unedited_template_never_changes_existing_data,
    a_row_reports_all_of_its_problems_at_once,
    warnings_come_once_per_name_in_the_right_tense,
    a_re_import_that_changed_nothing_offers_no_revert,
    a_catalog_row_reports_all_of_its_problems_at_once,
    force_finishes_a_revert_that_left_conflicts,
    no_force_hint_for_what_force_would_not_change,
);
