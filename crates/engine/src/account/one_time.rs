//! One-time links: a password reset (valid an hour) and an invitation to choose a first password
//! (valid seven days). A link carries 32 random bytes from the context, base64url; the sign-in
//! database stores only their SHA-256 (`muster_store::one_time_tokens`). A token is checked
//! (`check_one_time_token`, for the page that asks for the new password) and then used once
//! (`set_password_by_link`): the new password must pass the policy before the token is claimed,
//! so a refused password leaves the link usable; the claim is one conditional update, so of two
//! requests with the same token one wins; the password is written in the main database with its
//! audit entry, every other unused link of the user is retired and every session of the user
//! ends. Time comes from the context.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use muster_credentials::{PasswordPolicy, PlainPassword};
use muster_store::one_time_tokens::{self as db, OneTimeTokenRow};
use muster_store::{directory_users, Store, StoreError, StoredUser};
use serde::Serialize;

use super::sign_in::hash_new;
use super::{random_text, revoke_user_sessions, sha256_hex};
use crate::access::{Actor, Source};
use crate::audit::{self, secret_change, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Conflict, Error, Missing};

/// Random bytes in a one-time token.
const ONE_TIME_TOKEN_BYTES: usize = 32;

/// What a one-time link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    /// Choose a new password after "forgot password".
    Reset,
    /// Choose the first password of an account an administrator created.
    Invitation,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Reset => "reset",
            TokenPurpose::Invitation => "invitation",
        }
    }

    /// How long a link stays usable after it was issued.
    pub fn validity_ms(self) -> i64 {
        const HOUR_MS: i64 = 60 * 60 * 1000;
        match self {
            TokenPurpose::Reset => HOUR_MS,
            TokenPurpose::Invitation => 7 * 24 * HOUR_MS,
        }
    }

    /// The path under the public URL that the server serves the link's page at.
    fn path(self) -> &'static str {
        match self {
            TokenPurpose::Reset => "reset",
            TokenPurpose::Invitation => "invite",
        }
    }
}

/// A usable link's user, for the page that asks for the new password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub user_id: String,
    pub username: String,
    pub purpose: TokenPurpose,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// A token just issued: the secret for the link (never stored) and the row to store.
pub(super) struct NewToken {
    pub secret: String,
    pub row: OneTimeTokenRow,
}

impl NewToken {
    pub fn issue(
        ctx: &Context,
        purpose: TokenPurpose,
        user_id: &str,
        created_by: &str,
        now: i64,
    ) -> NewToken {
        let secret = random_text::<ONE_TIME_TOKEN_BYTES>(ctx);
        let row = OneTimeTokenRow {
            token_hash: sha256_hex(&secret),
            purpose: purpose.as_str().to_owned(),
            user_id: user_id.to_owned(),
            created_at: now,
            expires_at: now + purpose.validity_ms(),
            used_at: None,
            created_by: created_by.to_owned(),
        };
        NewToken { secret, row }
    }

    /// `{public_url}/reset/{token}` or `{public_url}/invite/{token}`.
    pub fn link(&self, public_url: &str, purpose: TokenPurpose) -> String {
        let base = public_url.trim_end_matches('/');
        format!("{base}/{}/{}", purpose.path(), self.secret)
    }
}

/// The stored hash of a token given in a link, if it has the form of one (anything else is
/// unknown without a database read).
fn digest_of(raw: &str) -> Option<String> {
    let decoded = URL_SAFE_NO_PAD.decode(raw.as_bytes()).ok()?;
    (decoded.len() == ONE_TIME_TOKEN_BYTES).then(|| sha256_hex(raw))
}

/// Whether `token` is a usable link of `purpose`: known, unused, not expired, its user still
/// there and active. Anything else is `Missing::OneTimeLink`.
pub async fn check_one_time_token(
    store: &Store,
    ctx: &Context,
    token: &str,
    purpose: TokenPurpose,
) -> Result<TokenInfo, Error> {
    let (row, user) = usable(store, (ctx.now)(), token, purpose).await?;
    Ok(TokenInfo {
        user_id: user.record.id,
        username: user.record.username,
        purpose,
        expires_at: row.expires_at,
    })
}

async fn usable(
    store: &Store,
    now: i64,
    token: &str,
    purpose: TokenPurpose,
) -> Result<(OneTimeTokenRow, StoredUser), Error> {
    let hash = digest_of(token).ok_or(Missing::OneTimeLink)?;
    let mut signin = store.acquire_signin().await?;
    let row = db::token_by_hash(&mut signin, &hash)
        .await?
        .filter(|row| {
            row.purpose == purpose.as_str() && row.used_at.is_none() && row.expires_at > now
        })
        .ok_or(Missing::OneTimeLink)?;
    drop(signin);
    let mut conn = store.acquire().await?;
    let user = directory_users::user_by_id(&mut conn, &row.user_id)
        .await?
        .filter(|user| user.record.active)
        .ok_or(Missing::OneTimeLink)?;
    Ok((row, user))
}

/// Sets the password of the link's user and uses the link up (see the module's description).
pub(super) async fn set_password_by_link(
    store: &Store,
    ctx: &Context,
    token: &str,
    purpose: TokenPurpose,
    new_password: &str,
) -> Result<(), Error> {
    busy::naming_job(store, async move {
        let now = (ctx.now)();
        let (row, user) = usable(store, now, token, purpose).await?;
        let candidate = PlainPassword::new(new_password.to_owned());
        if let Err(violation) = PasswordPolicy::default().check(&candidate, &user.record.username) {
            return Err(Error::invalid("new_password", violation.to_string()));
        }
        drop(candidate);
        let new_hash = hash_new(ctx, new_password.to_owned()).await?;
        let mut signin = store.acquire_signin().await?;
        if !db::claim_token(&mut signin, &row.token_hash, purpose.as_str(), now).await? {
            return Err(Missing::OneTimeLink.into());
        }
        if let Err(e) = write_password(store, now, &user, &new_hash).await {
            // The password was not set (the main database was busy, say): the link stays
            // usable for another try.
            db::release_token(&mut signin, &row.token_hash, now).await?;
            return Err(e);
        }
        db::retire_user_tokens(&mut signin, &user.record.id, now).await?;
        drop(signin);
        revoke_user_sessions(store, &user.record.id).await?;
        Ok(())
    })
    .await
}

/// The new hash, `must_change_password` cleared, and the audit entry, in one transaction of
/// the main database. The actor is the user, acting from the console, where links are opened.
async fn write_password(
    store: &Store,
    now: i64,
    user: &StoredUser,
    new_hash: &str,
) -> Result<(), Error> {
    let mut tx = store.begin_writing().await?;
    let id = &user.record.id;
    let current = directory_users::user_by_id(&mut tx, id)
        .await?
        .filter(|current| current.record.active)
        .ok_or(Missing::OneTimeLink)?;
    let old_hash = &current.record.password_hash;
    if !directory_users::set_own_password(&mut tx, id, old_hash, new_hash, now).await? {
        // Changed by another writer between the read and the write (PostgreSQL reads what
        // others committed meanwhile): the caller may try again with the same link.
        let actual = directory_users::user_version(&mut tx, id).await?;
        return Err(Error::Conflict(Conflict::Stale {
            entity: "user",
            key: current.record.username.clone(),
            expected: current.version,
            actual: actual.unwrap_or(current.version),
        }));
    }
    let actor = Actor::user(
        id.clone(),
        current.record.username_key.clone(),
        current.record.username.clone(),
        Source::Console,
        [],
    );
    let target = Target::new("user", id, &current.record.username);
    let changes = vec![secret_change("password", true)];
    audit::record(
        &mut tx,
        &actor,
        now,
        "user.password",
        &target,
        None,
        changes,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
