//! SPEC §2 and §4: `muster template` writes the headers the import reads, one sample row that
//! imports cleanly into the store the template came from, and in XLSX a note on each header and
//! dropdowns for the Yes/No columns and for the departments, roles and groups that exist.

use std::ffi::OsStr;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader as _};

use crate::support::{assert_counts, both, Store, Table};

const USERS_HEADERS: [&str; 12] = [
    "Username",
    "Name",
    "Password",
    "Department",
    "E-mail",
    "Phone",
    "Active",
    "Ignore MFA",
    "Roles",
    "User group",
    "Locale",
    "Timezone",
];

/// The users sample with the given Department, Roles and User group cells, as an XLSX holds it.
fn users_sample(department: &str, role: &str, group: &str) -> Vec<String> {
    [
        "sample.user",
        "Sample User",
        "",
        department,
        "sample.user@example.com",
        "+44 20 7946 0958",
        "Yes",
        "No",
        role,
        group,
        "en-GB",
        "Europe/London",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// (template word, headers, sample) of the three catalog entities.
fn catalog_templates() -> [(&'static str, Vec<&'static str>, Vec<&'static str>); 3] {
    [
        (
            "groups",
            vec!["Group", "Description"],
            vec![
                "Sample group",
                "A sample group: replace this row with your own",
            ],
        ),
        (
            "departments",
            vec!["Department", "Description"],
            vec![
                "Sample department",
                "A sample department: replace this row with your own",
            ],
        ),
        (
            "roles",
            vec!["Role", "Description", "Permissions"],
            vec![
                "Sample role",
                "A sample role that reads users and groups: replace this row with your own",
                "users.read, groups.read",
            ],
        ),
    ]
}

/// `muster template ARGS… -o NAME` in the scratch directory; must succeed with one line.
fn template(store: &Store, args: &[&str], name: &str) -> PathBuf {
    let path = store.path(name);
    let mut all: Vec<&OsStr> = vec!["template".as_ref()];
    all.extend(args.iter().map(OsStr::new));
    all.extend(["-o".as_ref(), path.as_os_str()]);
    let out = store.run(&all);
    assert_eq!(out.code, 0, "template {args:?} failed:\n{}", out.stderr);
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "one line expected:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&path.display().to_string()),
        "the line names the file:\n{}",
        out.stdout
    );
    path
}

fn sheet_names(path: &Path) -> Vec<String> {
    let book: calamine::Xlsx<_> = calamine::open_workbook(path).expect("open the template");
    book.sheet_names()
}

/// A sheet's cells as text (calamine reads hidden sheets too); a template holds no numbers.
fn xlsx_rows(path: &Path, sheet: &str) -> Vec<Vec<String>> {
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).expect("open the template");
    let range = book
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("no sheet {sheet}: {e}"));
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::String(text) => text.clone(),
                    Data::Empty => String::new(),
                    other => panic!("{sheet}: cell {other:?} is not text"),
                })
                .collect()
        })
        .collect()
}

/// The non-blank cells of one column below the header.
fn column_values(rows: &[Vec<String>], column: usize) -> Vec<String> {
    rows.iter()
        .skip(1)
        .filter_map(|row| row.get(column).filter(|v| !v.is_empty()).cloned())
        .collect()
}

/// One part of the XLSX zip as text, e.g. `xl/worksheets/sheet1.xml`.
fn xlsx_part(path: &Path, part: &str) -> String {
    let file = std::fs::File::open(path).expect("open the template");
    let mut zip = zip::ZipArchive::new(file).expect("an XLSX is a zip");
    let mut entry = zip
        .by_name(part)
        .unwrap_or_else(|e| panic!("no {part} in {}: {e}", path.display()));
    let mut text = String::new();
    entry.read_to_string(&mut text).expect("a UTF-8 part");
    text
}

/// The `<dataValidation …>` element whose range is `sqref`, if the sheet has one.
fn validation_for(sheet_xml: &str, sqref: &str) -> Option<String> {
    sheet_xml
        .split("<dataValidation ")
        .skip(1)
        .map(|rest| {
            rest.split("</dataValidation>")
                .next()
                .unwrap_or(rest)
                .to_owned()
        })
        .find(|element| element.contains(&format!("sqref=\"{sqref}\"")))
}

/// The sample user's phone as stored, read from an XLSX export (text as is; a CSV export would defuse it).
fn stored_phone(store: &Store) -> String {
    let path = store.export_file("users", "xlsx", "users-export.xlsx");
    let rows = xlsx_rows(&path, "Users");
    let column = rows[0]
        .iter()
        .position(|h| h == "Phone")
        .expect("a Phone column");
    let row = rows
        .iter()
        .find(|r| r[0] == "sample.user")
        .expect("sample.user is exported");
    row[column].clone()
}

/// `xl/workbook.xml` marks the `Lists` sheet hidden.
fn assert_lists_hidden(path: &Path) {
    let workbook = xlsx_part(path, "xl/workbook.xml");
    let lists = workbook
        .split("<sheet ")
        .find(|element| element.contains("name=\"Lists\""))
        .unwrap_or_else(|| panic!("no Lists sheet in {workbook}"));
    assert!(lists.contains("state=\"hidden\""), "{lists}");
}

/// The Yes/No columns (Active G, Ignore MFA H) have a strict dropdown on rows 2 to 1000.
fn assert_yes_no_dropdowns(sheet_xml: &str) {
    for sqref in ["G2:G1000", "H2:H1000"] {
        let validation = validation_for(sheet_xml, sqref)
            .unwrap_or_else(|| panic!("no validation on {sqref} in {sheet_xml}"));
        assert!(validation.contains("type=\"list\""), "{validation}");
        assert!(validation.contains("Yes,No"), "{validation}");
        // Stop, Excel's default style, is written as no errorStyle attribute at all.
        assert!(!validation.contains("errorStyle"), "{validation}");
    }
}

fn template_users_xlsx(store: &Store) {
    store.role("auditor", &["users.read"]);
    store.group("Engineering");
    store.department("Finance");
    let path = template(store, &["users"], "users.xlsx");
    assert_eq!(sheet_names(&path), ["Users", "Lists"]);
    let rows = xlsx_rows(&path, "Users");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], USERS_HEADERS);
    assert_eq!(rows[1], users_sample("Finance", "auditor", "Engineering"));

    let lists = xlsx_rows(&path, "Lists");
    assert_eq!(lists[0], ["Department", "Roles", "User group"]);
    assert_eq!(column_values(&lists, 0), ["Finance"]);
    assert_eq!(column_values(&lists, 1), ["administrator", "auditor"]);
    assert_eq!(column_values(&lists, 2), ["Engineering"]);
    assert_lists_hidden(&path);

    let sheet = xlsx_part(&path, "xl/worksheets/sheet1.xml");
    assert_yes_no_dropdowns(&sheet);
    for (sqref, range, style) in [
        ("D2:D1000", "Lists!$A$2:$A$2", "information"),
        ("I2:I1000", "Lists!$B$2:$B$3", "warning"),
        ("J2:J1000", "Lists!$C$2:$C$2", "warning"),
    ] {
        let validation = validation_for(&sheet, sqref)
            .unwrap_or_else(|| panic!("no validation on {sqref} in {sheet}"));
        assert!(validation.contains(range), "{validation}");
        assert!(
            validation.contains(&format!("errorStyle=\"{style}\"")),
            "{validation}"
        );
    }
    let notes = xlsx_part(&path, "xl/comments1.xml");
    for needle in [
        "Yes or No",
        "Comma-separated role names",
        "IANA time zone such as Europe/Paris",
        "invitation-only provisional secret",
    ] {
        assert!(notes.contains(needle), "no note says {needle:?}:\n{notes}");
    }

    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 1, 0, 0, 0);
    let users = store.table("users", &[]);
    assert_eq!(users.get("sample.user", "Roles"), "auditor");
    assert_eq!(users.get("sample.user", "User group"), "Engineering");
    assert_eq!(users.get("sample.user", "Department"), "Finance");
    assert_eq!(stored_phone(store), "+44 20 7946 0958");
    assert_eq!(users.get("sample.user", "Timezone"), "Europe/London");
}

fn template_users_csv(store: &Store) {
    store.role("auditor", &["users.read"]);
    store.group("Engineering");
    let path = template(store, &["users", "--format", "csv"], "users.csv");
    let table = Table::parse(&std::fs::read_to_string(&path).expect("read the CSV template"));
    assert_eq!(table.headers, USERS_HEADERS);
    // The CSV writer defuses cells that start like a formula; the import removes the `'` again.
    let mut sample = users_sample("Sample department", "auditor", "Engineering");
    sample[5] = "'+44 20 7946 0958".to_owned();
    assert_eq!(table.rows, [sample]);

    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 1, 0, 0, 0);
    let users = store.table("users", &[]);
    assert_eq!(users.get("sample.user", "Roles"), "auditor");
    assert_eq!(users.get("sample.user", "User group"), "Engineering");
    // The import removed the `'` that the CSV writer put in front of the `+`.
    assert_eq!(stored_phone(store), "+44 20 7946 0958");
}

/// With only the built-in administrator role, the sample grants no role and no group, and the
/// empty lists get no dropdown.
fn template_users_on_an_empty_store(store: &Store) {
    let path = template(store, &["users", "--format", "xlsx"], "users.xlsx");
    let rows = xlsx_rows(&path, "Users");
    assert_eq!(rows[1], users_sample("Sample department", "", ""));
    let lists = xlsx_rows(&path, "Lists");
    assert_eq!(column_values(&lists, 1), ["administrator"]);
    let sheet = xlsx_part(&path, "xl/worksheets/sheet1.xml");
    assert_yes_no_dropdowns(&sheet);
    assert!(validation_for(&sheet, "I2:I1000").is_some(), "{sheet}");
    assert!(validation_for(&sheet, "D2:D1000").is_none(), "{sheet}");
    assert!(validation_for(&sheet, "J2:J1000").is_none(), "{sheet}");
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 1, 0, 0, 0);
    assert_eq!(store.table("users", &[]).get("sample.user", "Roles"), "");
}

fn template_catalog_xlsx(store: &Store) {
    for (word, headers, sample) in catalog_templates() {
        let path = template(store, &[word], &format!("{word}.xlsx"));
        let sheet_name = format!("{}{}", word[..1].to_uppercase(), &word[1..]);
        assert_eq!(
            sheet_names(&path),
            [sheet_name.as_str()],
            "{word}: no Lists sheet without dropdowns"
        );
        let rows = xlsx_rows(&path, &sheet_name);
        assert_eq!(rows, [headers, sample], "{word}");
        let notes = xlsx_part(&path, "xl/comments1.xml");
        assert!(notes.contains("Required."), "{word}: {notes}");
        if word == "roles" {
            for code in [
                "users.read",
                "users.write",
                "users.import",
                "users.export",
                "groups.read",
                "groups.write",
                "roles.read",
                "roles.write",
                "departments.read",
                "departments.write",
                "users.credentials",
                "imports.read",
                "imports.revert",
                "audit.read",
                "tokens.manage",
            ] {
                assert!(
                    notes.contains(code),
                    "the Permissions note lacks {code}:\n{notes}"
                );
            }
        }
        let report = store.import_ok(&path, &[]);
        assert_counts(&report, 1, 0, 0, 0);
    }
    assert_eq!(
        store.table("roles", &[]).get("Sample role", "Permissions"),
        "groups.read, users.read"
    );
}

fn template_catalog_csv(store: &Store) {
    for (word, headers, sample) in catalog_templates() {
        let path = template(store, &[word], &format!("{word}.csv"));
        let table = Table::parse(&std::fs::read_to_string(&path).expect("read the CSV template"));
        assert_eq!(table.headers, headers, "{word}");
        assert_eq!(table.rows, [sample], "{word}");
        let report = store.import_ok(&path, &[]);
        assert_counts(&report, 1, 0, 0, 0);
    }
    assert_eq!(store.table("groups", &[]).keys(), ["Sample group"]);
    assert_eq!(
        store.table("departments", &[]).keys(),
        ["Sample department"]
    );
}

/// The workbook's four sheets in dependency order, their samples referring to each other, and
/// the lists offering what the workbook itself creates.
fn template_workbook_sheets(store: &Store) {
    store.group("Engineering");
    let path = template(store, &["workbook"], "workbook.xlsx");
    assert_eq!(
        sheet_names(&path),
        ["Departments", "Groups", "Roles", "Users", "Lists"]
    );
    for (word, headers, sample) in catalog_templates() {
        let sheet_name = format!("{}{}", word[..1].to_uppercase(), &word[1..]);
        assert_eq!(xlsx_rows(&path, &sheet_name), [headers, sample], "{word}");
    }
    let users = xlsx_rows(&path, "Users");
    assert_eq!(users[0], USERS_HEADERS);
    assert_eq!(
        users[1],
        users_sample("Sample department", "Sample role", "Sample group")
    );
    let lists = xlsx_rows(&path, "Lists");
    assert_eq!(column_values(&lists, 0), ["Sample department"]);
    assert_eq!(column_values(&lists, 1), ["administrator", "Sample role"]);
    assert_eq!(column_values(&lists, 2), ["Engineering", "Sample group"]);
    assert_lists_hidden(&path);
    // The users sheet is the fourth; its dropdowns are those of the users template.
    assert_yes_no_dropdowns(&xlsx_part(&path, "xl/worksheets/sheet4.xml"));
}

fn template_workbook_imports_as_one_plan(store: &Store) {
    let path = template(store, &["workbook"], "workbook.xlsx");
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 4, 0, 0, 0);
    assert_eq!(report["sheets"]["Users"]["created"], 1, "{report:#}");
    let users = store.table("users", &[]);
    assert_eq!(users.get("sample.user", "Roles"), "Sample role");
    assert_eq!(users.get("sample.user", "User group"), "Sample group");
}

both!(
    template_users_xlsx,
    template_users_csv,
    template_users_on_an_empty_store,
    template_catalog_xlsx,
    template_catalog_csv,
    template_workbook_sheets,
    template_workbook_imports_as_one_plan,
);

/// `muster ARGS…` run in `dir`, with its SQLite store there too.
fn muster_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .current_dir(dir)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("MUSTER_DATA_DIR")
        .env_remove("MUSTER_DATABASE_URL")
        .output()
        .expect("running the muster binary");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn is_xlsx(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"PK"))
}

/// File names and formats: `import_<kind>.<ext>` in the current directory by default, the
/// format from `--format`, else the extension, else XLSX. Independent of the backend.
#[test]
fn template_names_and_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let (code, stdout, stderr) = muster_in(dir, &["template", "users"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("import_users.xlsx"), "{stdout}");
    assert!(is_xlsx(&dir.join("import_users.xlsx")));

    let (code, _, stderr) = muster_in(dir, &["template", "workbook"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(is_xlsx(&dir.join("import_workbook.xlsx")));

    let (code, _, stderr) = muster_in(dir, &["template", "groups", "--format", "csv"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(dir.join("import_groups.csv")).expect("import_groups.csv");
    assert_eq!(Table::parse(&text).headers, ["Group", "Description"]);

    // The extension decides without --format; a --format that contradicts it is refused.
    let (code, _, stderr) = muster_in(dir, &["template", "roles", "-o", "r.csv"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!is_xlsx(&dir.join("r.csv")));
    let (code, _, stderr) = muster_in(
        dir,
        &["template", "departments", "--format", "csv", "-o", "d.xlsx"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(!dir.join("d.xlsx").exists());
    let (code, _, stderr) = muster_in(dir, &["template", "departments", "-o", "d.data"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(is_xlsx(&dir.join("d.data")));

    // A workbook cannot be one CSV sheet, and ODS templates are not offered: usage errors.
    let (code, _, stderr) = muster_in(dir, &["template", "workbook", "--format", "csv"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("CSV") && stderr.contains("--format"),
        "{stderr}"
    );
    assert!(!dir.join("import_workbook.csv").exists());
    let (code, _, stderr) = muster_in(dir, &["template", "workbook", "-o", "w.csv"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!dir.join("w.csv").exists());
    let (code, _, stderr) = muster_in(dir, &["template", "users", "-o", "u.ods"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("XLSX or CSV"), "{stderr}");
}

/// `muster ARGS…` run in `dir` as `muster_in`, with stdout as bytes (an XLSX is not text).
fn muster_bytes_in(dir: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .current_dir(dir)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("MUSTER_DATA_DIR")
        .env_remove("MUSTER_DATABASE_URL")
        .output()
        .expect("running the muster binary");
    (
        output.status.code().unwrap_or(-1),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `-o -` writes the template itself to stdout (the XLSX with its notes and dropdowns, a CSV
/// without a byte-order mark) and no file; a refused format leaves an existing file as it was,
/// even with `--force`. Independent of the backend.
#[test]
fn template_to_stdout_and_refusals_keep_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let (code, bytes, stderr) = muster_bytes_in(dir, &["template", "users", "-o", "-"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("to stdout"), "{stderr}");
    assert!(!dir.join("-").exists());
    let path = dir.join("from-stdout.xlsx");
    std::fs::write(&path, &bytes).expect("write the copy");
    assert_eq!(xlsx_rows(&path, "Users")[0], USERS_HEADERS);
    assert!(xlsx_part(&path, "xl/comments1.xml").contains("Required."));
    assert_yes_no_dropdowns(&xlsx_part(&path, "xl/worksheets/sheet1.xml"));
    assert_lists_hidden(&path);

    let (code, bytes, stderr) =
        muster_bytes_in(dir, &["template", "groups", "--format", "csv", "-o", "-"]);
    assert_eq!(code, 0, "{stderr}");
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(text.starts_with("Group,Description"), "{text:?}");

    let kept = dir.join("u.ods");
    std::fs::write(&kept, "precious").expect("write u.ods");
    let (code, _, stderr) = muster_bytes_in(dir, &["template", "users", "-o", "u.ods", "--force"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("XLSX or CSV"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&kept).expect("u.ods"), "precious");
}
