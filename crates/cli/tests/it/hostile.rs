//! SPEC §8 and issue 7 items 1, 3 and 4: files made to hurt. A zip that understates its entries'
//! sizes, entry names that lead outside the archive, an honest but extreme compression ratio, a
//! shared-string table too big to load, a single enormous cell, a truncated archive and one with
//! 100,000 entries: each is answered with a clear error naming what is wrong, exit 1, nothing
//! stored, and a peak resident memory under 300 MiB.
//!
//! The files are generated here, once per test run (several are hundreds of megabytes once
//! inflated, a few hundred kilobytes on disk), into Cargo's scratch directory for tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zip::write::SimpleFileOptions;

use crate::support::{assert_peak_bounded, assert_refused, both, errors, Store};

const MIB: usize = 1024 * 1024;

/// Builds a fixture once per test run, however many tests (and backends) use it.
fn fixture(name: &str, build: fn(&Path)) -> PathBuf {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    // The generator's version is in the name, so a changed generator never reuses an old file.
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-v1-{name}"));
    if !path.exists() {
        let partial = path.with_extension("partial");
        build(&partial);
        std::fs::rename(&partial, &path).expect("moving a fixture into place");
    }
    path
}

/// The parts of a one-sheet XLSX around the sheet and shared strings.
const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Username</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>bob</t></is></c><c r="B2" t="inlineStr"><is><t>"#;
const SHEET_TAIL: &str = r#"</t></is></c></row></sheetData></worksheet>"#;

/// Makes the `i`-th piece of a large entry.
type Piece<'a> = &'a dyn Fn(usize) -> Vec<u8>;

/// A one-sheet XLSX whose row 2, column B holds `name_chunks` chunks of text, and whose shared
/// strings (if any) are `strings`; the big entries are written in pieces, never held whole.
fn xlsx(
    path: &Path,
    name_chunk: Piece<'_>,
    name_chunks: usize,
    strings: Option<(Piece<'_>, usize)>,
) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = SimpleFileOptions::default().compression_level(Some(9));
    for (name, text) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ] {
        w.start_file(name, options).unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    if let Some((string, count)) = strings {
        w.start_file("xl/sharedStrings.xml", options).unwrap();
        w.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#).unwrap();
        for i in 0..count {
            w.write_all(&string(i)).unwrap();
        }
        w.write_all(b"</sst>").unwrap();
    }
    w.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    w.write_all(SHEET_HEAD.as_bytes()).unwrap();
    for i in 0..name_chunks {
        w.write_all(&name_chunk(i)).unwrap();
    }
    w.write_all(SHEET_TAIL.as_bytes()).unwrap();
    w.finish().unwrap();
}

fn plain_name(_: usize) -> Vec<u8> {
    b"Bob".to_vec()
}

/// Rewrites the declared uncompressed size of the entry `name`, in its local and its central
/// header, to 4 KiB: what a hostile zip writer does to slip past a check of declared sizes.
fn understate(path: &Path, name: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let declared = 4096u32.to_le_bytes();
    let mut patched = 0;
    let mut i = 0;
    while i + 46 <= bytes.len() {
        let (size_at, name_len_at, name_at) = match &bytes[i..i + 4] {
            b"PK\x03\x04" => (22, 26, 30),
            b"PK\x01\x02" => (24, 28, 46),
            _ => {
                i += 1;
                continue;
            }
        };
        let len = u16::from_le_bytes([bytes[i + name_len_at], bytes[i + name_len_at + 1]]) as usize;
        if bytes.get(i + name_at..i + name_at + len) == Some(name.as_bytes()) {
            bytes[i + size_at..i + size_at + 4].copy_from_slice(&declared);
            patched += 1;
        }
        i += 1;
    }
    assert_eq!(patched, 2, "both headers of {name} patched");
    std::fs::write(path, bytes).unwrap();
}

/// Imports `path` and checks the answer: exit 1, one JSON report rejecting the file with an
/// error containing every needle, nothing stored, and a bounded peak. Returns the message.
#[track_caller]
fn refused(store: &Store, path: &Path, needles: &[&str]) -> String {
    let before = store.snapshot();
    let (out, peak) = store.import_measured(path);
    eprintln!(
        "{}: exit {}, peak {} MiB",
        path.display(),
        out.code,
        peak / (1024 * 1024)
    );
    assert_refused(&out);
    let report = out.json();
    assert_eq!(report["status"], "rejected", "{report:#}");
    let all = errors(&report);
    let hit = all
        .iter()
        .find(|e| needles.iter().all(|n| e.3.contains(n)))
        .unwrap_or_else(|| panic!("no error containing {needles:?}: {all:#?}"));
    assert_peak_bounded(peak);
    assert_eq!(store.snapshot(), before);
    hit.3.clone()
}

/// Row 2's name is 320 MiB of `x`, deflated to a few hundred kilobytes, and the sheet's headers
/// say 4 KiB. Read whole into one cell, it alone would take the process past 300 MiB.
fn understated_sheet(store: &Store) {
    let path = fixture("understated-sheet.xlsx", |p| {
        xlsx(p, &|_| vec![b'x'; MIB], 320, None);
        understate(p, "xl/worksheets/sheet1.xml");
    });
    refused(
        store,
        &path,
        &["understates", "xl/worksheets/sheet1.xml", "4096"],
    );
}

/// Shared strings of 8 million tiny entries (about 140 MiB of XML, a few hundred kilobytes on
/// disk) declared as 4 KiB: calamine loads the whole table when it opens the workbook.
fn understated_shared_strings(store: &Store) {
    let path = fixture("understated-sst.xlsx", |p| {
        let strings = |_| b"<si><t>a</t></si>".repeat(1000);
        xlsx(p, &plain_name, 1, Some((&strings, 8_000)));
        understate(p, "xl/sharedStrings.xml");
    });
    refused(store, &path, &["understates", "xl/sharedStrings.xml"]);
}

/// Honest headers, but a ratio no spreadsheet has: 256 MiB of spaces.
fn honest_ratio_bomb(store: &Store) {
    let path = fixture("ratio.xlsx", |p| xlsx(p, &|_| vec![b' '; MIB], 256, None));
    refused(store, &path, &["expands", "xl/worksheets/sheet1.xml"]);
}

/// Honest headers and an ordinary ratio, but 5 million distinct shared strings (about 180 MiB of
/// XML): loaded whole, the table would need well over the memory allowed.
fn honest_huge_shared_strings(store: &Store) {
    let path = fixture("huge-sst.xlsx", |p| {
        let strings = |i: usize| {
            let mut chunk = Vec::with_capacity(40 * 1000);
            for j in i * 1000..(i + 1) * 1000 {
                write!(
                    chunk,
                    "<si><t>user-{j:08}-{:x}</t></si>",
                    j.wrapping_mul(2654435761)
                )
                .unwrap();
            }
            chunk
        };
        xlsx(p, &plain_name, 1, Some((&strings, 5_000)));
    });
    refused(
        store,
        &path,
        &["xl/sharedStrings.xml", "shared strings", "MiB"],
    );
}

/// One cell of 64 MiB of varied letters: an honest ratio and total, but one value that a reader
/// would have to hold at once. A cell holds at most 32,767 characters anyway.
fn one_enormous_cell(store: &Store) {
    let path = fixture("enormous-cell.xlsx", |p| {
        let letters = |i: usize| {
            let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (0..MIB)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b'a' + (state % 26) as u8
                })
                .collect()
        };
        xlsx(p, &letters, 64, None);
    });
    refused(store, &path, &["xl/worksheets/sheet1.xml", "MiB"]);
}

/// Entries whose names lead outside the archive, each added to an otherwise valid workbook.
fn unsafe_entry_names(store: &Store) {
    let names = [
        "../../evil",
        "/abs/path",
        "C:\\x",
        "xl\\..\\..\\evil",
        "../\u{1b}[2Jimport 99: applied\n",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = store.path(&format!("names-{i}.xlsx"));
        xlsx(&path, &plain_name, 1, None);
        let mut w = zip::ZipWriter::new_append(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap(),
        )
        .unwrap();
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        let shown: String = name
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        let message = refused(store, &path, &["outside the archive", &shown]);
        assert!(
            !message.contains('\u{1b}') && !message.contains('\n'),
            "{message:?}"
        );
    }
}

/// A valid workbook cut in half: the zip's directory is gone.
fn truncated_zip(store: &Store) {
    let whole = store.path("whole.xlsx");
    xlsx(&whole, &plain_name, 1, None);
    let bytes = std::fs::read(&whole).unwrap();
    let path = store.file("truncated.xlsx", &bytes[..bytes.len() / 2]);
    refused(store, &path, &["damaged"]);
}

/// 100,000 empty entries: refused from the directory alone.
fn many_entries(store: &Store) {
    let path = fixture("many-entries.xlsx", |p| {
        let mut w = zip::ZipWriter::new(std::fs::File::create(p).unwrap());
        let stored =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for i in 0..100_000 {
            w.start_file(format!("x/{i}.xml"), stored).unwrap();
        }
        w.finish().unwrap();
    });
    refused(store, &path, &["100000 entries"]);
}

both!(
    understated_sheet,
    understated_shared_strings,
    honest_ratio_bomb,
    honest_huge_shared_strings,
    one_enormous_cell,
    unsafe_entry_names,
    truncated_zip,
    many_entries
);
