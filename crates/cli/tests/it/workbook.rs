//! Issue 3: an XLSX or ODS workbook with `Users`, `Groups`, `Roles` and `Departments` sheets (any
//! subset, any order) is one import — dependencies first, atomic across sheets, per-sheet counts.

use std::path::PathBuf;

use crate::support::{assert_counts, both, Store};

fn workbook(store: &Store, name: &str, sheets: &[(&str, &[&[&str]])]) -> PathBuf {
    let path = store.path(name);
    let mut book = rust_xlsxwriter::Workbook::new();
    for (sheet_name, rows) in sheets {
        let sheet = book.add_worksheet().set_name(*sheet_name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    book.save(&path).unwrap();
    path
}

const USERS: &[&[&str]] = &[
    &["Username", "Name", "Department", "Roles", "User group"],
    &["alice", "Alice", "Sales", "auditor", "staff"],
    &["bob", "Bob", "Support", "", "staff"],
];
const ROLES: &[&[&str]] = &[
    &["Role", "Description", "Permissions"],
    &["auditor", "Reads the audit log", "audit.read, users.read"],
];
const GROUPS: &[&[&str]] = &[&["Group", "Description"], &["staff", "Everyone"]];
const DEPARTMENTS: &[&[&str]] = &[
    &["Department", "Description"],
    &["Sales", "Sells"],
    &["Support", "Helps"],
];

fn all_sheets_import_as_one_plan_in_dependency_order(store: &Store) {
    // Users first in the file: the import still creates what they refer to before them.
    let path = workbook(
        store,
        "all.xlsx",
        &[
            ("Users", USERS),
            ("Roles", ROLES),
            ("Groups", GROUPS),
            ("Departments", DEPARTMENTS),
        ],
    );
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 6, 0, 0, 0);
    assert_eq!(report["entity"], "workbook");
    for (sheet, created) in [
        ("Users", 2),
        ("Roles", 1),
        ("Groups", 1),
        ("Departments", 2),
    ] {
        assert_eq!(
            report["sheets"][sheet]["created"], created,
            "{sheet}: {report}"
        );
    }
    let users = store.table("users", &[]);
    assert_eq!(users.get("alice", "Roles"), "auditor");
    assert!(store.export("departments", &[]).contains("Helps"));
    // The same workbook again changes nothing; and it reverts as one.
    let again = store.import_ok(&path, &[]);
    assert_counts(&again, 0, 0, 6, 0);
    let id = report["import_id"].as_u64().unwrap().to_string();
    let out = store.run(&["imports", "revert", &id]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(store.table("users", &[]).keys().is_empty());
    assert!(!store.export("roles", &[]).contains("auditor"));
    assert!(!store.export("departments", &[]).contains("Helps"));
}

fn one_bad_row_on_any_sheet_applies_nothing(store: &Store) {
    let before = store.snapshot();
    let bad_users: &[&[&str]] = &[
        &["Username", "Name", "Roles"],
        &["alice", "Alice", "auditor"],
        &["bob", "Bob", "ghost"],
    ];
    let path = workbook(store, "bad.xlsx", &[("Roles", ROLES), ("Users", bad_users)]);
    let out = store.import(&path, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "rejected");
    assert_eq!(report["sheets"]["Roles"]["created"], 1);
    assert_eq!(report["sheets"]["Users"]["failed"], 1);
    assert_eq!(
        store.snapshot(),
        before,
        "the Roles sheet was not applied either"
    );
    // Partial mode applies the valid rows of every sheet.
    let report = store.import(&path, &["--partial"]).json();
    assert_counts(&report, 2, 0, 0, 1);
    assert_eq!(store.table("users", &[]).keys(), vec!["alice"]);
}

fn a_subset_of_sheets_and_other_sheets_ignored(store: &Store) {
    let notes: &[&[&str]] = &[&["Read me"], &["This sheet is not imported"]];
    let path = workbook(
        store,
        "subset.xlsx",
        &[
            ("Notes", notes),
            ("Groups", GROUPS),
            ("Departments", DEPARTMENTS),
        ],
    );
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 3, 0, 0, 0);
    assert_eq!(report["sheets"].as_object().unwrap().len(), 2);
}

both!(
    all_sheets_import_as_one_plan_in_dependency_order,
    one_bad_row_on_any_sheet_applies_nothing,
    a_subset_of_sheets_and_other_sheets_ignored,
);
