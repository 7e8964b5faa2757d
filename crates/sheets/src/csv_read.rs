//! Strict, streaming CSV reading.
//!
//! We deliberately do not use the `csv` crate for reading: it silently
//! accepts an unclosed quote (swallowing every later line into one cell) and
//! stray quotes inside fields, which in a bulk user import means rows that
//! vanish without a word. This module is a small RFC 4180 state machine that
//! rejects both with the line or row where they happened. It handles CRLF,
//! LF and bare CR line ends, `""` escapes and newlines inside quoted fields.
//!
//! Bytes are decoded in fixed-size chunks by an `encoding_rs` decoder, and the
//! parser scans the decoded UTF-8 text byte by byte (all CSV syntax is ASCII,
//! so slicing at those bytes is always on a character boundary). Memory stays
//! constant whatever the file size: one raw buffer, one text buffer, one field
//! buffer, reused for every record.

use std::fs::File;

use std::path::Path;

use chardetng::EncodingDetector;
use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8};

use crate::error::{ReadError, ReadErrorKind};
use crate::format::read_up_to;
use crate::{Cell, Limits, ReadOptions};

/// How much of the file is inspected for encoding and delimiter.
const SAMPLE_BYTES: usize = 1024 * 1024;
/// Raw bytes read per chunk while streaming.
const CHUNK_BYTES: usize = 64 * 1024;

/// What `inspect` decided about a CSV file before reading it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CsvSetup {
    pub encoding: &'static Encoding,
    pub delimiter: u8,
}

/// The encoding a `--encoding`-style label names (WHATWG labels, surrounding spaces ignored):
/// the one lookup both the reader and a front-end checking its options use.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

/// Decides encoding and delimiter from the options or, failing those, the
/// first megabyte of the file.
pub(crate) fn inspect(path: &Path, options: &ReadOptions) -> Result<CsvSetup, ReadError> {
    let mut file = File::open(path)?;
    let mut sample = vec![0u8; SAMPLE_BYTES];
    let n = read_up_to(&mut file, &mut sample)?;
    sample.truncate(n);
    let encoding = match &options.encoding {
        Some(label) => encoding_for_label(label).ok_or_else(|| {
            ReadError::new(ReadErrorKind::UnknownEncoding {
                label: crate::error::shorten(label),
            })
        })?,
        None => detect_encoding(&sample, n == SAMPLE_BYTES),
    };
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => sniff_delimiter(&encoding.decode_with_bom_removal(&sample).0),
    };
    Ok(CsvSetup {
        encoding,
        delimiter,
    })
}

/// BOM first; then UTF-8 if the sample is valid UTF-8 (a multi-byte sequence
/// cut by the end of a full sample is allowed) or looks like UTF-8 with a few
/// bad bytes; then chardetng's guess (UTF-8 excluded, because we already know
/// it is not valid UTF-8).
fn detect_encoding(sample: &[u8], truncated: bool) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return encoding;
    }
    if let Some(encoding) = utf16_without_bom(sample) {
        return encoding;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        Err(e) if truncated && e.error_len().is_none() => UTF_8,
        Err(_) if looks_like_utf8(sample) => UTF_8,
        Err(_) => {
            let mut detector = EncodingDetector::new();
            detector.feed(sample, !truncated);
            let guess = detector.guess(None, false);
            // chardetng never answers UTF-8 here; guard anyway so a bad guess
            // degrades to the most common legacy encoding of CSV exports.
            if guess == UTF_8 {
                encoding_rs::WINDOWS_1252
            } else {
                guess
            }
        }
    }
}

/// Whether a sample that is not valid UTF-8 is still UTF-8 with some bad
/// bytes, judged line by line. A line with a valid multi-byte sequence and no
/// invalid byte is evidence for UTF-8; a line with an invalid byte is evidence
/// against. In Windows-1252 text every accented letter is a lone high byte
/// between ASCII bytes, which is invalid UTF-8, while a valid sequence needs
/// an uppercase accented letter followed by a symbol such as `©` or `»`, which
/// names and addresses practically never hold. So a sample with at least as
/// many UTF-8 lines as bad lines is UTF-8: its bad bytes become row errors,
/// where reading it as Windows-1252 would silently turn every valid accented
/// letter into two wrong ones (`Jörg` into `JÃ¶rg`).
fn looks_like_utf8(sample: &[u8]) -> bool {
    let (mut utf8_lines, mut bad_lines) = (0u64, 0u64);
    let (mut line_utf8, mut line_bad) = (false, false);
    let mut end_line = |utf8: &mut bool, bad: &mut bool| {
        if *bad {
            bad_lines += 1;
        } else if *utf8 {
            utf8_lines += 1;
        }
        (*utf8, *bad) = (false, false);
    };
    let mut rest = sample;
    while !rest.is_empty() {
        let (valid, skip) = match std::str::from_utf8(rest) {
            Ok(_) => (rest.len(), None),
            Err(e) => (e.valid_up_to(), e.error_len()),
        };
        for &b in &rest[..valid] {
            match b {
                b'\n' => end_line(&mut line_utf8, &mut line_bad),
                0xC0.. => line_utf8 = true,
                _ => {}
            }
        }
        match skip {
            Some(n) => {
                line_bad = true;
                rest = &rest[valid + n..];
            }
            // Valid to the end, or a sequence cut by the end of the sample.
            None => break,
        }
    }
    end_line(&mut line_utf8, &mut line_bad);
    utf8_lines > 0 && utf8_lines >= bad_lines
}

/// Mostly-ASCII UTF-16 without a BOM is valid UTF-8 full of NUL bytes, so
/// it must be caught before the UTF-8 check: NULs in every other byte.
fn utf16_without_bom(sample: &[u8]) -> Option<&'static Encoding> {
    let head = &sample[..sample.len().min(4096) & !1];
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let odd_nul = head
        .chunks_exact(2)
        .filter(|p| p[1] == 0 && p[0] != 0)
        .count();
    let even_nul = head
        .chunks_exact(2)
        .filter(|p| p[0] == 0 && p[1] != 0)
        .count();
    if odd_nul * 10 >= pairs * 8 {
        Some(encoding_rs::UTF_16LE)
    } else if even_nul * 10 >= pairs * 8 {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Counts `,` `;` and tab outside quotes on the header line; the most frequent
/// wins and ties go to `,`.
fn sniff_delimiter(text: &str) -> u8 {
    let (mut comma, mut semicolon, mut tab) = (0usize, 0usize, 0usize);
    let mut in_quotes = false;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            b',' if !in_quotes => comma += 1,
            b';' if !in_quotes => semicolon += 1,
            b'\t' if !in_quotes => tab += 1,
            _ => {}
        }
    }
    if semicolon > comma && semicolon >= tab {
        b';'
    } else if tab > comma && tab > semicolon {
        b'\t'
    } else {
        b','
    }
}

/// Decoded text, produced one chunk at a time.
struct TextSource {
    reader: File,
    decoder: Decoder,
    /// UTF-8 is validated here rather than by `decoder`, so that an invalid
    /// byte costs its row, not the file (see `decode_utf8`).
    utf8: bool,
    /// Still before the first byte of UTF-8 input, where a BOM may be.
    at_start: bool,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    /// The unread raw bytes end in an incomplete UTF-8 sequence: read more.
    stalled: bool,
    input_done: bool,
    finished: bool,
    malformed: bool,
    text: String,
    /// Invalid UTF-8 bytes in `text`: the offset of the U+FFFD standing in
    /// for each, and the byte itself, in order.
    bad: Vec<(usize, u8)>,
    /// How many entries of `bad` the parser has passed.
    bad_seen: usize,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl TextSource {
    fn new(reader: File, encoding: &'static Encoding) -> Self {
        TextSource {
            reader,
            // Removes a BOM of this same encoding only; any other bytes are data.
            decoder: encoding.new_decoder_with_bom_removal(),
            utf8: encoding == UTF_8,
            at_start: true,
            raw: vec![0u8; CHUNK_BYTES],
            raw_pos: 0,
            raw_len: 0,
            stalled: false,
            input_done: false,
            finished: false,
            malformed: false,
            text: String::with_capacity(CHUNK_BYTES * 3 + 16),
            bad: Vec::new(),
            bad_seen: 0,
        }
    }

    /// Replaces `text` with the next decoded chunk; `false` at end of input.
    /// A malformed byte sequence in a legacy encoding is reported only after
    /// the text decoded before it has been handed out, so the parser can name
    /// the right row.
    fn refill(&mut self) -> Result<bool, ReadErrorKind> {
        self.text.clear();
        self.bad.clear();
        self.bad_seen = 0;
        loop {
            if self.malformed {
                return Err(ReadErrorKind::InvalidEncoding {
                    detail: self.decoder.encoding().name().to_owned(),
                });
            }
            if self.finished {
                return Ok(false);
            }
            if (self.raw_pos == self.raw_len || self.stalled) && !self.input_done {
                self.read_more().map_err(ReadErrorKind::io)?;
            }
            if self.utf8 {
                self.decode_utf8();
            } else {
                self.decode_some();
            }
            if !self.text.is_empty() {
                return Ok(true);
            }
        }
    }

    /// Reads the next raw chunk after the bytes not yet decoded.
    fn read_more(&mut self) -> std::io::Result<()> {
        let kept = self.raw_len - self.raw_pos;
        self.raw.copy_within(self.raw_pos..self.raw_len, 0);
        let n = read_up_to(&mut self.reader, &mut self.raw[kept..])?;
        self.raw_pos = 0;
        self.raw_len = kept + n;
        self.input_done = n == 0;
        self.stalled = false;
        Ok(())
    }

    fn decode_some(&mut self) {
        let last = self.input_done;
        let src = &self.raw[self.raw_pos..self.raw_len];
        let need = self
            .decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len() * 3 + 16);
        self.text.reserve(need);
        let (result, read) =
            self.decoder
                .decode_to_string_without_replacement(src, &mut self.text, last);
        self.raw_pos += read;
        match result {
            DecoderResult::InputEmpty => self.finished = last,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(_, _) => self.malformed = true,
        }
    }

    /// Moves the raw bytes into `text` as UTF-8. Each invalid byte sequence
    /// becomes one U+FFFD whose offset and first byte are noted in `bad`, so
    /// the parser can fail the one record holding it; a sequence cut by the
    /// end of the chunk waits for the next one.
    fn decode_utf8(&mut self) {
        let last = self.input_done;
        if self.at_start {
            let head = &self.raw[self.raw_pos..self.raw_len];
            if head.len() < UTF8_BOM.len() && UTF8_BOM.starts_with(head) && !last {
                self.stalled = true;
                return;
            }
            if head.starts_with(UTF8_BOM) {
                self.raw_pos += UTF8_BOM.len();
            }
            self.at_start = false;
        }
        loop {
            let src = &self.raw[self.raw_pos..self.raw_len];
            let (valid, invalid) = match std::str::from_utf8(src) {
                Ok(text) => {
                    self.text.push_str(text);
                    self.raw_pos = self.raw_len;
                    break;
                }
                Err(e) => (e.valid_up_to(), e.error_len()),
            };
            let (good, rest) = src.split_at(valid);
            // Only the part `from_utf8` has just validated.
            self.text
                .push_str(std::str::from_utf8(good).unwrap_or_default());
            let skip = match invalid {
                Some(n) => n,
                None if last => rest.len(),
                None => {
                    self.raw_pos += valid;
                    self.stalled = true;
                    return;
                }
            };
            self.bad.push((self.text.len(), rest[0]));
            self.text.push(char::REPLACEMENT_CHARACTER);
            self.raw_pos += valid + skip;
        }
        self.finished = last;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field: a quote here opens a quoted field.
    Start,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted field: `"` (escape), delimiter or line end may follow.
    AfterQuote,
}

/// The strict record parser.
pub(crate) struct CsvParser {
    src: TextSource,
    pos: usize,
    delimiter: u8,
    field: String,
    max_field_bytes: usize,
    max_columns: usize,
    /// Physical line (1-based) the parser is on, for UnclosedQuote.
    line: u64,
    /// Records returned so far; blank lines count.
    record: u64,
    skip_lf: bool,
    done: bool,
    /// The first invalid UTF-8 byte in the current record: (1-based column, byte).
    invalid: Option<(usize, u8)>,
}

impl CsvParser {
    pub(crate) fn open(path: &Path, setup: CsvSetup, limits: &Limits) -> Result<Self, ReadError> {
        let file = File::open(path)?;
        Ok(CsvParser {
            src: TextSource::new(file, setup.encoding),
            pos: 0,
            delimiter: setup.delimiter,
            field: String::new(),
            // Enough bytes to prove a cell is too long without storing all of it.
            max_field_bytes: limits.max_cell_chars.saturating_mul(4).saturating_add(8),
            max_columns: limits.max_columns,
            line: 1,
            record: 0,
            skip_lf: false,
            done: false,
            invalid: None,
        })
    }

    /// Reads the next record into `cells`; returns its 1-based number, or
    /// `None` at end of input. Every error returned here is fatal except an
    /// invalid UTF-8 byte, which fails its record only.
    pub(crate) fn next_record(&mut self, cells: &mut Vec<Cell>) -> Result<Option<u64>, ReadError> {
        cells.clear();
        self.field.clear();
        if self.done {
            return Ok(None);
        }
        let record = self.record + 1;
        self.invalid = None;
        let result =
            self.parse_record(cells, record)
                .and_then(|found| match (found, self.invalid.take()) {
                    (Some(_), Some((column, byte))) => {
                        Err(ReadError::new(ReadErrorKind::InvalidUtf8 { byte })
                            .at_row(record)
                            .at_column(column))
                    }
                    _ => Ok(found),
                });
        match &result {
            Ok(Some(_)) => self.record = record,
            Err(e) if !e.is_fatal() => self.record = record,
            _ => self.done = true,
        }
        result
    }

    fn parse_record(
        &mut self,
        cells: &mut Vec<Cell>,
        record: u64,
    ) -> Result<Option<u64>, ReadError> {
        let mut state = State::Start;
        let mut quote_line = self.line;
        loop {
            if self.pos == self.src.text.len() {
                // refill empties the text buffer whatever it returns.
                self.pos = 0;
                match self.src.refill() {
                    Ok(true) => {}
                    Ok(false) => return self.at_eof(state, cells, quote_line, record),
                    Err(kind) => return Err(ReadError::new(kind).at_row(record)),
                }
                continue;
            }
            if self.skip_lf {
                self.skip_lf = false;
                if self.src.text.as_bytes()[self.pos] == b'\n' {
                    self.pos += 1;
                    continue;
                }
            }
            let ended = match state {
                State::Start | State::Unquoted => {
                    if state == State::Start && self.src.text.as_bytes()[self.pos] == b'"' {
                        quote_line = self.line;
                        self.pos += 1;
                        state = State::Quoted;
                        continue;
                    }
                    self.unquoted(&mut state, cells, record)?
                }
                State::Quoted => {
                    self.quoted(&mut state, cells.len() + 1);
                    false
                }
                State::AfterQuote => self.after_quote(&mut state, cells, record)?,
            };
            if ended {
                return Ok(Some(record));
            }
        }
    }

    /// Consumes a run of plain bytes and the special byte ending it, if any.
    /// Returns true when the record ended.
    fn unquoted(
        &mut self,
        state: &mut State,
        cells: &mut Vec<Cell>,
        record: u64,
    ) -> Result<bool, ReadError> {
        let bytes = self.src.text.as_bytes();
        let start = self.pos;
        let delimiter = self.delimiter;
        let mut i = start;
        while i < bytes.len() {
            let b = bytes[i];
            if b == delimiter || b == b'"' || b == b'\n' || b == b'\r' {
                break;
            }
            i += 1;
        }
        note_invalid(
            &self.src.bad,
            &mut self.src.bad_seen,
            &mut self.invalid,
            i,
            cells.len() + 1,
        );
        if i > start {
            push_capped(
                &mut self.field,
                &self.src.text[start..i],
                self.max_field_bytes,
            );
            *state = State::Unquoted;
        }
        self.pos = i;
        if i == bytes.len() {
            return Ok(false);
        }
        let b = bytes[i];
        self.pos += 1;
        if b == delimiter {
            self.end_field(cells, record)?;
            *state = State::Start;
            Ok(false)
        } else if b == b'"' {
            Err(ReadError::new(ReadErrorKind::StrayQuote)
                .at_row(record)
                .at_column(cells.len() + 1))
        } else {
            self.end_line(b);
            self.end_field(cells, record)?;
            Ok(true)
        }
    }

    /// Consumes quoted text up to and including the next quote.
    fn quoted(&mut self, state: &mut State, column: usize) {
        let bytes = self.src.text.as_bytes();
        let start = self.pos;
        let mut i = start;
        while i < bytes.len() && bytes[i] != b'"' {
            if bytes[i] == b'\n' {
                self.line += 1;
            }
            i += 1;
        }
        note_invalid(
            &self.src.bad,
            &mut self.src.bad_seen,
            &mut self.invalid,
            i,
            column,
        );
        push_capped(
            &mut self.field,
            &self.src.text[start..i],
            self.max_field_bytes,
        );
        if i < bytes.len() {
            *state = State::AfterQuote;
            i += 1;
        }
        self.pos = i;
    }

    fn after_quote(
        &mut self,
        state: &mut State,
        cells: &mut Vec<Cell>,
        record: u64,
    ) -> Result<bool, ReadError> {
        let b = self.src.text.as_bytes()[self.pos];
        self.pos += 1;
        if b == b'"' {
            push_capped(&mut self.field, "\"", self.max_field_bytes);
            *state = State::Quoted;
            Ok(false)
        } else if b == self.delimiter {
            self.end_field(cells, record)?;
            *state = State::Start;
            Ok(false)
        } else if b == b'\n' || b == b'\r' {
            self.end_line(b);
            self.end_field(cells, record)?;
            Ok(true)
        } else {
            Err(ReadError::new(ReadErrorKind::StrayQuote)
                .at_row(record)
                .at_column(cells.len() + 1))
        }
    }

    fn at_eof(
        &mut self,
        state: State,
        cells: &mut Vec<Cell>,
        quote_line: u64,
        record: u64,
    ) -> Result<Option<u64>, ReadError> {
        match state {
            State::Quoted => Err(ReadError::new(ReadErrorKind::UnclosedQuote {
                opened_at_line: quote_line,
            })
            .at_row(record)
            .at_column(cells.len() + 1)),
            State::Start if cells.is_empty() => Ok(None),
            _ => {
                // The file ended without a final line break.
                self.end_field(cells, record)?;
                Ok(Some(record))
            }
        }
    }

    fn end_line(&mut self, b: u8) {
        self.line += 1;
        self.skip_lf = b == b'\r';
    }

    fn end_field(&mut self, cells: &mut Vec<Cell>, record: u64) -> Result<(), ReadError> {
        if cells.len() >= self.max_columns {
            return Err(ReadError::new(ReadErrorKind::TooManyColumns {
                limit: self.max_columns,
            })
            .at_row(record));
        }
        let text = unescape_formula(&self.field);
        cells.push(if text.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text.to_owned())
        });
        self.field.clear();
        Ok(())
    }
}

/// Notes the invalid bytes that the text up to `end` held: they are in the
/// current record, whose first one is reported once the record is complete.
/// (A free function so it can borrow the parser's fields beside its text.)
fn note_invalid(
    bad: &[(usize, u8)],
    seen: &mut usize,
    invalid: &mut Option<(usize, u8)>,
    end: usize,
    column: usize,
) {
    while let Some(&(offset, byte)) = bad.get(*seen) {
        if offset >= end {
            break;
        }
        *seen += 1;
        invalid.get_or_insert((column, byte));
    }
}

/// Appends `s` but never grows `field` past `max` bytes: an over-long cell is
/// reported, not stored, so a hostile file cannot exhaust memory.
fn push_capped(field: &mut String, s: &str, max: usize) {
    if field.len() + s.len() <= max {
        field.push_str(s);
        return;
    }
    let mut cut = max.saturating_sub(field.len()).min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    field.push_str(&s[..cut]);
}

/// Undoes our exporter's formula-injection defence: the `'` that
/// `write::needs_defusing` put before a formula trigger (or a leading `,`
/// `;`, or further `'`s and `"`s before one) is removed, and a cell that is
/// just `'` (how the exporter marks some empty last cells) is empty. Any
/// other leading `'` is data and is kept.
fn unescape_formula(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(rest) if rest.is_empty() || crate::write::needs_defusing(rest) => rest,
        _ => field,
    }
}

/// [`unescape_formula`] on a spreadsheet cell (see `Rows::shape`).
pub(crate) fn unescape_cell(cell: &mut Cell) {
    if let Cell::Text(text) = cell {
        let kept = unescape_formula(text).len();
        if kept == 0 {
            *cell = Cell::Empty;
        } else if kept < text.len() {
            text.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff_delimiter("a;b;c\n1,2;3"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("\"a;b\",c"), b',');
        assert_eq!(sniff_delimiter("a;b,c"), b',');
        assert_eq!(sniff_delimiter(""), b',');
    }

    #[test]
    fn encoding_detection() {
        assert_eq!(detect_encoding("Zoë".as_bytes(), false), UTF_8);
        assert_eq!(
            detect_encoding(b"Zo\xeb M\xfcller,x\n", false),
            encoding_rs::WINDOWS_1252
        );
        assert_eq!(
            detect_encoding(b"a\0,\0b\0\n\0", false),
            encoding_rs::UTF_16LE
        );
        assert_eq!(
            detect_encoding(b"\0a\0,\0b\0\n", false),
            encoding_rs::UTF_16BE
        );
        // A multi-byte sequence cut by the sample boundary is still UTF-8.
        assert_eq!(detect_encoding(&"aë".as_bytes()[..2], true), UTF_8);
    }

    #[test]
    fn utf8_with_a_few_bad_bytes_is_utf8() {
        let text = b"Username,Name\njoerg,J\xc3\xb6rg\nzoe,Zo\xc3\xab\nbad,Andr\xe9 \xff\n";
        assert_eq!(detect_encoding(text, false), UTF_8);
        // One valid line against one bad line still reads as UTF-8.
        assert_eq!(detect_encoding(b"a\nJ\xc3\xb6rg\nAndr\xe9\n", false), UTF_8);
    }

    #[test]
    fn lone_high_bytes_are_windows_1252() {
        let text = b"Username,Name\njoerg,J\xf6rg\nzoe,Zo\xeb\nandre,Andr\xe9\n";
        assert_eq!(detect_encoding(text, false), encoding_rs::WINDOWS_1252);
        // "\xc3\xa9" is "Ã©" in Windows-1252 and a valid UTF-8 "é": one such
        // accident among lines of lone high bytes does not make the file UTF-8.
        let text = b"a\nJ\xf6rg\nZo\xeb\nx \xc3\xa9 y\n";
        assert_eq!(detect_encoding(text, false), encoding_rs::WINDOWS_1252);
    }

    /// Every record of `bytes` read as UTF-8: cells as text, or the error.
    fn records(bytes: &[u8]) -> Vec<Result<Vec<String>, ReadError>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, bytes).unwrap();
        let setup = CsvSetup {
            encoding: UTF_8,
            delimiter: b',',
        };
        // Cells long enough to cross a chunk are kept whole.
        let limits = Limits {
            max_cell_chars: 1024 * 1024,
            ..Limits::default()
        };
        let mut parser = CsvParser::open(&path, setup, &limits).unwrap();
        let mut cells = Vec::new();
        let mut all = Vec::new();
        loop {
            match parser.next_record(&mut cells) {
                Ok(None) => return all,
                Ok(Some(_)) => all.push(Ok(cells.iter().map(|c| c.as_str().to_owned()).collect())),
                Err(e) => {
                    let fatal = e.is_fatal();
                    all.push(Err(e));
                    if fatal {
                        return all;
                    }
                }
            }
        }
    }

    fn bad_at(record: &Result<Vec<String>, ReadError>) -> (u64, usize, u8) {
        match record {
            Err(ReadError {
                kind: ReadErrorKind::InvalidUtf8 { byte },
                row: Some(row),
                column: Some(column),
                ..
            }) => (*row, *column, *byte),
            other => panic!("expected an invalid byte, got {other:?}"),
        }
    }

    #[test]
    fn invalid_bytes_fail_their_record_only() {
        let all = records(
            b"\xef\xbb\xbfa,b,c\nJ\xc3\xb6rg,x,\"y\xe9\nz\"\n\xc0\xaf,\xff\xfe,ok\nZo\xc3\xab,2,3\nend,\xe2\x82",
        );
        assert_eq!(all.len(), 5, "{all:?}");
        assert_eq!(all[0].as_ref().unwrap(), &["a", "b", "c"]);
        assert_eq!(bad_at(&all[1]), (2, 3, 0xE9));
        assert_eq!(bad_at(&all[2]), (3, 1, 0xC0));
        assert_eq!(all[3].as_ref().unwrap(), &["Zoë", "2", "3"]);
        // A sequence cut by the end of the file.
        assert_eq!(bad_at(&all[4]), (5, 2, 0xE2));
    }

    #[test]
    fn chunk_boundaries_neither_break_nor_invent_characters() {
        for shift in 0..4 {
            let mut bytes = b"name\n".to_vec();
            bytes.resize(CHUNK_BYTES - 2 + shift, b'a');
            bytes.extend_from_slice("ö€😀\nb".as_bytes());
            bytes.extend_from_slice(b"\xe9\n");
            bytes.extend_from_slice(b"ok\n");
            let all = records(&bytes);
            assert_eq!(all.len(), 4, "shift {shift}");
            let long = &all[1].as_ref().unwrap()[0];
            assert!(long.ends_with("aö€😀"), "shift {shift}");
            assert_eq!(bad_at(&all[2]), (3, 1, 0xE9));
            assert_eq!(all[3].as_ref().unwrap(), &["ok"]);
        }
    }

    #[test]
    fn formula_unescape() {
        assert_eq!(unescape_formula("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unescape_formula("'abc"), "'abc");
        // A lone `'` is how the exporter marks some empty last cells (Excel shows it empty too).
        assert_eq!(unescape_formula("'"), "");
        assert_eq!(unescape_formula("''"), "'");
        assert_eq!(unescape_formula("';x"), ";x");
    }
}
