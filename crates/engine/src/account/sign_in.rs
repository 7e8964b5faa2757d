//! Signing in with an identifier (a username or an e-mail address) and a password.
//!
//! One refusal, `SignInFailed`, for an unknown identifier, a wrong password and a deactivated
//! user, each after one argon2id verification (an unknown user's against a dummy hash made
//! once with the same parameters), so neither the answer nor its time tells which users exist.
//! The throttle is checked before any verification and counts every failure, unknown
//! identifiers included. Nothing here writes the main database except the re-hash of an
//! imported (bcrypt, PBKDF2) password, which is best effort: skipped while another writer holds
//! the main database, and tried again at the next sign-in.

use std::sync::OnceLock;

use muster_credentials::{
    hash_password_salted, is_provisional, verify_password, PlainPassword, Verification, SALT_LEN,
};
use muster_domain::{Email, Username};
use muster_store::{directory_users, Store, StoredUser};

use super::sessions::{new_session, next_stage, open};
use super::throttle::{self, Subjects};
use super::{off_thread, random_bytes, AccountPolicy, ClientInfo, Session, SessionToken};
use crate::context::Context;
use crate::error::{Error, Internal, Refusal};

/// Signs in: a session at the stage the user's state calls for (see `SessionStage`), with its
/// token. Records the sign-in in the sign-in database.
pub async fn sign_in(
    store: &Store,
    ctx: &Context,
    policy: &AccountPolicy,
    identifier: &str,
    password: &str,
    client: ClientInfo,
) -> Result<(SessionToken, Session), Error> {
    let now = (ctx.now)();
    let (user, unknown_key) = find_user(store, identifier).await?;
    let subjects = match &user {
        Some(user) => Subjects::for_user(&user.record.id, &client.address),
        None => Subjects::for_unknown(&unknown_key, &client.address),
    };
    throttle::check(store, now, &subjects).await?;
    let stored = match &user {
        Some(user) => user.record.password_hash.clone(),
        None => dummy_hash(ctx).await?,
    };
    let verification = verify(stored.clone(), password.to_owned()).await?;
    let outcome = match user {
        Some(user) if !user.record.active => Err(Refusal::SignInFailed),
        Some(_) if is_provisional(&stored) => Err(Refusal::ProvisionalPassword),
        Some(user) if matches!(verification, Verification::Match { .. }) => Ok(user),
        _ => Err(Refusal::SignInFailed),
    };
    let user = match outcome {
        Ok(user) => user,
        Err(refusal) => {
            throttle::record_failure(store, &policy.throttle, now, &subjects).await?;
            return Err(Error::Forbidden(refusal));
        }
    };
    if let Verification::Match { needs_rehash: true } = verification {
        rehash(store, ctx, &user, password).await;
    }
    let stage = next_stage(policy, &user);
    let (token, row, session) = new_session(ctx, policy, &user, stage, client);
    open(store, &row, &subjects).await?;
    Ok((token, session))
}

/// The user an identifier names, or None with the key the throttle counts it under. Text with
/// an `@` is tried as an e-mail address first (usernames may hold an `@` too, so it falls back
/// to the username).
pub(super) async fn find_user(
    store: &Store,
    identifier: &str,
) -> Result<(Option<StoredUser>, String), Error> {
    let identifier = identifier.trim();
    let mut conn = store.acquire().await?;
    let email = identifier
        .contains('@')
        .then(|| Email::parse(identifier).ok())
        .flatten();
    if let Some(email) = &email {
        if let Some(user) = directory_users::user_by_email_key(&mut conn, email.key()).await? {
            return Ok((Some(user), String::new()));
        }
    }
    if let Ok(username) = Username::parse(identifier) {
        let user = directory_users::user_by_key(&mut conn, username.key()).await?;
        return Ok((user, username.key().to_owned()));
    }
    let key = match email {
        Some(email) => email.key().to_owned(),
        None => identifier.to_lowercase(),
    };
    Ok((None, key))
}

/// Verifies a password against a stored hash off the async threads. A stored value the
/// credentials crate refuses to parse matches nothing.
pub(super) async fn verify(stored: String, password: String) -> Result<Verification, Error> {
    off_thread(move || {
        let password = PlainPassword::new(password);
        verify_password(&stored, &password).unwrap_or(Verification::Mismatch)
    })
    .await
}

/// Hashes a new password with argon2id off the async threads, the salt drawn from the context.
pub(super) async fn hash_new(ctx: &Context, password: String) -> Result<String, Error> {
    let salt = random_bytes::<SALT_LEN>(ctx);
    off_thread(move || hash_password_salted(&PlainPassword::new(password), &salt))
        .await?
        .map_err(|e| Error::Internal(Internal::Credentials(e.to_string())))
}

/// The hash an unknown user's password is verified against: argon2id with the parameters of
/// every new hash, made once per process.
async fn dummy_hash(ctx: &Context) -> Result<String, Error> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = hash_new(ctx, "muster-no-such-user".to_owned()).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// Replaces an imported hash with argon2id, best effort: on a connection that does not wait
/// for the main database's write lock, and only if the hash is still the one verified. Any
/// failure leaves the old hash, which verifies as well, for the next sign-in to replace.
async fn rehash(store: &Store, ctx: &Context, user: &StoredUser, password: &str) {
    let Ok(new_hash) = hash_new(ctx, password.to_owned()).await else {
        return;
    };
    let Ok(mut conn) = store.acquire_without_waiting().await else {
        return;
    };
    let old_hash = &user.record.password_hash;
    // Ignored on purpose: busy (an import holds the database) or changed meanwhile.
    let _ = directory_users::rehash_password(&mut conn, &user.record.id, old_hash, &new_hash).await;
}
