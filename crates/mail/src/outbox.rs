//! The outbox: one RFC 5322 file per message in a directory (`DATA_DIR/outbox/` for the CLI),
//! for an administrator to hand over or a test to read. Names sort by the time they were
//! written (`<unix ms, 15 digits>-<random>.eml`) and never collide: the random part makes a
//! clash unlikely and the final rename refuses to replace a file. A file appears whole or not at
//! all (written beside, then renamed), and only its owner can read it: it holds a one-time link.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use muster_engine::account::mail::{MailTransport, OutgoingMail};
use muster_engine::Error;

use crate::message::{compose, random_hex};
use crate::{MailError, Sender};

#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    from: Sender,
}

impl Outbox {
    /// An outbox writing into `dir`, created (readable by its owner only) when missing.
    pub fn new(dir: impl Into<PathBuf>, from: Sender) -> Result<Outbox, MailError> {
        let dir = dir.into();
        create_private_dir(&dir).map_err(|cause| MailError::Outbox {
            path: dir.clone(),
            cause,
        })?;
        Ok(Outbox { dir, from })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `mail` as one file and returns its path.
    pub fn deliver(&self, mail: &OutgoingMail) -> Result<PathBuf, MailError> {
        let message = compose(&self.from, mail)?;
        let path = self.dir.join(file_name());
        let failed = |cause| MailError::Outbox {
            path: path.clone(),
            cause,
        };
        // The temporary file is created with mode 0600 and starts with a dot, so a reader
        // that lists `*.eml` never sees a half-written message.
        let mut file = tempfile::Builder::new()
            .prefix(".writing-")
            .tempfile_in(&self.dir)
            .map_err(failed)?;
        file.write_all(&message.formatted()).map_err(failed)?;
        file.as_file().sync_all().map_err(failed)?;
        file.persist_noclobber(&path).map_err(|e| failed(e.error))?;
        Ok(path)
    }
}

impl MailTransport for Outbox {
    fn send(&self, mail: &OutgoingMail) -> Result<(), Error> {
        self.deliver(mail).map(drop).map_err(Error::from)
    }
}

/// `<unix ms>-<16 random hex digits>.eml`, the time zero-padded so names sort as times do.
fn file_name() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms:015}-{}.eml", random_hex(8))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
