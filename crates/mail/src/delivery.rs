//! The transport a command's mail settings choose, shared by `muster invite` and `muster serve`
//! so both read `--smtp-url`, `--mail-from` and the public URL the same way: SMTP when a URL is
//! given, otherwise the outbox directory; the sender given, otherwise `muster@` the public
//! URL's host.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use muster_engine::account::mail::MailTransport;

use crate::{MailError, Outbox, Sender, Smtp};

/// Where mail goes once the settings are checked.
pub struct Delivery {
    pub transport: Arc<dyn MailTransport>,
    /// The outbox directory, when mail is written there rather than sent.
    pub outbox: Option<PathBuf>,
}

/// The transport for these settings. The public URL is checked even when `mail_from` is
/// given: every link is made from it.
pub fn delivery(
    smtp_url: Option<&str>,
    outbox_dir: &Path,
    mail_from: Option<&str>,
    public_url: &str,
) -> Result<Delivery, MailError> {
    let default_from = Sender::for_public_url(public_url)?;
    let from = match mail_from {
        Some(address) => Sender::parse(address)?,
        None => default_from,
    };
    Ok(match smtp_url {
        Some(url) => Delivery {
            transport: Arc::new(Smtp::from_url(url, from)?),
            outbox: None,
        },
        None => Delivery {
            transport: Arc::new(Outbox::new(outbox_dir, from)?),
            outbox: Some(outbox_dir.to_owned()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_is_the_default_and_the_sender_comes_from_the_public_url() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let chosen = delivery(None, &outbox, None, "http://127.0.0.1:8080").unwrap();
        assert_eq!(chosen.outbox.as_deref(), Some(outbox.as_path()));
        assert!(outbox.is_dir());
        let smtp = delivery(Some("smtp://127.0.0.1:2525"), &outbox, None, "http://x.org").unwrap();
        assert!(smtp.outbox.is_none());
    }

    #[test]
    fn a_bad_sender_or_public_url_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let refused = delivery(None, dir.path(), Some("a\r\nBcc: m@x.org"), "http://x.org");
        assert!(matches!(refused, Err(MailError::Sender(_))));
        let refused = delivery(None, dir.path(), None, "not a url");
        assert!(matches!(refused, Err(MailError::PublicUrl(_))));
    }
}
