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
