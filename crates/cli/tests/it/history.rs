//! Issue 3: every import is recorded; previews are stored plans that `imports apply` runs
//! exactly (and refuses when stale); `imports revert` undoes an import once, reporting
//! conflicts; the archive never holds a secret; the error workbook round trip completes a job.

use serde_json::Value;

use crate::support::{assert_counts, both, Store};

const USERS: &str = "Username,Name,E-mail,Department,Roles,User group\n\
alice,Alice Martin,alice@example.com,Sales,viewer,staff\n\
bob,Bob Stone,bob@example.com,Sales,,staff\n";

const SECRET: &str = "Archive-Sentinel-Pa55-Q7";

fn setup(store: &Store) {
    store.role("viewer", &["users.read"]);
    store.group("staff");
}

fn entry(store: &Store, id: u64) -> Value {
    store.import_entry(&id.to_string())
}

fn id_of(report: &Value) -> u64 {
    report["import_id"]
        .as_u64()
        .expect("import_id in the report")
}

fn user_count(store: &Store) -> usize {
    store.table("users", &[]).keys().len()
}

fn every_import_is_recorded_with_its_file_and_counts(store: &Store) {
    setup(store);
    let file = store.file("users.csv", USERS);
    let report = store.import_ok(&file, &[]);
    let id = id_of(&report);
    let e = entry(store, id);
    assert_eq!(e["status"], "applied");
    assert_eq!(e["file_name"], "users.csv");
    assert_eq!(
        (
            e["created"].as_u64(),
            e["updated"].as_u64(),
            e["unchanged"].as_u64(),
            e["failed"].as_u64()
        ),
        (Some(2), Some(0), Some(0), Some(0))
    );
    assert_eq!(e["sha256"].as_str().map(str::len), Some(64));
    assert!(
        e["actor"].as_str().is_some_and(|a| a.starts_with("cli:")),
        "{e}"
    );
    // A dry run is recorded too, and the same bytes again warn that they were applied before.
    let again = store.import(&file, &["--dry-run"]).json();
    assert_eq!(entry(store, id_of(&again))["status"], "dry_run");
    let messages: Vec<&str> = again["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&format!("already applied as import {id}"))),
        "{messages:?}"
    );
    // Its rows are all unchanged, and the history says so row by row.
    let show_again = store
        .run(&["imports", "show", &id_of(&again).to_string(), "--json"])
        .json();
    let outcomes: Vec<(u64, &str, &str)> = show_again["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [(2, "unchanged", "alice"), (3, "unchanged", "bob")]
    );
    // show lists rows with field-level changes; download gives the file back.
    let show = store
        .run(&["imports", "show", &id.to_string(), "--json"])
        .json();
    let rows = show["rows"].as_array().unwrap();
    let alice = rows
        .iter()
        .find(|r| r["key"] == "alice")
        .expect("alice's row");
    assert_eq!(
        (alice["outcome"].as_str(), alice["row"].as_u64()),
        (Some("created"), Some(2))
    );
    let back = store.path("back.csv");
    let out = store.run(&[
        "imports".as_ref(),
        "download".as_ref(),
        id.to_string().as_ref(),
        "-o".as_ref(),
        back.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read(&back).unwrap(),
        USERS.as_bytes(),
        "a file without secrets is archived byte for byte"
    );
    // Rejected imports are recorded with their failed rows.
    let bad = store.file(
        "bad.csv",
        "Username,Name,E-mail\ncarol,Carol,not-an-email\n",
    );
    let rejected = store.import(&bad, &[]);
    assert_eq!(rejected.code, 1);
    let rejected_id = id_of(&rejected.json());
    assert_eq!(entry(store, rejected_id)["status"], "rejected");
    let show = store
        .run(&["imports", "show", &rejected_id.to_string(), "--json"])
        .json();
    assert_eq!(show["rows"][0]["outcome"], "failed");
    assert_eq!(show["rows"][0]["errors"][0]["column"], "E-mail");
}

fn the_archive_never_holds_a_secret(store: &Store) {
    let hash = "$2b$12$KIXQJx1l9Q7cJ7Qm1rYFQeH9m1w5O8b0h2bXJr9h0m3c1fWm3mFqK";
    let text =
        format!("Username,Name,Password,Password hash\ndave,Dave,{SECRET},\nerin,Erin,,{hash}\n");
    let file = store.file("secrets.csv", &text);
    let id = id_of(&store.import(&file, &["--dry-run"]).json());
    let back = store.path("back.csv");
    let out = store.run(&[
        "imports".as_ref(),
        "download".as_ref(),
        id.to_string().as_ref(),
        "-o".as_ref(),
        back.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let archived = std::fs::read_to_string(&back).unwrap();
    assert!(
        !archived.contains(SECRET) && !archived.contains("$2b$"),
        "{archived}"
    );
    assert!(
        archived.contains("dave,Dave,,") && archived.contains("erin,Erin,,"),
        "{archived}"
    );
}

fn a_preview_is_applied_exactly_once(store: &Store) {
    setup(store);
    let file = store.file("users.csv", USERS);
    let preview = store.import(&file, &["--dry-run"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let id = id_of(&preview.json());
    assert_eq!(user_count(store), 0, "a preview writes nothing");
    // The file is gone: the plan alone is applied.
    std::fs::remove_file(&file).unwrap();
    let applied = store.run(&["imports", "apply", &id.to_string(), "--json"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert_eq!(user_count(store), 2);
    assert_eq!(
        store.table("users", &[]).get("alice", "Department"),
        "Sales"
    );
    assert_eq!(store.table("users", &[]).get("alice", "Roles"), "viewer");
    assert_eq!(entry(store, id)["status"], "applied");
    let twice = store.run(&["imports", "apply", &id.to_string()]);
    assert_eq!(twice.code, 2, "applying the same plan twice is refused");
    assert!(twice.stderr.contains("already applied"), "{}", twice.stderr);
    // And an applied preview reverts like any import.
    let revert = store.run(&["imports", "revert", &id.to_string(), "--json"]);
    assert_eq!(revert.code, 0, "{}", revert.stderr);
    assert_eq!(user_count(store), 0);
}

fn a_stale_preview_is_refused_naming_the_records(store: &Store) {
    setup(store);
    store.import_csv_ok("first.csv", "Username,Name\nalice,Alice\n", &[]);
    let file = store.file("users.csv", USERS);
    let id = id_of(&store.import(&file, &["--dry-run"]).json());
    // alice changes after the preview, and someone creates bob.
    store.import_csv_ok(
        "later.csv",
        "Username,Name\nalice,Alice Changed\nbob,Robert\n",
        &[],
    );
    let before = store.snapshot();
    let out = store.run(&["imports", "apply", &id.to_string(), "--json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let refused = out.json();
    assert_eq!(refused["status"], "stale");
    let keys: Vec<&str> = refused["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"alice") && keys.contains(&"bob"),
        "{refused}"
    );
    assert_eq!(
        store.snapshot(),
        before,
        "nothing of a stale plan is applied"
    );
    assert_eq!(
        entry(store, id)["status"],
        "dry_run",
        "it can be previewed again"
    );
}

fn a_preview_whose_email_was_taken_since_is_refused(store: &Store) {
    let file = store.file(
        "carol.csv",
        "Username,Name,E-mail\ncarol,Carol,carol@example.com\n",
    );
    let id = id_of(&store.import(&file, &["--dry-run"]).json());
    store.import_csv_ok(
        "dave.csv",
        "Username,Name,E-mail\ndave,Dave,carol@example.com\n",
        &[],
    );
    let out = store.run(&["imports", "apply", &id.to_string(), "--json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let refused = out.json();
    assert_eq!(refused["conflicts"][0]["key"], "carol");
    assert!(
        refused["conflicts"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("now belongs to user `dave`"),
        "{refused}"
    );
    assert_eq!(store.table("users", &[]).keys(), vec!["dave"]);
}

fn revert_restores_fields_and_memberships_once(store: &Store) {
    setup(store);
    store.group("emea");
    store.import_csv_ok(
        "first.csv",
        "Username,Name,Phone,User group\nalice,Alice,+44 1,emea\n",
        &[],
    );
    let before = store.snapshot();
    let file = store.file("users.csv", USERS);
    let id = id_of(&store.import_ok(&file, &[]));
    assert_ne!(store.snapshot(), before);
    let out = store.run(&["imports", "revert", &id.to_string(), "--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    // bob and the Sales department removed; alice restored.
    assert_eq!(
        (report["removed"].as_u64(), report["restored"].as_u64()),
        (Some(2), Some(1)),
        "{report}"
    );
    assert_eq!(
        store.snapshot(),
        before,
        "the store is exactly as before the import"
    );
    assert_eq!(entry(store, id)["status"], "reverted");
    let revert_id = report["revert_id"].as_u64().unwrap();
    assert_eq!(entry(store, revert_id)["kind"], "revert");
    assert_eq!(entry(store, revert_id)["revert_of"], id);
    let twice = store.run(&["imports", "revert", &id.to_string()]);
    assert_eq!(twice.code, 2, "reverting twice is refused");
    assert!(
        twice.stderr.contains("already reverted"),
        "{}",
        twice.stderr
    );
}

fn revert_reports_later_changes_as_conflicts(store: &Store) {
    setup(store);
    let file = store.file("users.csv", USERS);
    let id = id_of(&store.import_ok(&file, &[]));
    store.import_csv_ok("later.csv", "Username,Phone\nbob,+1 555 0100\n", &[]);
    let out = store.run(&["imports", "revert", &id.to_string(), "--json"]);
    assert_eq!(
        out.code, 1,
        "conflicts left alone exit 1: {}{}",
        out.stdout, out.stderr
    );
    let report = out.json();
    // bob changed after the import; the Sales department it created is still bob's.
    assert_eq!(report["conflict_count"], 2, "{report}");
    assert_eq!(report["conflicts"][0]["key"], "bob");
    assert!(report["conflicts"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("changed since the import"));
    assert_eq!(report["conflicts"][1]["key"], "sales");
    assert!(report["conflicts"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("still used"));
    let users = store.table("users", &[]);
    assert_eq!(users.keys(), vec!["bob"], "alice removed, bob left alone");
    assert_eq!(
        users.get("bob", "Phone").trim_start_matches('\''),
        "+1 555 0100",
        "the export prefixes + against formula injection"
    );
    // The department is still used by bob, so it stays although the import created it.
    assert!(store.export("departments", &[]).contains("Sales"));
}

fn forced_revert_overrides_conflicts(store: &Store) {
    setup(store);
    let file = store.file("users.csv", USERS);
    let id = id_of(&store.import_ok(&file, &[]));
    store.import_csv_ok("later.csv", "Username,Phone\nbob,+1 555 0100\n", &[]);
    let out = store.run(&["imports", "revert", &id.to_string(), "--force", "--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["conflicts"][0]["forced"], true);
    assert_eq!(user_count(store), 0);
    assert!(!store.export("departments", &[]).contains("Sales"));
}

fn nothing_to_revert_in_a_preview_or_a_rejected_import(store: &Store) {
    let file = store.file("users.csv", "Username,Name\nalice,Alice\n");
    let id = id_of(&store.import(&file, &["--dry-run"]).json());
    let out = store.run(&["imports", "revert", &id.to_string()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nothing to revert"), "{}", out.stderr);
    let missing = store.run(&["imports", "show", "999"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no import 999"),
        "{}",
        missing.stderr
    );
}

fn the_error_workbook_round_trip_completes_the_job(store: &Store) {
    setup(store);
    let text = format!(
        "Username,Name,Password,E-mail,Roles\n\
         alice,Alice,,alice@example.com,viewer\n\
         bob,Bob,{SECRET},not-an-email,viewer\n\
         carol,Carol,,carol@example.com,nosuchrole\n\
         dave,Dave,,dave@example.com,\n"
    );
    let file = store.file("users.csv", &text);
    let out = store.import(&file, &["--partial"]);
    assert_eq!(out.code, 1);
    let id = id_of(&out.json());
    assert_counts(&out.json(), 2, 0, 0, 2);
    let errors = store.path("errors.csv");
    let written = store.run(&[
        "imports".as_ref(),
        "errors".as_ref(),
        id.to_string().as_ref(),
        "-o".as_ref(),
        errors.as_os_str(),
    ]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let content = std::fs::read_to_string(&errors).unwrap();
    assert!(
        !content.contains(SECRET),
        "the error workbook holds no password"
    );
    let lines: Vec<&str> = content.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "header and the two failed rows: {content}");
    assert!(lines[0].ends_with(",Errors"), "{content}");
    // The Errors cells hold commas, so those rows are quoted in full.
    assert!(
        lines[1].starts_with("\"bob\",")
            && lines[1].contains("[import")
            && lines[1].contains("E-mail"),
        "{content}"
    );
    assert!(
        lines[2].starts_with("\"carol\",") && lines[2].contains("nosuchrole"),
        "{content}"
    );
    // The administrator fixes both rows and imports the file as it is.
    let fixed = content
        .replace("not-an-email", "bob@example.com")
        .replace("nosuchrole", "viewer");
    let fixed_file = store.file("errors-fixed.csv", fixed);
    let report = store.import_ok(&fixed_file, &[]);
    assert_counts(&report, 2, 0, 0, 0);
    assert_eq!(report["fixes_import_id"], id);
    assert_eq!(entry(store, id_of(&report))["fixes_import_id"], id);
    assert_eq!(
        store.table("users", &[]).keys(),
        vec!["alice", "bob", "carol", "dave"]
    );
    let show = store
        .run(&["imports", "show", &id.to_string(), "--json"])
        .json();
    assert_eq!(show["fixed_by"][0], id_of(&report));
}

fn the_xlsx_error_workbook_marks_bad_cells(store: &Store) {
    let path = store.path("users.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("Users").unwrap();
    for (r, row) in [
        ["Username", "Name", "E-mail"],
        ["alice", "Alice", "alice@example.com"],
        ["bob", "Bob", "bad@"],
    ]
    .iter()
    .enumerate()
    {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    book.save(&path).unwrap();
    let id = id_of(&store.import(&path, &["--partial"]).json());
    let errors = store.path("errors.xlsx");
    let out = store.run(&[
        "imports".as_ref(),
        "errors".as_ref(),
        id.to_string().as_ref(),
        "-o".as_ref(),
        errors.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&errors).expect("an xlsx");
    let range = wb.worksheet_range("Users").expect("the Users sheet");
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0], ["Username", "Name", "E-mail", "Errors"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], "bob");
    // The bad cell carries a note (a comments part in the package).
    let zip = zip::ZipArchive::new(std::fs::File::open(&errors).unwrap()).unwrap();
    assert!(
        zip.file_names().any(|n| n.starts_with("xl/comments")),
        "a note on the bad cell"
    );
}

both!(
    every_import_is_recorded_with_its_file_and_counts,
    the_archive_never_holds_a_secret,
    a_preview_is_applied_exactly_once,
    a_stale_preview_is_refused_naming_the_records,
    a_preview_whose_email_was_taken_since_is_refused,
    revert_restores_fields_and_memberships_once,
    revert_reports_later_changes_as_conflicts,
    forced_revert_overrides_conflicts,
    nothing_to_revert_in_a_preview_or_a_rejected_import,
    the_error_workbook_round_trip_completes_the_job,
    the_xlsx_error_workbook_marks_bad_cells,
);
