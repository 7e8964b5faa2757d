//! XLSX reading through calamine, turned into positioned rows of text.
//!
//! XLSX is streamed cell by cell (`worksheet_cells_reader`) and grouped into
//! rows as the cells arrive, so a million-row sheet never sits in memory.
//! ODS has its own streaming reader (`ods_read.rs`) that shares the value
//! rules below.
//!
//! Values become text the way a person reading the sheet would type them:
//! numbers that Excel stored as floats but are really identifiers (phone
//! numbers, employee ids) come back as plain digits, never "4.42E+12".

use std::fs::File;
use std::io::BufReader;

use calamine::{DataRef, ExcelDateTime, Xlsx};

use crate::archive::corrupt;
use crate::error::{ReadError, ReadErrorKind};
use crate::Cell;

pub(crate) type XlsxBook = Xlsx<BufReader<File>>;

/// One cell as (0-based row, 0-based column, value).
type Positioned = (u32, u32, Cell);
/// calamine's cell reader type is not exported, so it lives inside a closure.
type NextCell<'a> = Box<dyn FnMut() -> Result<Option<Positioned>, ReadError> + 'a>;

/// Rows of one XLSX worksheet, streamed.
pub(crate) struct XlsxRows<'a> {
    next_cell: NextCell<'a>,
    pending: Option<Positioned>,
    max_columns: usize,
    /// calamine reports an error if asked for a cell after the last one.
    finished: bool,
}

impl<'a> XlsxRows<'a> {
    pub(crate) fn new(
        book: &'a mut XlsxBook,
        sheet: &str,
        max_columns: usize,
    ) -> Result<Self, ReadError> {
        let mut reader = book.worksheet_cells_reader(sheet).map_err(corrupt)?;
        let next_cell: NextCell<'a> = Box::new(move || match reader.next_cell() {
            Ok(Some(cell)) => {
                let (row, col) = cell.get_position();
                Ok(Some((row, col, from_data_ref(cell.get_value()))))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(corrupt(e)),
        });
        Ok(XlsxRows {
            next_cell,
            pending: None,
            max_columns,
            finished: false,
        })
    }

    /// Collects all cells of the next stored row into `cells`; returns the
    /// 1-based row number, or `None` after the last row.
    pub(crate) fn next_row(&mut self, cells: &mut Vec<Cell>) -> Result<Option<u64>, ReadError> {
        cells.clear();
        let first = match self.pending.take() {
            Some(cell) => cell,
            None => match self.pull()? {
                Some(cell) => cell,
                None => return Ok(None),
            },
        };
        let row = first.0;
        place(cells, first, self.max_columns)?;
        loop {
            match self.pull()? {
                Some(cell) if cell.0 == row => place(cells, cell, self.max_columns)?,
                Some(cell) => {
                    self.pending = Some(cell);
                    break;
                }
                None => break,
            }
        }
        Ok(Some(u64::from(row) + 1))
    }

    fn pull(&mut self) -> Result<Option<Positioned>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        let cell = (self.next_cell)()?;
        self.finished = cell.is_none();
        Ok(cell)
    }
}

/// Puts a non-empty cell at its column, padding the gap with `Empty`.
/// Empty cells are skipped, so formatted-but-blank columns far to the right
/// neither cost memory nor trip the column limit.
fn place(
    cells: &mut Vec<Cell>,
    (row, col, cell): Positioned,
    max_columns: usize,
) -> Result<(), ReadError> {
    if cell.is_empty() {
        return Ok(());
    }
    let col = col as usize;
    if col >= max_columns {
        return Err(
            ReadError::new(ReadErrorKind::TooManyColumns { limit: max_columns })
                .at_row(u64::from(row) + 1)
                .at_column(col + 1),
        );
    }
    if cells.len() <= col {
        cells.resize(col + 1, Cell::Empty);
    }
    cells[col] = cell;
    Ok(())
}

fn from_data_ref(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Int(i) => Cell::Text(i.to_string()),
        DataRef::Float(f) => Cell::Text(float_text(*f)),
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Bool(b) => Cell::Text(bool_text(*b)),
        DataRef::DateTime(dt) => Cell::Text(datetime_text(dt)),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
        DataRef::Empty => Cell::Empty,
    }
}

fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_owned())
    }
}

fn bool_text(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_owned()
}

/// Integers stored as floats come back as digits; other values use Rust's
/// shortest round-trip formatting, which never uses exponent notation.
pub(crate) fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        (f as i64).to_string()
    } else {
        f.to_string()
    }
}

/// ISO 8601: a date, a time, or both; durations as `PT..H..M..S`.
fn datetime_text(dt: &ExcelDateTime) -> String {
    let serial = dt.as_f64();
    if dt.is_duration() {
        return duration_text((serial * 86_400.0).round() as i64);
    }
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let time = if ms == 0 {
        format!("{h:02}:{mi:02}:{s:02}")
    } else {
        format!("{h:02}:{mi:02}:{s:02}.{ms:03}")
    };
    if (0.0..1.0).contains(&serial) {
        time
    } else if serial.fract() == 0.0 {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{time}")
    }
}

/// A duration of whole seconds as `PT..H..M..S`, hours unbounded.
pub(crate) fn duration_text(total: i64) -> String {
    let sign = if total < 0 { "-" } else { "" };
    let t = total.unsigned_abs();
    format!("{sign}PT{}H{}M{}S", t / 3600, t / 60 % 60, t % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn floats() {
        assert_eq!(float_text(4420794609580.0), "4420794609580");
        assert_eq!(float_text(1.23e12), "1230000000000");
        assert_eq!(float_text(1.5), "1.5");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(1e20), "100000000000000000000");
        assert_eq!(float_text(1e-7), "0.0000001");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn dates() {
        let d = ExcelDateTime::new(45352.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(datetime_text(&d), "2024-03-01");
        let d = ExcelDateTime::new(45352.0 + 9.5 / 24.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(datetime_text(&d), "2024-03-01T09:30:00");
        let d = ExcelDateTime::new(0.75, ExcelDateTimeType::DateTime, false);
        assert_eq!(datetime_text(&d), "18:00:00");
        let d = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(datetime_text(&d), "PT36H0M0S");
    }
}
