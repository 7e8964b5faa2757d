use super::*;
use crate::{Cell, ReadOptions, Workbook};
use std::sync::{Arc, Mutex};

const TRICKY: [&str; 9] = [
    "=1+1",
    "+44 20",
    "00123",
    "Zoë",
    "a,b",
    "line\nbreak",
    "quote\"d",
    "",
    "-5",
];

/// A `Write` whose bytes the test can inspect after the writer is dropped.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_book(format: Format, sheets: &[&str]) -> Vec<u8> {
    let out = Shared::default();
    let mut w = writer(format, Box::new(out.clone()));
    let headers: Vec<String> = (1..=TRICKY.len()).map(|i| format!("h{i}")).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    for name in sheets {
        w.start_sheet(name, &headers).unwrap();
        w.write_row(&TRICKY).unwrap();
        w.write_row(&["x"; 9]).unwrap();
    }
    w.finish().unwrap();
    let bytes = out.0.lock().unwrap().clone();
    bytes
}

fn read_back(format: Format, bytes: &[u8], sheet: Option<&str>) -> Vec<Vec<Cell>> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(format!("out.{}", format.extension()));
    std::fs::write(&p, bytes).unwrap();
    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(book.format(), format);
    let rows: Vec<_> = book.rows(sheet).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(
        rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    rows.into_iter().map(|r| r.cells).collect()
}

fn expected() -> Vec<Cell> {
    TRICKY
        .iter()
        .map(|t| {
            if t.is_empty() {
                Cell::Empty
            } else {
                Cell::Text((*t).to_owned())
            }
        })
        .collect()
}

#[test]
fn csv_round_trip() {
    let bytes = write_book(Format::Csv, &["users"]);
    assert!(bytes.starts_with("\u{feff}h1,".as_bytes()));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("'=1+1,'+44 20,00123"), "{text}");
    assert!(text.contains("\r\n"));
    let rows = read_back(Format::Csv, &bytes, None);
    assert_eq!(rows[1], expected());
}

#[test]
fn csv_second_sheet_is_an_error() {
    let mut w = writer(Format::Csv, Box::new(Shared::default()));
    w.start_sheet("a", &["x"]).unwrap();
    assert!(matches!(
        w.start_sheet("b", &["x"]),
        Err(WriteError::CsvSecondSheet)
    ));
}

#[test]
fn xlsx_round_trip_two_sheets() {
    let bytes = write_book(
        Format::Xlsx,
        &["Users", "A very long sheet name that exceeds 31"],
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.xlsx");
    std::fs::write(&p, &bytes).unwrap();
    let names = Workbook::open(&p, &ReadOptions::default())
        .unwrap()
        .sheet_names();
    assert_eq!(names.len(), 2);
    assert_eq!(names[1].chars().count(), 31);
    for name in &names {
        let rows = read_back(Format::Xlsx, &bytes, Some(name));
        assert_eq!(rows[0][0].as_str(), "h1");
        assert_eq!(rows[1], expected());
    }
}

#[test]
fn ods_round_trip_two_sheets() {
    let bytes = write_book(Format::Ods, &["Users", "Groups & <Roles>"]);
    let rows = read_back(Format::Ods, &bytes, Some("Groups & <Roles>"));
    assert_eq!(rows[1], expected());
    let rows = read_back(Format::Ods, &bytes, None);
    assert_eq!(rows[1], expected());
}

#[test]
fn ods_keeps_spaces_and_tabs() {
    let out = Shared::default();
    let mut w = writer(Format::Ods, Box::new(out.clone()));
    w.start_sheet("s", &["h"]).unwrap();
    w.write_row(&["  two  spaces\tand tab "]).unwrap();
    w.finish().unwrap();
    let bytes = out.0.lock().unwrap().clone();
    let rows = read_back_two(Format::Ods, &bytes);
    assert_eq!(rows[1][0].as_str(), "  two  spaces\tand tab ");
}

fn read_back_two(format: Format, bytes: &[u8]) -> Vec<Vec<Cell>> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(format!("out.{}", format.extension()));
    std::fs::write(&p, bytes).unwrap();
    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    book.rows(None).unwrap().map(|r| r.unwrap().cells).collect()
}

/// Reads one entry of a zip held in memory as text.
fn zip_entry(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

const WIDE_TRICKY: [&str; 9] = [
    "=1+1",
    "+44 20",
    "00123",
    "Zoë",
    "a,b",
    "line\nbreak",
    "quote\"d",
    "<tag>&",
    " padded\t",
];

/// 32 columns, so references reach "AF"; an empty cell in the middle.
fn wide_row() -> Vec<String> {
    (0..32)
        .map(|i| match i {
            15 => String::new(),
            i if i < WIDE_TRICKY.len() => WIDE_TRICKY[i].to_owned(),
            i => format!("c{i}"),
        })
        .collect()
}

#[test]
fn xlsx_stream_wide_tricky_two_sheets() {
    let out = Shared::default();
    let mut w = writer(Format::Xlsx, Box::new(out.clone()));
    let headers: Vec<String> = (1..=32).map(|i| format!("Header {i}")).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let row = wide_row();
    let row: Vec<&str> = row.iter().map(String::as_str).collect();
    let long = "Sheet & <name> that is far longer than thirty-one";
    for name in ["Users", long] {
        w.start_sheet(name, &headers).unwrap();
        w.write_row(&row).unwrap();
        w.write_row(&["x"; 3]).unwrap();
    }
    w.finish().unwrap();
    let bytes = out.0.lock().unwrap().clone();

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("wide.xlsx");
    std::fs::write(&p, &bytes).unwrap();
    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    let names = book.sheet_names();
    let cut: String = long.chars().take(31).collect();
    assert_eq!(names, vec!["Users".to_owned(), cut.clone()]);
    for name in &names {
        let rows: Vec<_> = book.rows(Some(name)).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3, "{name}");
        assert_eq!(rows[0].cells[31].as_str(), "Header 32");
        let cells = &rows[1].cells;
        assert_eq!(cells.len(), 32);
        for (i, cell) in cells.iter().enumerate() {
            if i == 15 {
                assert_eq!(*cell, Cell::Empty);
            } else {
                assert_eq!(cell, &Cell::Text(row[i].to_owned()), "column {i}");
            }
        }
        assert_eq!(
            rows[2].cells[..3],
            [
                Cell::Text("x".into()),
                Cell::Text("x".into()),
                Cell::Text("x".into())
            ]
        );
    }

    // The header row is bold, data rows are not; references reach AF.
    let sheet = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains(r#"<c r="A1" s="1" t="inlineStr">"#),
        "{sheet}"
    );
    assert!(sheet.contains(r#"<c r="AF1" s="1" t="inlineStr">"#));
    assert!(sheet.contains(r#"<c r="AD2" t="inlineStr"><is><t>c29</t></is></c>"#));
    assert!(!sheet.contains(r#"r="P2""#), "empty cells are skipped");
    assert!(sheet.contains(r#"<t>=1+1</t>"#) && !sheet.contains("<f>"));
    assert!(sheet.contains("&lt;tag&gt;&amp;"));
    assert!(sheet.contains(r#"<t xml:space="preserve"> padded&#9;</t>"#));
    assert!(sheet.contains(r#"state="frozen""#) && sheet.contains("<cols>"));
    let styles = zip_entry(&bytes, "xl/styles.xml");
    assert!(styles.contains(r#"<cellXfs count="2">"#));
    assert!(styles.contains("<font><b/>"));
    let book_xml = zip_entry(&bytes, "xl/workbook.xml");
    assert!(
        book_xml.contains(r#"name="Sheet &amp; &lt;name&gt; that is far long""#),
        "{book_xml}"
    );
}

#[test]
fn xlsx_stream_empty_and_duplicate_sheets() {
    // No sheet at all still gives a valid workbook.
    let out = Shared::default();
    writer(Format::Xlsx, Box::new(out.clone()))
        .finish()
        .unwrap();
    let bytes = out.0.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.xlsx");
    std::fs::write(&p, &bytes).unwrap();
    let book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(book.sheet_names(), vec!["Sheet1".to_owned()]);

    let out = Shared::default();
    let mut w = writer(Format::Xlsx, Box::new(out.clone()));
    w.start_sheet("Users", &["h"]).unwrap();
    w.start_sheet("users", &["h"]).unwrap();
    w.write_row(&["v"]).unwrap();
    w.finish().unwrap();
    let bytes = out.0.lock().unwrap().clone();
    std::fs::write(&p, &bytes).unwrap();
    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["Users".to_owned(), "users (2)".to_owned()]
    );
    let rows: Vec<_> = book
        .rows(Some("users (2)"))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows[1].cells[0].as_str(), "v");
}

#[test]
fn xlsx_row_before_sheet_is_an_error() {
    let mut w = writer(Format::Xlsx, Box::new(Shared::default()));
    assert!(matches!(w.write_row(&["x"]), Err(WriteError::NoSheet)));
}
