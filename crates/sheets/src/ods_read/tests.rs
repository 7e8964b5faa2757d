use std::io::Write;
use std::path::PathBuf;

use zip::write::SimpleFileOptions;

use crate::{Cell, Limits, ReadError, ReadErrorKind, ReadOptions, Row, Workbook};

/// An ODS archive whose spreadsheet body is `tables` (one or more `table:table`).
fn ods(dir: &tempfile::TempDir, tables: &str) -> PathBuf {
    let path = dir.path().join("book.ods");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("content.xml", SimpleFileOptions::default())
        .unwrap();
    write!(
        zip,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
            r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
            r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" "#,
            r#"xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" office:version="1.2">"#,
            r#"<office:body><office:spreadsheet>{}</office:spreadsheet></office:body></office:document-content>"#
        ),
        tables
    )
    .unwrap();
    // calamine refused archives without a manifest, so the fixtures carry one like real files.
    zip.start_file("META-INF/manifest.xml", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
        r#"<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
        r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#
    ).as_bytes())
    .unwrap();
    zip.finish().unwrap();
    path
}

fn sheet(name: &str, rows: &str) -> String {
    format!(
        r#"<table:table table:name="{name}"><table:table-column table:number-columns-repeated="1024"/>{rows}</table:table>"#
    )
}

fn s(text: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
    )
}

fn row(cells: &str) -> String {
    format!("<table:table-row>{cells}</table:table-row>")
}

fn read(
    path: &std::path::Path,
    sheet: Option<&str>,
    limits: Limits,
) -> Vec<Result<Row, ReadError>> {
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    let mut book = Workbook::open(path, &options).unwrap();
    let rows = book.rows(sheet).unwrap();
    rows.collect()
}

fn one_sheet(rows: &str, limits: Limits) -> Vec<Result<Row, ReadError>> {
    let dir = tempfile::tempdir().unwrap();
    let path = ods(&dir, &sheet("Users", rows));
    read(&path, None, limits)
}

fn ok_rows(rows: &[Result<Row, ReadError>]) -> Vec<(u64, Vec<Cell>)> {
    rows.iter()
        .map(|r| {
            let r = r
                .as_ref()
                .unwrap_or_else(|e| panic!("unexpected error: {e}"));
            (r.number, r.cells.clone())
        })
        .collect()
}

fn t(text: &str) -> Cell {
    Cell::Text(text.to_owned())
}

fn last_error(rows: &[Result<Row, ReadError>]) -> &ReadError {
    match rows.last() {
        Some(Err(e)) => e,
        other => panic!("expected an error last, got {other:?}"),
    }
}

#[test]
fn value_types_read_like_xlsx() {
    let cells = [
        r#"<table:table-cell office:value-type="float" office:value="4420794609580"><text:p>4.42E+12</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="float" office:value="1.5"><text:p>1,50</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="percentage" office:value="0.15"><text:p>15%</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="currency" office:currency="EUR" office:value="12.5"><text:p>12,50 €</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>WAHR</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="boolean" office:boolean-value="false"/>"#,
        r#"<table:table-cell office:value-type="date" office:date-value="2024-03-01"><text:p>01.03.24</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="date" office:date-value="2024-03-01T09:30:00"/>"#,
        r#"<table:table-cell office:value-type="time" office:time-value="PT36H05M07.5S"><text:p>36:05</text:p></table:table-cell>"#,
        r#"<table:table-cell office:value-type="string" office:string-value="from the attribute"><text:p>shown</text:p></table:table-cell>"#,
        r#"<table:table-cell table:formula="of:=&quot;a&quot;&amp;&quot;b&quot;" office:value-type="string"><text:p>ab</text:p></table:table-cell>"#,
    ]
    .concat();
    let rows = one_sheet(&row(&cells), Limits::default());
    let expected = [
        "4420794609580",
        "1.5",
        "0.15",
        "12.5",
        "TRUE",
        "FALSE",
        "2024-03-01",
        "2024-03-01T09:30:00",
        "PT36H5M8S",
        "from the attribute",
        "ab",
    ];
    assert_eq!(ok_rows(&rows), vec![(1, expected.map(t).to_vec())]);
}

#[test]
fn string_paragraphs_spaces_and_markup() {
    let rich = concat!(
        r#"<table:table-cell office:value-type="string">"#,
        r#"<office:annotation><text:p>a comment, not a value</text:p></office:annotation>"#,
        r#"<text:p>a<text:s text:c="3"/>b<text:s/>c<text:tab/>d<text:line-break/>e</text:p>"#,
        r#"<text:p><text:span text:style-name="T1">Jö</text:span>rg &amp; <text:a xlink:href="x">link</text:a>&#233;</text:p>"#,
        r#"</table:table-cell>"#
    );
    let plain = r#"<table:table-cell><text:p>no value type</text:p></table:table-cell>"#;
    let rows = one_sheet(&row(&format!("{rich}{plain}")), Limits::default());
    assert_eq!(
        ok_rows(&rows),
        vec![(
            1,
            vec![t("a   b c\td\ne\nJörg & linké"), t("no value type")]
        )]
    );
}

#[test]
fn error_cells_are_errors() {
    let error = |formula: &str, code: &str| {
        format!(
            r#"<table:table-cell table:formula="{formula}" office:value-type="string" office:string-value="" calcext:value-type="error"><text:p>{code}</text:p></table:table-cell>"#
        )
    };
    // Writers without LibreOffice's marker leave only the code as a formula's text.
    let unmarked = r#"<table:table-cell table:formula="of:=[.Z9]" office:value-type="string"><text:p>#REF!</text:p></table:table-cell>"#;
    let cells = [
        s("ann"),
        error("of:=NA()", "#N/A"),
        error("of:=1/0", "#DIV/0!"),
        error("of:=SQRT(-1)", "Err:502"),
        unmarked.to_owned(),
        s("#N/A"),
        r#"<table:table-cell table:formula="of:=&quot;#N/A&quot;" office:value-type="string" calcext:value-type="string"><text:p>#N/A</text:p></table:table-cell>"#.to_owned(),
    ]
    .concat();
    let rows = one_sheet(&row(&cells), Limits::default());
    let codes = ["#N/A", "#DIV/0!", "Err:502", "#REF!"].map(|c| Cell::Error(c.to_owned()));
    let mut expected = vec![t("ann")];
    expected.extend(codes);
    // Typed text, or a formula's string result, that merely looks like an error is text.
    expected.push(t("#N/A"));
    expected.push(t("#N/A"));
    assert_eq!(ok_rows(&rows), vec![(1, expected)]);
}

#[test]
fn repeated_cells_and_rows_expand_and_trailing_blanks_cost_nothing() {
    let rows = [
        row(&format!(
            r#"{}{}<table:table-cell table:number-columns-repeated="1020"/>"#,
            s("Username"),
            s("Name")
        )),
        r#"<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="2" office:value-type="string"><text:p>x</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16382"/></table:table-row>"#
            .to_owned(),
        // LibreOffice ends every sheet with a formatted run of empty rows.
        r#"<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#.to_owned(),
        r#"<table:table-row table:number-rows-repeated="5"/>"#.to_owned(),
        row(&s("last")),
    ]
    .concat();
    let rows = one_sheet(&rows, Limits::default());
    let x = vec![t("x"), t("x")];
    assert_eq!(
        ok_rows(&rows),
        vec![
            (1, vec![t("Username"), t("Name")]),
            (2, x.clone()),
            (3, x.clone()),
            (4, x),
            (1_048_010, vec![t("last"), Cell::Empty]),
        ]
    );
}

#[test]
fn repeat_bomb_fails_on_columns_before_expanding() {
    // The 864-byte file of the issue: one cell, 16,384 columns by 1,048,574 rows.
    let bomb = r#"<table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>"#;
    let rows = one_sheet(bomb, Limits::default());
    assert_eq!(rows.len(), 1);
    let e = last_error(&rows);
    assert!(
        matches!(e.kind, ReadErrorKind::TooManyColumns { limit: 256 }),
        "{e}"
    );
    assert_eq!((e.row, e.column), (Some(1), Some(257)));
    assert!(e.is_fatal());
}

#[test]
fn repeated_row_counts_against_max_rows_before_copying() {
    let limits = Limits {
        max_rows: 1000,
        ..Limits::default()
    };
    let rows = format!(
        r#"{}<table:table-row table:number-rows-repeated="1048574">{}</table:table-row>"#,
        row(&s("Username")),
        s("same")
    );
    let rows = one_sheet(&rows, limits.clone());
    assert_eq!(rows.len(), 2, "only the header before the error");
    let e = last_error(&rows);
    assert!(
        matches!(e.kind, ReadErrorKind::TooManyRows { limit: 1000 }),
        "{e}"
    );
    assert_eq!(e.row, Some(1002));
    // Within the cap, every repeat is a row.
    let within = format!(
        r#"{}<table:table-row table:number-rows-repeated="1000">{}</table:table-row>"#,
        row(&s("Username")),
        s("same")
    );
    let rows = one_sheet(&within, limits);
    assert_eq!(ok_rows(&rows).len(), 1001);
    assert_eq!(ok_rows(&rows)[1000].0, 1001);
}

#[test]
fn real_row_after_empty_area_beyond_cap_is_positioned() {
    let limits = Limits {
        max_rows: 1000,
        ..Limits::default()
    };
    let rows = format!(
        r#"{}<table:table-row table:number-rows-repeated="5000"><table:table-cell table:number-columns-repeated="300"/></table:table-row>{}"#,
        row(&s("Username")),
        row(&s("late"))
    );
    let rows = one_sheet(&rows, limits);
    let e = last_error(&rows);
    assert!(matches!(e.kind, ReadErrorKind::TooManyRows { .. }), "{e}");
    assert_eq!(e.row, Some(5002));
}

#[test]
fn column_cap_applies_to_a_repeated_value() {
    let limits = Limits {
        max_columns: 5,
        ..Limits::default()
    };
    let cells = format!(
        r#"{}<table:table-cell table:number-columns-repeated="1000000000" office:value-type="string"><text:p>x</text:p></table:table-cell>"#,
        s("a").repeat(2)
    );
    let rows = one_sheet(&row(&cells), limits.clone());
    let e = last_error(&rows);
    assert!(
        matches!(e.kind, ReadErrorKind::TooManyColumns { limit: 5 }),
        "{e}"
    );
    assert_eq!((e.row, e.column), (Some(1), Some(6)));
    // A value that starts beyond the cap is reported at its own column.
    let cells = format!(
        r#"<table:table-cell table:number-columns-repeated="9"/>{}"#,
        s("far")
    );
    let e = one_sheet(&row(&cells), limits);
    assert_eq!(last_error(&e).column, Some(10));
}

#[test]
fn cell_text_is_capped_while_reading() {
    // The ratio pre-check would refuse the well-compressed huge text node on its own.
    let limits = Limits {
        max_cell_chars: 10,
        max_compression_ratio: u64::MAX,
        ..Limits::default()
    };
    let spaces = r#"<table:table-cell office:value-type="string"><text:p>a<text:s text:c="4000000000"/></text:p></table:table-cell>"#;
    let rows = one_sheet(
        &format!("{}{}", row(&s("Name")), row(spaces)),
        limits.clone(),
    );
    let e = last_error(&rows);
    assert!(
        matches!(e.kind, ReadErrorKind::CellTooLong { limit: 10 }),
        "{e}"
    );
    assert_eq!((e.row, e.column), (Some(2), Some(1)));
    assert!(!e.is_fatal());
    // One text node longer than any cell could be is stopped before it is buffered whole.
    let huge = s(&"y".repeat(3 * 1024 * 1024));
    let rows = one_sheet(
        &format!("{}{}", row(&s("Name")), row(&huge)),
        limits.clone(),
    );
    let e = last_error(&rows);
    assert!(
        matches!(e.kind, ReadErrorKind::ArchiveTooLarge { .. }),
        "{e}"
    );
    assert_eq!((e.sheet.as_deref(), e.row), (Some("Users"), Some(2)));
    assert!(e.is_fatal());
    // So is a huge tag, already while the sheets are listed.
    let dir = tempfile::tempdir().unwrap();
    let tag = format!(
        r#"<table:table-row table:style-name="{}"/>"#,
        "z".repeat(3 * 1024 * 1024)
    );
    let path = ods(&dir, &sheet("Users", &format!("{}{tag}", row(&s("Name")))));
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    let Err(e) = Workbook::open(&path, &options) else {
        panic!("the huge tag was read")
    };
    assert!(
        matches!(e.kind, ReadErrorKind::ArchiveTooLarge { .. }),
        "{e}"
    );
    assert_eq!(e.sheet.as_deref(), Some("Users"));
}

#[test]
fn covered_cells_hold_their_column() {
    let cells = concat!(
        r#"<table:table-cell table:number-columns-spanned="2" office:value-type="string"><text:p>wide</text:p></table:table-cell>"#,
        r#"<table:covered-table-cell/>"#,
        r#"<table:table-cell office:value-type="string"><text:p>c</text:p></table:table-cell>"#,
        r#"<table:covered-table-cell office:value-type="float" office:value="7"/>"#,
    );
    let rows = one_sheet(&row(cells), Limits::default());
    assert_eq!(
        ok_rows(&rows),
        vec![(1, vec![t("wide"), Cell::Empty, t("c"), t("7")])]
    );
}

#[test]
fn sheets_are_listed_and_read_by_name_with_grouped_rows() {
    let dir = tempfile::tempdir().unwrap();
    let nested = format!(
        r#"<table:table-row><table:table-cell><table:table table:name="inner">{}</table:table></table:table-cell></table:table-row>"#,
        row(&s("inner row"))
    );
    let second = format!(
        "<table:table-header-rows>{}</table:table-header-rows><table:table-row-group>{}<table:table-row-group>{}</table:table-row-group></table:table-row-group>{}",
        row(&s("Name")),
        row(&s("grouped")),
        row(&s("deeper")),
        row(&s("after")),
    );
    let tables = [
        sheet("Users", &format!("{}{nested}", row(&s("Username")))),
        r#"<table:table table:name="Empty"/>"#.to_owned(),
        sheet("Groups &amp; more", &second),
    ]
    .concat();
    let path = ods(&dir, &tables);
    let book = Workbook::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(book.sheet_names(), ["Users", "Empty", "Groups & more"]);
    let rows = read(&path, Some("Groups & more"), Limits::default());
    let names: Vec<(u64, String)> = ok_rows(&rows)
        .into_iter()
        .map(|(n, c)| (n, c[0].as_str().to_owned()))
        .collect();
    let expected = [(1, "Name"), (2, "grouped"), (3, "deeper"), (4, "after")];
    assert_eq!(names, expected.map(|(n, s)| (n, s.to_owned())));
    // A table nested in a cell is neither a sheet nor rows of its sheet.
    let rows = read(&path, Some("Users"), Limits::default());
    assert_eq!(ok_rows(&rows), vec![(1, vec![t("Username")])]);
    let rows = read(&path, Some("Empty"), Limits::default());
    assert!(matches!(last_error(&rows).kind, ReadErrorKind::Empty));
}

#[test]
fn broken_xml_is_a_positioned_corrupt_error() {
    let rows = one_sheet(
        &format!("{}<table:table-row><table:table-cell", row(&s("Username"))),
        Limits::default(),
    );
    let e = last_error(&rows);
    assert!(
        matches!(e.kind, ReadErrorKind::CorruptArchive { .. }),
        "{e}"
    );
    assert!(e.is_fatal());
}

#[test]
fn sheet_listing_scans_markup_only() {
    use super::listing::{next_markup, Markup};
    let open = Markup::TableOpen { empty: false };
    assert_eq!(
        next_markup(b"text<table:table\ntable:name=\"a>b\">"),
        (34, open)
    );
    assert_eq!(
        next_markup(b"<table:table table:name='x'/>"),
        (29, Markup::TableOpen { empty: true })
    );
    assert_eq!(next_markup(b"</table:table >"), (15, Markup::TableClose));
    assert_eq!(next_markup(b"<table:table-row>"), (17, Markup::Other));
    assert_eq!(next_markup(b"<!-- <table:table> -->"), (22, Markup::Other));
    assert_eq!(
        next_markup(b"<![CDATA[<table:table>]]>"),
        (25, Markup::Other)
    );
    assert_eq!(
        next_markup(b"ab<table:table table:name=\"unfinished"),
        (2, Markup::Incomplete)
    );
    assert_eq!(
        next_markup(b"<!-- <table:table> -"),
        (0, Markup::Incomplete)
    );
}

#[test]
fn sheet_listing_crosses_read_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    // Many windows' worth of rows, markup that mentions tables in comments and values.
    let rows = format!(
        "<!-- <table:table table:name=\"not a sheet\"> -->{}",
        row(&s("a &lt;table:table table:name=&quot;nor this&quot;&gt;")).repeat(20_000)
    );
    let tables = [
        sheet("First", &rows),
        sheet("Second", &rows),
        r#"<table:table table:name="Third"/>"#.to_owned(),
    ]
    .concat();
    let path = ods(&dir, &tables);
    let book = Workbook::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(book.sheet_names(), ["First", "Second", "Third"]);
    let rows = read(&path, Some("Second"), Limits::default());
    assert_eq!(rows.len(), 20_000);
    assert_eq!(
        rows[0].as_ref().unwrap().cells[0].as_str(),
        "a <table:table table:name=\"nor this\">"
    );
}
