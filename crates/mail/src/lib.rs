//! Delivers the mail muster's use cases send (password resets, invitations) through the
//! engine's `MailTransport`: either as RFC 5322 files in an outbox directory (`Outbox`), for an
//! administrator or a test to pick up, or to an SMTP server (`Smtp`). Messages are built with
//! lettre, which encodes non-ASCII headers (RFC 2047) and bodies; this crate refuses recipients
//! that are not a bare address and subjects with control characters before lettre sees them, so
//! no value can add a header of its own. It decides nothing about what is sent: the engine does.

mod delivery;
mod message;
mod outbox;
mod smtp;

use std::path::PathBuf;

use muster_engine::{Error, FieldProblem, Invalid, Unavailable};

pub use delivery::{delivery, Delivery};
pub use message::Sender;
pub use outbox::Outbox;
pub use smtp::Smtp;

/// Why a message could not be built or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Not a bare mail address (a display name, a line break or anything else beside it).
    #[error("the recipient {0:?} is not a mail address")]
    Recipient(String),
    /// A line break or other control character, which could start a header of its own.
    #[error("the subject {0:?} holds a control character")]
    Subject(String),
    #[error("the sender {0:?} is not a mail address")]
    Sender(String),
    /// The public URL the default sender is made from.
    #[error("the public URL {0:?} has no host name")]
    PublicUrl(String),
    #[error("cannot build the message: {0}")]
    Build(lettre::error::Error),
    #[error("cannot write to the outbox {}: {cause}", path.display())]
    Outbox {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The SMTP URL does not parse; lettre's message never repeats the URL (or its password).
    #[error("the SMTP URL is not usable: {0}")]
    SmtpUrl(lettre::transport::smtp::Error),
    #[error("the SMTP server did not take the message: {0}")]
    Smtp(lettre::transport::smtp::Error),
}

/// A refused recipient or subject is the caller's input (`Invalid`, naming the field); anything
/// else is the transport not taking the message now (`Unavailable::Mail`).
impl From<MailError> for Error {
    fn from(e: MailError) -> Error {
        let field = match &e {
            MailError::Recipient(_) => "email",
            MailError::Subject(_) => "subject",
            _ => return Error::Unavailable(Unavailable::Mail(Box::new(e))),
        };
        Error::Invalid(Invalid::Fields(vec![FieldProblem {
            field: field.to_owned(),
            message: e.to_string(),
        }]))
    }
}
