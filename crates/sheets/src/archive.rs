//! Zip-bomb defence for XLSX and ODS. Both formats are zip archives, and a
//! small file can declare (or hide) gigabytes of XML.
//!
//! The check runs in two passes before any reader touches the archive. The
//! first reads only the central directory: it refuses entry names that point
//! outside the archive, too many entries, too large a declared total, and an
//! implausible declared compression ratio. Declared sizes are only hints, so
//! the second pass inflates every entry through a bounded buffer, keeping
//! nothing, and counts the bytes that really come out: an entry that inflates
//! past its declared size is refused, which makes the first pass's numbers
//! true for the readers that follow. The same pass scans the XML parts for
//! what the readers would hold in memory at once (one token, one cell, the
//! parts calamine loads whole) and refuses what exceeds the caps, so the
//! reading that follows is bounded by construction.

mod xml_scan;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{ReadError, ReadErrorKind};
use crate::Limits;
use xml_scan::XmlScan;

/// Entries smaller than this are never judged by ratio: tiny XML parts
/// compress extremely well and are harmless.
const RATIO_THRESHOLD: u64 = 1024 * 1024;
/// The inflating pass reads through one buffer of this size, whatever the entry.
const INFLATE_CHUNK: usize = 64 * 1024;
/// calamine keeps one `String` per shared string: its header plus the
/// allocator's rounding come to about this many bytes on top of the text.
const SHARED_STRING_OVERHEAD: u64 = 64;

type Zip = zip::ZipArchive<BufReader<File>>;

/// Checks the archive at `path` against `limits`; see the module comment.
pub(crate) fn check_archive(path: &Path, limits: &Limits) -> Result<(), ReadError> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = crate::format::read_up_to(&mut file, &mut magic)?;
    if n < 2 || &magic != b"PK" {
        return Err(ReadError::new(ReadErrorKind::NotAZip));
    }
    // `Workbook::open` has already refused too many entries from the end record alone
    // (`check_entry_count`), before this parses the directory.
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path)?)).map_err(corrupt)?;
    check_directory(&mut zip, limits)?;
    let mut buf = vec![0u8; INFLATE_CHUNK];
    for i in 0..zip.len() {
        inflate_entry(&mut zip, i, limits, &mut buf)?;
    }
    Ok(())
}

/// Refuses a zip that declares more entries than the limit, reading only its
/// end record. The zip crate holds its whole parsed directory in memory
/// (about 1.5 KiB an entry), so this runs before anything opens the archive,
/// format detection included. Files that are not zips pass.
pub(crate) fn check_entry_count(path: &Path, limits: &Limits) -> Result<(), ReadError> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    if crate::format::read_up_to(&mut file, &mut magic)? < 2 || &magic != b"PK" {
        return Ok(());
    }
    match declared_entries(&mut file)? {
        Some(entries) => refuse_entries(entries, limits),
        None => Ok(()),
    }
}

/// The number of entries the end-of-central-directory record declares
/// (Zip64 included), or `None` when there is no such record; the zip crate
/// then reports the damage in its own words.
fn declared_entries(file: &mut File) -> std::io::Result<Option<u64>> {
    use std::io::{Seek, SeekFrom};
    const EOCD: usize = 22;
    let len = file.seek(SeekFrom::End(0))?;
    // The record is 22 bytes, followed by a comment of up to 65,535 bytes.
    let tail_len = len.min((EOCD + 65_535) as u64);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;
    let Some(at) = (0..tail.len().saturating_sub(EOCD - 1))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Ok(None);
    };
    let entries = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    let locator = at.checked_sub(20).map(|l| &tail[l..at]);
    match locator {
        Some(loc) if loc.starts_with(b"PK\x06\x07") => {
            let mut offset = [0u8; 8];
            offset.copy_from_slice(&loc[8..16]);
            let mut record = [0u8; 40];
            file.seek(SeekFrom::Start(u64::from_le_bytes(offset)))?;
            if file.read_exact(&mut record).is_err() || !record.starts_with(b"PK\x06\x06") {
                return Ok(None);
            }
            let mut count = [0u8; 8];
            count.copy_from_slice(&record[32..40]);
            Ok(Some(u64::from_le_bytes(count).max(u64::from(entries))))
        }
        _ => Ok(Some(u64::from(entries))),
    }
}

fn refuse_entries(entries: u64, limits: &Limits) -> Result<(), ReadError> {
    if entries > limits.max_zip_entries as u64 {
        return Err(too_large(format!(
            "{entries} entries (limit {})",
            limits.max_zip_entries
        )));
    }
    Ok(())
}

/// The first pass: names, entry count and declared sizes, nothing inflated.
fn check_directory(zip: &mut Zip, limits: &Limits) -> Result<(), ReadError> {
    refuse_entries(zip.len() as u64, limits)?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(corrupt)?;
        check_name(entry.name())?;
        let (size, packed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if total > limits.max_uncompressed_bytes {
            return Err(too_large(format!(
                "more than {} bytes once uncompressed",
                limits.max_uncompressed_bytes
            )));
        }
        if size > RATIO_THRESHOLD && size / packed.max(1) > limits.max_compression_ratio {
            return Err(too_large(format!(
                "entry \"{}\" expands {}x (limit {}x)",
                entry_label(entry.name()),
                size / packed.max(1),
                limits.max_compression_ratio
            )));
        }
    }
    Ok(())
}

/// Refuses names that would point outside the archive if anything ever
/// extracted it: absolute paths, Windows drive letters, `..` components
/// (with either slash), and NUL bytes that cut a name short in C APIs.
fn check_name(name: &str) -> Result<(), ReadError> {
    let bytes = name.as_bytes();
    let absolute = bytes.first().is_some_and(|b| matches!(b, b'/' | b'\\'));
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    let parent = name.split(['/', '\\']).any(|part| part == "..");
    if name.is_empty() || absolute || drive || parent || name.contains('\0') {
        return Err(ReadError::new(ReadErrorKind::UnsafeEntryName {
            name: entry_label(name),
        }));
    }
    Ok(())
}

/// The second pass for one entry: inflates it through a bounded buffer and
/// counts what comes out, scanning XML parts as they stream past.
fn inflate_entry(
    zip: &mut Zip,
    index: usize,
    limits: &Limits,
    buf: &mut [u8],
) -> Result<(), ReadError> {
    let mut entry = zip.by_index(index).map_err(corrupt)?;
    if entry.is_dir() {
        return Ok(());
    }
    let name = entry.name().to_owned();
    let declared = entry.size();
    let mut scan = XmlScan::for_entry(&name, limits.max_xml_element_bytes);
    let mut inflated: u64 = 0;
    loop {
        let n = match entry.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(format!("entry \"{}\": {e}", entry_label(&name)))),
        };
        inflated += n as u64;
        if inflated > declared {
            return Err(ReadError::new(ReadErrorKind::UnderstatedEntry {
                entry: entry_label(&name),
                declared,
            }));
        }
        if let Some(scan) = scan.as_mut() {
            scan.feed(&buf[..n])
                .map_err(|what| too_large(format!("entry \"{}\": {what}", entry_label(&name))))?;
        }
    }
    let strings = scan.as_ref().map_or(0, XmlScan::shared_strings);
    check_loaded_whole(&name, inflated, strings, limits)
}

/// Caps the parts calamine reads whole into memory when it opens an XLSX
/// (the worksheets themselves are streamed and need no such cap).
fn check_loaded_whole(
    name: &str,
    inflated: u64,
    strings: u64,
    limits: &Limits,
) -> Result<(), ReadError> {
    let normalized = name.replace('\\', "/").to_ascii_lowercase();
    let (need, limit, what) = match normalized.as_str() {
        "xl/sharedstrings.xml" => (
            inflated.saturating_add(strings.saturating_mul(SHARED_STRING_OVERHEAD)),
            limits.max_shared_strings_bytes,
            "its shared strings",
        ),
        "xl/styles.xml" | "xl/workbook.xml" | "xl/_rels/workbook.xml.rels" => {
            (inflated, limits.max_loaded_part_bytes, "this part")
        }
        _ => return Ok(()),
    };
    if need > limit {
        return Err(too_large(format!(
            "entry \"{}\": {what} would need about {} MiB of memory (limit {} MiB)",
            entry_label(name),
            need.div_ceil(1024 * 1024),
            limit / (1024 * 1024)
        )));
    }
    Ok(())
}

/// An entry name fit for a message: control characters escaped (a name is
/// chosen by whoever made the file) and the length capped.
fn entry_label(name: &str) -> String {
    let escaped: String = name
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    crate::error::shorten(&escaped)
}

fn too_large(what: String) -> ReadError {
    ReadError::new(ReadErrorKind::ArchiveTooLarge { what })
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> ReadError {
    ReadError::new(ReadErrorKind::CorruptArchive {
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
