//! Issue 7, items 19 and 25: a sheet's entity is told from the file's name when its headers fit
//! several, a header typo is reported where it is, and `muster export workbook` carries a whole
//! instance to another one as one plan, changing nothing when imported back.

use crate::support::{assert_counts, assert_error, both, errors, Store};

fn file_name_decides_between_entities_the_headers_fit(store: &Store) {
    let groups = store.file("groups.csv", "Name,Description\nstaff,Everyone\n");
    let report = store.import_ok(&groups, &[]);
    assert_eq!(report["entity"], "groups", "{report}");
    assert_counts(&report, 1, 0, 0, 0);
    let departments = store.file("Departments 2026.csv", "Name;Description\nSales;Sells\n");
    let report = store.import_ok(&departments, &[]);
    assert_eq!(report["entity"], "departments", "{report}");
    assert_eq!(
        store.table("departments", &[]).get("Sales", "Description"),
        "Sells"
    );
    // A workbook sheet named `Sheet1` takes the hint from the file's name too.
    let path = store.path("import_roles.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, cell) in ["Name", "Description"].iter().enumerate() {
        sheet.write_string(0, c as u16, *cell).unwrap();
    }
    sheet.write_string(1, 0, "auditor").unwrap();
    book.save(&path).unwrap();
    let report = store.import_ok(&path, &[]);
    assert_eq!(report["entity"], "roles", "{report}");
}

fn ambiguous_headers_name_the_candidates(store: &Store) {
    let path = store.file("export.csv", "Name,Description\nstaff,Everyone\n");
    let out = store.import(&path, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    let all = errors(&report);
    assert!(
        all.iter()
            .any(|(_, _, _, m)| m.contains("departments, groups or roles")
                && m.contains("file's name")),
        "{all:#?}"
    );
    // A name that mentions none of them, or two, decides nothing.
    let path = store.file("groups_and_roles.csv", "Name,Description\nstaff,Everyone\n");
    assert_eq!(store.import(&path, &[]).code, 1);
    assert_eq!(store.table("groups", &[]).rows.len(), 0);
}

fn header_typo_is_reported_at_its_column(store: &Store) {
    let path = store.file("people.csv", "Usernme,Name\nalice,Alice\n");
    let out = store.import(&path, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_error(
        &report,
        "people",
        1,
        Some("Usernme"),
        "did you mean `Username`",
    );
    assert!(!out.stdout.contains("cannot tell"), "{}", out.stdout);
}

/// An instance with something of every kind: departments, groups, roles with permissions, users
/// with phones that look like numbers, accents, memberships, an inactive account.
fn seed(store: &Store) {
    store.role("auditor", &["audit.read", "users.read"]);
    store.import_csv_ok(
        "seed.csv",
        "Username,Name,Department,E-mail,Phone,Active,Ignore MFA,Roles,User group,Locale,Timezone\n\
         alice,Alice Ærø,Sales,alice@example.com,+44 20 7946 0958,Yes,No,auditor,\"staff, ops\",pt-BR,Europe/Paris\n\
         007,Jörg Bond,Support,,0044123,No,Yes,,staff,,\n",
        &["--create-groups"],
    );
    let described = store.file(
        "departments.csv",
        "Department,Description\nSales,Sells things\n",
    );
    store.import_ok(&described, &[]);
}

fn workbook_moves_an_instance_and_changes_nothing_at_home(store: &Store) {
    seed(store);
    let production = store.another();
    for format in ["xlsx", "ods"] {
        let path = store.path(&format!("instance.{format}"));
        let out = store.run(&[
            "export".as_ref(),
            "workbook".as_ref(),
            "-o".as_ref(),
            path.as_os_str(),
        ]);
        assert_eq!(out.code, 0, "export workbook as {format}: {}", out.stderr);
        // Imported back into the instance that wrote it: every row unchanged.
        let report = store.import_ok(&path, &[]);
        assert_eq!(report["entity"], "workbook", "{report}");
        assert_counts(&report, 0, 0, 2 + 2 + 2 + 2, 0);
        for sheet in ["Users", "Groups", "Roles", "Departments"] {
            assert_eq!(
                report["sheets"][sheet]["unchanged"], 2,
                "{sheet} in {format}: {report}"
            );
        }
        // Imported into another instance: the same records, as one plan.
        let report = production.import_ok(&path, &[]);
        assert_eq!(report["entity"], "workbook", "{report}");
        for entity in ["users", "groups", "roles", "departments"] {
            assert_eq!(
                production.table(entity, &[]).without_timestamps(),
                store.table(entity, &[]).without_timestamps(),
                "{entity} after importing the {format} workbook"
            );
        }
    }
}

fn workbook_refuses_csv_and_filters(store: &Store) {
    let csv = store.path("instance.csv");
    let out = store.run(&[
        "export".as_ref(),
        "workbook".as_ref(),
        "-o".as_ref(),
        csv.as_os_str(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("CSV cannot"), "{}", out.stderr);
    assert!(!csv.exists(), "nothing is written for a refused export");
    let out = store.run(&[
        "export",
        "workbook",
        "--format",
        "ods",
        "--department",
        "Sales",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("every record"), "{}", out.stderr);
}

both!(
    file_name_decides_between_entities_the_headers_fit,
    ambiguous_headers_name_the_candidates,
    header_typo_is_reported_at_its_column,
    workbook_moves_an_instance_and_changes_nothing_at_home,
    workbook_refuses_csv_and_filters,
);
