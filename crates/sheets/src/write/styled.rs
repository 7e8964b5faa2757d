//! The styled writer: workbooks people read and fill in (error workbooks, templates), with a bold
//! header, light red bad cells, wrapped prose, notes on cells, dropdowns on columns, column
//! widths and a frozen header row.
//!
//! What each format keeps:
//!
//! | | XLSX | CSV | ODS |
//! |---|---|---|---|
//! | sheets, cells as text | yes | one sheet | yes |
//! | bold header, fills, wrapping | yes | no | its own bold header only |
//! | notes, dropdowns, widths, frozen header, hidden sheets | yes | no | no |
//!
//! XLSX goes through rust_xlsxwriter, which writes notes and data validations; CSV and ODS go
//! through [`writer`](super::writer) and get the text only, exactly as a plain export writes it:
//! the first row written to a sheet is its header, and everything else is silently dropped.
//! Every cell is text (never a number, date or formula) and passes through
//! [`spreadsheet_text`](super::spreadsheet_text), so a leading apostrophe reads back unchanged.
//!
//! [`StyledWorkbook::streaming`] keeps XLSX memory flat: rust_xlsxwriter's constant-memory mode
//! (the `constant_memory` feature) sends each sheet's rows to a temp file as they are written, so
//! rows must come in order and only the notes stay in memory. [`StyledWorkbook::new`] keeps the
//! sheets in memory until `finish`, for small workbooks; its strings are shared, as Excel writes
//! them. Either way the package is built in a temp file and copied to the output at the end,
//! because the output may not be seekable.

use std::io::Write;
use std::ops::RangeInclusive;

use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format as XlsxFormat, Formula, Note,
    Workbook as XlsxBook, XlsxError,
};

use super::{spreadsheet_text, WorkbookWriter};
use crate::{Format, WriteError};

/// How a cell looks in XLSX; other formats show the text only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellStyle {
    Plain,
    /// A header cell.
    Bold,
    /// A cell to fix: Excel's light red "bad" fill.
    Bad,
    /// Prose that wraps within its column.
    Wrapped,
}

/// A note (comment) on a cell, by author `muster`, without the author's name prefixed to the
/// text. Text beyond Excel's limit is cut and ends with `…`.
#[derive(Clone, Debug, PartialEq)]
pub struct CellNote {
    text: String,
    /// The box's width and height in pixels; Excel's small default when `None`.
    size: Option<(u32, u32)>,
}

impl CellNote {
    pub fn new(text: impl Into<String>) -> CellNote {
        CellNote {
            text: text.into(),
            size: None,
        }
    }

    /// A box of `width` × `height` pixels instead of the default, which is too small for a
    /// sentence.
    pub fn with_size(mut self, width: u32, height: u32) -> CellNote {
        self.size = Some((width, height));
        self
    }
}

/// One cell of a styled row: its text, look and note.
#[derive(Clone, Debug, PartialEq)]
pub struct StyledCell<'a> {
    pub text: &'a str,
    pub style: CellStyle,
    pub note: Option<CellNote>,
}

impl<'a> StyledCell<'a> {
    pub fn plain(text: &'a str) -> StyledCell<'a> {
        StyledCell {
            text,
            style: CellStyle::Plain,
            note: None,
        }
    }

    pub fn styled(text: &'a str, style: CellStyle) -> StyledCell<'a> {
        StyledCell {
            text,
            style,
            note: None,
        }
    }

    pub fn with_note(mut self, note: CellNote) -> StyledCell<'a> {
        self.note = Some(note);
        self
    }
}

/// What a dropdown offers.
#[derive(Clone, Debug, PartialEq)]
pub enum DropdownChoices {
    /// The given values; together at most 255 characters (Excel's limit on a list literal).
    Values(Vec<String>),
    /// The cells a formula names, e.g. `=Lists!$A$2:$A$9`, for lists of any length.
    Cells(String),
}

/// What Excel does with a value the dropdown does not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropdownStrictness {
    /// Refuses it.
    Stop,
    /// Asks whether to keep it.
    Warning,
    /// Says so and keeps it.
    Information,
}

/// A dropdown (list data validation) on a column range, with the message shown for a value it
/// does not offer.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropdown {
    pub choices: DropdownChoices,
    pub strictness: DropdownStrictness,
    pub error_title: String,
    pub error_message: String,
}

/// A workbook of styled sheets. Call `add_sheet`, set up its columns, write its rows in order
/// (the first is the header), repeat for more sheets (not CSV), then `finish`.
pub struct StyledWorkbook {
    target: Target,
}

enum Target {
    Xlsx(Box<XlsxTarget>),
    /// CSV or ODS: text through the plain writer. The sheet waits for its first row, which is
    /// the plain writer's header.
    Plain {
        writer: Box<dyn WorkbookWriter + Send>,
        pending: Option<String>,
    },
}

struct XlsxTarget {
    book: XlsxBook,
    out: Box<dyn Write + Send>,
    constant_memory: bool,
    /// Names given so far, for Excel's rule that names differ ignoring case.
    names: Vec<String>,
    /// 0-based row the next `write_row` goes to in the current sheet.
    next_row: u32,
    bold: XlsxFormat,
    bad: XlsxFormat,
    wrapped: XlsxFormat,
}

/// Excel's light red "bad" fill.
const BAD_FILL: u32 = 0xFFC7CE;

/// Excel caps a note at 32,767 characters minus room for the author prefix.
const MAX_NOTE_CHARS: usize = 32_713;

impl StyledWorkbook {
    /// A workbook whose XLSX sheets are held in memory until `finish`: for small workbooks.
    pub fn new(format: Format, out: Box<dyn Write + Send>) -> StyledWorkbook {
        StyledWorkbook::with_memory(format, out, false)
    }

    /// A workbook whose XLSX rows go to a temp file as they are written, so memory stays flat
    /// however many rows there are; only notes are kept until `finish`.
    pub fn streaming(format: Format, out: Box<dyn Write + Send>) -> StyledWorkbook {
        StyledWorkbook::with_memory(format, out, true)
    }

    fn with_memory(
        format: Format,
        out: Box<dyn Write + Send>,
        constant_memory: bool,
    ) -> StyledWorkbook {
        let target = match format {
            Format::Xlsx => Target::Xlsx(Box::new(XlsxTarget {
                book: XlsxBook::new(),
                out,
                constant_memory,
                names: Vec::new(),
                next_row: 0,
                bold: XlsxFormat::new().set_bold(),
                bad: XlsxFormat::new().set_background_color(Color::RGB(BAD_FILL)),
                wrapped: XlsxFormat::new().set_text_wrap(),
            })),
            Format::Csv | Format::Ods => Target::Plain {
                writer: super::writer(format, out),
                pending: None,
            },
        };
        StyledWorkbook { target }
    }

    /// Starts a sheet. In XLSX its name is made one Excel accepts (no `[]:*?/\`, at most 31
    /// characters, unique ignoring case); a CSV ignores it.
    pub fn add_sheet(&mut self, name: &str) -> Result<(), WriteError> {
        match &mut self.target {
            Target::Xlsx(x) => {
                let name = excel_sheet_name(name, &x.names);
                let sheet = if x.constant_memory {
                    x.book.add_worksheet_with_constant_memory()
                } else {
                    x.book.add_worksheet()
                };
                sheet.set_name(name.as_str())?;
                x.names.push(name);
                x.next_row = 0;
                Ok(())
            }
            Target::Plain { writer, pending } => {
                if let Some(name) = pending.take() {
                    // A sheet that got no row still exists in the plain formats.
                    writer.start_sheet(&name, &[])?;
                }
                *pending = Some(name.to_owned());
                Ok(())
            }
        }
    }

    /// Sets a column's width in characters (XLSX only).
    pub fn set_column_width(&mut self, column: usize, width: f64) -> Result<(), WriteError> {
        if let Target::Xlsx(x) = &mut self.target {
            let column = column_number(column)?;
            x.sheet()?.set_column_width(column, width)?;
        }
        Ok(())
    }

    /// Keeps the first row visible while scrolling (XLSX only).
    pub fn freeze_header(&mut self) -> Result<(), WriteError> {
        if let Target::Xlsx(x) = &mut self.target {
            x.sheet()?.set_freeze_panes(1, 0)?;
        }
        Ok(())
    }

    /// Hides the current sheet, e.g. one that only holds a dropdown's lists (XLSX only).
    pub fn hide_sheet(&mut self) -> Result<(), WriteError> {
        if let Target::Xlsx(x) = &mut self.target {
            x.sheet()?.set_hidden(true);
        }
        Ok(())
    }

    /// Adds a dropdown on `column` for the 0-based `rows` (the header is row 0) (XLSX only).
    pub fn add_dropdown(
        &mut self,
        column: usize,
        rows: RangeInclusive<u32>,
        dropdown: &Dropdown,
    ) -> Result<(), WriteError> {
        if let Target::Xlsx(x) = &mut self.target {
            let column = column_number(column)?;
            let validation = data_validation(dropdown)?;
            x.sheet()?.add_data_validation(
                *rows.start(),
                column,
                *rows.end(),
                column,
                &validation,
            )?;
        }
        Ok(())
    }

    /// Writes the current sheet's next row; the first row of a sheet is its header. An empty
    /// plain cell is not written at all; an empty styled one is a blank cell with the style.
    pub fn write_row(&mut self, cells: &[StyledCell<'_>]) -> Result<(), WriteError> {
        match &mut self.target {
            Target::Xlsx(x) => x.write_row(cells),
            Target::Plain { writer, pending } => {
                let texts: Vec<&str> = cells.iter().map(|c| c.text).collect();
                match pending.take() {
                    Some(name) => writer.start_sheet(&name, &texts),
                    None => writer.write_row(&texts),
                }
            }
        }
    }

    /// Delivers the finished file to the output given at creation.
    pub fn finish(self) -> Result<(), WriteError> {
        match self.target {
            Target::Xlsx(mut x) => {
                let mut file = tempfile::tempfile()?;
                x.book.save_to_writer(&mut file)?;
                super::copy_out(file, &mut x.out)
            }
            Target::Plain {
                mut writer,
                pending,
            } => {
                if let Some(name) = pending {
                    writer.start_sheet(&name, &[])?;
                }
                writer.finish()
            }
        }
    }
}

impl XlsxTarget {
    fn sheet(&mut self) -> Result<&mut rust_xlsxwriter::Worksheet, WriteError> {
        let Some(index) = self.names.len().checked_sub(1) else {
            return Err(WriteError::NoSheet);
        };
        Ok(self.book.worksheet_from_index(index)?)
    }

    fn write_row(&mut self, cells: &[StyledCell<'_>]) -> Result<(), WriteError> {
        let row = self.next_row;
        let index = self.names.len().checked_sub(1).ok_or(WriteError::NoSheet)?;
        // The book and the formats are borrowed apart, so the formats need no copy per row.
        let sheet = self.book.worksheet_from_index(index)?;
        let (bold, bad, wrapped) = (&self.bold, &self.bad, &self.wrapped);
        for (index, cell) in cells.iter().enumerate() {
            let column = column_number(index)?;
            let text = &*spreadsheet_text(cell.text);
            // Every value is written as a string, so nothing becomes a number or a formula; an
            // empty string is skipped, or written as a blank cell when it has a format.
            let written = match cell.style {
                CellStyle::Plain => sheet.write_string(row, column, text),
                CellStyle::Bold => sheet.write_string_with_format(row, column, text, bold),
                CellStyle::Bad => sheet.write_string_with_format(row, column, text, bad),
                CellStyle::Wrapped => sheet.write_string_with_format(row, column, text, wrapped),
            };
            written?;
        }
        for (index, cell) in cells.iter().enumerate() {
            if let Some(note) = &cell.note {
                sheet.insert_note(row, column_number(index)?, &xlsx_note(note))?;
            }
        }
        self.next_row += 1;
        Ok(())
    }
}

fn xlsx_note(note: &CellNote) -> Note {
    let note_box = Note::new(cut(&note.text, MAX_NOTE_CHARS))
        .set_author("muster")
        .add_author_prefix(false);
    match note.size {
        Some((width, height)) => note_box.set_width(width).set_height(height),
        None => note_box,
    }
}

fn data_validation(dropdown: &Dropdown) -> Result<DataValidation, XlsxError> {
    let validation = match &dropdown.choices {
        DropdownChoices::Values(values) => DataValidation::new().allow_list_strings(values)?,
        DropdownChoices::Cells(formula) => {
            DataValidation::new().allow_list_formula(Formula::new(formula))
        }
    };
    let validation = match dropdown.strictness {
        // Stop is Excel's default; leaving it unset keeps the XML as Excel writes it.
        DropdownStrictness::Stop => validation,
        DropdownStrictness::Warning => {
            validation.set_error_style(DataValidationErrorStyle::Warning)
        }
        DropdownStrictness::Information => {
            validation.set_error_style(DataValidationErrorStyle::Information)
        }
    };
    validation
        .set_error_title(dropdown.error_title.as_str())?
        .set_error_message(dropdown.error_message.as_str())
}

/// An XLSX column number, or Excel's grid error.
fn column_number(index: usize) -> Result<u16, WriteError> {
    u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError.into())
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text[at..].chars().nth(1).is_some() => format!("{}…", &text[..at]),
        _ => text.to_owned(),
    }
}

/// A name Excel accepts, unique ignoring case: a sheet name read from ODS or CSV may be longer
/// than 31 characters or hold `[]:*?/\`, which Excel refuses. A name with nothing left becomes
/// `SheetN`, N being its place in the workbook.
fn excel_sheet_name(name: &str, taken: &[String]) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let cleaned = cleaned.trim_matches('\'').to_owned();
    let base = if cleaned.trim().is_empty() {
        format!("Sheet{}", taken.len() + 1)
    } else {
        cleaned
    };
    super::xlsx_stream::unique_name(base, taken)
}

#[cfg(test)]
#[path = "styled_tests.rs"]
mod tests;
