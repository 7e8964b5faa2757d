//! SPEC §4: the round trip is lossless — exporting, then importing the file unchanged, yields zero
//! changes — for all four entities in CSV, XLSX and ODS; formula-looking cells survive it.

use calamine::Reader as _;

use crate::support::{assert_counts, both, Store};

fn populate(store: &Store) {
    store.import_csv_ok(
        "departments.csv",
        "Department,Description\nSales,\"Selling things, mostly\"\nEngineering,=1+1 is not a formula\nSupport,\n",
        &[],
    );
    store.import_csv_ok(
        "groups.csv",
        "Group,Description\nOps,On call\nNight shift,@night\nAuditors,-\n",
        &[],
    );
    store.import_csv_ok(
        "roles.csv",
        "Role,Description,Permissions\nstaff,Reads users,users.read\nimporter,\"+Imports, exports\",\"users.read, users.import, users.export\"\nviewer,,\n",
        &[],
    );
    let users = "Username,Name,Password,Department,E-mail,Phone,Active,Ignore MFA,Roles,User group,Locale,Timezone\n\
        alice,Alice Liddell,,Sales,alice@example.com,+44 20 7946 0958,Yes,No,\"staff, importer\",\"Ops, Night shift\",en-GB,Europe/London\n\
        bob,\"=HYPERLINK(\"\"x\"\")\",,Engineering,bob@example.com,0012 345,No,Yes,viewer,Auditors,pt-BR,America/Sao_Paulo\n\
        carl,@Carl -Minus,,,,-123,Yes,No,,,,\n\
        0042,\"Zoë \"\"Z\"\" Müller\",,Support,zoe@example.com,(030) 1234-567 ext 89,yes,no,,Ops,de,Europe/Berlin\n";
    let report = store.import_csv_ok("users.csv", users, &[]);
    assert_counts(&report, 4, 0, 0, 0);
}

fn round_trip_all_entities_all_formats(store: &Store) {
    populate(store);
    let users = store.table("users", &[]);
    // Formula-looking cells are stored as typed and exported with a `'` in CSV.
    assert_eq!(users.get("bob", "Name"), "'=HYPERLINK(\"x\")");
    assert_eq!(users.get("carl", "Name"), "'@Carl -Minus");
    assert_eq!(users.get("carl", "Phone"), "'-123");
    assert_eq!(users.get("alice", "Phone"), "'+44 20 7946 0958");
    assert_eq!(users.get("0042", "Phone"), "(030) 1234-567 ext 89");
    assert_eq!(users.get("0042", "Name"), "Zoë \"Z\" Müller");
    let raw = store.export("users", &[]);
    // The BOM is for Excel opening a file; CSV on stdout (pipes, scripts) has none.
    assert!(!raw.starts_with('\u{feff}'), "CSV on stdout has no BOM");
    let file = store.export_file("users", "csv", "users-bom.csv");
    assert!(
        std::fs::read(file)
            .expect("read")
            .starts_with("\u{feff}".as_bytes()),
        "a CSV file starts with a BOM"
    );
    for (entity, rows) in [
        ("departments", 3),
        ("groups", 3),
        ("roles", 3),
        ("users", 4),
    ] {
        let table = store.table(entity, &[]);
        let rows = if entity == "roles" {
            table.rows.len()
        } else {
            rows
        };
        assert!(table.rows.len() >= rows, "{entity}: {table:#?}");
        for format in ["csv", "xlsx", "ods"] {
            let path = store.export_file(entity, format, &format!("{entity}.{format}"));
            let out = store.import(&path, &[]);
            assert_eq!(
                out.code, 0,
                "{entity} as {format}: {}\n{}",
                out.stdout, out.stderr
            );
            let report = out.json();
            assert_eq!(report["entity"], entity, "{report:#}");
            assert_counts(&report, 0, 0, rows as u64, 0);
        }
    }
    // And nothing moved through all those imports.
    assert_eq!(store.table("users", &[]), users);
}

fn roles_workbook_has_a_permission_matrix(store: &Store) {
    populate(store);
    for format in ["xlsx", "ods"] {
        let path = store.export_file("roles", format, &format!("roles-matrix.{format}"));
        let mut book = calamine::open_workbook_auto(&path).expect("open the roles export");
        let names = book.sheet_names();
        assert_eq!(
            names.first().map(String::as_str),
            Some("Roles"),
            "{format}: {names:?}"
        );
        assert!(
            names.iter().any(|n| n == "Permission matrix"),
            "{format}: {names:?}"
        );
        let matrix = book
            .worksheet_range("Permission matrix")
            .expect("matrix sheet");
        let header: Vec<String> = matrix
            .rows()
            .next()
            .expect("header")
            .iter()
            .map(|c| c.to_string())
            .collect();
        let importer = header
            .iter()
            .position(|h| h == "importer")
            .unwrap_or_else(|| panic!("{header:?}"));
        let yes: Vec<String> = matrix
            .rows()
            .skip(1)
            .filter(|r| r.get(importer).is_some_and(|c| *c == "Yes"))
            .map(|r| r[0].to_string())
            .collect();
        let mut sorted = yes.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            ["users.export", "users.import", "users.read"],
            "{format}"
        );
    }
    // The CSV export has no matrix (one sheet only) and is the plain roles table.
    let csv = store.table("roles", &[]);
    assert_eq!(csv.headers, ["Role", "Description", "Permissions"]);
}

/// SPEC §2: the permission matrix sheet is accepted by import too.
fn permission_matrix_imports(store: &Store) {
    populate(store);
    let path = store.export_file("roles", "xlsx", "matrix-import.xlsx");
    let roles = store.table("roles", &[]).rows.len() as u64;
    let out = store.import(&path, &["--sheet", "Permission matrix"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["entity"], "roles", "{report:#}");
    assert_counts(&report, 0, 0, roles, 0);
}

both!(
    round_trip_all_entities_all_formats,
    roles_workbook_has_a_permission_matrix,
    permission_matrix_imports
);
