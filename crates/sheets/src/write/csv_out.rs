//! CSV output: UTF-8 with a BOM (so Excel shows accents), `,`, CRLF. Cells
//! that a spreadsheet would run as a formula get a leading `'`
//! (formula-injection defence); our reader removes it again so a round trip
//! is lossless.
//!
//! Quoting goes beyond what RFC 4180 needs, because the file may be opened
//! by a spreadsheet that splits it on another delimiter: a European-locale
//! spreadsheet reads `x;=1+2` written with `,` as two cells, the second a
//! formula. So a row in which any field holds a delimiter that a reader might
//! pick (`,` `;` tab), a quote, CR or LF is written with *every* field
//! quoted. Quoting only the field itself is not enough: LibreOffice honours a
//! quote only at the start of a field, so in `alice,"x;=1+2"` read with `;`
//! the quote sits inside the field `alice,"x` and `=1+2"` becomes a formula.
//! A field that opens with a quote runs, for LibreOffice, to the first lone
//! quote followed by its separator or the end of the line, so a row quoted
//! in full is one cell whatever the separator, as long as no field starts
//! with a separator (those get the `'` too) and the row ends with a lone
//! quote (see [`write_record`]). `write/tests.rs` models that reading.

use std::io::{BufWriter, Write};

use super::WorkbookWriter;
use crate::WriteError;

/// Bytes that make a row quoted in full: every delimiter the sniffer (ours
/// and a spreadsheet's) may choose, plus what RFC 4180 itself must quote.
const QUOTE_TRIGGERS: [u8; 6] = [b',', b';', b'\t', b'"', b'\r', b'\n'];

pub(crate) struct CsvWriter {
    out: Option<Box<dyn Write + Send>>,
    csv: Option<BufWriter<Box<dyn Write + Send>>>,
}

impl CsvWriter {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        CsvWriter {
            out: Some(out),
            csv: None,
        }
    }
}

/// `'` in front of text that starts like a formula.
pub(crate) fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_defusing(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Whether `cell` gets a leading `'` on export, which the CSV reader removes
/// again (see `csv_read::unescape_formula`).
///
/// A formula trigger (`= + - @`, tab, CR) at the start needs it. So does a
/// leading `,` or `;`, even behind quotes: LibreOffice closes a quoted field
/// at a lone quote followed by its separator, so `"a",";=1+2"` read with `;`
/// ends a cell at `";` and starts the next with `=1+2`; after the `'` the
/// quote is followed by `'`. Text made only of `'` and `"`, or that starts
/// with them before any of these, gets one more `'`, so that removing one
/// on import gives back exactly what was exported.
pub(crate) fn needs_defusing(cell: &str) -> bool {
    let rest = cell.trim_start_matches(['\'', '"']);
    match rest.as_bytes().first() {
        None => !cell.is_empty(),
        Some(b) => matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b',' | b';'),
    }
}

/// Whether a reader splitting on `,` `;` or tab without regard to quotes
/// would start a cell of this field with a formula trigger.
fn splits_into_formula(cell: &str) -> bool {
    cell.match_indices([',', ';', '\t']).any(|(i, _)| {
        let after = cell[i + 1..].trim_start_matches([' ', '"']);
        matches!(after.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@'))
    })
}

/// Whether a field holds a byte that forces its row to be quoted.
fn needs_quotes(cell: &str) -> bool {
    cell.bytes().any(|b| QUOTE_TRIGGERS.contains(&b))
}

/// Writes one row, CRLF-terminated, every field quoted or none.
///
/// LibreOffice reads a line that opens with a quote as one quoted stretch
/// only if it finds a lone closing quote at the end of the line; otherwise it
/// takes the line literally and splits at every separator. A quoted empty
/// last field (`""`) is two paired quotes, not a closing one, so in a row
/// whose fields would split into a formula the empty last field is written
/// as `'`, which the reader turns back into an empty cell.
fn write_record(out: &mut impl Write, cells: &[&str]) -> std::io::Result<()> {
    // A lone empty field is quoted too, or the row would be a blank line.
    let quote_all = cells.iter().any(|c| needs_quotes(c)) || cells == [""];
    let mark_end = quote_all && cells.iter().any(|c| splits_into_formula(c));
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let cell = if mark_end && cell.is_empty() && i + 1 == cells.len() {
            "'".into()
        } else {
            defuse(cell)
        };
        if quote_all {
            write_quoted(out, &cell)?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// One field in quotes; inside them only the quote itself needs doubling.
fn write_quoted(out: &mut impl Write, cell: &str) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    let mut parts = cell.split('"');
    if let Some(first) = parts.next() {
        out.write_all(first.as_bytes())?;
    }
    for part in parts {
        out.write_all(b"\"\"")?;
        out.write_all(part.as_bytes())?;
    }
    out.write_all(b"\"")
}

impl WorkbookWriter for CsvWriter {
    fn start_sheet(&mut self, _name: &str, headers: &[&str]) -> Result<(), WriteError> {
        let mut out = self.out.take().ok_or(WriteError::CsvSecondSheet)?;
        out.write_all("\u{feff}".as_bytes())?;
        self.csv = Some(BufWriter::with_capacity(64 * 1024, out));
        self.write_row(headers)
    }

    fn write_row(&mut self, cells: &[&str]) -> Result<(), WriteError> {
        let csv = self.csv.as_mut().ok_or(WriteError::NoSheet)?;
        write_record(csv, cells)?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), WriteError> {
        match (self.csv.take(), self.out.take()) {
            (Some(mut csv), _) => csv.flush()?,
            // No sheet at all: an empty file is still a valid (empty) CSV.
            (None, Some(mut out)) => out.flush()?,
            (None, None) => {}
        }
        Ok(())
    }
}
