//! Which kind of spreadsheet a file is. Content wins over the file name:
//! people rename files, and an `.xlsx` that is really a CSV (or the reverse)
//! should still be read correctly, while a fake `.xlsx` must fail clearly.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::ReadError;

/// A spreadsheet file format this crate reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Xlsx,
    Ods,
}

const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

impl Format {
    /// From magic bytes first (a zip holding `xl/workbook.xml` is XLSX, one
    /// holding `content.xml` and an ODS `mimetype` is ODS), else the
    /// extension, else CSV.
    pub fn detect(path: &Path) -> Result<Format, ReadError> {
        let mut magic = [0u8; 4];
        let mut file = File::open(path)?;
        let n = read_up_to(&mut file, &mut magic)?;
        if n == 4 && &magic[..2] == b"PK" {
            if let Some(format) = sniff_zip(path)? {
                return Ok(format);
            }
        }
        let by_ext = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension);
        Ok(by_ext.unwrap_or(Format::Csv))
    }

    /// "csv", "xlsx" or "ods", any case.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "ods" => Some(Format::Ods),
            _ => None,
        }
    }

    /// The usual file extension, without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Ods => "ods",
        }
    }
}

/// Reads until `buf` is full or the file ends; returns how much was read.
pub(crate) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Looks inside a zip; `None` when it is a zip of neither kind (or unreadable,
/// in which case opening it later reports the precise problem).
fn sniff_zip(path: &Path) -> Result<Option<Format>, ReadError> {
    let file = BufReader::new(File::open(path)?);
    let Ok(mut zip) = zip::ZipArchive::new(file) else {
        return Ok(None);
    };
    if zip.index_for_name("xl/workbook.xml").is_some() {
        return Ok(Some(Format::Xlsx));
    }
    if zip.index_for_name("content.xml").is_none() {
        return Ok(None);
    }
    let Ok(mut entry) = zip.by_name("mimetype") else {
        return Ok(None);
    };
    // The mimetype entry is tiny by specification; read only a bounded prefix.
    let mut buf = [0u8; 128];
    let n = read_up_to(&mut entry, &mut buf)?;
    if buf[..n].starts_with(ODS_MIMETYPE) {
        Ok(Some(Format::Ods))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(Format::from_extension("XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::from_extension("Ods"), Some(Format::Ods));
        assert_eq!(Format::from_extension("csv"), Some(Format::Csv));
        assert_eq!(Format::from_extension("txt"), None);
        assert_eq!(Format::Ods.extension(), "ods");
    }

    #[test]
    fn unknown_extension_is_csv() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.txt");
        std::fs::write(&p, "a,b\n").unwrap();
        assert_eq!(Format::detect(&p).unwrap(), Format::Csv);
        let p = dir.path().join("fake.xlsx");
        std::fs::write(&p, "a,b\n").unwrap();
        assert_eq!(Format::detect(&p).unwrap(), Format::Xlsx);
    }
}
