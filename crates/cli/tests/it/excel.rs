//! SPEC §2: numbers that Excel made of phones or usernames come back as the digits that were
//! meant (no `.0`, no exponent); formula cells use their cached value.

use std::path::PathBuf;

use rust_xlsxwriter::{Formula, Workbook};

use crate::support::{assert_counts, both, Store};

/// A users workbook whose Username and Phone cells are numbers, with formula cells.
fn typed_workbook(store: &Store) -> PathBuf {
    let mut workbook = Workbook::new();
    let sheet = workbook
        .add_worksheet()
        .set_name("Users")
        .expect("sheet name");
    for (col, header) in ["Username", "Name", "Phone", "E-mail", "Active"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).expect("write");
    }
    // Row 2: numeric username and a phone Excel turned into a number.
    sheet.write_number(1, 0, 12345.0).expect("write");
    sheet.write_string(1, 1, "Numeric User").expect("write");
    sheet.write_number(1, 2, 4420794609580.0).expect("write");
    sheet
        .write_string(1, 3, "n12345@example.com")
        .expect("write");
    sheet.write_boolean(1, 4, false).expect("write");
    // Row 3: formulas with cached values (text and number).
    sheet.write_string(2, 0, "formula").expect("write");
    sheet
        .write_formula(
            2,
            1,
            Formula::new("=\"Formula \"&\"Person\"").set_result("Formula Person"),
        )
        .expect("write");
    sheet
        .write_formula(
            2,
            2,
            Formula::new("=4420794609580+1").set_result("4420794609581"),
        )
        .expect("write");
    sheet
        .write_formula(
            2,
            3,
            Formula::new("=LOWER(\"F@EXAMPLE.COM\")").set_result("f@example.com"),
        )
        .expect("write");
    sheet.write_string(2, 4, "Yes").expect("write");
    let path = store.path("typed.xlsx");
    workbook.save(&path).expect("save xlsx");
    path
}

fn excel_typed_numbers_and_formulas(store: &Store) {
    let path = typed_workbook(store);
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 2, 0, 0, 0);
    assert_eq!(report["format"], "xlsx", "{report:#}");
    let users = store.table("users", &[]);
    assert_eq!(users.keys(), ["12345", "formula"]);
    assert_eq!(users.get("12345", "Phone"), "4420794609580");
    assert_eq!(users.get("12345", "Active"), "No");
    assert_eq!(users.get("formula", "Name"), "Formula Person");
    assert_eq!(users.get("formula", "Phone"), "4420794609581");
    assert_eq!(users.get("formula", "E-mail"), "f@example.com");
    // The same workbook again is a no-op, and so are its own exports (text cells, no `.0`).
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 0, 0, 2, 0);
    for format in ["xlsx", "ods", "csv"] {
        let exported = store.export_file("users", format, &format!("typed-export.{format}"));
        let report = store.import_ok(&exported, &[]);
        assert_counts(&report, 0, 0, 2, 0);
    }
    // The XLSX export holds text, not numbers: calamine sees strings.
    let exported = store.export_file("users", "xlsx", "typed-check.xlsx");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&exported).expect("open the export");
    use calamine::Reader as _;
    let range = book.worksheet_range("Users").expect("Users sheet");
    let usernames: Vec<calamine::Data> = range.rows().skip(1).map(|r| r[0].clone()).collect();
    assert!(
        usernames.contains(&calamine::Data::String("12345".into())),
        "{usernames:?}"
    );
}

both!(excel_typed_numbers_and_formulas);
