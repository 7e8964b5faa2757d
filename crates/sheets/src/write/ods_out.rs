//! ODS output written directly with the `zip` crate: the format is a zip of a
//! few XML files and a minimal, valid ODF package needs little (`mimetype`
//! first and stored, `content.xml`, `styles.xml`, a manifest listing them).
//! Rows are streamed into `content.xml` as they arrive, so memory does not
//! grow with the row count.
//!
//! `content.xml` is deflated into a staging zip of its own and then copied,
//! still compressed, into the package once its sizes are known. Streaming it
//! straight into the package would force a choice before its size is known:
//! marking it Zip64 (sizes `0xFFFFFFFF` in the local header) makes
//! LibreOffice refuse the whole file, and not marking it makes an export
//! beyond 4 GiB of XML fail. The copy is marked Zip64 only when it needs it.
//! Both zips live in temp files; the package is copied to the output at the
//! end, because the output may not be seekable.

use std::fs::File;
use std::io::Write;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::xml::push_escaped;
use super::WorkbookWriter;
use crate::WriteError;

const MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";
const CONTENT: &str = "content.xml";

const CONTENT_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
    r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
    r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">"#,
    r#"<office:body><office:spreadsheet>"#
);
const CONTENT_TAIL: &str = "</office:spreadsheet></office:body></office:document-content>";

const MANIFEST: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
    r#"<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
    r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#,
    r#"<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>"#,
    r#"</manifest:manifest>"#
);

const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>"#
);

pub(crate) struct OdsWriter {
    out: Box<dyn Write + Send>,
    /// The staging zip whose one entry is `content.xml`.
    zip: Option<ZipWriter<File>>,
    in_table: bool,
    /// Reused for every row to avoid an allocation per cell.
    buf: String,
}

impl OdsWriter {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        OdsWriter {
            out,
            zip: None,
            in_table: false,
            buf: String::new(),
        }
    }

    /// Opens the staging zip on first use. Its entry may be marked Zip64
    /// freely: only the copy in the package is read by office suites.
    fn zip(&mut self) -> Result<&mut ZipWriter<File>, WriteError> {
        if self.zip.is_none() {
            let mut zip = ZipWriter::new(tempfile::tempfile()?);
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .large_file(true);
            zip.start_file(CONTENT, options)?;
            zip.write_all(CONTENT_HEAD.as_bytes())?;
            self.zip = Some(zip);
        }
        self.zip.as_mut().ok_or(WriteError::NoSheet)
    }

    fn write_cells(&mut self, cells: &[&str]) -> Result<(), WriteError> {
        self.buf.clear();
        self.buf.push_str("<table:table-row>");
        for cell in cells {
            push_cell(&mut self.buf, cell);
        }
        self.buf.push_str("</table:table-row>");
        let buf = std::mem::take(&mut self.buf);
        let result = self.zip().and_then(|z| Ok(z.write_all(buf.as_bytes())?));
        self.buf = buf;
        result
    }
}

/// One cell: empty cells carry no value; text keeps every character, with
/// newlines as separate paragraphs and spaces that ODF would collapse
/// (leading, trailing, repeated) as `<text:s>`.
fn push_cell(buf: &mut String, cell: &str) {
    if cell.is_empty() {
        buf.push_str("<table:table-cell/>");
        return;
    }
    buf.push_str(r#"<table:table-cell office:value-type="string">"#);
    for line in super::spreadsheet_text(cell).split('\n') {
        buf.push_str("<text:p>");
        push_paragraph(buf, line);
        buf.push_str("</text:p>");
    }
    buf.push_str("</table:table-cell>");
}

fn push_paragraph(buf: &mut String, line: &str) {
    let mut rest = line;
    while let Some(start) = rest.find(' ') {
        push_escaped(buf, &rest[..start]);
        let run = rest[start..].bytes().take_while(|&b| b == b' ').count();
        let at_edge = start == 0 && rest.len() == line.len() || start + run == rest.len();
        if run == 1 && !at_edge {
            buf.push(' ');
        } else {
            buf.push_str(&format!(r#"<text:s text:c="{run}"/>"#));
        }
        rest = &rest[start + run..];
    }
    push_escaped(buf, rest);
}

impl WorkbookWriter for OdsWriter {
    fn start_sheet(&mut self, name: &str, headers: &[&str]) -> Result<(), WriteError> {
        let mut open = String::new();
        if self.in_table {
            open.push_str("</table:table>");
        }
        open.push_str(r#"<table:table table:name=""#);
        push_escaped(&mut open, name);
        open.push_str(r#"">"#);
        self.zip()?.write_all(open.as_bytes())?;
        self.in_table = true;
        self.write_cells(headers)
    }

    fn write_row(&mut self, cells: &[&str]) -> Result<(), WriteError> {
        if !self.in_table {
            return Err(WriteError::NoSheet);
        }
        self.write_cells(cells)
    }

    fn finish(mut self: Box<Self>) -> Result<(), WriteError> {
        if !self.in_table {
            // A spreadsheet document needs at least one table.
            self.start_sheet("Sheet1", &[])?;
        }
        let mut staging = self.zip.take().ok_or(WriteError::NoSheet)?;
        staging.write_all(b"</table:table>")?;
        staging.write_all(CONTENT_TAIL.as_bytes())?;
        let file = package(staging.finish()?)?;
        super::copy_out(file, &mut self.out)
    }
}

/// Builds the ODF package around the finished staging zip's `content.xml`.
/// The mimetype comes first, stored uncompressed and without extra fields,
/// so that tools can identify the file by its first bytes.
fn package(staging: File) -> Result<File, WriteError> {
    let mut staged = ZipArchive::new(staging)?;
    let mut zip = ZipWriter::new(tempfile::tempfile()?);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("mimetype", stored)?;
    zip.write_all(MIMETYPE.as_bytes())?;
    // `raw_copy_file` keeps the deflated bytes and takes the entry's options
    // from its real sizes, Zip64 only beyond 4 GiB.
    zip.raw_copy_file(staged.by_index_raw(0)?)?;
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("styles.xml", deflated)?;
    zip.write_all(STYLES.as_bytes())?;
    zip.start_file("META-INF/manifest.xml", deflated)?;
    zip.write_all(MANIFEST.as_bytes())?;
    Ok(zip.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(s: &str) -> String {
        let mut b = String::new();
        push_paragraph(&mut b, s);
        b
    }

    #[test]
    fn spaces_survive_odf_normalisation() {
        assert_eq!(para("a b"), "a b");
        assert_eq!(para(" a"), r#"<text:s text:c="1"/>a"#);
        assert_eq!(
            para("a  b "),
            r#"a<text:s text:c="2"/>b<text:s text:c="1"/>"#
        );
        assert_eq!(para("x<&>"), "x&lt;&amp;&gt;");
    }
}
