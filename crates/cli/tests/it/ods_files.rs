//! Issue 7, items 2 and 6: ODS files are read as a stream. Repeated cells and rows
//! (`number-columns-repeated`, `number-rows-repeated`) meet the caps before they are expanded, so a
//! tiny repeat bomb fails with a positioned error in bounded memory, and the empty repeated area
//! LibreOffice writes costs nothing; an error cell (`#N/A`) fails its row instead of clearing a value.

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;
use zip::write::SimpleFileOptions;

use crate::support::{
    assert_counts, assert_error, assert_peak_bounded, assert_refused, both, errors, Out, Store,
};

/// Writes an ODS whose only sheet, `Users`, holds `rows` (raw `table:table-row` XML).
fn ods(store: &Store, name: &str, rows: &str) -> PathBuf {
    let path = store.path(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create the fixture"));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).expect("zip");
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .expect("zip");
    let deflated = SimpleFileOptions::default().compression_level(Some(9));
    zip.start_file("content.xml", deflated).expect("zip");
    write!(
        zip,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
            r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
            r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" "#,
            r#"xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" office:version="1.2">"#,
            r#"<office:body><office:spreadsheet><table:table table:name="Users">{}</table:table>"#,
            r#"</office:spreadsheet></office:body></office:document-content>"#
        ),
        rows
    )
    .expect("zip");
    // calamine refused archives without a manifest, so the fixtures carry one like real files.
    zip.start_file("META-INF/manifest.xml", SimpleFileOptions::default())
        .expect("zip");
    zip.write_all(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
        r#"<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
        r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#
    ).as_bytes())
    .expect("zip");
    zip.finish().expect("zip");
    path
}

/// A text cell as LibreOffice writes it.
fn text(value: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>{value}</text:p></table:table-cell>"#
    )
}

/// An error cell exactly as LibreOffice 7.4 writes `=NA()` and friends.
fn error_cell(formula: &str, code: &str) -> String {
    format!(
        r#"<table:table-cell table:formula="{formula}" office:value-type="string" office:string-value="" calcext:value-type="error"><text:p>{code}</text:p></table:table-cell>"#
    )
}

fn row(cells: &[String]) -> String {
    format!("<table:table-row>{}</table:table-row>", cells.concat())
}

fn header() -> String {
    row(&["Username", "Name", "E-mail", "Phone"].map(text))
}

/// The one error of a refused file: exit 1 or 2, a JSON report, an error at `row`.
#[track_caller]
fn refused_at(out: &Out, peak: u64, row: u64, needle: &str) -> Value {
    assert_refused(out);
    assert_peak_bounded(peak);
    let report = out.json();
    let all = errors(&report);
    assert!(
        all.iter().any(|(sheet, r, _, message)| sheet == "Users"
            && *r == row
            && message.contains(needle)),
        "expected an error on Users row {row} containing {needle:?}; got {all:#?}"
    );
    report
}

fn ods_error_cell_fails_its_row(store: &Store) {
    store.import_csv_ok(
        "seed.csv",
        "Username,Name,E-mail,Phone\nann,Ann Smith,ann@example.com,+44 20 7946 0958\nbob,Bob Jones,bob@example.com,+44 20 7946 0959\n",
        &[],
    );
    let before = store.table("users", &[]);
    let rows = [
        header(),
        row(&[
            text("ann"),
            text("Ann Smith"),
            text("ann@example.com"),
            error_cell("of:=NA()", "#N/A"),
        ]),
        row(&[
            text("bob"),
            error_cell("of:=1/0", "#DIV/0!"),
            text("bob@example.com"),
            error_cell("of:=SQRT(-1)", "Err:502"),
        ]),
    ]
    .concat();
    let path = ods(store, "errors.ods", &rows);
    let out = store.import(&path, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_error(&report, "Users", 2, Some("Phone"), "#N/A");
    assert_error(&report, "Users", 3, Some("Name"), "#DIV/0!");
    assert_error(&report, "Users", 3, Some("Phone"), "Err:502");
    let after = store.table("users", &[]);
    assert_eq!(after.get("ann", "Phone"), before.get("ann", "Phone"));
    assert_eq!(after.get("bob", "Name"), "Bob Jones");
    assert_eq!(after.without_timestamps(), before.without_timestamps());
}

/// The issue's 864-byte file: one value repeated 16,384 columns by 1,048,574 rows.
fn ods_repeat_bomb_is_refused_in_bounded_memory(store: &Store) {
    let bomb = r#"<table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1" calcext:value-type="float"><text:p>1</text:p></table:table-cell></table:table-row>"#;
    let path = ods(store, "bomb.ods", bomb);
    let size = std::fs::metadata(&path).expect("fixture").len();
    assert!(size < 1024, "the bomb is {size} bytes");
    let (out, peak) = store.import_measured(&path);
    refused_at(&out, peak, 1, "256 columns");
    // The same bomb below the column cap is refused on its rows, before they are copied.
    let narrow = format!(
        r#"{}<table:table-row table:number-rows-repeated="1048574000">{}</table:table-row>"#,
        header(),
        ["x", "X", "x@example.com", "1"].map(text).concat()
    );
    let path = ods(store, "rows-bomb.ods", &narrow);
    let (out, peak) = store.import_measured(&path);
    refused_at(&out, peak, 2_000_002, "2000000 data rows");
}

/// The formatted empty area LibreOffice writes costs nothing; a row after it is still read.
fn ods_empty_repeats_cost_nothing(store: &Store) {
    let empty_area = |rows: u64| {
        format!(
            r#"<table:table-row table:number-rows-repeated="{rows}"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#
        )
    };
    let wide_header = header().replace(
        "</table:table-row>",
        r#"<table:table-cell table:number-columns-repeated="16380"/></table:table-row>"#,
    );
    let late = row(&["late", "Late Comer", "late@example.com", "+44 1"].map(text));
    let rows = [
        wide_header.clone(),
        empty_area(1_048_000),
        late.clone(),
        empty_area(570),
    ]
    .concat();
    let path = ods(store, "late.ods", &rows);
    let (out, peak) = store.import_measured(&path);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_peak_bounded(peak);
    assert_counts(&out.json(), 1, 0, 0, 0);
    assert_eq!(store.table("users", &[]).get("late", "Name"), "Late Comer");
    // Beyond the row cap the same row is refused at its own position.
    let rows = [wide_header, empty_area(3_000_000), late].concat();
    let path = ods(store, "too-late.ods", &rows);
    let (out, peak) = store.import_measured(&path);
    refused_at(&out, peak, 3_000_002, "2000000 data rows");
}

both!(
    ods_error_cell_fails_its_row,
    ods_repeat_bomb_is_refused_in_bounded_memory,
    ods_empty_repeats_cost_nothing
);
