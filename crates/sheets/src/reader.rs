//! The reading API: open a [`Workbook`], pick a sheet, iterate [`Rows`].
//!
//! Format-specific sources only produce raw rows (a number and cells). The
//! rules every format shares live here, in one place: all-empty rows are
//! skipped but counted, the header fixes the width, limits are enforced, and
//! a fatal error ends the iteration.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use calamine::Reader;

use crate::archive::{check_archive, corrupt};
use crate::csv_read::{self, CsvParser, CsvSetup};
use crate::error::{ReadError, ReadErrorKind};
use crate::ods_read::{OdsBook, OdsRows};
use crate::sheet_read::{XlsxBook, XlsxRows};
use crate::{Format, Limits, ReadOptions};

/// One cell's content as text.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A spreadsheet error value such as "#N/A" or "#DIV/0!".
    Error(String),
}

impl Cell {
    /// The text; `""` for an empty cell, the error code for an error cell.
    pub fn as_str(&self) -> &str {
        match self {
            Cell::Empty => "",
            Cell::Text(s) | Cell::Error(s) => s,
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }
}

/// A row as a spreadsheet program numbers it: the header is row 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<Cell>,
}

enum Book {
    Csv {
        path: PathBuf,
        setup: CsvSetup,
        name: String,
    },
    Xlsx {
        book: Box<XlsxBook>,
        names: Vec<String>,
    },
    Ods(Box<OdsBook>),
}

/// An opened spreadsheet file.
pub struct Workbook {
    format: Format,
    book: Book,
    limits: Limits,
}

impl Workbook {
    /// Detects the format, runs the zip safety checks for XLSX/ODS, and for
    /// CSV settles the encoding and delimiter.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Workbook, ReadError> {
        // Detection opens zips too, so their entry count is checked first.
        crate::archive::check_entry_count(path, &options.limits)?;
        let format = Format::detect(path)?;
        let book = match format {
            Format::Csv => Book::Csv {
                path: path.to_owned(),
                setup: csv_read::inspect(path, options)?,
                name: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "Sheet1".to_owned()),
            },
            Format::Xlsx => {
                check_archive(path, &options.limits)?;
                let book: XlsxBook =
                    calamine::Xlsx::new(BufReader::new(File::open(path)?)).map_err(corrupt)?;
                let names = book.sheet_names();
                Book::Xlsx {
                    book: Box::new(book),
                    names,
                }
            }
            Format::Ods => {
                check_archive(path, &options.limits)?;
                Book::Ods(Box::new(OdsBook::open(path, &options.limits)?))
            }
        };
        Ok(Workbook {
            format,
            book,
            limits: options.limits.clone(),
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Sheet names in workbook order; a CSV has one, named after the file stem.
    pub fn sheet_names(&self) -> Vec<String> {
        match &self.book {
            Book::Csv { name, .. } => vec![name.clone()],
            Book::Xlsx { names, .. } => names.clone(),
            Book::Ods(book) => book.sheet_names().to_vec(),
        }
    }

    /// CSV only: the encoding in use, e.g. "UTF-8", "UTF-16LE", "windows-1252".
    pub fn encoding_name(&self) -> Option<&'static str> {
        match &self.book {
            Book::Csv { setup, .. } => Some(setup.encoding.name()),
            _ => None,
        }
    }

    /// CSV only: the field delimiter in use.
    pub fn delimiter(&self) -> Option<u8> {
        match &self.book {
            Book::Csv { setup, .. } => Some(setup.delimiter),
            _ => None,
        }
    }

    /// Rows of one sheet (`None` = the first), header row included as row 1.
    pub fn rows(&mut self, sheet: Option<&str>) -> Result<Rows<'_>, ReadError> {
        let names = self.sheet_names();
        let index = match sheet {
            Some(wanted) => names.iter().position(|n| n == wanted).ok_or_else(|| {
                ReadError::new(ReadErrorKind::SheetNotFound {
                    name: crate::error::shorten(wanted),
                    available: names.clone(),
                })
            })?,
            None if names.is_empty() => return Err(ReadError::new(ReadErrorKind::Empty)),
            None => 0,
        };
        let name = names[index].clone();
        let max_columns = self.limits.max_columns;
        let (source, sheet_label) = match &mut self.book {
            Book::Csv { path, setup, .. } => (
                Source::Csv(CsvParser::open(path, *setup, &self.limits)?),
                None,
            ),
            Book::Xlsx { book, .. } => {
                let rows =
                    XlsxRows::new(book, &name, max_columns).map_err(|e| e.in_sheet(Some(&name)))?;
                (Source::Xlsx(rows), Some(name))
            }
            Book::Ods(book) => {
                let rows = book.rows(index).map_err(|e| e.in_sheet(Some(&name)))?;
                (Source::Ods(Box::new(rows)), Some(name))
            }
        };
        Ok(Rows {
            source,
            sheet: sheet_label,
            limits: self.limits.clone(),
            width: None,
            cells: Vec::new(),
            yielded: false,
            done: false,
        })
    }
}

enum Source<'a> {
    Csv(CsvParser),
    Xlsx(XlsxRows<'a>),
    Ods(Box<OdsRows<'a>>),
}

impl Source<'_> {
    fn next_raw(&mut self, cells: &mut Vec<Cell>) -> Result<Option<u64>, ReadError> {
        match self {
            Source::Csv(p) => p.next_record(cells),
            Source::Xlsx(x) => x.next_row(cells),
            Source::Ods(o) => o.next_row(cells),
        }
    }

    fn is_csv(&self) -> bool {
        matches!(self, Source::Csv(_))
    }
}

/// Rows of one sheet. Items are rows or errors; after a fatal error the
/// iterator ends, after a non-fatal one it continues with the next row.
pub struct Rows<'a> {
    source: Source<'a>,
    sheet: Option<String>,
    limits: Limits,
    /// Set by the header row.
    width: Option<usize>,
    cells: Vec<Cell>,
    yielded: bool,
    done: bool,
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_item();
        match &item {
            // A row error before the header is known ends the sheet too: the
            // next row must not silently become the header.
            Some(Err(e)) if e.is_fatal() || self.width.is_none() => self.done = true,
            None => self.done = true,
            _ => {}
        }
        item.map(|r| r.map_err(|e| e.in_sheet(self.sheet.as_deref())))
    }
}

impl Rows<'_> {
    fn next_item(&mut self) -> Option<Result<Row, ReadError>> {
        loop {
            let number = match self.source.next_raw(&mut self.cells) {
                Err(e) => return Some(Err(e)),
                Ok(None) if self.yielded => return None,
                Ok(None) => return Some(Err(ReadError::new(ReadErrorKind::Empty))),
                Ok(Some(n)) => n,
            };
            if self.cells.iter().all(Cell::is_empty) {
                continue;
            }
            self.yielded = true;
            return Some(self.shape(number));
        }
    }

    /// Applies limits and the header width to a non-empty raw row.
    fn shape(&mut self, number: u64) -> Result<Row, ReadError> {
        if number.saturating_sub(1) > self.limits.max_rows {
            return Err(ReadError::new(ReadErrorKind::TooManyRows {
                limit: self.limits.max_rows,
            })
            .at_row(number));
        }
        let max_chars = self.limits.max_cell_chars;
        let too_long = self
            .cells
            .iter()
            .position(|c| c.as_str().len() > max_chars && c.as_str().chars().count() > max_chars);
        if let Some(col) = too_long {
            return Err(
                ReadError::new(ReadErrorKind::CellTooLong { limit: max_chars })
                    .at_row(number)
                    .at_column(col + 1),
            );
        }
        let csv = self.source.is_csv();
        if !csv {
            // A CSV export opened in an office suite and saved as XLSX or ODS keeps
            // the formula apostrophe as text (`'+44 20 7946 0958`); it is removed
            // as the CSV reader removes it. A person typing `'=x` in a spreadsheet
            // stores `=x`, so such a cell cannot mean anything else.
            self.cells.iter_mut().for_each(csv_read::unescape_cell);
        }
        match self.width {
            None => {
                if !csv {
                    // Spreadsheets keep formatted blank cells; they are not columns.
                    while self.cells.last().is_some_and(Cell::is_empty) {
                        self.cells.pop();
                    }
                }
                self.width = Some(self.cells.len());
            }
            // CSV rows must match the header exactly; spreadsheet rows may be
            // shorter (blank cells are not stored) but a value beyond the
            // header would be silently lost if we cut it, so it is reported.
            Some(width) if self.cells.len() > width || (csv && self.cells.len() != width) => {
                return Err(ReadError::new(ReadErrorKind::RaggedRow {
                    expected: width,
                    found: self.cells.len(),
                })
                .at_row(number));
            }
            Some(width) => self.cells.resize(width, Cell::Empty),
        }
        let width = self.width.unwrap_or(0);
        let cells = std::mem::replace(&mut self.cells, Vec::with_capacity(width));
        Ok(Row { number, cells })
    }
}

#[cfg(test)]
mod tests;
