//! The error workbook of an import: only the rows that failed, cut from the archived upload, each
//! with an `Errors` cell that says what to fix. An administrator downloads it, fixes the cells and
//! imports it again; the `Errors` column is recognised and ignored by the import, and its text
//! starts with `[import N, row R]` so the new import can be linked to the one it repairs.
//!
//! A CSV archive gives a CSV, an XLSX archive an XLSX in which every bad cell is filled light red
//! and carries a note with its messages. An ODS archive also gives an XLSX, because ODS cannot
//! hold notes (see `muster_sheets::StyledWorkbook`). The XLSX is written in constant memory, so
//! a workbook of many failed rows does not sit in memory; only the notes do.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use muster_domain::{is_errors_header, is_secret_header};
use muster_sheets::{
    Cell, CellNote, CellStyle, Format, ReadError, ReadOptions, Row, StyledCell, StyledWorkbook,
    Workbook, WriteError,
};

// The failed rows come as the history stores them: a row number (0 = the file as a whole), its
// problems (header text as in the file, or none for the row as a whole), and whether the row had
// a password or hash that the archive blanked, so the fixed row must supply it again.
use crate::history::journal::FailedRowLog;

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorWorkbookSummary {
    /// The archive's format for CSV and XLSX; XLSX for an ODS archive.
    pub format: Format,
    /// Sheets in the workbook: those with failures and a header row.
    pub sheets: usize,
    pub rows_written: u64,
    /// Failed rows the workbook cannot show: whole-file problems (row 0), problems of a header
    /// row, rows the archive does not have (cut short, or rejected by the reader), unknown sheets.
    pub rows_skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ErrorWorkbookError {
    // The cause is part of the message (which ends up in reports as text), so it is not also
    // returned as `source()`: an error chain would print it twice.
    /// The archive could not be opened; the error carries the position.
    #[error("the archived upload could not be read: {0}")]
    Read(ReadError),
    #[error("the error workbook could not be written: {0}")]
    Write(WriteError),
}

impl From<WriteError> for ErrorWorkbookError {
    fn from(cause: WriteError) -> ErrorWorkbookError {
        ErrorWorkbookError::Write(cause)
    }
}

/// The header of the column that error workbooks add.
const ERRORS_HEADER: &str = "Errors";

/// Appended to a row's errors when the archive blanked its password or hash.
const SECRET_LOST: &str =
    "the password was not kept in the archive: type it again, or leave it blank to send an invitation";

/// The `Errors` column reads like prose: wide, and its cells wrap.
const ERRORS_WIDTH: f64 = 80.0;

/// An archived upload opened to cut an error workbook from: the format the workbook will have
/// is known before anything is written, so a caller can refuse an output named for another.
pub(crate) struct ErrorWorkbookSource {
    book: Workbook,
    /// The reader's cap on a cell, which the `Errors` text respects.
    max_cell_chars: usize,
}

impl ErrorWorkbookSource {
    /// Opens `archive`, read with `read` (see `upload::archive_read_options`).
    pub(crate) fn open(
        archive: &Path,
        read: &ReadOptions,
    ) -> Result<ErrorWorkbookSource, ErrorWorkbookError> {
        let book = Workbook::open(archive, read).map_err(ErrorWorkbookError::Read)?;
        Ok(ErrorWorkbookSource {
            book,
            max_cell_chars: read.limits.max_cell_chars,
        })
    }

    /// The archive's format for CSV and XLSX; XLSX for an ODS archive.
    pub(crate) fn format(&self) -> Format {
        match self.book.format() {
            Format::Csv => Format::Csv,
            Format::Xlsx | Format::Ods => Format::Xlsx,
        }
    }

    /// Writes the error workbook of import `import_id` to `out`. `failed` holds the failed rows
    /// per sheet name of the archive (a CSV's single sheet may be given under any name).
    pub(crate) fn write(
        mut self,
        import_id: i64,
        failed: &BTreeMap<String, Vec<FailedRowLog>>,
        out: Box<dyn Write + Send>,
    ) -> Result<ErrorWorkbookSummary, ErrorWorkbookError> {
        let format = self.format();
        let (sheets, mut rows_skipped) = by_archive_sheet(&self.book, failed);
        let mut styled = StyledWorkbook::streaming(format, out);
        let context = RowText {
            import_id,
            max_chars: self.max_cell_chars,
        };
        let mut summary = ErrorWorkbookSummary {
            format,
            sheets: 0,
            rows_written: 0,
            rows_skipped: 0,
        };
        for (sheet, rows) in &sheets {
            let written = write_sheet(&mut self.book, sheet, rows, &context, &mut styled)?;
            if let Some(written) = written {
                summary.sheets += 1;
                summary.rows_written += written;
            }
            rows_skipped += rows.len() as u64 - written.unwrap_or(0);
        }
        styled.finish()?;
        summary.rows_skipped = rows_skipped;
        Ok(summary)
    }
}

/// The import an error workbook's `Errors` cell points back to: `Some(12)` for
/// `[import 12, row 7] E-mail: …`, `None` for anything else.
pub(crate) fn linked_import(errors_cell: &str) -> Option<i64> {
    let rest = errors_cell.trim_start().strip_prefix("[import ")?;
    let (id, rest) = rest.split_once(", row ")?;
    let (row, _) = rest.split_once(']')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(id) || !digits(row) {
        return None;
    }
    id.parse().ok()
}

/// Failed rows of one sheet by row number; several entries for one row are merged when written.
type SheetFailures<'a> = BTreeMap<u64, Vec<&'a FailedRowLog>>;

/// Matches the caller's sheet names to the archive's, in workbook order. A CSV has one sheet,
/// whatever the caller called it. Rows of a sheet the archive lacks are counted as skipped.
fn by_archive_sheet<'a>(
    book: &Workbook,
    failed: &'a BTreeMap<String, Vec<FailedRowLog>>,
) -> (Vec<(String, SheetFailures<'a>)>, u64) {
    let names = book.sheet_names();
    let csv = book.format() == Format::Csv;
    let mut sheets: Vec<(String, SheetFailures<'a>)> = Vec::new();
    let mut skipped = 0;
    for (name, rows) in failed {
        let target = if csv {
            names.first()
        } else {
            names.iter().find(|n| *n == name)
        };
        let Some(target) = target else {
            skipped += distinct_rows(rows);
            continue;
        };
        let index = match sheets.iter().position(|(n, _)| n == target) {
            Some(index) => index,
            None => {
                sheets.push((target.clone(), BTreeMap::new()));
                sheets.len() - 1
            }
        };
        for row in rows {
            sheets[index].1.entry(row.row).or_default().push(row);
        }
    }
    sheets.sort_by_key(|(n, _)| names.iter().position(|name| name == n));
    (sheets, skipped)
}

fn distinct_rows(rows: &[FailedRowLog]) -> u64 {
    let mut numbers: Vec<u64> = rows.iter().map(|r| r.row).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers.len() as u64
}

/// Writes one sheet's failed rows; `None` when the sheet has no header row to start from (every
/// failure of it is then skipped), else how many rows were written.
fn write_sheet(
    book: &mut Workbook,
    sheet: &str,
    failures: &SheetFailures<'_>,
    text: &RowText,
    out: &mut StyledWorkbook,
) -> Result<Option<u64>, ErrorWorkbookError> {
    let Ok(mut rows) = book.rows(Some(sheet)) else {
        return Ok(None);
    };
    let Some(Ok(header)) = rows.next() else {
        return Ok(None);
    };
    let columns = Columns::new(&header);
    start_sheet(out, sheet, &columns.headers())?;
    let last = failures.keys().next_back().copied().unwrap_or(0);
    let mut written = 0;
    for item in rows {
        let row = match item {
            Ok(row) => row,
            // A row the reader rejects cannot be shown; it stays counted as skipped.
            Err(e) if !e.is_fatal() => continue,
            Err(_) => break,
        };
        if let Some(entries) = failures.get(&row.number) {
            let (cells, notes) = columns.failed_row(&row, entries, text);
            out.write_row(&styled_row(&cells, &notes))?;
            written += 1;
        }
        if row.number >= last {
            break;
        }
    }
    Ok(Some(written))
}

/// Starts a sheet: the `Errors` column (the last) wide, the others as wide as their header, the
/// header bold and frozen.
fn start_sheet(out: &mut StyledWorkbook, name: &str, headers: &[&str]) -> Result<(), WriteError> {
    out.add_sheet(name)?;
    out.freeze_header()?;
    let errors_column = headers.len().saturating_sub(1);
    for (column, header) in headers.iter().enumerate() {
        let width = if column == errors_column {
            ERRORS_WIDTH
        } else {
            column_width(header)
        };
        out.set_column_width(column, width)?;
    }
    let cells: Vec<StyledCell<'_>> = headers
        .iter()
        .map(|header| StyledCell::styled(header, CellStyle::Bold))
        .collect();
    out.write_row(&cells)
}

/// Wide enough for the header, within sensible bounds.
fn column_width(header: &str) -> f64 {
    (header.chars().count() as f64 + 4.0).clamp(12.0, 50.0)
}

/// A failed row's cells: a cell with messages is filled as bad and carries them as its note; the
/// `Errors` cell (the last) wraps.
fn styled_row<'a>(
    cells: &'a [String],
    notes: &BTreeMap<usize, Vec<String>>,
) -> Vec<StyledCell<'a>> {
    let errors_column = cells.len().saturating_sub(1);
    cells
        .iter()
        .enumerate()
        .map(|(column, text)| {
            let style = if column == errors_column {
                CellStyle::Wrapped
            } else if notes.contains_key(&column) {
                CellStyle::Bad
            } else {
                CellStyle::Plain
            };
            let cell = StyledCell::styled(text, style);
            match notes.get(&column) {
                Some(messages) => cell.with_note(CellNote::new(messages.join("\n"))),
                None => cell,
            }
        })
        .collect()
}

/// How the `Errors` text is made.
struct RowText {
    import_id: i64,
    /// The reader's cap on a cell: a longer `Errors` cell would make the fixed file's row fail.
    max_chars: usize,
}

impl RowText {
    fn errors(&self, row: u64, entries: &[&FailedRowLog]) -> String {
        let mut parts: Vec<String> = entries
            .iter()
            .flat_map(|entry| &entry.issues)
            .map(|p| match &p.column {
                Some(column) => format!("{column}: {}", p.message()),
                None => p.message(),
            })
            .collect();
        if entries.iter().any(|entry| entry.secret) {
            parts.push(SECRET_LOST.to_owned());
        }
        let text = format!(
            "[import {}, row {row}] {}",
            self.import_id,
            parts.join("; ")
        );
        cut(text, self.max_chars)
    }
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text[at..].chars().nth(1).is_some() => format!("{}…", &text[..at]),
        _ => text,
    }
}

/// The archive's columns as the error workbook shows them: every column but an `Errors` column
/// of an earlier error workbook (a second one would be a duplicate header on the next import),
/// then a fresh `Errors` column.
struct Columns {
    /// Archive column of each output column before `Errors`.
    source: Vec<usize>,
    headers: Vec<String>,
}

impl Columns {
    fn new(header: &Row) -> Self {
        let (source, headers) = header
            .cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| !is_errors_header(cell.as_str()))
            .map(|(column, cell)| (column, cell.as_str().to_owned()))
            .unzip();
        Columns { source, headers }
    }

    fn headers(&self) -> Vec<&str> {
        let mut headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        headers.push(ERRORS_HEADER);
        headers
    }

    /// The output column of a problem's header text: exact first, then ignoring case and
    /// surrounding spaces.
    fn find(&self, column: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == column).or_else(|| {
            let wanted = column.trim();
            self.headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(wanted))
        })
    }

    /// The output cells of a failed row (archive cells, then the errors text) and, per output
    /// column, the messages its note carries.
    fn failed_row(
        &self,
        row: &Row,
        entries: &[&FailedRowLog],
        text: &RowText,
    ) -> (Vec<String>, BTreeMap<usize, Vec<String>>) {
        let mut cells: Vec<String> = self
            .source
            .iter()
            .map(|&c| row.cells.get(c).map_or("", Cell::as_str).to_owned())
            .collect();
        cells.push(text.errors(row.number, entries));
        let mut notes: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for entry in entries {
            for problem in &entry.issues {
                if let Some(column) = problem.column.as_deref().and_then(|c| self.find(c)) {
                    notes.entry(column).or_default().push(problem.message());
                }
            }
            if entry.secret {
                self.note_secret_columns(&mut notes);
            }
        }
        (cells, notes)
    }

    /// The blanked password cells themselves say why they are empty.
    fn note_secret_columns(&self, notes: &mut BTreeMap<usize, Vec<String>>) {
        for (column, header) in self.headers.iter().enumerate() {
            if is_secret_header(header) {
                let messages = notes.entry(column).or_default();
                if !messages.iter().any(|m| m == SECRET_LOST) {
                    messages.push(SECRET_LOST.to_owned());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::journal::{LoggedIssue, LoggedProblem};
    use muster_domain::{map_headers, parse_user_row, Entity, Field};
    use std::fs::File;
    use std::io::Read;

    /// A problem as an earlier release stored it, its sentence only: the workbook shows it as
    /// stored (problems stored as data are rendered by `LoggedIssue::message` the same way).
    fn problem(column: Option<&str>, message: &str) -> LoggedIssue {
        LoggedIssue {
            column: column.map(str::to_owned),
            problem: LoggedProblem::Legacy {
                code: String::new(),
                message: message.to_owned(),
            },
        }
    }

    /// Opens `archive` and writes the error workbook of import `import_id` to `out` in one go.
    fn write_error_workbook(
        archive: &Path,
        read: &ReadOptions,
        import_id: i64,
        failed: &BTreeMap<String, Vec<FailedRowLog>>,
        out: &Path,
    ) -> Result<ErrorWorkbookSummary, ErrorWorkbookError> {
        let file = std::fs::File::create(out).map_err(|e| ErrorWorkbookError::Write(e.into()))?;
        ErrorWorkbookSource::open(archive, read)?.write(import_id, failed, Box::new(file))
    }

    /// Five data rows (2–6) of which 3 and 5 failed.
    const HEADERS: [&str; 4] = ["Username", "Name", "E-mail", "Password"];
    fn users_rows() -> Vec<[&'static str; 4]> {
        vec![
            ["u2", "User 2", "u2@example.com", ""],
            ["u3", "User 3", "not-an-email", ""],
            ["u4", "User 4", "u4@example.com", ""],
            ["u5", "", "=cmd|' /C calc'!A0", ""],
            ["u6", "User 6", "u6@example.com", ""],
        ]
    }

    /// A sheet to write: name, headers, data rows.
    type TestSheet<'a> = (&'a str, &'a [&'a str], Vec<Vec<&'a str>>);

    fn write_archive(path: &Path, format: Format, sheets: &[TestSheet<'_>]) {
        let file = File::create(path).unwrap();
        let mut writer = muster_sheets::writer(format, Box::new(file));
        for (name, headers, rows) in sheets {
            writer.start_sheet(name, headers).unwrap();
            for row in rows {
                writer.write_row(row).unwrap();
            }
        }
        writer.finish().unwrap();
    }

    fn users_archive(path: &Path, format: Format) {
        let rows = users_rows().into_iter().map(|r| r.to_vec()).collect();
        write_archive(path, format, &[("Users", &HEADERS, rows)]);
    }

    fn failures(sheet: &str) -> BTreeMap<String, Vec<FailedRowLog>> {
        let rows = vec![
            FailedRowLog {
                row: 5,
                issues: vec![
                    problem(None, "a new user needs a Name"),
                    problem(
                        Some("E-mail"),
                        "`=cmd|' /C calc'!A0` is not an e-mail address",
                    ),
                ],
                secret: true,
            },
            FailedRowLog {
                row: 3,
                issues: vec![problem(
                    Some("E-mail"),
                    "`not-an-email` is not an e-mail address",
                )],
                secret: false,
            },
        ];
        BTreeMap::from([(sheet.to_owned(), rows)])
    }

    const ROW_3_ERRORS: &str = "[import 12, row 3] E-mail: `not-an-email` is not an e-mail address";
    const ROW_5_ERRORS: &str = "[import 12, row 5] a new user needs a Name; E-mail: `=cmd|' /C calc'!A0` is not an e-mail address; the password was not kept in the archive: type it again, or leave it blank to send an invitation";

    fn read_back(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
        let mut book = Workbook::open(path, &ReadOptions::default()).unwrap();
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

    fn zip_entry(path: &Path, name: &str) -> String {
        let mut zip = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    fn expected_rows() -> Vec<Vec<String>> {
        let strings = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        vec![
            strings(&["Username", "Name", "E-mail", "Password", "Errors"]),
            strings(&["u3", "User 3", "not-an-email", "", ROW_3_ERRORS]),
            strings(&["u5", "", "=cmd|' /C calc'!A0", "", ROW_5_ERRORS]),
        ]
    }

    #[test]
    fn csv_error_workbook_has_only_the_failed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.csv");
        users_archive(&archive, Format::Csv);
        let out = dir.path().join("errors.csv");
        // The caller names the CSV's sheet after the upload, not the archive file.
        let summary = write_error_workbook(
            &archive,
            &ReadOptions::default(),
            12,
            &failures("upload"),
            &out,
        )
        .unwrap();
        assert_eq!(
            summary,
            ErrorWorkbookSummary {
                format: Format::Csv,
                sheets: 1,
                rows_written: 2,
                rows_skipped: 0
            }
        );
        let back = read_back(&out);
        assert_eq!(back[0].1, expected_rows());
        // The formula-like cell is defused in the CSV bytes (its row may be quoted in full).
        let bytes = std::fs::read(&out).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains(",'=cmd") || text.contains(",\"'=cmd"),
            "{text}"
        );
        assert!(
            !text.contains(",=cmd") && !text.contains(",\"=cmd"),
            "{text}"
        );
    }

    #[test]
    fn fixed_csv_error_workbook_imports_without_the_errors_column() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.csv");
        users_archive(&archive, Format::Csv);
        let out = dir.path().join("errors.csv");
        write_error_workbook(&archive, &ReadOptions::default(), 12, &failures("x"), &out).unwrap();
        let back = read_back(&out);
        let headers: Vec<&str> = back[0].1[0].iter().map(String::as_str).collect();
        let map = map_headers(Entity::Users, &headers).unwrap();
        assert_eq!(map.field_at(4), Some(Field::Errors));
        assert!(map.field_at(4).is_some_and(Field::is_export_only));
        // The administrator fixes the e-mail and leaves the Errors cell as it is.
        let mut row: Vec<&str> = back[0].1[1].iter().map(String::as_str).collect();
        row[2] = "u3@example.com";
        let user = parse_user_row(&map, &row).unwrap();
        assert_eq!(user.username.as_str(), "u3");
        assert_eq!(linked_import(row[4]), Some(12));
    }

    #[test]
    fn xlsx_error_workbook_keeps_a_leading_apostrophe() {
        // `'=1+2` as data is stored as `''=1+2` (the readers take one apostrophe for the CSV
        // formula defence); the error workbook must write it the same way to keep it.
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.xlsx");
        let rows = vec![vec!["u1", "'=1+2", "bad", ""]];
        write_archive(&archive, Format::Xlsx, &[("Users", &HEADERS, rows)]);
        let failed = BTreeMap::from([(
            "Users".to_owned(),
            vec![FailedRowLog {
                row: 2,
                issues: vec![problem(Some("E-mail"), "`bad` is not an e-mail address")],
                secret: false,
            }],
        )]);
        let out = dir.path().join("errors.xlsx");
        write_error_workbook(&archive, &ReadOptions::default(), 3, &failed, &out).unwrap();
        let back = read_back(&out);
        assert_eq!(back[0].1[1][1], "'=1+2");
    }

    #[test]
    fn xlsx_error_workbook_marks_the_bad_cells() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.xlsx");
        users_archive(&archive, Format::Xlsx);
        let out = dir.path().join("errors.xlsx");
        let summary = write_error_workbook(
            &archive,
            &ReadOptions::default(),
            12,
            &failures("Users"),
            &out,
        )
        .unwrap();
        assert_eq!(summary.format, Format::Xlsx);
        assert_eq!((summary.rows_written, summary.rows_skipped), (2, 0));
        let back = read_back(&out);
        assert_eq!(back[0].0, "Users");
        assert_eq!(back[0].1, expected_rows());
        // Notes: the e-mail of both rows, and the blanked password of row 5 (output row 3).
        let comments = zip_entry(&out, "xl/comments1.xml");
        assert!(comments.contains(r#"ref="C2""#), "{comments}");
        assert!(comments.contains("`not-an-email` is not an e-mail address"));
        assert!(comments.contains(r#"ref="C3""#), "{comments}");
        assert!(comments.contains(r#"ref="D3""#), "{comments}");
        assert!(!comments.contains(r#"ref="A2""#), "{comments}");
        // The bad cells share a style with the light red fill; good cells have none.
        let styles = zip_entry(&out, "xl/styles.xml");
        assert!(styles.contains("FFFFC7CE"), "{styles}");
        let sheet = zip_entry(&out, "xl/worksheets/sheet1.xml");
        let style_of = |cell: &str| {
            let at = sheet.find(&format!(r#"<c r="{cell}""#)).unwrap();
            let tag = &sheet[at..at + sheet[at..].find('>').unwrap()];
            tag.split(r#" s=""#)
                .nth(1)
                .map(|s| s.split('"').next().unwrap().to_owned())
        };
        assert!(style_of("C2").is_some());
        assert_eq!(style_of("C2"), style_of("D3"));
        assert_eq!(style_of("A2"), None);
        assert_ne!(style_of("A1"), None, "the header is bold");
        // Text, never a formula; the Errors column (E) is wide enough to read.
        assert!(!sheet.contains("<f>"));
        assert!(
            sheet.contains(r#"<col min="5" max="5" width="80."#),
            "{sheet}"
        );
    }

    /// A `Write` that is neither a file nor seekable, as stdout or an HTTP body is.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_format_is_known_before_writing_to_any_writer() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.ods");
        users_archive(&archive, Format::Ods);
        let source = ErrorWorkbookSource::open(&archive, &ReadOptions::default()).unwrap();
        assert_eq!(source.format(), Format::Xlsx);
        let out = Shared::default();
        let summary = source
            .write(12, &failures("Users"), Box::new(out.clone()))
            .unwrap();
        assert_eq!(summary.rows_written, 2);
        let copy = dir.path().join("copy.xlsx");
        std::fs::write(&copy, out.0.lock().unwrap().as_slice()).unwrap();
        assert_eq!(read_back(&copy)[0].1, expected_rows());
        assert!(zip_entry(&copy, "xl/comments1.xml").contains(r#"ref="C2""#));
    }

    #[test]
    fn ods_archive_gives_an_xlsx() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.ods");
        users_archive(&archive, Format::Ods);
        let out = dir.path().join("errors.xlsx");
        let summary = write_error_workbook(
            &archive,
            &ReadOptions::default(),
            12,
            &failures("Users"),
            &out,
        )
        .unwrap();
        assert_eq!(summary.format, Format::Xlsx);
        assert_eq!(Format::detect(&out).unwrap(), Format::Xlsx);
        assert_eq!(read_back(&out)[0].1, expected_rows());
    }

    #[test]
    fn two_failing_sheets_give_two_sheets() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.xlsx");
        let users = users_rows().into_iter().map(|r| r.to_vec()).collect();
        let groups = vec![vec!["Sales", ""], vec!["", "no name"], vec!["Ops", ""]];
        let departments = vec![vec!["HQ"]];
        write_archive(
            &archive,
            Format::Xlsx,
            &[
                ("Groups", &["Group", "Description"], groups),
                ("Departments", &["Department"], departments),
                ("Users", &HEADERS, users),
            ],
        );
        let mut failed = failures("Users");
        failed.insert(
            "Groups".into(),
            vec![FailedRowLog {
                row: 3,
                issues: vec![problem(Some("Group"), "a name is required")],
                secret: false,
            }],
        );
        let out = dir.path().join("errors.xlsx");
        let summary =
            write_error_workbook(&archive, &ReadOptions::default(), 7, &failed, &out).unwrap();
        assert_eq!((summary.sheets, summary.rows_written), (2, 3));
        let back = read_back(&out);
        // Workbook order, not the order of the failures.
        assert_eq!(back[0].0, "Groups");
        assert_eq!(back[1].0, "Users");
        assert_eq!(
            back[0].1[1],
            ["", "no name", "[import 7, row 3] Group: a name is required"]
        );
        assert_eq!(back[1].1.len(), 3);
    }

    #[test]
    fn rows_the_archive_lacks_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.csv");
        users_archive(&archive, Format::Csv);
        let mut failed = failures("Users");
        let rows = failed.get_mut("Users").unwrap();
        for row in [0, 1, 99] {
            rows.push(FailedRowLog {
                row,
                issues: vec![problem(None, "whole file")],
                secret: false,
            });
        }
        // A second entry for row 3 is merged into one row.
        rows.push(FailedRowLog {
            row: 3,
            issues: vec![problem(Some("Name"), "second problem")],
            secret: false,
        });
        let out = dir.path().join("errors.csv");
        let summary =
            write_error_workbook(&archive, &ReadOptions::default(), 12, &failed, &out).unwrap();
        assert_eq!((summary.rows_written, summary.rows_skipped), (2, 3));
        let back = read_back(&out);
        assert_eq!(back[0].1.len(), 3);
        assert_eq!(
            back[0].1[1][4],
            format!("{ROW_3_ERRORS}; Name: second problem")
        );
    }

    #[test]
    fn unknown_sheets_are_skipped_in_a_workbook() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.xlsx");
        users_archive(&archive, Format::Xlsx);
        let out = dir.path().join("errors.xlsx");
        let summary = write_error_workbook(
            &archive,
            &ReadOptions::default(),
            1,
            &failures("Nope"),
            &out,
        )
        .unwrap();
        assert_eq!(
            (summary.sheets, summary.rows_written, summary.rows_skipped),
            (0, 0, 2)
        );
    }

    #[test]
    fn an_earlier_errors_column_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.csv");
        write_archive(
            &archive,
            Format::Csv,
            &[(
                "Users",
                &["Username", "Errors", "Name"],
                vec![vec!["bob", "[import 3, row 9] old", "Bob"]],
            )],
        );
        let failed = BTreeMap::from([(
            "Users".to_owned(),
            vec![FailedRowLog {
                row: 2,
                issues: vec![problem(Some("Name"), "new")],
                secret: false,
            }],
        )]);
        let out = dir.path().join("errors.csv");
        write_error_workbook(&archive, &ReadOptions::default(), 4, &failed, &out).unwrap();
        let back = read_back(&out);
        assert_eq!(back[0].1[0], ["Username", "Name", "Errors"]);
        assert_eq!(back[0].1[1], ["bob", "Bob", "[import 4, row 2] Name: new"]);
    }

    #[test]
    fn links_back_to_the_import() {
        assert_eq!(linked_import("[import 12, row 7] E-mail: bad"), Some(12));
        assert_eq!(linked_import("[import 3, row 0] "), Some(3));
        assert_eq!(linked_import("[import x, row 7] E-mail"), None);
        assert_eq!(linked_import("[import 12, row ] E-mail"), None);
        assert_eq!(linked_import("[import -1, row 7]"), None);
        assert_eq!(linked_import("[import 99999999999999999999, row 7]"), None);
        assert_eq!(linked_import("import 12, row 7"), None);
        assert_eq!(linked_import(""), None);
    }

    #[test]
    fn long_errors_are_cut_to_a_cell() {
        let text = RowText {
            import_id: 1,
            max_chars: 30,
        };
        let entry = FailedRowLog {
            row: 2,
            issues: vec![problem(None, &"x".repeat(100))],
            secret: false,
        };
        let errors = text.errors(2, &[&entry]);
        assert_eq!(errors.chars().count(), 30);
        assert!(errors.ends_with('…'));
        assert_eq!(cut("abc".into(), 3), "abc");
        assert_eq!(cut("abcd".into(), 3), "ab…");
    }
}
