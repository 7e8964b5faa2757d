//! Spreadsheet input and output for muster's bulk import and export.
//!
//! Reading turns a CSV, XLSX or ODS file into a stream of positioned rows of
//! text ([`Workbook::rows`]); writing turns rows of text into any of the three
//! formats ([`writer`]), or into styled workbooks with notes, fills and dropdowns
//! ([`StyledWorkbook`]). The crate knows nothing about users or databases:
//! it only promises that what a person typed into a spreadsheet comes back as
//! the same text, with a precise position for every problem, in memory that
//! does not grow with the file.

mod archive;
mod csv_read;
mod error;
mod format;
mod ods_read;
mod reader;
mod sheet_read;
mod write;

pub use csv_read::encoding_for_label;
pub use error::{ReadError, ReadErrorKind, WriteError};
pub use format::Format;
pub use reader::{Cell, Row, Rows, Workbook};
pub use write::{
    column_letters, spreadsheet_text, writer, CellNote, CellStyle, Dropdown, DropdownChoices,
    DropdownStrictness, StyledCell, StyledWorkbook, WorkbookWriter,
};

/// Safety caps applied while reading; hostile or broken files fail fast
/// instead of exhausting memory or disk.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Data rows (the header not counted), for every format.
    pub max_rows: u64,
    pub max_columns: usize,
    /// Characters per cell; Excel's own cap by default.
    pub max_cell_chars: usize,
    pub max_zip_entries: usize,
    /// Sum of the uncompressed sizes of all zip entries. Declared sizes are
    /// checked first, then every entry is inflated and must not exceed its
    /// declared size.
    pub max_uncompressed_bytes: u64,
    /// Declared uncompressed / compressed size, per entry, for entries over 1 MiB.
    pub max_compression_ratio: u64,
    /// Inflated bytes of one XML token (tag, text run, comment) and of one
    /// cell or shared string: what a reader holds at once.
    pub max_xml_element_bytes: u64,
    /// Memory the XLSX shared-string table would take once loaded: its
    /// inflated XML plus an overhead per string.
    pub max_shared_strings_bytes: u64,
    /// Inflated bytes of each other XLSX part loaded whole (styles, workbook
    /// and its relationships).
    pub max_loaded_part_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 2_000_000,
            max_columns: 256,
            max_cell_chars: 32_767,
            max_zip_entries: 10_000,
            max_uncompressed_bytes: 2 * 1024 * 1024 * 1024,
            max_compression_ratio: 200,
            max_xml_element_bytes: 8 * 1024 * 1024,
            max_shared_strings_bytes: 128 * 1024 * 1024,
            max_loaded_part_bytes: 16 * 1024 * 1024,
        }
    }
}

/// How to read a file. Everything is optional; `Default` detects.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// CSV only. `None` sniffs `,` `;` or tab on the header line.
    pub delimiter: Option<u8>,
    /// CSV only. A WHATWG label such as "utf-8", "windows-1252", "utf-16le".
    /// `None` detects from the BOM or the content.
    pub encoding: Option<String>,
    pub limits: Limits,
}
