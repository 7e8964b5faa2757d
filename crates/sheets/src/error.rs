//! Errors as data: every read problem is a [`ReadErrorKind`] plus the position
//! (sheet, row, column) where it happened, so callers can report it to a user
//! or collect it into an import report without parsing message strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What went wrong while reading. Positions live in [`ReadError`], not here.
///
/// A kind is data: it (de)serialises as `{"code": "ragged_row", "expected": 12, "found": 5}`,
/// its code the variant's name in snake case and its fields the parameters, so a stored problem
/// can be rendered again, in any words, long after the file was read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ReadErrorKind {
    /// The operating system's words for the failure. Kept as text, not as the `io::Error`,
    /// because a problem is stored and compared; the cause is in the message, so it is not
    /// also `source()`.
    #[error("could not read the file: {detail}")]
    Io { detail: String },
    #[error("the file is not a zip archive, so it cannot be an XLSX or ODS workbook")]
    NotAZip,
    #[error("the workbook is damaged or not a spreadsheet: {detail}")]
    CorruptArchive { detail: String },
    #[error("the archive is too large to open safely: {what}")]
    ArchiveTooLarge { what: String },
    #[error("the archive understates entry \"{entry}\": it declares {declared} bytes but inflates to more; the file is damaged or made to hurt")]
    UnderstatedEntry { entry: String, declared: u64 },
    #[error("the archive holds an entry named \"{name}\", a path that leads outside the archive (absolute, drive letter or ..); it is refused")]
    UnsafeEntryName { name: String },
    #[error("there is no sheet named \"{name}\"; available sheets: {}", available.join(", "))]
    SheetNotFound {
        name: String,
        available: Vec<String>,
    },
    #[error("a quoted field opened on line {opened_at_line} is never closed")]
    UnclosedQuote { opened_at_line: u64 },
    #[error("a quote appears inside an unquoted field or right after a closing quote; quote the whole field and double inner quotes (\"\")")]
    StrayQuote,
    #[error("has {found} cells but the header has {expected}")]
    RaggedRow { expected: usize, found: usize },
    #[error("the text is not valid {detail}; pass the file's encoding explicitly (for example windows-1252)")]
    InvalidEncoding { detail: String },
    #[error("invalid UTF-8 byte 0x{byte:02X}: the rest of the file is UTF-8, so this cell cannot be read")]
    InvalidUtf8 { byte: u8 },
    #[error("unknown encoding label \"{label}\"")]
    UnknownEncoding { label: String },
    #[error("more than {limit} data rows")]
    TooManyRows { limit: u64 },
    #[error("more than {limit} columns")]
    TooManyColumns { limit: usize },
    #[error("cell is longer than {limit} characters")]
    CellTooLong { limit: usize },
    #[error("the file contains no rows")]
    Empty,
}

impl ReadErrorKind {
    /// An I/O failure, kept as its text.
    pub fn io(cause: std::io::Error) -> ReadErrorKind {
        ReadErrorKind::Io {
            detail: cause.to_string(),
        }
    }
}

/// A read error with the position it refers to. `column` is 1-based.
#[derive(Debug)]
pub struct ReadError {
    pub kind: ReadErrorKind,
    pub sheet: Option<String>,
    pub row: Option<u64>,
    pub column: Option<usize>,
}

impl ReadError {
    /// An error with no position yet; positions are added with the `at_*` helpers.
    pub fn new(kind: ReadErrorKind) -> Self {
        ReadError {
            kind,
            sheet: None,
            row: None,
            column: None,
        }
    }

    pub(crate) fn at_row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }

    pub(crate) fn at_column(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }

    pub(crate) fn in_sheet(mut self, sheet: Option<&str>) -> Self {
        self.sheet = sheet.map(str::to_owned);
        self
    }

    /// Non-fatal errors concern one row only; the row iterator continues after them.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self.kind,
            ReadErrorKind::RaggedRow { .. }
                | ReadErrorKind::CellTooLong { .. }
                | ReadErrorKind::InvalidUtf8 { .. }
        )
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::new(ReadErrorKind::io(e))
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = Vec::new();
        if let Some(sheet) = &self.sheet {
            place.push(format!("sheet \"{}\"", shorten(sheet)));
        }
        if let Some(row) = self.row {
            place.push(format!("row {row}"));
        }
        if let Some(column) = self.column {
            place.push(format!("column {column}"));
        }
        if place.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", place.join(", "), self.kind)
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Cuts user-supplied text to 40 characters so messages never echo whole cells.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// What went wrong while writing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The cause is in the message, so it is not also `source()`, which would repeat it.
    #[error("could not write the output: {0}")]
    Io(std::io::Error),
    #[error("XLSX writer failed: {0}")]
    Xlsx(String),
    #[error("ODS writer failed: {0}")]
    Ods(String),
    #[error("a CSV file holds only one sheet; a second sheet was started")]
    CsvSecondSheet,
    #[error("a row was written before any sheet was started")]
    NoSheet,
}

impl From<std::io::Error> for WriteError {
    fn from(cause: std::io::Error) -> WriteError {
        WriteError::Io(cause)
    }
}

impl From<rust_xlsxwriter::XlsxError> for WriteError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        match e {
            rust_xlsxwriter::XlsxError::IoError(io) => WriteError::Io(io),
            other => WriteError::Xlsx(other.to_string()),
        }
    }
}

impl From<zip::result::ZipError> for WriteError {
    fn from(e: zip::result::ZipError) -> Self {
        WriteError::Ods(e.to_string())
    }
}

impl From<csv::Error> for WriteError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => WriteError::Io(io),
            other => WriteError::Io(std::io::Error::other(format!("{other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_position() {
        let e = ReadError::new(ReadErrorKind::RaggedRow {
            expected: 12,
            found: 5,
        })
        .at_row(7);
        assert_eq!(e.to_string(), "row 7: has 5 cells but the header has 12");
        assert!(!e.is_fatal());
    }

    #[test]
    fn shorten_caps_at_40() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), 41);
        assert_eq!(shorten("abc"), "abc");
    }
}
