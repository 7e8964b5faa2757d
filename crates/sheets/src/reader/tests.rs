use super::*;
use std::path::PathBuf;

fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn read_all(path: &Path, options: &ReadOptions) -> Vec<Result<Row, ReadError>> {
    let mut book = Workbook::open(path, options).unwrap();
    let rows = book.rows(None).unwrap();
    rows.collect()
}

fn texts(rows: &[Result<Row, ReadError>]) -> Vec<(u64, Vec<String>)> {
    rows.iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| {
            (
                r.number,
                r.cells.iter().map(|c| c.as_str().to_owned()).collect(),
            )
        })
        .collect()
}

fn csv(bytes: &[u8]) -> Vec<Result<Row, ReadError>> {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "users.csv", bytes);
    read_all(&p, &ReadOptions::default())
}

#[test]
fn sniffs_semicolon_and_tab() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "a.csv", b"name;email\nZoe;z@x\n");
    let book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(book.delimiter(), Some(b';'));
    assert_eq!(book.sheet_names(), vec!["a".to_owned()]);
    let rows = read_all(&p, &ReadOptions::default());
    assert_eq!(texts(&rows)[1].1, vec!["Zoe", "z@x"]);
    let p = file(&dir, "b.csv", b"name\temail\r\nZoe\tz@x\r\n");
    let rows = read_all(&p, &ReadOptions::default());
    assert_eq!(
        texts(&rows),
        vec![
            (1, vec!["name".into(), "email".into()]),
            (2, vec!["Zoe".into(), "z@x".into()])
        ]
    );
}

#[test]
fn encodings_give_identical_rows() {
    let text = "name,city\r\nZoë Müller,Köln\r\n";
    let expected = texts(&csv(text.as_bytes()));
    assert_eq!(expected[1].1[0], "Zoë Müller");
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(text.as_bytes());
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        le.extend_from_slice(&u.to_le_bytes());
        be.extend_from_slice(&u.to_be_bytes());
    }
    let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, enc) in [
        ("u8.csv", bom8, "UTF-8"),
        ("le.csv", le, "UTF-16LE"),
        ("be.csv", be, "UTF-16BE"),
        ("w.csv", cp1252.into_owned(), "windows-1252"),
    ] {
        let p = file(&dir, name, &bytes);
        let book = Workbook::open(&p, &ReadOptions::default()).unwrap();
        assert_eq!(book.encoding_name(), Some(enc), "{name}");
        assert_eq!(
            texts(&read_all(&p, &ReadOptions::default())),
            expected,
            "{name}"
        );
    }
}

#[test]
fn explicit_and_unknown_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "w.csv", b"a\n\xe9\n");
    let opts = ReadOptions {
        encoding: Some("latin1".into()),
        ..Default::default()
    };
    assert_eq!(texts(&read_all(&p, &opts))[1].1, vec!["é"]);
    let opts = ReadOptions {
        encoding: Some("klingon".into()),
        ..Default::default()
    };
    let e = Workbook::open(&p, &opts).err().unwrap();
    assert!(matches!(e.kind, ReadErrorKind::UnknownEncoding { .. }));
    let opts = ReadOptions {
        encoding: Some("utf-8".into()),
        ..Default::default()
    };
    let rows = read_all(&p, &opts);
    let e = rows.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(e.kind, ReadErrorKind::InvalidUtf8 { byte: 0xE9 }),
        "{e}"
    );
    assert_eq!((e.row, e.column), (Some(2), Some(1)));
}

#[test]
fn invalid_utf8_after_sample_fails_its_row_only() {
    let mut bytes = b"name\n".to_vec();
    let line = b"abcdefghij\n";
    while bytes.len() < 1024 * 1024 + 100 {
        bytes.extend_from_slice(line);
    }
    bytes.extend_from_slice(b"bad\xff\nmor\xc3\xa9\n");
    let rows = csv(&bytes);
    let e = rows[rows.len() - 2].as_ref().unwrap_err();
    assert!(
        matches!(e.kind, ReadErrorKind::InvalidUtf8 { byte: 0xFF }),
        "{e}"
    );
    assert!(!e.is_fatal());
    assert_eq!(e.row, Some(rows.len() as u64 - 1));
    assert!(e.to_string().contains("invalid UTF-8 byte 0xFF"), "{e}");
    assert_eq!(texts(&rows).last().unwrap().1, vec!["moré"]);
}

#[test]
fn bad_byte_in_the_header_ends_the_sheet() {
    let rows = csv(b"na\xffme,x\nJ\xc3\xb6rg,1\nb,2\n");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].is_err());
}

#[test]
fn unclosed_quote_is_fatal_and_names_line() {
    let rows = csv(b"a,b\n1,2\n3,\"oops\n4,5\n6,7\n");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let e = rows[2].as_ref().unwrap_err();
    assert!(
        matches!(e.kind, ReadErrorKind::UnclosedQuote { opened_at_line: 3 }),
        "{e:?}"
    );
    assert!(e.is_fatal());
    assert!(e.to_string().contains("line 3"));
}

#[test]
fn stray_quotes() {
    let rows = csv(b"a,b\n1,x\"y\n");
    assert!(matches!(
        rows[1].as_ref().unwrap_err().kind,
        ReadErrorKind::StrayQuote
    ));
    assert_eq!(rows[1].as_ref().unwrap_err().column, Some(2));
    let rows = csv(b"a,b\n\"1\"x,2\n");
    assert!(matches!(
        rows[1].as_ref().unwrap_err().kind,
        ReadErrorKind::StrayQuote
    ));
}

#[test]
fn ragged_row_is_not_fatal() {
    let rows = csv(b"a,b,c\n1,2\n3,4,5\n");
    let e = rows[1].as_ref().unwrap_err();
    assert!(!e.is_fatal());
    assert_eq!(e.to_string(), "row 2: has 2 cells but the header has 3");
    assert_eq!(
        texts(&rows)[1],
        (3, vec!["3".into(), "4".into(), "5".into()])
    );
}

#[test]
fn quoted_newline_and_blank_lines() {
    let rows = csv(b"a,b\r\n\"multi\r\nline\",\"say \"\"hi\"\"\"\r\n\r\n,\r\nx,y");
    assert_eq!(
        texts(&rows),
        vec![
            (1, vec!["a".into(), "b".into()]),
            (2, vec!["multi\r\nline".into(), "say \"hi\"".into()]),
            (5, vec!["x".into(), "y".into()]),
        ]
    );
}

#[test]
fn formula_escape_removed_and_spaces_kept() {
    let rows = csv(b"a,b,c\n'=SUM(A1),'abc, x \n");
    assert_eq!(texts(&rows)[1].1, vec!["=SUM(A1)", "'abc", " x "]);
}

#[test]
fn cell_too_long_is_not_fatal() {
    let long = "x".repeat(50);
    let data = format!("a\n{long}\nok\n");
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "l.csv", data.as_bytes());
    let mut opts = ReadOptions::default();
    opts.limits.max_cell_chars = 10;
    let rows = read_all(&p, &opts);
    let e = rows[1].as_ref().unwrap_err();
    assert!(matches!(e.kind, ReadErrorKind::CellTooLong { limit: 10 }));
    assert!(!e.is_fatal());
    assert_eq!(texts(&rows)[1], (3, vec!["ok".into()]));
}

#[test]
fn row_and_column_limits() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "r.csv", b"a\n1\n2\n3\n");
    let mut opts = ReadOptions::default();
    opts.limits.max_rows = 2;
    let rows = read_all(&p, &opts);
    assert!(matches!(
        rows.last().unwrap().as_ref().unwrap_err().kind,
        ReadErrorKind::TooManyRows { limit: 2 }
    ));
    let mut opts = ReadOptions::default();
    opts.limits.max_columns = 2;
    let p = file(&dir, "c.csv", b"a,b,c\n");
    let rows = read_all(&p, &opts);
    assert!(matches!(
        rows[0].as_ref().unwrap_err().kind,
        ReadErrorKind::TooManyColumns { limit: 2 }
    ));
}

#[test]
fn empty_file() {
    let rows = csv(b"\n\n");
    assert_eq!(rows.len(), 1);
    assert!(matches!(
        rows[0].as_ref().unwrap_err().kind,
        ReadErrorKind::Empty
    ));
}

#[test]
fn unknown_sheet_lists_available() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "users.csv", b"a\n");
    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    let e = book.rows(Some("Groups")).err().unwrap();
    assert!(e.to_string().contains("users"), "{e}");
}

#[test]
fn xlsx_values_read_back() {
    use rust_xlsxwriter::{Formula, Workbook as XWorkbook};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.xlsx");
    let mut wb = XWorkbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("People").unwrap();
    for (c, h) in ["phone", "ratio", "sum", "err", "flag", "name"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_number(1, 0, 4420794609580.0).unwrap();
    ws.write_number(1, 1, 1.5).unwrap();
    ws.write_formula(1, 2, Formula::new("=1+1").set_result("2"))
        .unwrap();
    ws.write_formula(1, 3, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    ws.write_boolean(1, 4, true).unwrap();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 3, 1).unwrap();
    let day = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    ws.write_datetime_with_format(1, 6, &date, &day).unwrap();
    let stamp = date.and_hms(9, 30, 0).unwrap();
    let full = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    ws.write_datetime_with_format(1, 7, &stamp, &full).unwrap();
    ws.write_string(0, 6, "since").unwrap();
    ws.write_string(0, 7, "at").unwrap();
    ws.write_number(2, 0, 1.23e12).unwrap();
    ws.write_string(3, 8, "   ").unwrap();
    wb.save(&p).unwrap();

    let mut book = Workbook::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(book.format(), Format::Xlsx);
    assert_eq!(book.sheet_names(), vec!["People".to_owned()]);
    let rows: Vec<_> = book.rows(Some("People")).unwrap().collect();
    let r1 = rows[1].as_ref().unwrap();
    assert_eq!(r1.number, 2);
    assert_eq!(r1.cells[0], Cell::Text("4420794609580".into()));
    assert_eq!(r1.cells[1], Cell::Text("1.5".into()));
    assert_eq!(r1.cells[2].as_str(), "2");
    assert_eq!(r1.cells[3], Cell::Error("#N/A".into()));
    assert_eq!(r1.cells[4].as_str(), "TRUE");
    assert_eq!(r1.cells[5], Cell::Empty);
    assert_eq!(r1.cells[6].as_str(), "2024-03-01");
    assert_eq!(r1.cells[7].as_str(), "2024-03-01T09:30:00");
    assert_eq!(r1.cells.len(), 8);
    let r2 = rows[2].as_ref().unwrap();
    assert_eq!(r2.cells[0].as_str(), "1230000000000");
    assert_eq!(
        r2.cells.len(),
        8,
        "short rows are padded to the header width"
    );
    // A value beyond the header is reported rather than silently dropped.
    let e = rows[3].as_ref().unwrap_err();
    assert!(matches!(e.kind, ReadErrorKind::RaggedRow { .. }), "{e}");
    assert_eq!(e.sheet.as_deref(), Some("People"));
    assert_eq!(rows.len(), 4);
}

#[test]
fn fake_xlsx_is_not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "fake.xlsx", b"name,email\n");
    let e = Workbook::open(&p, &ReadOptions::default()).err().unwrap();
    assert!(matches!(e.kind, ReadErrorKind::NotAZip));
}
