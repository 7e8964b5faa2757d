//! CSV output: UTF-8 with a BOM (so Excel shows accents), `,`, CRLF, quoting
//! only where RFC 4180 needs it. Cells that a spreadsheet would run as a
//! formula get a leading `'` (formula-injection defence); our reader removes
//! it again so a round trip is lossless.

use std::io::Write;

use super::WorkbookWriter;
use crate::WriteError;

pub(crate) struct CsvWriter {
    out: Option<Box<dyn Write + Send>>,
    csv: Option<csv::Writer<Box<dyn Write + Send>>>,
    started: bool,
}

impl CsvWriter {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        CsvWriter {
            out: Some(out),
            csv: None,
            started: false,
        }
    }

    fn csv(&mut self) -> Result<&mut csv::Writer<Box<dyn Write + Send>>, WriteError> {
        self.csv.as_mut().ok_or(WriteError::NoSheet)
    }
}

/// `'` in front of text that starts like a formula.
pub(crate) fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

impl WorkbookWriter for CsvWriter {
    fn start_sheet(&mut self, _name: &str, headers: &[&str]) -> Result<(), WriteError> {
        if self.started {
            return Err(WriteError::CsvSecondSheet);
        }
        self.started = true;
        let mut out = self.out.take().ok_or(WriteError::CsvSecondSheet)?;
        out.write_all("\u{feff}".as_bytes())?;
        self.csv = Some(
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out),
        );
        self.write_row(headers)
    }

    fn write_row(&mut self, cells: &[&str]) -> Result<(), WriteError> {
        let csv = self.csv()?;
        // Field by field avoids allocating a record per row.
        for cell in cells {
            csv.write_field(defuse(cell).as_bytes())?;
        }
        csv.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), WriteError> {
        match self.csv.take() {
            Some(mut csv) => csv.flush()?,
            // No sheet at all: an empty file is still a valid (empty) CSV.
            None => {
                if let Some(mut out) = self.out.take() {
                    out.flush()?;
                }
            }
        }
        Ok(())
    }
}
