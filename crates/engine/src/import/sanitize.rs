//! The archived copy of an upload. Every import keeps its file so it can be downloaded again and
//! so the error workbook can be cut from it, but the archive must never hold a secret: the cells
//! of every `Password` or `Password hash` column (and of anything that looks like one) are blanked.
//!
//! Most uploads have no such column and are copied byte for byte, which is cheap and exact. The
//! others are re-written in their own format, sheet by sheet, with every data row on the same row
//! number as in the upload (blank rows are written for the gaps), because the history and the
//! error workbook refer to rows by number. Nothing that was not read is ever copied: a file that
//! cannot be read to the end keeps only the rows read before the problem, and a row the reader
//! rejects (a ragged CSV line, an over-long cell) is archived as a blank row, since its columns
//! cannot be trusted to be where the header says.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use muster_domain::is_secret_header;
use muster_sheets::{
    Cell, ReadError, ReadErrorKind, ReadOptions, Row, Workbook, WorkbookWriter, WriteError,
};

/// What went into the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sanitized {
    /// No sheet has a secret column: the upload's bytes, unchanged.
    Verbatim,
    /// Re-written in the upload's format with the secret cells blanked (`blanked_cells` of them
    /// held a value).
    Rewritten { blanked_cells: u64 },
    /// The upload could not be read to the end and has a secret column: the archive holds the
    /// sheets before `sheet` and the rows of `sheet` up to row `rows_kept_until`, nothing after.
    Truncated {
        sheet: String,
        rows_kept_until: u64,
        blanked_cells: u64,
    },
}

impl Sanitized {
    /// How to read the archive back. A verbatim copy reads like the upload; a re-written CSV is
    /// UTF-8 with `,` whatever the upload's encoding and delimiter were, so the upload's own
    /// `--encoding windows-1252` or `--delimiter ';'` would misread it.
    pub(crate) fn archive_read_options(&self, upload: &ReadOptions) -> ReadOptions {
        match self {
            Sanitized::Verbatim => upload.clone(),
            Sanitized::Rewritten { .. } | Sanitized::Truncated { .. } => ReadOptions {
                delimiter: Some(b','),
                encoding: Some("utf-8".to_owned()),
                limits: upload.limits.clone(),
            },
        }
    }
}

/// Why no archive copy was made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SanitizeError {
    /// The file could not be opened, or a sheet's header row could not be read, so it cannot be
    /// told whether it holds secrets: it is not archived at all. The error carries the position.
    #[error("the upload could not be archived: {0}")]
    Unreadable(ReadError),
    // The cause is part of the message (which ends up in reports as text), so it is not also
    // returned as `source()`: an error chain would print it twice.
    #[error("the archive copy could not be written: {0}")]
    Write(WriteError),
    #[error("the archive copy could not be written: {0}")]
    Io(std::io::Error),
}

impl From<WriteError> for SanitizeError {
    fn from(cause: WriteError) -> SanitizeError {
        SanitizeError::Write(cause)
    }
}

impl From<std::io::Error> for SanitizeError {
    fn from(cause: std::io::Error) -> SanitizeError {
        SanitizeError::Io(cause)
    }
}

/// Writes the archive copy of the upload at `path` (read with the upload's `options`) to `out`.
pub(crate) fn sanitized_copy(
    path: &Path,
    options: &ReadOptions,
    out: &mut (dyn Write + Send),
) -> Result<Sanitized, SanitizeError> {
    let mut book = Workbook::open(path, options).map_err(SanitizeError::Unreadable)?;
    let sheets = book.sheet_names();
    if !any_secret_column(&mut book, &sheets)? {
        std::io::copy(&mut File::open(path)?, out)?;
        out.flush()?;
        return Ok(Sanitized::Verbatim);
    }
    // The sheets writers own their output until they finish, so the copy is built in a temp file
    // (through a second handle on it) and then handed to `out`.
    let mut temp = tempfile::tempfile()?;
    let mut writer = muster_sheets::writer(book.format(), Box::new(temp.try_clone()?));
    let mut blanked = 0;
    let mut cut = None;
    for sheet in &sheets {
        if let SheetEnd::Cut { rows_kept_until } =
            rewrite_sheet(&mut book, sheet, writer.as_mut(), &mut blanked)?
        {
            cut = Some((sheet.clone(), rows_kept_until));
            break;
        }
    }
    writer.finish()?;
    temp.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut temp, out)?;
    out.flush()?;
    Ok(match cut {
        None => Sanitized::Rewritten {
            blanked_cells: blanked,
        },
        Some((sheet, rows_kept_until)) => Sanitized::Truncated {
            sheet,
            rows_kept_until,
            blanked_cells: blanked,
        },
    })
}

/// Reads only the header row of every sheet. An empty sheet has no columns; any other problem
/// before the header is read means the file cannot be archived safely.
fn any_secret_column(book: &mut Workbook, sheets: &[String]) -> Result<bool, SanitizeError> {
    for sheet in sheets {
        if let Some(header) = header_row(book, sheet)? {
            if !secret_columns(&header).is_empty() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn header_row(book: &mut Workbook, sheet: &str) -> Result<Option<Row>, SanitizeError> {
    let mut rows = book.rows(Some(sheet)).map_err(SanitizeError::Unreadable)?;
    first_row(&mut rows)
}

/// The header from a fresh row iterator: `None` for an empty sheet.
fn first_row(
    rows: &mut impl Iterator<Item = Result<Row, ReadError>>,
) -> Result<Option<Row>, SanitizeError> {
    match rows.next() {
        None => Ok(None),
        Some(Ok(row)) => Ok(Some(row)),
        Some(Err(e)) if matches!(e.kind, ReadErrorKind::Empty) => Ok(None),
        Some(Err(e)) => Err(SanitizeError::Unreadable(e)),
    }
}

/// 0-based columns whose header marks them as holding a password or a hash.
fn secret_columns(header: &Row) -> Vec<usize> {
    header
        .cells
        .iter()
        .enumerate()
        .filter(|(_, cell)| is_secret_header(cell.as_str()))
        .map(|(column, _)| column)
        .collect()
}

enum SheetEnd {
    Complete,
    /// A fatal read error: rows after `rows_kept_until` were not read.
    Cut {
        rows_kept_until: u64,
    },
}

/// Copies one sheet, blanking secret cells and keeping every row on its row number.
fn rewrite_sheet(
    book: &mut Workbook,
    sheet: &str,
    writer: &mut (dyn WorkbookWriter + Send),
    blanked: &mut u64,
) -> Result<SheetEnd, SanitizeError> {
    let mut rows = book.rows(Some(sheet)).map_err(SanitizeError::Unreadable)?;
    let Some(header) = first_row(&mut rows)? else {
        // One empty cell keeps an empty sheet a valid sheet in every format.
        writer.start_sheet(sheet, &[""])?;
        return Ok(SheetEnd::Complete);
    };
    let secret = secret_columns(&header);
    let mut out = AlignedRows::start(writer, sheet, &header)?;
    for item in rows {
        match item {
            Ok(row) => {
                let cells = blank_secrets(&row.cells, &secret, blanked);
                out.write_at(row.number, &cells)?;
            }
            // The reader rejected this row; its gap becomes a blank row on the next write.
            Err(e) if !e.is_fatal() => {}
            Err(_) => {
                return Ok(SheetEnd::Cut {
                    rows_kept_until: out.last_written(),
                })
            }
        }
    }
    Ok(SheetEnd::Complete)
}

/// The row's cells with the secret columns emptied; counts the cells that held a value.
fn blank_secrets<'a>(cells: &'a [Cell], secret: &[usize], blanked: &mut u64) -> Vec<&'a str> {
    cells
        .iter()
        .enumerate()
        .map(|(column, cell)| {
            if !secret.contains(&column) {
                return cell.as_str();
            }
            if !cell.is_empty() {
                *blanked += 1;
            }
            ""
        })
        .collect()
}

/// Writes rows so that each lands on the row number it had in the upload: the sheets writers
/// number rows by position, so every skipped number is filled with a blank row first.
struct AlignedRows<'w> {
    writer: &'w mut (dyn WorkbookWriter + Send),
    /// A row of empty cells as wide as the header (a CSV needs every record equally wide).
    blank: Vec<&'static str>,
    /// The row number the next written row gets.
    next: u64,
}

impl<'w> AlignedRows<'w> {
    /// Starts the sheet and writes the header on its own row number, which is not 1 when the
    /// sheet begins with blank rows.
    fn start(
        writer: &'w mut (dyn WorkbookWriter + Send),
        sheet: &str,
        header: &Row,
    ) -> Result<Self, WriteError> {
        let blank = vec![""; header.cells.len().max(1)];
        let cells: Vec<&str> = header.cells.iter().map(Cell::as_str).collect();
        if header.number <= 1 {
            writer.start_sheet(sheet, &cells)?;
            return Ok(AlignedRows {
                writer,
                blank,
                next: 2,
            });
        }
        writer.start_sheet(sheet, &blank)?;
        let mut rows = AlignedRows {
            writer,
            blank,
            next: 2,
        };
        rows.write_at(header.number, &cells)?;
        Ok(rows)
    }

    fn write_at(&mut self, number: u64, cells: &[&str]) -> Result<(), WriteError> {
        while self.next < number {
            self.writer.write_row(&self.blank)?;
            self.next += 1;
        }
        self.writer.write_row(cells)?;
        self.next += 1;
        Ok(())
    }

    fn last_written(&self) -> u64 {
        self.next - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_sheets::Format;
    use std::io::Read;
    use std::path::PathBuf;

    const SENTINEL: &str = "S3ntinel";

    /// Every sheet's rows as (number, cells), read the way the import reads them.
    fn read_all(path: &Path, options: &ReadOptions) -> Vec<(String, Vec<Row>)> {
        let mut book = Workbook::open(path, options).unwrap();
        let names = book.sheet_names();
        names
            .into_iter()
            .map(|name| {
                let rows = book
                    .rows(Some(&name))
                    .unwrap()
                    .filter_map(Result::ok)
                    .collect();
                (name, rows)
            })
            .collect()
    }

    fn archive(path: &Path, options: &ReadOptions) -> (Sanitized, Vec<u8>) {
        let mut out = Vec::new();
        let result = sanitized_copy(path, options, &mut out).unwrap();
        (result, out)
    }

    /// Writes the archive next to the upload, with the same extension, for reading back.
    fn save_archive(upload: &Path, bytes: &[u8]) -> PathBuf {
        let ext = upload.extension().unwrap().to_str().unwrap();
        let path = upload.with_file_name(format!("archive.{ext}"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The archive reads back as the upload with every secret column's cells empty: same sheet
    /// names (a CSV's name follows its file), same row numbers, same other cells.
    fn assert_same_but_blanked(upload: &[(String, Vec<Row>)], archive: &[(String, Vec<Row>)]) {
        assert_eq!(upload.len(), archive.len());
        for ((name, rows), (archived_name, archived)) in upload.iter().zip(archive) {
            // A CSV's one sheet is named after its file, which differs between the two.
            if archived_name != "archive" {
                assert_eq!(name, archived_name);
            }
            let secret = rows.first().map(secret_columns).unwrap_or_default();
            let expected: Vec<Row> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| Row {
                    number: row.number,
                    cells: row
                        .cells
                        .iter()
                        .enumerate()
                        .map(|(c, cell)| {
                            if i > 0 && secret.contains(&c) {
                                Cell::Empty
                            } else {
                                cell.clone()
                            }
                        })
                        .collect(),
                })
                .collect();
            assert_eq!(&expected, archived, "sheet {name}");
        }
    }

    /// Every entry of a zip, decompressed and concatenated.
    fn unzipped(bytes: &[u8]) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut all = String::new();
        for i in 0..zip.len() {
            zip.by_index(i).unwrap().read_to_string(&mut all).unwrap();
        }
        all
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    #[test]
    fn file_without_secrets_is_copied_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        let bytes = b"Username;Name;E-mail\r\nalice;Al\xe9;a@example.com\r\n\r\nbob;\"B\nob\";\r\n";
        std::fs::write(&path, bytes).unwrap();
        let (result, out) = archive(&path, &ReadOptions::default());
        assert_eq!(result, Sanitized::Verbatim);
        assert_eq!(out, bytes);
        let upload = ReadOptions::default();
        assert!(result.archive_read_options(&upload).encoding.is_none());
    }

    #[test]
    fn xlsx_without_secrets_is_copied_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("groups.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Groups").unwrap();
        sheet.write_string(0, 0, "Group").unwrap();
        sheet.write_string(1, 0, "Sales").unwrap();
        book.save(&path).unwrap();
        let (result, out) = archive(&path, &ReadOptions::default());
        assert_eq!(result, Sanitized::Verbatim);
        assert_eq!(out, std::fs::read(&path).unwrap());
    }

    #[test]
    fn csv_secrets_are_blanked_and_rows_keep_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        // Rows: 1 header, 2 alice, 3 blank, 4 bob (a quoted line break inside), 5–6 blank, 7 carol.
        let text = format!(
            "Username;Name;Password;E-mail;Password hash\r\n\
             alice;Alice;{SENTINEL}-pw-1;alice@example.com;$argon2id$v=19${SENTINEL}\r\n\
             \r\n\
             bob;\"Bob\nSmith\";{SENTINEL}-pw-2;=1+1;\r\n\
             \r\n\
             ;;;;\r\n\
             carol;Carol;;carol@example.com;$2b$12${SENTINEL}\r\n"
        );
        // Windows-1252 bytes and `;`: the re-written copy is UTF-8 with `,` and says so.
        let upload = ReadOptions {
            delimiter: Some(b';'),
            encoding: Some("windows-1252".into()),
            ..ReadOptions::default()
        };
        std::fs::write(&path, text.as_bytes()).unwrap();
        let (result, out) = archive(&path, &upload);
        assert_eq!(result, Sanitized::Rewritten { blanked_cells: 4 });
        assert!(!contains(&out, SENTINEL));
        let saved = save_archive(&path, &out);
        let back = read_all(&saved, &result.archive_read_options(&upload));
        let original = read_all(&path, &upload);
        assert_eq!(
            back[0].1.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2, 4, 7]
        );
        assert_same_but_blanked(&original, &back);
        assert_eq!(back[0].1[2].cells[1], Cell::Text("Bob\nSmith".into()));
        assert_eq!(back[0].1[2].cells[3], Cell::Text("=1+1".into()));
    }

    #[test]
    fn aliases_and_misspellings_are_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        let text = format!(
            "Username,password_hash,Passwort,PWD,Mot de passe,Pasword hash,Name\n\
             a,{SENTINEL}1,{SENTINEL}2,{SENTINEL}3,{SENTINEL}4,{SENTINEL}5,Ann\n"
        );
        std::fs::write(&path, text).unwrap();
        let (result, out) = archive(&path, &ReadOptions::default());
        assert_eq!(result, Sanitized::Rewritten { blanked_cells: 5 });
        assert!(!contains(&out, SENTINEL));
        let saved = save_archive(&path, &out);
        let back = read_all(
            &saved,
            &result.archive_read_options(&ReadOptions::default()),
        );
        assert_eq!(back[0].1[1].cells[0], Cell::Text("a".into()));
        assert_eq!(back[0].1[1].cells[6], Cell::Text("Ann".into()));
    }

    /// A users sheet with gaps, a sheet whose header is on row 3, and an empty sheet.
    fn xlsx_upload(path: &Path) {
        let mut book = rust_xlsxwriter::Workbook::new();
        let users = book.add_worksheet().set_name("Users").unwrap();
        for (c, h) in ["Username", "Password", "Phone", "Password hash"]
            .iter()
            .enumerate()
        {
            users.write_string(0, c as u16, *h).unwrap();
        }
        users.write_string(1, 0, "alice").unwrap();
        users.write_string(1, 1, format!("{SENTINEL}-a")).unwrap();
        users.write_number(1, 2, 4420794609580.0).unwrap();
        users.write_string(4, 0, "bob").unwrap();
        users
            .write_string(4, 3, format!("$2b$12${SENTINEL}"))
            .unwrap();
        users.write_string(9, 0, "carol").unwrap();
        users.write_string(9, 2, "+44 20 7946 0958").unwrap();
        let other = book.add_worksheet().set_name("Departments").unwrap();
        other.write_string(2, 1, "Department").unwrap();
        other.write_string(2, 2, "Secret code").unwrap();
        other.write_string(3, 1, "Sales").unwrap();
        other.write_string(3, 2, format!("{SENTINEL}-d")).unwrap();
        other.write_string(6, 1, "Ops").unwrap();
        book.add_worksheet().set_name("Empty").unwrap();
        book.save(path).unwrap();
    }

    #[test]
    fn xlsx_secrets_are_blanked_on_every_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.xlsx");
        xlsx_upload(&path);
        let options = ReadOptions::default();
        let (result, out) = archive(&path, &options);
        assert_eq!(result, Sanitized::Rewritten { blanked_cells: 3 });
        assert!(unzipped(&out).contains("alice"));
        assert!(!unzipped(&out).contains(SENTINEL));
        let saved = save_archive(&path, &out);
        assert_eq!(Format::detect(&saved).unwrap(), Format::Xlsx);
        let back = read_all(&saved, &options);
        let original = read_all(&path, &options);
        assert_eq!(
            back.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["Users", "Departments", "Empty"]
        );
        assert_eq!(
            back[0].1.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2, 5, 10]
        );
        assert_eq!(
            back[1].1.iter().map(|r| r.number).collect::<Vec<_>>(),
            [3, 4, 7]
        );
        assert_same_but_blanked(&original, &back);
    }

    #[test]
    fn ods_secrets_are_blanked_and_rows_keep_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.ods");
        let file = File::create(&path).unwrap();
        let mut writer = muster_sheets::writer(Format::Ods, Box::new(file));
        let hash = format!("$argon2id${SENTINEL}");
        let pw = format!("{SENTINEL} pw");
        writer
            .start_sheet("Users", &["Username", "Password hash", "Name", "Password"])
            .unwrap();
        writer.write_row(&["alice", &hash, "Alice", ""]).unwrap();
        writer.write_row(&["", "", "", ""]).unwrap();
        writer.write_row(&["", "", "", ""]).unwrap();
        writer.write_row(&["bob", "", "Bob\nBrown", &pw]).unwrap();
        writer.start_sheet("Groups", &["Group"]).unwrap();
        writer.write_row(&["Sales"]).unwrap();
        writer.finish().unwrap();
        let options = ReadOptions::default();
        let (result, out) = archive(&path, &options);
        assert_eq!(result, Sanitized::Rewritten { blanked_cells: 2 });
        assert!(unzipped(&out).contains("alice"));
        assert!(!unzipped(&out).contains(SENTINEL));
        let saved = save_archive(&path, &out);
        assert_eq!(Format::detect(&saved).unwrap(), Format::Ods);
        let back = read_all(&saved, &options);
        assert_eq!(
            back[0].1.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2, 5]
        );
        assert_same_but_blanked(&read_all(&path, &options), &back);
    }

    #[test]
    fn unreadable_tail_is_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        // The quote opened on row 4 never closes: everything after it is unread.
        let text = format!(
            "Username,Password\nalice,{SENTINEL}1\n\nbob,\"{SENTINEL}2\ncarol,{SENTINEL}3\n"
        );
        std::fs::write(&path, text).unwrap();
        let (result, out) = archive(&path, &ReadOptions::default());
        assert_eq!(
            result,
            Sanitized::Truncated {
                sheet: "users".into(),
                rows_kept_until: 2,
                blanked_cells: 1
            }
        );
        assert!(!contains(&out, SENTINEL));
        assert!(!contains(&out, "carol"));
        let saved = save_archive(&path, &out);
        let back = read_all(
            &saved,
            &result.archive_read_options(&ReadOptions::default()),
        );
        assert_eq!(back[0].1.len(), 2);
        assert_eq!(
            back[0].1[1].cells,
            [Cell::Text("alice".into()), Cell::Empty]
        );
    }

    #[test]
    fn rejected_rows_become_blank_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        // Row 3 has one cell too many, so its password may sit under any header.
        let text = format!("Username,Password,Name\na,,A\nb,x,{SENTINEL},B\nc,,C\n");
        std::fs::write(&path, text).unwrap();
        let (result, out) = archive(&path, &ReadOptions::default());
        assert_eq!(result, Sanitized::Rewritten { blanked_cells: 0 });
        assert!(!contains(&out, SENTINEL));
        let saved = save_archive(&path, &out);
        let back = read_all(
            &saved,
            &result.archive_read_options(&ReadOptions::default()),
        );
        assert_eq!(
            back[0].1.iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2, 4]
        );
    }

    #[test]
    fn unreadable_header_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, format!("Username,\"Password\nalice,{SENTINEL}\n")).unwrap();
        let mut out = Vec::new();
        let err = sanitized_copy(&path, &ReadOptions::default(), &mut out).unwrap_err();
        assert!(matches!(err, SanitizeError::Unreadable(_)), "{err}");
        assert!(err.to_string().contains("row 1"), "{err}");
        assert!(out.is_empty());
        let path = dir.path().join("broken.xlsx");
        std::fs::write(&path, b"PK\x03\x04 not really").unwrap();
        let err = sanitized_copy(&path, &ReadOptions::default(), &mut out).unwrap_err();
        assert!(matches!(err, SanitizeError::Unreadable(_)), "{err}");
    }
}
