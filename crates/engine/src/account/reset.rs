//! "Forgot password": anyone may ask for a reset link for an identifier (a username or an
//! e-mail address); the link goes by mail to the account's address and sets a new password
//! once, within the hour (`one_time`).
//!
//! The answer is the same, `Ok(())`, whether or not the identifier names an account, and the
//! work before the mail is the same too (one user lookup, one sign-in database transaction), so
//! neither the answer nor its time tells who has an account, up to the delivery of the mail
//! itself. A front-end that must hide that too (an SMTP server can be slow) answers before the
//! use case ends. Only an active user with an e-mail address gets a link, and at most
//! `MAX_PENDING_RESETS` unexpired links at a time: a request beyond that sends nothing, which
//! keeps anyone from flooding a mailbox. A mail that cannot be delivered is logged and its link
//! deleted, not answered, for the same reason.

use muster_store::one_time_tokens as db;
use muster_store::{Store, StoreError, StoredUser};

use super::mail::{deliver, MailTransport, OutgoingMail};
use super::one_time::{set_password_by_link, NewToken, TokenPurpose};
use super::sign_in::find_user;
use crate::context::Context;
use crate::error::Error;

/// Reset links a user may have pending (unused, unexpired) at once.
pub const MAX_PENDING_RESETS: i64 = 3;

/// Sends a password-reset link to the account `identifier` names, if it is an active account
/// with an e-mail address and fewer than `MAX_PENDING_RESETS` links are pending; otherwise
/// nothing. The answer is the same either way.
pub async fn request_password_reset(
    store: &Store,
    ctx: &Context,
    mail: &dyn MailTransport,
    public_url: &str,
    identifier: &str,
) -> Result<(), Error> {
    let now = (ctx.now)();
    let (user, _) = find_user(store, identifier).await?;
    let recipient = user.and_then(|user| {
        let email = user.record.email.clone().filter(|_| user.record.active)?;
        Some((user, email))
    });
    let token = issue(store, ctx, recipient.as_ref().map(|(user, _)| user), now).await?;
    let (Some((user, email)), Some(token)) = (recipient, token) else {
        return Ok(());
    };
    let outgoing = reset_mail(&email, &user, &token.link(public_url, TokenPurpose::Reset));
    if let Err(error) = deliver(mail, &outgoing) {
        tracing::warn!(user = %user.record.username, %error, "the password-reset mail was not sent");
        // A link nobody received would only count against the pending limit.
        let mut signin = store.acquire_signin().await?;
        db::delete_token(&mut signin, &token.row.token_hash).await?;
    }
    Ok(())
}

/// Stores a new reset token for `user`, unless too many are pending. Without a user it runs the
/// same statements for an id nobody has and stores nothing, so its time does not tell whether
/// the identifier named an account.
async fn issue(
    store: &Store,
    ctx: &Context,
    user: Option<&StoredUser>,
    now: i64,
) -> Result<Option<NewToken>, Error> {
    let purpose = TokenPurpose::Reset.as_str();
    let id = user.map_or("", |user| user.record.id.as_str());
    let mut tx = store.begin_signin().await?;
    db::delete_expired_tokens(&mut tx, id, now).await?;
    if db::pending_tokens(&mut tx, id, purpose, now).await? >= MAX_PENDING_RESETS {
        return Ok(None);
    }
    let created_by = user.map_or("", |user| user.record.username.as_str());
    let token = NewToken::issue(ctx, TokenPurpose::Reset, id, created_by, now);
    if user.is_some() {
        db::insert_token(&mut tx, &token.row).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(user.map(|_| token))
}

fn reset_mail(email: &str, user: &StoredUser, link: &str) -> OutgoingMail {
    OutgoingMail {
        to: email.to_owned(),
        subject: "Reset your muster password".to_owned(),
        // Lines of at most 76 characters keep the body 7-bit, so a link reads as it is in the
        // outbox's files (longer lines get quoted-printable soft breaks).
        text: format!(
            "Someone, hopefully you, asked to reset the password of the muster\n\
             account \"{}\".\n\n\
             Choose a new password here within the hour:\n\n{link}\n\n\
             If you did not ask for this, ignore this message: your password\n\
             stays as it is.\n",
            user.record.username
        ),
    }
}

/// Sets a new password through a reset link: once, before it expires, if the password passes
/// the policy (a refused password leaves the link usable). Every session of the user ends.
pub async fn reset_password(
    store: &Store,
    ctx: &Context,
    token: &str,
    new_password: &str,
) -> Result<(), Error> {
    set_password_by_link(store, ctx, token, TokenPurpose::Reset, new_password).await
}
