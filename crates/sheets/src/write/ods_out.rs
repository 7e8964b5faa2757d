//! ODS output written directly with the `zip` crate: the format is a zip of a
//! few XML files and a minimal, valid document needs little. Rows are
//! streamed into the open `content.xml` entry as they arrive, so memory does
//! not grow with the row count; the zip is built in a temp file and copied to
//! the output at the end.

use std::fs::File;
use std::io::Write;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::xml::push_escaped;
use super::WorkbookWriter;
use crate::WriteError;

const MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";

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

    /// Opens the zip on first use: the mimetype must be the first entry,
    /// stored uncompressed, so that tools can identify the file by its bytes.
    fn zip(&mut self) -> Result<&mut ZipWriter<File>, WriteError> {
        if self.zip.is_none() {
            let mut zip = ZipWriter::new(tempfile::tempfile()?);
            let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
            zip.start_file("mimetype", stored)?;
            zip.write_all(MIMETYPE.as_bytes())?;
            zip.start_file("content.xml", SimpleFileOptions::default().large_file(true))?;
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
    for line in cell.split('\n') {
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
        let mut zip = self.zip.take().ok_or(WriteError::NoSheet)?;
        zip.write_all(b"</table:table>")?;
        zip.write_all(CONTENT_TAIL.as_bytes())?;
        zip.start_file("styles.xml", SimpleFileOptions::default())?;
        zip.write_all(STYLES.as_bytes())?;
        zip.start_file("META-INF/manifest.xml", SimpleFileOptions::default())?;
        zip.write_all(MANIFEST.as_bytes())?;
        let file = zip.finish()?;
        super::copy_out(file, &mut self.out)
    }
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
