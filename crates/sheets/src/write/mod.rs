//! The writing API: one [`WorkbookWriter`] per format, chosen by [`writer`], for plain rows
//! (exports), and [`StyledWorkbook`] for workbooks people read and fill in (notes, fills,
//! dropdowns: error workbooks, templates). Every cell is written as text, exactly as given;
//! numbers, dates and formulas are never inferred, so "00123" and "+44 20 7946 0958" survive.

mod csv_out;
mod ods_out;
mod styled;
mod xlsx_stream;
mod xml;

use std::io::Write;

pub(crate) use csv_out::needs_defusing;
pub use styled::{
    CellNote, CellStyle, Dropdown, DropdownChoices, DropdownStrictness, StyledCell, StyledWorkbook,
};

use crate::{Format, WriteError};

/// Writes sheets of text rows. Call `start_sheet`, then `write_row` for each
/// data row, repeat for more sheets (not CSV), then `finish`.
pub trait WorkbookWriter {
    /// Starts a new sheet and writes its header row.
    fn start_sheet(&mut self, name: &str, headers: &[&str]) -> Result<(), WriteError>;
    fn write_row(&mut self, cells: &[&str]) -> Result<(), WriteError>;
    /// Flushes everything to the output given at creation.
    fn finish(self: Box<Self>) -> Result<(), WriteError>;
}

/// A writer for `format` that delivers the finished file to `out`.
pub use xlsx_stream::column_letters;

pub fn writer(format: Format, out: Box<dyn Write + Send>) -> Box<dyn WorkbookWriter + Send> {
    match format {
        Format::Csv => Box::new(csv_out::CsvWriter::new(out)),
        Format::Xlsx => Box::new(xlsx_stream::XlsxStreamWriter::new(out)),
        Format::Ods => Box::new(ods_out::OdsWriter::new(out)),
    }
}

/// An XLSX or ODS cell's text: as given, except that text starting with `'`
/// that the readers would take for a CSV formula apostrophe (see
/// `csv_read::unescape_cell`) gets one more, so it reads back unchanged.
///
/// Every XLSX or ODS muster writes goes through it, the styled ones (templates, error
/// workbooks) included.
pub fn spreadsheet_text(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with('\'') {
        csv_out::defuse(cell)
    } else {
        cell.into()
    }
}

/// Copies a finished temp file to the real output. XLSX and ODS need a
/// seekable file while being built, and `out` may be a pipe or stdout.
fn copy_out(mut file: std::fs::File, out: &mut dyn Write) -> Result<(), WriteError> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut file, out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests;
