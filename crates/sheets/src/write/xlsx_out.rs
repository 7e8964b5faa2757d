//! XLSX output with rust_xlsxwriter in constant-memory mode (each row goes to
//! a temp file as soon as the next one starts). Every cell is written as a
//! string so nothing is reinterpreted as a number, date or formula. The zip is
//! assembled in a temp file and copied to the output at the end, because the
//! output may not be seekable.

use std::io::Write;

use rust_xlsxwriter::{Format as CellFormat, Workbook};

use super::WorkbookWriter;
use crate::WriteError;

/// Excel's limit on sheet names.
const MAX_SHEET_NAME: usize = 31;

pub(crate) struct XlsxWriter {
    out: Box<dyn Write + Send>,
    book: Workbook,
    sheet: Option<usize>,
    next_row: u32,
    sheets: usize,
}

impl XlsxWriter {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        XlsxWriter {
            out,
            book: Workbook::new(),
            sheet: None,
            next_row: 0,
            sheets: 0,
        }
    }
}

/// Replaces characters Excel forbids in sheet names and cuts to 31 chars.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(MAX_SHEET_NAME)
        .collect();
    let trimmed = cleaned.trim_matches('\'');
    if trimmed.trim().is_empty() {
        "Sheet".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Wide enough for the header, within sensible bounds.
fn column_width(header: &str) -> f64 {
    (header.chars().count() as f64 + 4.0).clamp(12.0, 50.0)
}

impl WorkbookWriter for XlsxWriter {
    fn start_sheet(&mut self, name: &str, headers: &[&str]) -> Result<(), WriteError> {
        let bold = CellFormat::new().set_bold();
        let sheet = self.book.add_worksheet_with_constant_memory();
        sheet.set_name(sheet_name(name))?;
        // Widths and panes must be set before any row is flushed.
        for (col, header) in headers.iter().enumerate() {
            sheet.set_column_width(col_index(col)?, column_width(header))?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (col, header) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, col_index(col)?, *header, &bold)?;
        }
        self.sheet = Some(self.sheets);
        self.sheets += 1;
        self.next_row = 1;
        Ok(())
    }

    fn write_row(&mut self, cells: &[&str]) -> Result<(), WriteError> {
        let index = self.sheet.ok_or(WriteError::NoSheet)?;
        let sheet = self.book.worksheet_from_index(index)?;
        let row = self.next_row;
        for (col, cell) in cells.iter().enumerate() {
            // Empty cells are simply not stored, as Excel itself does.
            if !cell.is_empty() {
                sheet.write_string(row, col_index(col)?, *cell)?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), WriteError> {
        if self.sheets == 0 {
            // An XLSX must contain a sheet; an empty one keeps the file valid.
            self.book.add_worksheet();
        }
        let mut file = tempfile::tempfile()?;
        self.book.save_to_writer(&mut file)?;
        super::copy_out(file, &mut self.out)
    }
}

fn col_index(col: usize) -> Result<u16, WriteError> {
    u16::try_from(col)
        .map_err(|_| WriteError::Xlsx(format!("column {} is beyond what XLSX allows", col + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_excel_safe() {
        assert_eq!(sheet_name("a/b"), "a_b");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(sheet_name("''"), "Sheet");
    }
}
