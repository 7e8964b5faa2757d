//! Listing the sheets of an ODS: the names of the top-level `table:table` elements of
//! `content.xml`, found by scanning markup only, so opening a file costs no memory per row.

use std::io::Read;

use quick_xml::events::Event;

use super::{parse_attrs, Archive, Attrs, Guard, Tag};
use crate::archive::corrupt;
use crate::error::{ReadError, ReadErrorKind};
use crate::Limits;

/// Names of the top-level `table:table` elements, in order.
///
/// This runs on every open, before any sheet is read, so it does not
/// tokenize the whole document: it looks only at markup (`<` … `>`), skips
/// comments, CDATA and processing instructions whole, and parses nothing
/// but `table:table` start tags. Nested tables (inside cells) are counted so
/// that only sheets are listed. Memory is bounded by the longest tag.
pub(super) fn list_tables(zip: &mut Archive, limits: &Limits) -> Result<Vec<String>, ReadError> {
    let entry = zip
        .by_name("content.xml")
        .map_err(|e| corrupt(format!("content.xml: {e}")))?;
    let mut guard = Guard::new(entry, limits);
    let max_markup = guard.max_event as usize;
    let mut window: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut names: Vec<String> = Vec::new();
    let mut nested = 0usize;
    let mut pos = 0;
    let mut eof = false;
    loop {
        let (consumed, markup) = next_markup(&window[pos..]);
        let piece = &window[pos..pos + consumed];
        pos += consumed;
        match markup {
            Markup::TableOpen { empty } => {
                if nested == 0 {
                    names.push(table_name(piece)?);
                }
                nested += usize::from(!empty);
            }
            Markup::TableClose => nested = nested.saturating_sub(1),
            Markup::Other => {}
            Markup::Incomplete if eof => return Ok(names),
            Markup::Incomplete => {
                // Only the unfinished piece of markup is kept; the rest was looked at.
                window.drain(..pos);
                pos = 0;
                if window.len() > max_markup {
                    let e = guard.too_long();
                    return Err(match names.last() {
                        Some(name) if nested > 0 => e.in_sheet(Some(name.as_str())),
                        _ => e,
                    });
                }
                let start = window.len();
                window.resize(start + 64 * 1024, 0);
                guard.new_event();
                let n = read_some(&mut guard, &mut window[start..])?;
                window.truncate(start + n);
                eof = n == 0;
            }
        }
    }
}

fn read_some(guard: &mut Guard<impl Read>, buf: &mut [u8]) -> Result<usize, ReadError> {
    loop {
        match guard.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(match guard.tripped.take() {
                    Some(what) => ReadError::new(ReadErrorKind::ArchiveTooLarge { what }),
                    None => corrupt(format!("content.xml: {e}")),
                })
            }
        }
    }
}

/// What the markup scanner found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Markup {
    TableOpen {
        empty: bool,
    },
    TableClose,
    Other,
    /// The window ends before the next piece of markup does.
    Incomplete,
}

/// The next piece of markup in `bytes`: how many bytes it ends after, and
/// what it is. Text before a `<` is consumed as `Other`.
pub(super) fn next_markup(bytes: &[u8]) -> (usize, Markup) {
    let Some(lt) = bytes.iter().position(|&b| b == b'<') else {
        return (bytes.len(), Markup::Incomplete);
    };
    let rest = &bytes[lt..];
    let closer: Option<&[u8]> = if rest.starts_with(b"<!--") {
        Some(b"-->")
    } else if rest.starts_with(b"<![CDATA[") {
        Some(b"]]>")
    } else if rest.starts_with(b"<?") {
        Some(b"?>")
    } else if rest.len() < 9 {
        return (lt, Markup::Incomplete);
    } else {
        None
    };
    if let Some(closer) = closer {
        return match rest.windows(closer.len()).skip(2).position(|w| w == closer) {
            Some(at) => (lt + 2 + at + closer.len(), Markup::Other),
            None => (lt, Markup::Incomplete),
        };
    }
    // A tag ends at the first `>` outside a quoted attribute value.
    let mut quote = None;
    let end = rest.iter().position(|&b| {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None => return b == b'>',
        }
        false
    });
    let Some(end) = end else {
        return (lt, Markup::Incomplete);
    };
    let tag = &rest[..=end];
    let named = |prefix: &[u8]| {
        tag.starts_with(prefix)
            && matches!(
                tag.get(prefix.len()),
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
            )
    };
    let markup = if named(b"<table:table") {
        Markup::TableOpen {
            empty: tag.ends_with(b"/>"),
        }
    } else if named(b"</table:table") {
        Markup::TableClose
    } else {
        Markup::Other
    };
    (lt + end + 1, markup)
}

/// `table:name` of a table start tag found by the scanner, unescaped.
fn table_name(bytes: &[u8]) -> Result<String, ReadError> {
    let start = bytes.iter().rposition(|&b| b == b'<').unwrap_or(0);
    let mut xml = quick_xml::Reader::from_reader(&bytes[start..]);
    let mut attrs = Attrs::default();
    match xml.read_event() {
        Ok(Event::Start(e) | Event::Empty(e)) => {
            parse_attrs(Tag::Table, &e, xml.decoder(), &mut attrs)?;
            Ok(attrs.name)
        }
        Ok(_) => Ok(String::new()),
        Err(e) => Err(corrupt(format!("content.xml: {e}"))),
    }
}
