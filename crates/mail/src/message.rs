//! Turning the engine's `OutgoingMail` into an RFC 5322 message: the checked sender, a bare
//! recipient address, a subject without control characters, a plain-text body, and a message id
//! under the sender's domain.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{Address, Message};
use muster_engine::account::mail::OutgoingMail;
use rand_core::{OsRng, RngCore};

use crate::MailError;

/// The `From` of every message: a mail address, checked once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender(Address);

impl Sender {
    /// A bare address (`muster@example.org`), as `--mail-from` gives it.
    pub fn parse(raw: &str) -> Result<Sender, MailError> {
        raw.parse()
            .map(Sender)
            .map_err(|_| MailError::Sender(raw.to_owned()))
    }

    /// `muster@HOST` for the host of the public URL (`https://users.example.org/` gives
    /// `muster@users.example.org`): the default when no sender is given.
    pub fn for_public_url(public_url: &str) -> Result<Sender, MailError> {
        let host = url::Url::parse(public_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .ok_or_else(|| MailError::PublicUrl(public_url.to_owned()))?;
        Sender::parse(&format!("muster@{host}"))
    }

    pub fn address(&self) -> &str {
        self.0.as_ref()
    }
}

/// Builds the message for `mail`, refusing a recipient or subject that could add a header.
pub(crate) fn compose(from: &Sender, mail: &OutgoingMail) -> Result<Message, MailError> {
    // Only a bare address: a display name would be a second place for hostile text, and the
    // address grammar has no room for a line break.
    let to: Address = mail
        .to
        .parse()
        .map_err(|_| MailError::Recipient(mail.to.clone()))?;
    // lettre would encode a line break (RFC 2047) rather than pass it through, but a subject
    // with control characters is never one muster meant to send.
    if mail.subject.chars().any(char::is_control) {
        return Err(MailError::Subject(mail.subject.clone()));
    }
    Message::builder()
        .from(Mailbox::new(Some("muster".to_owned()), from.0.clone()))
        .to(Mailbox::new(None, to))
        .subject(mail.subject.as_str())
        .message_id(Some(format!("<{}@{}>", random_hex(16), from.0.domain())))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .map_err(MailError::Build)
}

/// `bytes` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}
