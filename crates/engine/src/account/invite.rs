//! Invitations: an administrator (`users.credentials`) sends a user a link to choose their first
//! password, valid seven days, one user at a time (`invite_user`) or every user an import
//! created whose password is still provisional (`invite_import`, reading the import's journal).
//! Accepting (`accept_invitation`) sets the password once, like a reset (`one_time`). Each
//! invitation is recorded in the audit log (`user.invite`); the link itself never is.

use muster_credentials::is_provisional;
use muster_domain::Permission;
use muster_store::one_time_tokens as db;
use muster_store::{directory_users, Store, StoreError, StoredUser};
use serde::Serialize;

use super::mail::{deliver, MailTransport, OutgoingMail};
use super::one_time::{set_password_by_link, NewToken, TokenPurpose};
use crate::audit::{self, change, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Error, Missing};
use crate::history::created_users;

/// Why a user of an import got no invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No e-mail address to send the link to.
    NoEmail,
    Inactive,
    /// The user has a password already (given in the file, or set since).
    PasswordSet,
    /// An earlier invitation is still unused and unexpired.
    AlreadyInvited,
    /// Deleted since the import (or reverted).
    Gone,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NoEmail => "no e-mail address",
            SkipReason::Inactive => "deactivated",
            SkipReason::PasswordSet => "has a password already",
            SkipReason::AlreadyInvited => "an earlier invitation is still pending",
            SkipReason::Gone => "deleted since the import",
        }
    }
}

/// A user who got no invitation, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The user's id (as the import recorded it; empty in journals older than ids).
    pub user_id: String,
    /// The username, or the username key the import recorded when the user is gone.
    pub username: String,
    pub reason: SkipReason,
}

/// What `invite_import` did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InviteReport {
    pub import_id: i64,
    /// Users the import created.
    pub created: u64,
    pub invited: u64,
    pub skipped: Vec<Skipped>,
}

/// Sends `user_id` an invitation link; needs `users.credentials`. The user must be active and
/// have an e-mail address; an earlier unused invitation stays valid beside the new one.
pub async fn invite_user(
    store: &Store,
    ctx: &Context,
    mail: &dyn MailTransport,
    public_url: &str,
    user_id: &str,
) -> Result<(), Error> {
    busy::naming_job(store, async move {
        let target = Target::new("user", user_id, user_id);
        audit::require(
            store,
            ctx,
            Permission::UsersCredentials,
            "user.invite",
            &target,
        )
        .await?;
        let mut conn = store.acquire().await?;
        let user = directory_users::user_by_id(&mut conn, user_id)
            .await?
            .ok_or_else(|| Missing::Record {
                entity: "user",
                key: user_id.to_owned(),
            })?;
        drop(conn);
        let email = match (&user.record.email, user.record.active) {
            (_, false) => return Err(Error::invalid("active", "the user is deactivated")),
            (None, true) => return Err(Error::invalid("email", "the user has no e-mail address")),
            (Some(email), true) => email.clone(),
        };
        invite(store, ctx, mail, public_url, &user, &email).await
    })
    .await
}

/// Invites every user import `import_id` created whose password is still provisional; needs
/// `users.credentials` and `imports.read`. Users without an e-mail address, deactivated, with a
/// password, with a pending invitation, or deleted since are skipped and reported. A mail that
/// cannot be delivered stops the run with the error; those invited before it keep their links,
/// and running it again skips them (`AlreadyInvited`).
pub async fn invite_import(
    store: &Store,
    ctx: &Context,
    mail: &dyn MailTransport,
    public_url: &str,
    import_id: i64,
) -> Result<InviteReport, Error> {
    busy::naming_job(store, async move {
        let target = Target::import_number(import_id);
        audit::require(
            store,
            ctx,
            Permission::UsersCredentials,
            "user.invite",
            &target,
        )
        .await?;
        let created = created_users(store, ctx, import_id, "user.invite").await?;
        let mut report = InviteReport {
            import_id,
            created: created.len() as u64,
            ..InviteReport::default()
        };
        for entry in created {
            let user = find_created(store, &entry.id, &entry.key).await?;
            let (user_id, username) = match &user {
                Some(user) => (user.record.id.clone(), user.record.username.clone()),
                None => (entry.id.clone(), entry.key.clone()),
            };
            match eligible(store, ctx, user.as_ref()).await? {
                Ok((user, email)) => {
                    invite(store, ctx, mail, public_url, user, &email).await?;
                    report.invited += 1;
                }
                Err(reason) => report.skipped.push(Skipped {
                    user_id,
                    username,
                    reason,
                }),
            }
        }
        Ok(report)
    })
    .await
}

/// The user as stored now: by id, or by key for journals written before ids existed.
async fn find_created(store: &Store, id: &str, key: &str) -> Result<Option<StoredUser>, Error> {
    let mut conn = store.acquire().await?;
    let user = if id.is_empty() {
        directory_users::user_by_key(&mut conn, key).await?
    } else {
        directory_users::user_by_id(&mut conn, id).await?
    };
    Ok(user)
}

/// The user and their address when an import's user is to be invited, else why not.
async fn eligible<'a>(
    store: &Store,
    ctx: &Context,
    user: Option<&'a StoredUser>,
) -> Result<Result<(&'a StoredUser, String), SkipReason>, Error> {
    let Some(user) = user else {
        return Ok(Err(SkipReason::Gone));
    };
    let record = &user.record;
    let verdict = if !is_provisional(&record.password_hash) {
        Err(SkipReason::PasswordSet)
    } else if !record.active {
        Err(SkipReason::Inactive)
    } else if let Some(email) = &record.email {
        Ok((user, email.clone()))
    } else {
        Err(SkipReason::NoEmail)
    };
    if verdict.is_ok() {
        let mut signin = store.acquire_signin().await?;
        let purpose = TokenPurpose::Invitation.as_str();
        if db::pending_tokens(&mut signin, &record.id, purpose, (ctx.now)()).await? > 0 {
            return Ok(Err(SkipReason::AlreadyInvited));
        }
    }
    Ok(verdict)
}

/// Stores an invitation token, sends its link, and records the invitation in the audit log.
/// A mail that cannot be sent takes its token back and is the error.
async fn invite(
    store: &Store,
    ctx: &Context,
    mail: &dyn MailTransport,
    public_url: &str,
    user: &StoredUser,
    email: &str,
) -> Result<(), Error> {
    let now = (ctx.now)();
    let purpose = TokenPurpose::Invitation;
    let id = &user.record.id;
    let token = NewToken::issue(ctx, purpose, id, &ctx.actor.name(), now);
    let mut signin = store.begin_signin().await?;
    db::delete_expired_tokens(&mut signin, id, now).await?;
    db::insert_token(&mut signin, &token.row).await?;
    signin.commit().await.map_err(StoreError::from)?;
    let outgoing = invitation_mail(email, user, &token.link(public_url, purpose));
    if let Err(error) = deliver(mail, &outgoing) {
        let mut signin = store.acquire_signin().await?;
        db::delete_token(&mut signin, &token.row.token_hash).await?;
        return Err(error);
    }
    let mut conn = store.acquire().await?;
    let target = Target::new("user", id, &user.record.username);
    let changes = vec![change("invitation", None, Some(email))];
    audit::record(
        &mut conn,
        &ctx.actor,
        now,
        "user.invite",
        &target,
        None,
        changes,
    )
    .await?;
    Ok(())
}

fn invitation_mail(email: &str, user: &StoredUser, link: &str) -> OutgoingMail {
    OutgoingMail {
        to: email.to_owned(),
        subject: "Your muster account".to_owned(),
        text: format!(
            "An account \"{}\" was made for you in muster.\n\n\
             Choose your password here within seven days:\n\n{link}\n\n\
             The link works once. If it has expired, ask your administrator\n\
             for a new one.\n",
            user.record.username
        ),
    }
}

/// Sets the first password through an invitation link: once, before it expires, if the
/// password passes the policy (a refused password leaves the link usable).
pub async fn accept_invitation(
    store: &Store,
    ctx: &Context,
    token: &str,
    new_password: &str,
) -> Result<(), Error> {
    set_password_by_link(store, ctx, token, TokenPurpose::Invitation, new_password).await
}
