//! Sending through an SMTP server, configured by one URL as lettre reads it:
//! `smtp://host:port` (plain, for a relay on the same host or network),
//! `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port` (TLS from the start), each
//! with optional `user:password@` (percent-encoded). TLS is rustls with the webpki roots.

use std::fmt;
use std::time::Duration;

use lettre::{SmtpTransport, Transport};
use muster_engine::account::mail::{MailTransport, OutgoingMail};
use muster_engine::Error;

use crate::message::compose;
use crate::{MailError, Sender};

/// A use case waits for the server at most this long per step, rather than lettre's minute.
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct Smtp {
    transport: SmtpTransport,
    from: Sender,
}

impl Smtp {
    /// A transport for `url`. Nothing is sent and no connection is made until the first
    /// message: each message opens its own connection.
    pub fn from_url(url: &str, from: Sender) -> Result<Smtp, MailError> {
        let transport = SmtpTransport::from_url(url)
            .map_err(MailError::SmtpUrl)?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Smtp { transport, from })
    }

    /// Sends `mail` and returns once the server accepted it.
    pub fn deliver(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = compose(&self.from, mail)?;
        self.transport.send(&message).map_err(MailError::Smtp)?;
        Ok(())
    }
}

/// Never prints the URL: it may hold the server's password.
impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl MailTransport for Smtp {
    fn send(&self, mail: &OutgoingMail) -> Result<(), Error> {
        self.deliver(mail).map_err(Error::from)
    }
}
