//! Tests of the archive check: declared sizes, inflated sizes, names and the XML scan.

use super::*;
use std::io::Write;
use zip::write::SimpleFileOptions;

fn zip_with_zeros(path: &Path, bytes: usize) {
    let mut w = zip::ZipWriter::new(File::create(path).unwrap());
    w.start_file("xl/workbook.xml", SimpleFileOptions::default())
        .unwrap();
    w.write_all(&vec![0u8; bytes]).unwrap();
    w.finish().unwrap();
}

/// A zip with the given (name, content) entries, deflated.
fn zip_with(path: &Path, entries: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(File::create(path).unwrap());
    for (name, content) in entries {
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap();
}

/// Rewrites the declared uncompressed size of every entry, in both the local
/// and the central headers, to `size`: what a hostile zip writer does.
pub(crate) fn understate(bytes: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 30 <= bytes.len() {
        match &bytes[i..i + 4] {
            b"PK\x03\x04" => bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
            b"PK\x01\x02" => bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
        i += 1;
    }
}

fn kind(path: &Path, limits: &Limits) -> ReadErrorKind {
    check_archive(path, limits).unwrap_err().kind
}

#[test]
fn compression_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.xlsx");
    zip_with_zeros(&p, 5 * 1024 * 1024);
    let limits = Limits {
        max_compression_ratio: 10,
        ..Limits::default()
    };
    let e = check_archive(&p, &limits).unwrap_err();
    assert!(
        matches!(e.kind, ReadErrorKind::ArchiveTooLarge { .. }),
        "{e}"
    );
}

#[test]
fn declared_total_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.xlsx");
    zip_with_zeros(&p, 2000);
    let limits = Limits {
        max_uncompressed_bytes: 1000,
        ..Limits::default()
    };
    let e = check_archive(&p, &limits).unwrap_err();
    assert!(matches!(e.kind, ReadErrorKind::ArchiveTooLarge { .. }));
}

#[test]
fn not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fake.xlsx");
    std::fs::write(&p, "name,email\n").unwrap();
    let e = check_archive(&p, &Limits::default()).unwrap_err();
    assert!(matches!(e.kind, ReadErrorKind::NotAZip));
}

#[test]
fn understated_sizes_are_caught_by_inflating() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("liar.xlsx");
    zip_with(&p, &[("xl/worksheets/sheet1.xml", &vec![b' '; 200_000])]);
    let mut bytes = std::fs::read(&p).unwrap();
    understate(&mut bytes, 4096);
    std::fs::write(&p, &bytes).unwrap();
    let e = check_archive(&p, &Limits::default()).unwrap_err();
    match &e.kind {
        ReadErrorKind::UnderstatedEntry { entry, declared } => {
            assert_eq!(entry, "xl/worksheets/sheet1.xml");
            assert_eq!(*declared, 4096);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("understates"), "{e}");
}

#[test]
fn honest_archive_passes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ok.xlsx");
    let sheet = b"<?xml version=\"1.0\"?><!-- a > b --><worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a &gt; b</t></is></c></row></sheetData></worksheet>";
    zip_with(
        &p,
        &[
            ("xl/worksheets/sheet1.xml", sheet),
            ("docProps/thumb.png", &[0u8; 100]),
        ],
    );
    check_archive(&p, &Limits::default()).unwrap();
}

#[test]
fn unsafe_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in [
        "../../evil",
        "xl/../../evil.xml",
        "/abs/path",
        "\\abs",
        "C:\\x",
        "c:x",
        "xl\\..\\..\\evil",
        "..",
    ]
    .iter()
    .enumerate()
    {
        let p = dir.path().join(format!("n{i}.xlsx"));
        zip_with(&p, &[("xl/workbook.xml", b"<w/>"), (name, b"x")]);
        match kind(&p, &Limits::default()) {
            ReadErrorKind::UnsafeEntryName { name: shown } => assert_eq!(&shown, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    for fine in ["xl/..x/a.xml", "a..b", "xl/media/x:y"] {
        check_name(fine).unwrap();
    }
}

#[test]
fn control_characters_in_names_are_escaped() {
    let e = check_name("../\u{1b}[2Jx\n").unwrap_err();
    let text = e.to_string();
    assert!(!text.contains('\u{1b}') && !text.contains('\n'), "{text:?}");
    assert!(text.contains("\\u{1b}[2Jx\\u{a}"), "{text}");
}

fn scan_all(xml: &[u8], cap: u64, chunk: usize) -> Result<XmlScan, String> {
    let mut scan = XmlScan::for_entry("x.xml", cap).unwrap();
    for part in xml.chunks(chunk) {
        scan.feed(part)?;
    }
    Ok(scan)
}

#[test]
fn xml_scan_measures_tokens_and_cells() {
    let cap = 100;
    let small = b"<a x='>>>>'><!-- <<<<<<<< --><![CDATA[ <<< ]]><si><t>x</t></si><si/></a>";
    for chunk in [1, 3, 1000] {
        let scan = scan_all(small, cap, chunk).unwrap();
        assert_eq!(scan.shared_strings(), 2);
    }
    let long_text = [b"<a>".as_slice(), &[b'x'; 200], b"</a>"].concat();
    let long_attr = [b"<a v=\"".as_slice(), &[b'>'; 200], b"\"/>"].concat();
    let long_comment = [b"<!--".as_slice(), &[b'<'; 200], b"-->"].concat();
    let mut runs = b"<x:si>".to_vec();
    for _ in 0..30 {
        runs.extend_from_slice(b"<r><t>abcd</t></r>");
    }
    runs.extend_from_slice(b"</x:si>");
    for (what, xml) in [
        ("text", long_text),
        ("attribute", long_attr),
        ("comment", long_comment),
        ("rich string", runs),
    ] {
        for chunk in [1, 7, 10_000] {
            assert!(
                scan_all(&xml, cap, chunk).is_err(),
                "{what} in chunks of {chunk}"
            );
        }
    }
}

#[test]
fn huge_shared_strings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sst.xlsx");
    let sst = b"<sst>"
        .iter()
        .copied()
        .chain(b"<si><t>a</t></si>".repeat(10_000))
        .chain(b"</sst>".iter().copied())
        .collect::<Vec<u8>>();
    zip_with(&p, &[("xl/sharedStrings.xml", &sst)]);
    let limits = Limits {
        max_shared_strings_bytes: 512 * 1024,
        ..Limits::default()
    };
    // 170 KB of XML, but 10,000 strings: about 810 KB of memory.
    let e = check_archive(&p, &limits).unwrap_err();
    assert!(e.to_string().contains("shared strings"), "{e}");
    check_archive(&p, &Limits::default()).unwrap();
}

#[test]
fn entry_count_is_read_before_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.xlsx");
    let mut w = zip::ZipWriter::new(File::create(&p).unwrap());
    for i in 0..70_000 {
        w.start_file(format!("{i}"), SimpleFileOptions::default())
            .unwrap();
    }
    w.finish().unwrap();
    let mut file = File::open(&p).unwrap();
    // More than 65,535 entries: the count is in the Zip64 record.
    assert_eq!(declared_entries(&mut file).unwrap(), Some(70_000));
    match kind(&p, &Limits::default()) {
        ReadErrorKind::ArchiveTooLarge { what } => {
            assert!(what.contains("70000 entries"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    let small = dir.path().join("small.xlsx");
    zip_with(&small, &[("a", b"x"), ("b", b"y")]);
    assert_eq!(
        declared_entries(&mut File::open(&small).unwrap()).unwrap(),
        Some(2)
    );
}
