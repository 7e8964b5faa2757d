//! Zip-bomb defence for XLSX and ODS. Both formats are zip archives, and a
//! small file can declare gigabytes of XML. Before any entry is decompressed
//! we read only the central directory and refuse archives with too many
//! entries, too large a declared total, or an implausible compression ratio.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::{ReadError, ReadErrorKind};
use crate::Limits;

/// Entries smaller than this are never judged by ratio: tiny XML parts
/// compress extremely well and are harmless.
const RATIO_THRESHOLD: u64 = 1024 * 1024;

/// Checks the archive at `path` against `limits` without decompressing it.
pub(crate) fn check_archive(path: &Path, limits: &Limits) -> Result<(), ReadError> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = crate::format::read_up_to(&mut file, &mut magic)?;
    if n < 2 || &magic != b"PK" {
        return Err(ReadError::new(ReadErrorKind::NotAZip));
    }
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path)?)).map_err(corrupt)?;
    if zip.len() > limits.max_zip_entries {
        return Err(too_large(format!(
            "{} entries (limit {})",
            zip.len(),
            limits.max_zip_entries
        )));
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(corrupt)?;
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
                crate::error::shorten(entry.name()),
                size / packed.max(1),
                limits.max_compression_ratio
            )));
        }
    }
    Ok(())
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
mod tests {
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
}
