//! Where a command writes the file it produces. The same rules for every command that takes
//! `-o`: `-` means stdout; an existing file is replaced only with `--force` (a mistyped name must
//! not silently destroy a spreadsheet someone worked on); a `--format` that contradicts the file's
//! extension is refused rather than writing, say, CSV into `out.xlsx`; and CSV sent to stdout has
//! no byte-order mark, which only Excel opening a file wants and which pipes and tools trip on.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context as _};
use muster_engine::Format;

/// `-o -` (or no `-o` where stdout is the default).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The format a file name's extension names, if any.
pub fn format_of(path: &Path) -> Option<Format> {
    path.extension()
        .and_then(|e| Format::from_extension(&e.to_string_lossy()))
}

/// The format to write: the flag, which must agree with the output's extension when that names a
/// format; else the extension's; else `default`.
pub fn choose_format(
    flag: Option<Format>,
    output: Option<&Path>,
    default: Format,
) -> anyhow::Result<Format> {
    let named = output
        .filter(|p| !is_stdout(p))
        .and_then(|p| format_of(p).map(|f| (p, f)));
    match (flag, named) {
        (Some(flag), Some((path, named))) if flag != named => bail!(
            "--format {} contradicts the output file {}: name the file .{} or drop --format",
            flag.extension(),
            path.display(),
            flag.extension()
        ),
        (Some(flag), _) => Ok(flag),
        (None, Some((_, named))) => Ok(named),
        (None, None) => Ok(default),
    }
}

/// Refuses an existing output unless `force`, before work whose result would go there;
/// `create` checks again when it opens the file.
pub fn refuse_existing(path: &Path, force: bool) -> anyhow::Result<()> {
    if !force && path.exists() {
        return Err(exists(path));
    }
    Ok(())
}

fn exists(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{} already exists: pass --force to overwrite it, or choose another name",
        path.display()
    )
}

/// Creates the output file; without `force`, only if no file of that name exists (checked by
/// the create itself, so nothing can appear in between).
pub fn create(path: &Path, force: bool) -> anyhow::Result<File> {
    let mut options = File::options();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    match options.open(path) {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(exists(path)),
        result => result.with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Where a command's file goes: the file `written` (see `create`), or stdout without a
/// byte-order mark when `None`.
pub fn writer(written: Option<&Path>, force: bool) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match written {
        Some(path) => Box::new(BufWriter::new(create(path, force)?)),
        None => Box::new(NoBom::new(BufWriter::new(io::stdout()))),
    })
}

/// A file this run created and could not finish is no output: leave no half of one (nor an
/// empty file for an unknown id).
pub fn remove_on_error<T, E>(result: Result<T, E>, written: Option<&Path>) -> Result<T, E> {
    if let (Err(_), Some(path)) = (&result, written) {
        let _ = std::fs::remove_file(path);
    }
    result
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Passes everything through except a UTF-8 byte-order mark at the very start.
pub struct NoBom<W: Write> {
    inner: W,
    /// The first bytes, held until there are enough to tell whether they are a mark.
    head: Option<Vec<u8>>,
}

impl<W: Write> NoBom<W> {
    pub fn new(inner: W) -> NoBom<W> {
        NoBom {
            inner,
            head: Some(Vec::with_capacity(BOM.len())),
        }
    }

    /// Writes the held bytes (without a mark) once they are decided.
    fn release(&mut self, force: bool) -> io::Result<()> {
        let Some(head) = &self.head else {
            return Ok(());
        };
        if head.len() < BOM.len() && !force && BOM.starts_with(head) {
            return Ok(());
        }
        let head = self.head.take().unwrap_or_default();
        let rest = head.strip_prefix(BOM).unwrap_or(&head);
        self.inner.write_all(rest)
    }
}

impl<W: Write> Write for NoBom<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(head) = &mut self.head else {
            return self.inner.write(buf);
        };
        let take = (BOM.len() - head.len()).min(buf.len());
        head.extend_from_slice(&buf[..take]);
        self.release(false)?;
        if self.head.is_none() && take < buf.len() {
            self.inner.write_all(&buf[take..])?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.release(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for NoBom<W> {
    fn drop(&mut self) {
        // A writer dropped without a flush still owes its first bytes.
        let _ = self.release(true);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use muster_engine::Format;

    use super::{choose_format, NoBom};

    fn through(chunks: &[&[u8]]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut out = NoBom::new(&mut bytes);
        for chunk in chunks {
            out.write_all(chunk).unwrap();
        }
        drop(out);
        bytes
    }

    #[test]
    fn a_leading_bom_is_dropped_however_the_bytes_arrive() {
        assert_eq!(through(&["\u{feff}a,b\r\n".as_bytes()]), b"a,b\r\n");
        assert_eq!(through(&[&[0xEF], &[0xBB], &[0xBF, b'x']]), b"x");
        assert_eq!(through(&[b"a\xEF\xBB\xBF"]), b"a\xEF\xBB\xBF");
        assert_eq!(through(&[&[0xEF, 0xBB]]), &[0xEF, 0xBB]);
        assert_eq!(through(&[b"PK\x03\x04"]), b"PK\x03\x04");
    }

    #[test]
    fn a_format_flag_must_agree_with_the_extension() {
        let xlsx = Some(Path::new("out.xlsx"));
        assert!(choose_format(Some(Format::Csv), xlsx, Format::Csv).is_err());
        assert_eq!(
            choose_format(Some(Format::Xlsx), xlsx, Format::Csv).unwrap(),
            Format::Xlsx
        );
        assert_eq!(
            choose_format(None, xlsx, Format::Csv).unwrap(),
            Format::Xlsx
        );
        assert_eq!(
            choose_format(Some(Format::Ods), Some(Path::new("-")), Format::Csv).unwrap(),
            Format::Ods
        );
        assert_eq!(
            choose_format(Some(Format::Csv), Some(Path::new("out.txt")), Format::Xlsx).unwrap(),
            Format::Csv
        );
        assert_eq!(
            choose_format(None, None, Format::Xlsx).unwrap(),
            Format::Xlsx
        );
    }
}
