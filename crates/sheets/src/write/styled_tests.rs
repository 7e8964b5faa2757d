use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use super::*;
use crate::{ReadOptions, Workbook};

/// A `Write` whose bytes the test can inspect after the workbook is finished.
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

impl Shared {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

fn yes_no() -> Dropdown {
    Dropdown {
        choices: DropdownChoices::Values(vec!["Yes".into(), "No".into()]),
        strictness: DropdownStrictness::Stop,
        error_title: "Yes or No".into(),
        error_message: "Active takes Yes or No.".into(),
    }
}

/// A users sheet with a noted header, a bad cell with a note, a wrapped errors cell and a
/// dropdown, then a hidden lists sheet, in `format`.
fn sample_book(format: Format, streaming: bool) -> Vec<u8> {
    let out = Shared::default();
    let mut book = if streaming {
        StyledWorkbook::streaming(format, Box::new(out.clone()))
    } else {
        StyledWorkbook::new(format, Box::new(out.clone()))
    };
    book.add_sheet("Users/1").unwrap();
    book.set_column_width(2, 80.0).unwrap();
    book.freeze_header().unwrap();
    book.write_row(&[
        StyledCell::styled("Username", CellStyle::Bold)
            .with_note(CellNote::new("Required.").with_size(300, 27)),
        StyledCell::styled("Active", CellStyle::Bold),
        StyledCell::styled("Errors", CellStyle::Bold),
    ])
    .unwrap();
    book.write_row(&[
        StyledCell::plain("'=1+2"),
        StyledCell::styled("Maybe", CellStyle::Bad).with_note(CellNote::new("not Yes or No")),
        StyledCell::styled(
            "[import 1, row 2] Active: not Yes or No",
            CellStyle::Wrapped,
        ),
    ])
    .unwrap();
    book.add_dropdown(1, 1..=999, &yes_no()).unwrap();
    if format != Format::Csv {
        book.add_sheet("Lists").unwrap();
        book.hide_sheet().unwrap();
        book.write_row(&[StyledCell::styled("Department", CellStyle::Bold)])
            .unwrap();
        book.write_row(&[StyledCell::plain("HQ")]).unwrap();
    }
    book.finish().unwrap();
    out.bytes()
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// The `s` attribute of a cell in a sheet's XML, if it has one.
fn style_of(sheet: &str, cell: &str) -> Option<String> {
    let at = sheet.find(&format!(r#"<c r="{cell}""#))?;
    let tag = &sheet[at..at + sheet[at..].find('>')?];
    tag.split(r#" s=""#)
        .nth(1)
        .map(|s| s.split('"').next().unwrap_or_default().to_owned())
}

fn read_back(format: Format, bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("book.{}", format.extension()));
    std::fs::write(&path, bytes).unwrap();
    let mut book = Workbook::open(&path, &ReadOptions::default()).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let rows = book
                .rows(Some(&name))
                .unwrap()
                .map(|r| {
                    let r = r.unwrap();
                    r.cells.iter().map(|c| c.as_str().to_owned()).collect()
                })
                .collect();
            (name, rows)
        })
        .collect()
}

#[test]
fn xlsx_has_notes_fills_dropdowns_and_a_frozen_header() {
    for streaming in [false, true] {
        let bytes = sample_book(Format::Xlsx, streaming);
        let comments = zip_entry(&bytes, "xl/comments1.xml");
        assert!(comments.contains(r#"ref="A1""#), "{comments}");
        assert!(comments.contains(r#"ref="B2""#), "{comments}");
        assert!(comments.contains("not Yes or No"), "{comments}");
        assert!(comments.contains("<author>muster</author>"), "{comments}");
        assert!(
            !comments.contains("muster:"),
            "no author prefix: {comments}"
        );
        // The header note's box has the size asked for.
        let vml = zip_entry(&bytes, "xl/drawings/vmlDrawing1.vml");
        assert!(vml.contains("width:225pt"), "{vml}");

        let styles = zip_entry(&bytes, "xl/styles.xml");
        assert!(styles.contains("FFFFC7CE"), "the light red fill: {styles}");
        assert!(styles.contains(r#"wrapText="1""#), "{styles}");
        assert!(styles.contains("<b/>"), "{styles}");

        let sheet = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains(r#"<dataValidation type="list""#), "{sheet}");
        assert!(sheet.contains(r#"sqref="B2:B1000""#), "{sheet}");
        assert!(sheet.contains("<formula1>\"Yes,No\"</formula1>"), "{sheet}");
        assert!(sheet.contains(r#"errorTitle="Yes or No""#), "{sheet}");
        assert!(sheet.contains(r#"state="frozen""#), "{sheet}");
        assert!(
            sheet.contains(r#"<col min="3" max="3" width="80."#),
            "{sheet}"
        );
        assert!(!sheet.contains("<f>"), "text, never a formula: {sheet}");
        let (bold, bad, wrapped) = (
            style_of(&sheet, "A1"),
            style_of(&sheet, "B2"),
            style_of(&sheet, "C2"),
        );
        assert!(
            bold.is_some() && bad.is_some() && wrapped.is_some(),
            "{sheet}"
        );
        assert!(bold != bad && bad != wrapped && bold != wrapped, "{sheet}");
        assert_eq!(style_of(&sheet, "A2"), None, "a plain cell has no style");

        let book = zip_entry(&bytes, "xl/workbook.xml");
        assert!(
            book.contains(r#"name="Users_1""#),
            "an Excel-safe name: {book}"
        );
        assert!(
            book.contains(r#"name="Lists" sheetId="2" state="hidden""#),
            "{book}"
        );

        let back = read_back(Format::Xlsx, &bytes);
        assert_eq!(back[0].1[1][0], "'=1+2", "the apostrophe survives");
        assert_eq!(back[1].1, [["Department"], ["HQ"]]);
    }
}

#[test]
fn streaming_xlsx_writes_inline_strings_and_in_memory_shares_them() {
    let streamed = zip_entry(&sample_book(Format::Xlsx, true), "xl/worksheets/sheet1.xml");
    assert!(streamed.contains(r#"t="inlineStr""#), "{streamed}");
    let held = sample_book(Format::Xlsx, false);
    assert!(zip_entry(&held, "xl/sharedStrings.xml").contains("Maybe"));
}

#[test]
fn csv_keeps_the_text_only() {
    let bytes = sample_book(Format::Csv, true);
    let back = read_back(Format::Csv, &bytes);
    assert_eq!(
        back[0].1,
        [
            ["Username", "Active", "Errors"],
            ["'=1+2", "Maybe", "[import 1, row 2] Active: not Yes or No"]
        ]
    );
    let same = Shared::default();
    let mut plain = super::super::writer(Format::Csv, Box::new(same.clone()));
    plain
        .start_sheet("Users/1", &["Username", "Active", "Errors"])
        .unwrap();
    plain
        .write_row(&["'=1+2", "Maybe", "[import 1, row 2] Active: not Yes or No"])
        .unwrap();
    plain.finish().unwrap();
    assert_eq!(bytes, same.bytes(), "the same bytes as a plain CSV");
}

#[test]
fn ods_keeps_sheets_and_text() {
    let bytes = sample_book(Format::Ods, false);
    let back = read_back(Format::Ods, &bytes);
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].1[1][1], "Maybe");
    assert_eq!(back[1].1[1], ["HQ"]);
}

#[test]
fn a_sheet_without_rows_still_exists() {
    let out = Shared::default();
    let mut book = StyledWorkbook::new(Format::Ods, Box::new(out.clone()));
    book.add_sheet("Empty").unwrap();
    book.add_sheet("Full").unwrap();
    book.write_row(&[StyledCell::plain("h")]).unwrap();
    book.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.ods");
    std::fs::write(&path, out.bytes()).unwrap();
    let book = Workbook::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(book.sheet_names(), ["Empty", "Full"]);
}

#[test]
fn long_notes_are_cut_to_excels_limit() {
    let out = Shared::default();
    let mut book = StyledWorkbook::streaming(Format::Xlsx, Box::new(out.clone()));
    book.add_sheet("S").unwrap();
    let long = "x".repeat(MAX_NOTE_CHARS + 10);
    book.write_row(&[StyledCell::plain("a").with_note(CellNote::new(long))])
        .unwrap();
    book.finish().unwrap();
    let comments = zip_entry(&out.bytes(), "xl/comments1.xml");
    assert!(comments.contains(&format!("{}…", "x".repeat(MAX_NOTE_CHARS - 1))));
    assert!(!comments.contains(&"x".repeat(MAX_NOTE_CHARS)));
    assert_eq!(cut("abc", 3), "abc");
    assert_eq!(cut("abcd", 3), "ab…");
}

#[test]
fn a_row_before_any_sheet_is_refused() {
    let mut book = StyledWorkbook::new(Format::Xlsx, Box::new(Shared::default()));
    assert!(matches!(
        book.write_row(&[StyledCell::plain("a")]),
        Err(WriteError::NoSheet)
    ));
}

#[test]
fn excel_names() {
    assert_eq!(excel_sheet_name("a/b:c", &[]), "a_b_c");
    assert_eq!(excel_sheet_name(&"x".repeat(40), &[]).chars().count(), 31);
    assert_eq!(excel_sheet_name("'", &[]), "Sheet1");
    assert_eq!(excel_sheet_name("users", &["Users".into()]), "users (2)");
}
