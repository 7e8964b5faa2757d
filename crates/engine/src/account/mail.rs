//! The mail the engine sends (password resets, invitations) and the transport it sends them
//! through. The engine only says what to send and to whom; how it leaves the machine (a file in
//! the outbox, an SMTP server) is the `muster-mail` crate's business, so tests pass a transport
//! that records what it was given.

use crate::error::Error;

/// One plain-text message to one recipient. The transport adds the sender, the date and the
/// message id, and refuses a recipient or subject that would break out of its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient's address, as stored for the user.
    pub to: String,
    pub subject: String,
    /// The body, plain text.
    pub text: String,
}

/// Delivers mail. Sending may block (a file write, an SMTP exchange): use cases call it from a
/// blocking thread, never on the async runtime's threads.
pub trait MailTransport: Send + Sync {
    /// Hands the message over for delivery: `Ok` once it is written to the outbox or accepted
    /// by the SMTP server. A refused recipient or subject is `Error::Invalid`; a transport that
    /// cannot take the message now is `Error::Unavailable(Unavailable::Mail(..))`.
    fn send(&self, mail: &OutgoingMail) -> Result<(), Error>;
}

/// Sends through `transport` from async code. Sending blocks (a file write, an SMTP exchange),
/// so on a multi-threaded runtime it runs as blocking work (`block_in_place`: the transport is
/// borrowed, which `spawn_blocking` cannot take); a current-thread runtime has no other worker
/// to hand its tasks to, so there it simply runs.
pub(super) fn deliver(transport: &dyn MailTransport, mail: &OutgoingMail) -> Result<(), Error> {
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_threaded {
        tokio::task::block_in_place(|| transport.send(mail))
    } else {
        transport.send(mail)
    }
}
