//! ODS reading straight from the `content.xml` stream, one row at a time.
//!
//! An ODS sheet compresses runs of identical cells and rows into one element
//! with `table:number-columns-repeated` / `table:number-rows-repeated`, so an
//! 864-byte file can describe a billion cells. Nothing here ever expands a
//! repeat into memory: empty repeats only move the row or column counter,
//! and non-empty repeats are checked against the caps ([`Limits`]) before a
//! single copy is made. Every XML event is bounded too (see [`Guard`]), so a
//! huge text node or attribute fails early instead of being buffered whole.
//!
//! Values become text by the same rules as the XLSX path in `sheet_read.rs`:
//! floats through `float_text`, booleans as TRUE/FALSE, dates as their ISO
//! value, times as `PT..H..M..S` durations, and error cells (LibreOffice
//! marks them `calcext:value-type="error"`) as [`Cell::Error`].

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use zip::read::ZipFile;
use zip::ZipArchive;

use crate::archive::corrupt;
use crate::error::{ReadError, ReadErrorKind};
use crate::sheet_read::{duration_text, float_text};
use crate::{Cell, Limits};

type Archive = ZipArchive<BufReader<File>>;

/// An opened ODS file: the archive and its sheet names, read once at open.
pub(crate) struct OdsBook {
    zip: Archive,
    names: Vec<String>,
    limits: Limits,
}

impl OdsBook {
    /// Opens the archive and lists its sheets by streaming `content.xml`
    /// once; rows are not looked at, so listing costs no memory per row.
    pub(crate) fn open(path: &Path, limits: &Limits) -> Result<OdsBook, ReadError> {
        let mut zip = ZipArchive::new(BufReader::new(File::open(path)?)).map_err(corrupt)?;
        let names = listing::list_tables(&mut zip, limits)?;
        Ok(OdsBook {
            zip,
            names,
            limits: limits.clone(),
        })
    }

    pub(crate) fn sheet_names(&self) -> &[String] {
        &self.names
    }

    /// Rows of the sheet at `index` in workbook order.
    pub(crate) fn rows(&mut self, index: usize) -> Result<OdsRows<'_>, ReadError> {
        let mut content = Content::open(&mut self.zip, &self.limits)?;
        let mut seen = 0;
        let mut nested = 0usize;
        let empty = loop {
            match content.next(None)? {
                Ev::Open(Tag::Table, empty) if nested == 0 && seen == index => break empty,
                Ev::Open(Tag::Table, empty) => {
                    if nested == 0 {
                        seen += 1;
                    }
                    if !empty {
                        nested += 1;
                    }
                }
                Ev::Close(Tag::Table) => nested = nested.saturating_sub(1),
                Ev::Eof => return Err(corrupt("content.xml ends before the sheet")),
                _ => {}
            }
        };
        Ok(OdsRows {
            content,
            limits: self.limits.clone(),
            next_number: 1,
            repeat: None,
            nested: 0,
            done: empty,
        })
    }
}

/// A non-empty row still owed to the caller because of `number-rows-repeated`.
struct Repeat {
    cells: Vec<Cell>,
    next: u64,
    last: u64,
}

/// Rows of one ODS sheet, streamed (the contract of `XlsxRows::next_row`).
pub(crate) struct OdsRows<'a> {
    content: Content<'a>,
    limits: Limits,
    /// The 1-based number the next `table:table-row` element starts at.
    next_number: u64,
    repeat: Option<Repeat>,
    /// Tables nested inside this one (their rows are not this sheet's).
    nested: usize,
    done: bool,
}

impl OdsRows<'_> {
    /// Fills `cells` with the next row holding any value and returns its
    /// 1-based number, or `None` after the sheet's last row. Rows without a
    /// value are skipped here, however often they are repeated.
    pub(crate) fn next_row(&mut self, cells: &mut Vec<Cell>) -> Result<Option<u64>, ReadError> {
        cells.clear();
        if let Some(number) = self.take_repeat(cells) {
            return Ok(Some(number));
        }
        while !self.done {
            match self.content.next(None)? {
                Ev::Open(Tag::Row, empty) if self.nested == 0 => {
                    let number = self.next_number;
                    let repeat = self.content.attrs.repeat;
                    self.next_number = number.saturating_add(repeat);
                    if empty {
                        continue;
                    }
                    self.read_cells(number, cells).map_err(|e| match e.row {
                        Some(_) => e,
                        None => e.at_row(number),
                    })?;
                    if cells.is_empty() {
                        continue;
                    }
                    if repeat > 1 {
                        self.start_repeat(number, repeat, cells)?;
                    }
                    return Ok(Some(number));
                }
                Ev::Open(Tag::Table, false) => self.nested += 1,
                Ev::Close(Tag::Table) if self.nested == 0 => self.done = true,
                Ev::Close(Tag::Table) => self.nested -= 1,
                Ev::Eof => return Err(corrupt("content.xml ends inside a sheet")),
                _ => {}
            }
        }
        Ok(None)
    }

    /// A repeated row with values counts as that many rows; beyond the row
    /// cap it fails now, before any copy, at the first row over the cap.
    fn start_repeat(&mut self, number: u64, repeat: u64, cells: &[Cell]) -> Result<(), ReadError> {
        let last = number.saturating_add(repeat - 1);
        let first_over = self.limits.max_rows.saturating_add(2);
        if last >= first_over {
            return Err(ReadError::new(ReadErrorKind::TooManyRows {
                limit: self.limits.max_rows,
            })
            .at_row(first_over.max(number)));
        }
        self.repeat = Some(Repeat {
            cells: cells.to_vec(),
            next: number + 1,
            last,
        });
        Ok(())
    }

    fn take_repeat(&mut self, cells: &mut Vec<Cell>) -> Option<u64> {
        let repeat = self.repeat.as_mut()?;
        let number = repeat.next;
        cells.extend_from_slice(&repeat.cells);
        if number >= repeat.last {
            self.repeat = None;
        } else {
            repeat.next += 1;
        }
        Some(number)
    }

    /// Reads the cells of the row just opened, up to its end tag.
    fn read_cells(&mut self, row: u64, cells: &mut Vec<Cell>) -> Result<(), ReadError> {
        let mut column: u64 = 0;
        loop {
            match self.content.next(None)? {
                Ev::Open(Tag::Cell, empty) => {
                    let attrs = std::mem::take(&mut self.content.attrs);
                    let text = if empty {
                        String::new()
                    } else {
                        self.read_cell_text(row)?
                    };
                    let cell = cell_value(&attrs, text);
                    place(cells, row, column, attrs.repeat, cell, &self.limits)?;
                    column = column.saturating_add(attrs.repeat);
                }
                Ev::Open(_, false) => self.content.skip()?,
                Ev::Close(Tag::Row) => return Ok(()),
                Ev::Eof => return Err(corrupt("content.xml ends inside a row").at_row(row)),
                _ => {}
            }
        }
    }

    /// The text of a cell's paragraphs, joined by "\n", capped one character
    /// past `max_cell_chars` so that the row check reports it as too long.
    fn read_cell_text(&mut self, row: u64) -> Result<String, ReadError> {
        let mut sink = Sink::new(self.limits.max_cell_chars.saturating_add(1));
        let mut paragraphs = 0usize;
        // Open elements below the cell, and the depth at which a paragraph opened.
        let mut depth = 0usize;
        let mut paragraph: Option<usize> = None;
        loop {
            let in_paragraph = paragraph.is_some();
            let event = self.content.next(in_paragraph.then_some(&mut sink))?;
            match event {
                Ev::Open(Tag::Paragraph, empty) if !in_paragraph => {
                    if paragraphs > 0 {
                        sink.push_str("\n");
                    }
                    paragraphs += 1;
                    if !empty {
                        paragraph = Some(depth);
                        depth += 1;
                    }
                }
                Ev::Open(Tag::Spaces, empty) if in_paragraph => {
                    sink.push_spaces(self.content.attrs.repeat);
                    if !empty {
                        self.content.skip()?;
                    }
                }
                Ev::Open(Tag::Tab, empty) | Ev::Open(Tag::LineBreak, empty) if in_paragraph => {
                    let tab = matches!(event, Ev::Open(Tag::Tab, _));
                    sink.push_str(if tab { "\t" } else { "\n" });
                    if !empty {
                        self.content.skip()?;
                    }
                }
                // Spans, links and the like carry paragraph text; lists carry paragraphs.
                Ev::Open(Tag::Inline, false) => depth += 1,
                Ev::Open(Tag::TextContainer, false) if !in_paragraph => depth += 1,
                // Comments, drawings, nested tables: not the cell's value.
                Ev::Open(_, false) => self.content.skip()?,
                Ev::Close(Tag::Cell) if depth == 0 => return Ok(sink.text),
                Ev::Close(_) => {
                    depth = depth.saturating_sub(1);
                    if paragraph == Some(depth) {
                        paragraph = None;
                    }
                }
                Ev::Eof => return Err(corrupt("content.xml ends inside a cell").at_row(row)),
                _ => {}
            }
        }
    }
}

/// Puts a non-empty cell `repeat` times from 0-based `column`. Empty cells
/// only move the column counter, so formatted blank columns cost nothing;
/// a value beyond `max_columns` is the too-many-columns error, found before
/// anything is copied.
fn place(
    cells: &mut Vec<Cell>,
    row: u64,
    column: u64,
    repeat: u64,
    cell: Cell,
    limits: &Limits,
) -> Result<(), ReadError> {
    if cell.is_empty() {
        return Ok(());
    }
    let max = limits.max_columns as u64;
    if column.saturating_add(repeat) > max {
        let first_over = column.max(max);
        return Err(ReadError::new(ReadErrorKind::TooManyColumns {
            limit: limits.max_columns,
        })
        .at_row(row)
        .at_column(usize::try_from(first_over + 1).unwrap_or(usize::MAX)));
    }
    // Both values are at most `max_columns` now, so they fit a usize.
    let (start, end) = (column as usize, (column + repeat) as usize);
    cells.resize(start, Cell::Empty);
    cells.extend(std::iter::repeat_n(cell, end - start));
    Ok(())
}

/// The cell's value from its attributes, and its paragraph text where the
/// type says the text is the value.
fn cell_value(attrs: &Attrs, text: String) -> Cell {
    // LibreOffice marks error results and keeps the code ("#N/A", "Err:502")
    // as the shown text; other writers only leave that text in a formula cell
    // (a string result such as `="#N/A"` is marked as a string by LibreOffice).
    if attrs.error || (attrs.formula && !attrs.marked && is_error_code(&text)) {
        let code = if text.is_empty() {
            "#VALUE!".to_owned()
        } else {
            text
        };
        return Cell::Error(code);
    }
    let value = match attrs.value_type {
        ValueType::Number => match attrs.value.as_deref().map(|v| v.trim().parse::<f64>()) {
            Some(Ok(f)) => float_text(f),
            _ => text,
        },
        ValueType::Boolean => match attrs.value.as_deref().map(str::to_ascii_lowercase) {
            Some(b) if b == "true" || b == "1" => "TRUE".to_owned(),
            Some(b) if b == "false" || b == "0" => "FALSE".to_owned(),
            _ => text,
        },
        ValueType::Date => attrs.value.clone().unwrap_or(text),
        ValueType::Time => match attrs.value.as_deref() {
            Some(v) => iso_duration_seconds(v).map_or_else(|| v.to_owned(), duration_text),
            None => text,
        },
        ValueType::String => attrs.value.clone().unwrap_or(text),
        ValueType::Other => text,
    };
    if value.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(value)
    }
}

/// The error values spreadsheet programs show in place of a formula's result.
fn is_error_code(text: &str) -> bool {
    const CODES: [&str; 9] = [
        "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
    ];
    CODES.contains(&text)
        || text
            .strip_prefix("Err:")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whole seconds of an ISO 8601 duration such as `PT36H05M07.5S` or
/// `-P1DT2H`; `None` when it is not one.
fn iso_duration_seconds(text: &str) -> Option<i64> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text),
    };
    let rest = rest.strip_prefix('P')?;
    let mut seconds = 0.0f64;
    let mut number = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        let unit = match c {
            '0'..='9' | '.' | ',' => {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            'T' if !in_time && number.is_empty() => {
                in_time = true;
                continue;
            }
            'D' if !in_time => 86_400.0,
            'H' if in_time => 3_600.0,
            'M' if in_time => 60.0,
            'S' if in_time => 1.0,
            _ => return None,
        };
        seconds += number.parse::<f64>().ok()? * unit;
        number.clear();
    }
    if !number.is_empty() || !seconds.is_finite() {
        return None;
    }
    Some((sign * seconds).round() as i64)
}

/// Cell text that stops growing at `limit` characters.
struct Sink {
    text: String,
    chars: usize,
    limit: usize,
}

impl Sink {
    fn new(limit: usize) -> Self {
        Sink {
            text: String::new(),
            chars: 0,
            limit,
        }
    }

    fn push_str(&mut self, s: &str) {
        let room = self.limit - self.chars;
        if room == 0 {
            return;
        }
        match s.char_indices().nth(room) {
            Some((cut, _)) => {
                self.text.push_str(&s[..cut]);
                self.chars = self.limit;
            }
            None => {
                self.text.push_str(s);
                self.chars += s.chars().count();
            }
        }
    }

    fn push_spaces(&mut self, count: u64) {
        let room = (self.limit - self.chars) as u64;
        let n = count.min(room) as usize;
        self.text.extend(std::iter::repeat_n(' ', n));
        self.chars += n;
    }
}

/// The elements the reader tells apart; everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Table,
    Row,
    /// `table:table-cell` and `table:covered-table-cell`: both hold a column.
    Cell,
    /// `text:p` and `text:h`.
    Paragraph,
    Spaces,
    Tab,
    LineBreak,
    /// Elements whose text is part of the paragraph (`text:span`, `text:a`, …).
    Inline,
    /// Elements that hold paragraphs inside a cell (`text:list`, …).
    TextContainer,
    Other,
}

fn classify(name: &[u8]) -> Tag {
    match name {
        b"table:table" => Tag::Table,
        b"table:table-row" => Tag::Row,
        b"table:table-cell" | b"table:covered-table-cell" => Tag::Cell,
        b"text:p" | b"text:h" => Tag::Paragraph,
        b"text:s" => Tag::Spaces,
        b"text:tab" => Tag::Tab,
        b"text:line-break" => Tag::LineBreak,
        b"text:span" | b"text:a" | b"text:ruby" | b"text:ruby-base" | b"text:meta" => Tag::Inline,
        b"text:list" | b"text:list-item" | b"text:list-header" | b"text:section" => {
            Tag::TextContainer
        }
        _ => Tag::Other,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ValueType {
    /// float, percentage, currency: the value is `office:value`.
    Number,
    Boolean,
    Date,
    Time,
    String,
    #[default]
    Other,
}

/// The attributes of the last opened element that the reader uses.
#[derive(Debug)]
struct Attrs {
    /// `table:name` of a table.
    name: String,
    /// Rows or columns repeated, or the `text:c` count of `text:s`.
    repeat: u64,
    value_type: ValueType,
    /// The attribute holding the typed value, for the cell's value type.
    value: Option<String>,
    error: bool,
    /// The cell has a `table:formula`, so its text may be an error code.
    formula: bool,
    /// The cell has LibreOffice's `calcext:value-type`, which says what the result is.
    marked: bool,
}

impl Default for Attrs {
    fn default() -> Self {
        Attrs {
            name: String::new(),
            repeat: 1,
            value_type: ValueType::Other,
            value: None,
            error: false,
            formula: false,
            marked: false,
        }
    }
}

/// An XML event reduced to what the reader needs; attributes land in
/// `Content::attrs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    /// A start tag; `true` for a self-closing one.
    Open(Tag, bool),
    Close(Tag),
    /// Text, already given to the sink if there was one.
    Text,
    Eof,
}

/// The `content.xml` event stream of one archive.
struct Content<'a> {
    xml: quick_xml::Reader<BufReader<Guard<ZipFile<'a, BufReader<File>>>>>,
    buf: Vec<u8>,
    attrs: Attrs,
}

impl<'a> Content<'a> {
    fn open(zip: &'a mut Archive, limits: &Limits) -> Result<Content<'a>, ReadError> {
        let entry = zip
            .by_name("content.xml")
            .map_err(|e| corrupt(format!("content.xml: {e}")))?;
        let guard = Guard::new(entry, limits);
        let mut xml = quick_xml::Reader::from_reader(BufReader::with_capacity(64 * 1024, guard));
        xml.config_mut().check_end_names = false;
        Ok(Content {
            xml,
            buf: Vec::new(),
            attrs: Attrs::default(),
        })
    }

    /// The next event; text goes to `sink` when one is given.
    fn next(&mut self, sink: Option<&mut Sink>) -> Result<Ev, ReadError> {
        self.buf.clear();
        self.xml.get_mut().get_mut().new_event();
        let event = match self.xml.read_event_into(&mut self.buf) {
            Ok(event) => event,
            Err(e) => return Err(self.xml_error(e)),
        };
        let ev = match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let tag = classify(e.name().as_ref());
                let empty = matches!(event, Event::Empty(_));
                parse_attrs(tag, e, self.xml.decoder(), &mut self.attrs)?;
                Ev::Open(tag, empty)
            }
            Event::End(ref e) => Ev::Close(classify(e.name().as_ref())),
            Event::Text(ref t) => {
                if let Some(sink) = sink {
                    sink.push_str(&t.xml10_content().map_err(corrupt)?);
                }
                Ev::Text
            }
            Event::CData(ref t) => {
                if let Some(sink) = sink {
                    sink.push_str(&t.xml10_content().map_err(corrupt)?);
                }
                Ev::Text
            }
            Event::GeneralRef(ref r) => {
                if let Some(sink) = sink {
                    let c = match r.resolve_char_ref().map_err(corrupt)? {
                        Some(c) => c,
                        None => predefined_entity(r.as_ref())
                            .ok_or_else(|| corrupt("content.xml uses an unknown entity"))?,
                    };
                    sink.push_str(c.encode_utf8(&mut [0u8; 4]));
                }
                Ev::Text
            }
            Event::Eof => Ev::Eof,
            _ => Ev::Text,
        };
        Ok(ev)
    }

    /// Skips the element just opened, with all it contains.
    fn skip(&mut self) -> Result<(), ReadError> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.next(None)? {
                Ev::Open(_, false) => depth += 1,
                Ev::Close(_) => depth -= 1,
                Ev::Eof => return Err(corrupt("content.xml ends inside an element")),
                _ => {}
            }
        }
        Ok(())
    }

    /// A parse error, or the guard's verdict when it was the guard that stopped reading.
    fn xml_error(&mut self, e: quick_xml::Error) -> ReadError {
        match self.xml.get_mut().get_mut().tripped.take() {
            Some(what) => ReadError::new(ReadErrorKind::ArchiveTooLarge { what }),
            None => corrupt(format!("content.xml: {e}")),
        }
    }
}

fn predefined_entity(name: &[u8]) -> Option<char> {
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}

/// Reads into `attrs` what the reader needs from a start tag.
fn parse_attrs(
    tag: Tag,
    e: &BytesStart<'_>,
    decoder: Decoder,
    attrs: &mut Attrs,
) -> Result<(), ReadError> {
    let wanted = matches!(tag, Tag::Table | Tag::Row | Tag::Cell | Tag::Spaces);
    if !wanted {
        return Ok(());
    }
    *attrs = Attrs::default();
    // office:value, boolean-value, date-value, string-value, time-value.
    let mut typed: [Option<String>; 5] = Default::default();
    // A repeated attribute is malformed but harmless here (the last one wins),
    // so quick-xml's quadratic duplicate check is not paid on every cell.
    for attr in e.attributes().with_checks(false) {
        let attr = attr.map_err(|e| corrupt(format!("content.xml: {e}")))?;
        let slot = match attr.key.as_ref() {
            b"table:name" => 5,
            b"table:number-rows-repeated" | b"table:number-columns-repeated" | b"text:c" => {
                attrs.repeat = parse_count(&attr.value);
                continue;
            }
            b"office:value-type" => {
                attrs.value_type = value_type(&attr.value);
                continue;
            }
            b"calcext:value-type" => {
                attrs.error = attr.value.as_ref() == b"error";
                attrs.marked = true;
                continue;
            }
            b"table:formula" => {
                attrs.formula = true;
                continue;
            }
            b"office:value" => 0,
            b"office:boolean-value" => 1,
            b"office:date-value" => 2,
            b"office:string-value" => 3,
            b"office:time-value" => 4,
            _ => continue,
        };
        let value = attr
            .decode_and_unescape_value(decoder)
            .map_err(|e| corrupt(format!("content.xml: {e}")))?
            .into_owned();
        match typed.get_mut(slot) {
            Some(place) => *place = Some(value),
            None => attrs.name = value,
        }
    }
    let slot = match attrs.value_type {
        ValueType::Number => 0,
        ValueType::Boolean => 1,
        ValueType::Date => 2,
        ValueType::String => 3,
        ValueType::Time => 4,
        ValueType::Other => return Ok(()),
    };
    attrs.value = typed[slot].take();
    Ok(())
}

/// A repeat count; a missing or unreadable one is 1, as ODF specifies the default.
fn parse_count(value: &[u8]) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
}

fn value_type(value: &[u8]) -> ValueType {
    match value {
        b"float" | b"percentage" | b"currency" => ValueType::Number,
        b"boolean" => ValueType::Boolean,
        b"date" => ValueType::Date,
        b"time" => ValueType::Time,
        b"string" => ValueType::String,
        _ => ValueType::Other,
    }
}

/// Bounds what one XML event and the whole entry may inflate to.
///
/// quick-xml buffers each event (a text node, a tag with its attributes, a
/// comment) whole, so a single 1 GiB text node would be held in memory
/// before the cell cap could look at it. The guard counts the bytes read
/// since the reader last started an event and stops past `max_event`; it
/// also counts every inflated byte of the entry against the archive cap,
/// because the sizes a zip declares are only hints.
struct Guard<R> {
    inner: R,
    since_event: u64,
    total: u64,
    max_event: u64,
    max_total: u64,
    /// Why reading stopped, for the error that quick-xml reports as I/O.
    tripped: Option<String>,
}

impl<R> Guard<R> {
    fn new(inner: R, limits: &Limits) -> Self {
        // A cell may hold max_cell_chars characters of up to 4 bytes, escaped
        // (`&quot;` is 6 bytes), plus formula and style attributes beside it.
        let max_event = (limits.max_cell_chars as u64)
            .saturating_mul(8)
            .saturating_add(1024 * 1024);
        Guard {
            inner,
            since_event: 0,
            total: 0,
            max_event,
            max_total: limits.max_uncompressed_bytes,
            tripped: None,
        }
    }

    fn new_event(&mut self) {
        self.since_event = 0;
    }

    fn too_long(&self) -> ReadError {
        ReadError::new(ReadErrorKind::ArchiveTooLarge {
            what: format!(
                "one element or text in content.xml is longer than {} bytes",
                self.max_event
            ),
        })
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.since_event += n as u64;
        self.total += n as u64;
        let what = if self.total > self.max_total {
            format!("content.xml inflates to more than {} bytes", self.max_total)
        } else if self.since_event > self.max_event {
            format!(
                "one element or text in content.xml is longer than {} bytes",
                self.max_event
            )
        } else {
            return Ok(n);
        };
        self.tripped = Some(what.clone());
        Err(std::io::Error::other(what))
    }
}

mod listing;

#[cfg(test)]
mod tests;
