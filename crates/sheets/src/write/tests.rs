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
    // The row holds `a,b`, so every field of it is quoted.
    assert!(text.contains(r#""'=1+1","'+44 20","00123""#), "{text}");
    assert!(
        text.contains("\r\nx,x,x,"),
        "rows without delimiters stay bare: {text}"
    );
    assert!(text.contains("\r\n"));
    let rows = read_back(Format::Csv, &bytes, None);
    assert_eq!(rows[1], expected());
}

/// Values an attacker can give a name or description so that some reading of a CSV export starts
/// a cell with a formula trigger.
const HOSTILE: [&str; 20] = [
    "x;=1+2",
    ";=1+2",
    ",=1",
    ";;=1",
    "a\t@SUM(1)",
    "b,+1",
    "c;-1",
    "q\";=1",
    "q\"\";=1",
    "\"=1",
    "x;\"=1",
    "'=1",
    "'';@x",
    "=1;2",
    "\"\";=1",
    "\"",
    "'",
    "''",
    "\"'\"",
    "a; =1",
];

/// Writes `rows` as CSV and returns each record's bytes as text, without its CRLF.
fn csv_records(rows: &[Vec<&str>]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            let out = Shared::default();
            let mut w = writer(Format::Csv, Box::new(out.clone()));
            w.start_sheet("s", row).unwrap();
            w.finish().unwrap();
            let bytes = out.0.lock().unwrap().clone();
            let text = String::from_utf8(bytes).unwrap();
            let text = text.strip_prefix('\u{feff}').unwrap();
            text.strip_suffix("\r\n").unwrap().to_owned()
        })
        .collect()
}

/// Splits one line the way LibreOffice Calc 7.4 was observed to: a field that opens with `"` runs
/// to the first lone `"` followed by the separator or the end of the line (`""` is a quote), and
/// is taken literally up to the next separator when there is none; any other field runs to the
/// next separator, its quotes being plain characters.
fn split_like_calc(line: &str, sep: u8) -> Vec<String> {
    let b = line.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let literal_end = |from: usize| (from..b.len()).find(|&k| b[k] == sep).unwrap_or(b.len());
        let mut end = None;
        if b.get(i) == Some(&b'"') {
            let mut j = i + 1;
            while j < b.len() {
                if b[j] == b'"' && b.get(j + 1) == Some(&b'"') {
                    j += 2;
                } else if b[j] == b'"' && (j + 1 == b.len() || b[j + 1] == sep) {
                    end = Some((i + 1, j, j + 1));
                    break;
                } else {
                    j += 1;
                }
            }
        }
        let (start, stop, next) = end.unwrap_or_else(|| {
            let e = literal_end(i);
            (i, e, e)
        });
        fields.push(line[start..stop].replace("\"\"", "\""));
        if next >= b.len() {
            return fields;
        }
        i = next + 1;
    }
}

#[test]
fn calc_model_matches_what_calc_did() {
    // Observed with `soffice --infilter=...:59,34,76,1` (separator `;`).
    assert_eq!(
        split_like_calc(r#"alice,"x;=1+2",foo"#, b';'),
        [r#"alice,"x"#, r#"=1+2",foo"#]
    );
    assert_eq!(
        split_like_calc(r#""a",";=1+2""#, b';'),
        [r#"a","#, r#"=1+2""#]
    );
    assert_eq!(split_like_calc(r#""ab"cd;ef"#, b';'), [r#""ab"cd"#, "ef"]);
    assert_eq!(split_like_calc(r#""a""b;c";d"#, b';'), [r#"a"b;c"#, "d"]);
    assert_eq!(
        split_like_calc(r#""alice","x;=1+2","foo""#, b';'),
        [r#"alice","x;=1+2","foo"#]
    );
}

#[test]
fn csv_no_reading_of_an_export_starts_a_cell_with_a_formula() {
    let mut rows = Vec::new();
    for hostile in HOSTILE {
        // Four fields each: the strict reader refuses ragged rows.
        rows.push(vec![hostile, "", "", ""]);
        rows.push(vec!["alice", hostile, "", ""]);
        rows.push(vec![hostile, "plain", "", "x"]);
        rows.push(vec!["alice", hostile, "plain", ""]);
        rows.push(vec!["", "", "", hostile]);
        rows.push(vec!["x;=1", "", hostile, ""]);
    }
    for (row, line) in rows.iter().zip(csv_records(&rows)) {
        for sep in [b',', b';', b'\t'] {
            for cell in split_like_calc(&line, sep) {
                let first = cell.trim_start_matches([' ', '"']).chars().next();
                assert!(
                    !matches!(first, Some('=' | '+' | '-' | '@')),
                    "{row:?} written as {line:?} gives the cell {cell:?} when read with {:?}",
                    sep as char
                );
            }
        }
    }
    // Read back as written (with `,`), every value is what was exported.
    let bytes: String = csv_records(&rows)
        .iter()
        .map(|line| format!("{line}\r\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hostile.csv");
    std::fs::write(&p, format!("h1,h2,h3,h4\r\n{bytes}")).unwrap();
    let options = ReadOptions {
        delimiter: Some(b','),
        ..ReadOptions::default()
    };
    let mut book = Workbook::open(&p, &options).unwrap();
    let read: Vec<Vec<String>> = book
        .rows(None)
        .unwrap()
        .skip(1)
        .map(|r| {
            r.unwrap()
                .cells
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(read.len(), rows.len());
    for (row, got) in rows.iter().zip(&read) {
        let mut got: Vec<&str> = got.iter().map(String::as_str).collect();
        got.resize(row.len(), "");
        assert_eq!(&got[..], &row[..], "round trip");
    }
}

#[test]
fn csv_row_with_any_delimiter_is_quoted_in_full() {
    let records = csv_records(&[
        vec!["alice", "x;=1+2", "plain"],
        vec!["bob", "tab\there"],
        vec!["carol", "a,b"],
        vec!["dave", "say \"hi\""],
        vec!["erin", "Zoë", "00123", ""],
        vec![""],
        vec!["frank", ";=1", "'=2", "=3"],
    ]);
    assert_eq!(
        records,
        [
            r#""alice","x;=1+2","plain""#,
            "\"bob\",\"tab\there\"",
            r#""carol","a,b""#,
            r#""dave","say ""hi""""#,
            "erin,Zoë,00123,",
            r#""""#,
            r#""frank","';=1","''=2","'=3""#,
        ]
    );
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

/// One local file header of a zip: (name, method, flags, compressed and uncompressed size as
/// written, extra field).
struct LocalHeader {
    name: String,
    method: u16,
    flags: u16,
    sizes: (u32, u32),
    extra: Vec<u8>,
}

/// Walks the local headers from the start of the file, as a streaming reader (and LibreOffice's
/// package loader) does.
fn local_headers(bytes: &[u8]) -> Vec<LocalHeader> {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut headers = Vec::new();
    let mut at = 0;
    while u32_at(at) == 0x0403_4b50 {
        let (name_len, extra_len) = (u16_at(at + 26) as usize, u16_at(at + 28) as usize);
        let name_at = at + 30;
        let header = LocalHeader {
            name: String::from_utf8(bytes[name_at..name_at + name_len].to_vec()).unwrap(),
            method: u16_at(at + 8),
            flags: u16_at(at + 6),
            sizes: (u32_at(at + 18), u32_at(at + 22)),
            extra: bytes[name_at + name_len..name_at + name_len + extra_len].to_vec(),
        };
        let next = name_at + name_len + extra_len + header.sizes.0 as usize;
        headers.push(header);
        // A Zip64 marker hides the real size: the walk cannot go on (and the test fails on it).
        if next + 4 > bytes.len() {
            break;
        }
        at = next;
    }
    headers
}

/// Whether an extra field holds a Zip64 block (tag 0x0001).
fn has_zip64_block(mut extra: &[u8]) -> bool {
    while extra.len() >= 4 {
        let tag = u16::from_le_bytes([extra[0], extra[1]]);
        let len = u16::from_le_bytes([extra[2], extra[3]]) as usize;
        if tag == 0x0001 {
            return true;
        }
        extra = &extra[(4 + len).min(extra.len())..];
    }
    false
}

#[test]
fn small_workbooks_carry_no_zip64_and_their_sizes_up_front() {
    for format in [Format::Ods, Format::Xlsx] {
        let bytes = write_book(format, &["Users", "Groups"]);
        let headers = local_headers(&bytes);
        let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
        let entries = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
            .unwrap()
            .len();
        for h in &headers {
            assert!(
                !has_zip64_block(&h.extra),
                "{format:?} {}: Zip64 extra field",
                h.name
            );
            assert_ne!(
                h.sizes.0,
                u32::MAX,
                "{format:?} {}: Zip64 size marker",
                h.name
            );
            assert_ne!(
                h.sizes.1,
                u32::MAX,
                "{format:?} {}: Zip64 size marker",
                h.name
            );
            assert_eq!(
                h.flags & 0x0008,
                0,
                "{format:?} {}: data descriptor",
                h.name
            );
            assert!(
                h.sizes.1 > 0,
                "{format:?} {}: size written up front",
                h.name
            );
        }
        assert_eq!(
            headers.len(),
            entries,
            "{format:?}: every entry is reachable: {names:?}"
        );
    }
}

#[test]
fn ods_is_a_valid_odf_package() {
    let bytes = write_book(Format::Ods, &["Users"]);
    let headers = local_headers(&bytes);
    // The mimetype first, stored, without extra field, so its text sits at byte 38.
    assert_eq!(headers[0].name, "mimetype");
    assert_eq!(headers[0].method, 0);
    assert!(headers[0].extra.is_empty());
    assert_eq!(
        &bytes[38..38 + 46],
        b"application/vnd.oasis.opendocument.spreadsheet"
    );
    let manifest = zip_entry(&bytes, "META-INF/manifest.xml");
    for h in &headers[1..] {
        if h.name != "META-INF/manifest.xml" {
            assert!(
                manifest.contains(&format!(r#"manifest:full-path="{}""#, h.name)),
                "{} is not in the manifest:\n{manifest}",
                h.name
            );
        }
    }
    assert!(manifest.contains(r#"manifest:full-path="/" manifest:version="1.2""#));
    for part in ["content.xml", "styles.xml"] {
        assert!(
            zip_entry(&bytes, part).contains(r#"office:version="1.2""#),
            "{part}"
        );
    }
}

#[test]
fn spreadsheets_lose_the_csv_apostrophe_and_keep_their_own() {
    // A CSV export saved by an office suite as XLSX or ODS holds the formula apostrophe as text.
    let csv_through_office = ["'+44 20 7946 0958", "'=1+2", "'", "';x", "'abc", "'"];
    let meant = ["+44 20 7946 0958", "=1+2", "", ";x", "'abc", ""];
    // Text muster itself writes comes back as it was, apostrophes included.
    let own = ["'=x", "''+1", "'", "''", "'abc", "'\"=1"];
    for format in [Format::Xlsx, Format::Ods] {
        let out = Shared::default();
        let mut w = writer(format, Box::new(out.clone()));
        w.start_sheet("s", &["a", "b", "c", "d", "e", "f"]).unwrap();
        w.write_row(&own).unwrap();
        w.finish().unwrap();
        let bytes = out.0.lock().unwrap().clone();
        let rows = read_back_two(format, &bytes);
        let got: Vec<&str> = rows[1].iter().map(Cell::as_str).collect();
        assert_eq!(got, own, "{format:?}: muster's own text");
    }
    // The office suite's file: written by rust_xlsxwriter, which writes text as it is given.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("office.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, text) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
        sheet.write_string(0, c as u16, *text).unwrap();
    }
    for (c, text) in csv_through_office.iter().enumerate() {
        sheet.write_string(1, c as u16, *text).unwrap();
    }
    book.save(&p).unwrap();
    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    let rows: Vec<_> = book.rows(None).unwrap().map(|r| r.unwrap()).collect();
    let got: Vec<&str> = rows[1].cells.iter().map(Cell::as_str).collect();
    assert_eq!(got, meant);
}
