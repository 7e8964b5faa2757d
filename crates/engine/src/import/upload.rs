//! What an import knows of its file before reading it as a spreadsheet — name, size, SHA-256 —
//! and the archived copy kept in the history (secret cells blanked, see `sanitize`).

use std::io::Read;
use std::path::{Path, PathBuf};

use muster_sheets::ReadOptions;
use muster_store::{ArchiveCompression, ArchiveRecord, ArchiveState, PreparedWrites};
use sha2::{Digest, Sha256};

use crate::import::sanitize::{sanitized_copy, Sanitized};

/// What an import reads: the file's bytes and the name people know it by. A file given on the
/// command line is known by its own file name; a browser upload by the name the browser sent,
/// never by the temporary file it was saved to. The readers seek (a zip's directory is at its
/// end), so bytes from memory or a stream are spooled to a temporary file first, which lives as
/// long as the source.
pub struct ImportSource {
    display_name: String,
    /// How errors about reading it name it: the path as given for a file, else the display
    /// name.
    described: String,
    path: PathBuf,
    _spooled: Option<tempfile::NamedTempFile>,
}

impl ImportSource {
    /// A file on disk, known by its own file name.
    pub fn file(path: impl Into<PathBuf>) -> ImportSource {
        let path = path.into();
        let display_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ImportSource {
            display_name,
            described: path.display().to_string(),
            path,
            _spooled: None,
        }
    }

    /// A file already on disk under another name (a server's copy of an upload), known by
    /// `display_name`.
    pub fn upload(display_name: impl Into<String>, path: impl Into<PathBuf>) -> ImportSource {
        let display_name = display_name.into();
        ImportSource {
            described: display_name.clone(),
            display_name,
            path: path.into(),
            _spooled: None,
        }
    }

    /// Bytes from a stream (an upload's body, a test's fixture), known by `display_name`.
    pub fn read(
        display_name: impl Into<String>,
        mut bytes: impl Read,
    ) -> std::io::Result<ImportSource> {
        let mut spooled = tempfile::NamedTempFile::new()?;
        std::io::copy(&mut bytes, spooled.as_file_mut())?;
        spooled.as_file_mut().sync_data()?;
        let display_name = display_name.into();
        Ok(ImportSource {
            described: display_name.clone(),
            display_name,
            path: spooled.path().to_owned(),
            _spooled: Some(spooled),
        })
    }

    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The name errors about reading the file use.
    pub(crate) fn described(&self) -> &str {
        &self.described
    }
}

pub(crate) struct Upload {
    pub file_name: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes; empty for a file over the size limit, which is not read.
    pub sha256: String,
    pub limit: u64,
    pub too_large: bool,
}

/// Bytes per stored piece of an archive.
const PIECE: usize = 1024 * 1024;

impl Upload {
    pub fn inspect(source: &ImportSource, limit: u64) -> std::io::Result<Upload> {
        let mut file = std::fs::File::open(source.path())?;
        let size = file.metadata()?.len();
        let file_name = source.display_name().to_owned();
        let too_large = size > limit;
        let mut sha256 = String::new();
        if !too_large {
            let mut hasher = Sha256::new();
            std::io::copy(&mut file, &mut hasher)?;
            sha256 = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        }
        Ok(Upload {
            file_name,
            size,
            sha256,
            limit,
            too_large,
        })
    }
}

/// The archive copy of an upload, made on a blocking thread while the import runs (so it costs
/// the import little time) and deflated, so the database holds a fifth of a CSV's size.
pub(crate) struct ArchiveJob(tokio::task::JoinHandle<Result<MadeArchive, String>>);

pub(crate) struct MadeArchive {
    /// The deflated copy, positioned at its start.
    file: std::fs::File,
    sanitized: Sanitized,
}

/// Starts making the archive copy of the upload at `path`.
pub(crate) fn start_archive(path: &Path, read: &ReadOptions) -> ArchiveJob {
    let source = path.to_owned();
    let options = read.clone();
    ArchiveJob(tokio::task::spawn_blocking(
        move || -> Result<MadeArchive, String> {
            let temp = tempfile::tempfile().map_err(|e| e.to_string())?;
            let mut deflated =
                flate2::write::DeflateEncoder::new(temp, flate2::Compression::fast());
            let sanitized =
                sanitized_copy(&source, &options, &mut deflated).map_err(|e| e.to_string())?;
            let mut file = deflated.finish().map_err(|e| e.to_string())?;
            std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))
                .map_err(|e| e.to_string())?;
            Ok(MadeArchive { file, sanitized })
        },
    ))
}

impl ArchiveJob {
    /// Waits for the copy; returns it (to be stored inside the import's transaction, piece by
    /// piece) and the description kept in the import's summary.
    pub async fn finish(self, read: &ReadOptions) -> (Option<ArchivePieces>, ArchiveRecord) {
        match self.0.await {
            Ok(Ok(MadeArchive { file, sanitized })) => (
                Some(ArchivePieces { file, seq: 0 }),
                describe(&sanitized, read),
            ),
            Ok(Err(reason)) => (None, ArchiveRecord::not_archived(reason)),
            Err(join) => (None, ArchiveRecord::not_archived(join.to_string())),
        }
    }
}

/// The deflated copy, read one stored piece at a time so memory stays flat.
pub(crate) struct ArchivePieces {
    file: std::fs::File,
    seq: i64,
}

impl ArchivePieces {
    /// The next piece's insert for import `id`, or None after the last.
    pub fn next(
        &mut self,
        id: i64,
        backend: muster_store::Backend,
    ) -> std::io::Result<Option<PreparedWrites>> {
        let mut buffer = vec![0u8; PIECE];
        let n = read_full(&mut self.file, &mut buffer)?;
        if n == 0 {
            return Ok(None);
        }
        buffer.truncate(n);
        self.seq += 1;
        let mut writes = PreparedWrites::new(backend);
        writes.insert_archive_piece(id, self.seq, buffer);
        Ok(Some(writes))
    }
}

fn describe(sanitized: &Sanitized, read: &ReadOptions) -> ArchiveRecord {
    let back = sanitized.archive_read_options(read);
    let (state, blanked_cells, note) = match sanitized {
        Sanitized::Verbatim => (ArchiveState::Verbatim, None, None),
        Sanitized::Rewritten { blanked_cells } => (
            ArchiveState::Rewritten,
            Some(*blanked_cells),
            Some("password and password-hash cells were blanked".to_owned()),
        ),
        Sanitized::Truncated {
            sheet,
            rows_kept_until,
            blanked_cells,
        } => (
            ArchiveState::Truncated,
            Some(*blanked_cells),
            Some(format!("the file could not be read past {sheet} row {rows_kept_until}; only the rows before are archived, password cells blanked")),
        ),
    };
    ArchiveRecord {
        state,
        note,
        blanked_cells,
        compression: Some(ArchiveCompression::Deflate),
        delimiter: back.delimiter.map(|d| (d as char).to_string()),
        encoding: back.encoding,
    }
}

/// Fills `buffer` as far as the file goes.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = file.read(&mut buffer[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// How to read an archive back, from the description stored with it.
pub(crate) fn archive_read_options(archive: Option<&ArchiveRecord>) -> ReadOptions {
    ReadOptions {
        delimiter: archive
            .and_then(|a| a.delimiter.as_deref())
            .and_then(|d| d.bytes().next()),
        encoding: archive.and_then(|a| a.encoding.clone()),
        ..ReadOptions::default()
    }
}
