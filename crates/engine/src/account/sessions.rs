//! Sessions: created at sign-in, resolved from a token at every request, rotated at every
//! stage advance, listed and revoked. A session lives in the sign-in database; its user is read
//! from the main database at every resolve (a read, which SQLite in WAL mode serves while an
//! import writes), so a deleted or deactivated user's sessions stop at once even when the
//! change came from an import that revoked nothing.

use muster_store::signin::{self as db, SessionRow};
use muster_store::{directory_users, Store, StoreError, StoredUser};

use super::{random_text, ClientInfo, Session, SessionStage, SessionToken};
use super::{AccountPolicy, Context};
use crate::access::{effective_permissions, Actor, Source};
use crate::error::{Error, Missing, Refusal};

/// How often a session's `last_seen_at` is written: at most once a minute, so a page view
/// rarely writes at all.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Ended sessions of other users a sign-in removes on its way: a few more than a sign-in
/// creates, so the table shrinks back to the live sessions over time.
const ENDED_PER_SIGN_IN: i64 = 10;

/// Random bytes of a session's public id and of its CSRF token.
const ID_BYTES: usize = 16;
const CSRF_BYTES: usize = 32;

/// A session resolved from a token, with the row and the user behind it.
pub(super) struct Current {
    pub token_hash: String,
    pub row: SessionRow,
    pub user: StoredUser,
}

impl Current {
    pub fn session(&self) -> Session {
        session_of(&self.row, &self.user)
    }

    pub fn stage(&self) -> SessionStage {
        SessionStage::parse(&self.row.stage).unwrap_or(SessionStage::ChangePassword)
    }

    /// Refuses unless the session is at one of `stages`.
    pub fn require_stage(&self, stages: &[SessionStage]) -> Result<(), Error> {
        let stage = self.stage();
        if stages.contains(&stage) {
            Ok(())
        } else {
            Err(Error::Forbidden(Refusal::SessionStage { stage }))
        }
    }
}

fn session_of(row: &SessionRow, user: &StoredUser) -> Session {
    Session {
        id: row.id.clone(),
        user_id: row.user_id.clone(),
        username: user.record.username.clone(),
        // A stage this version does not know (written by a later one) grants the least.
        stage: SessionStage::parse(&row.stage).unwrap_or(SessionStage::ChangePassword),
        csrf: row.csrf.clone(),
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        idle_expires_at: row.idle_expires_at,
        expires_at: row.expires_at,
        client: ClientInfo {
            address: row.address.clone(),
            user_agent: row.user_agent.clone(),
        },
    }
}

/// The stage a session of `user` starts at, or moves to once its current step is done.
pub(super) fn next_stage(policy: &AccountPolicy, user: &StoredUser) -> SessionStage {
    if user.must_change_password {
        SessionStage::ChangePassword
    } else if user.mfa_enrolled {
        SessionStage::Mfa
    } else if policy.mfa_required && !user.record.ignore_mfa {
        SessionStage::EnrolMfa
    } else {
        SessionStage::Full
    }
}

/// A new session row for `user` at `stage` (not written yet) and its token.
pub(super) fn new_session(
    ctx: &Context,
    policy: &AccountPolicy,
    user: &StoredUser,
    stage: SessionStage,
    client: ClientInfo,
) -> (SessionToken, SessionRow, Session) {
    let now = (ctx.now)();
    let token = SessionToken::generate(ctx);
    let row = SessionRow {
        token_hash: token.digest(),
        id: random_text::<ID_BYTES>(ctx),
        user_id: user.record.id.clone(),
        stage: stage.as_str().to_owned(),
        csrf: random_text::<CSRF_BYTES>(ctx),
        created_at: now,
        last_seen_at: now,
        idle_expires_at: (now + policy.idle_ms).min(now + policy.absolute_ms),
        expires_at: now + policy.absolute_ms,
        address: client.address,
        user_agent: client.user_agent,
    };
    let session = session_of(&row, user);
    (token, row, session)
}

/// The live session behind `token`, or None: unknown, expired, or its user gone or inactive.
/// Expired sessions and sessions of inactive or deleted users are removed on the way.
pub(super) async fn current(
    store: &Store,
    now: i64,
    token: &str,
) -> Result<Option<Current>, Error> {
    let Some(token) = SessionToken::parse(token) else {
        return Ok(None);
    };
    let token_hash = token.digest();
    let mut signin = store.acquire_signin().await?;
    let Some(row) = db::session_by_token_hash(&mut signin, &token_hash).await? else {
        return Ok(None);
    };
    if now >= row.idle_expires_at || now >= row.expires_at {
        db::delete_session(&mut signin, &token_hash).await?;
        return Ok(None);
    }
    drop(signin);
    let mut main = store.acquire().await?;
    let user = directory_users::user_by_id(&mut main, &row.user_id).await?;
    drop(main);
    match user {
        Some(user) if user.record.active => Ok(Some(Current {
            token_hash,
            row,
            user,
        })),
        _ => {
            let mut signin = store.acquire_signin().await?;
            db::delete_user_sessions(&mut signin, &row.user_id, None).await?;
            Ok(None)
        }
    }
}

/// The live session behind `token`, or the refusal `NotSignedIn`.
pub(super) async fn signed_in(store: &Store, now: i64, token: &str) -> Result<Current, Error> {
    current(store, now, token)
        .await?
        .ok_or(Error::Forbidden(Refusal::NotSignedIn))
}

/// The session behind a token: None when the token is unknown, expired (idle or absolute),
/// revoked, or its user is gone or inactive. Records the use (`last_seen_at`, extending the idle
/// expiry) at most once a minute, a write to the sign-in database only.
pub async fn resolve_session(
    store: &Store,
    ctx: &Context,
    policy: &AccountPolicy,
    token: &str,
) -> Result<Option<Session>, Error> {
    let now = (ctx.now)();
    let Some(mut current) = current(store, now, token).await? else {
        return Ok(None);
    };
    if now - current.row.last_seen_at >= TOUCH_INTERVAL_MS {
        let idle_expires_at = (now + policy.idle_ms).min(current.row.expires_at);
        let mut signin = store.acquire_signin().await?;
        db::touch_session(&mut signin, &current.token_hash, now, idle_expires_at).await?;
        current.row.last_seen_at = now;
        current.row.idle_expires_at = idle_expires_at;
    }
    Ok(Some(current.session()))
}

/// Moves the session to `stage` under a new token (and a new CSRF token): the old token stops
/// resolving in the same statement.
pub(super) async fn rotate(
    store: &Store,
    ctx: &Context,
    current: &Current,
    stage: SessionStage,
) -> Result<(SessionToken, Session), Error> {
    let token = SessionToken::generate(ctx);
    let csrf = random_text::<CSRF_BYTES>(ctx);
    let mut signin = store.acquire_signin().await?;
    let new_hash = token.digest();
    if !db::rotate_session(
        &mut signin,
        &current.token_hash,
        &new_hash,
        stage.as_str(),
        &csrf,
    )
    .await?
    {
        // Revoked (or rotated by a parallel request) since it was resolved.
        return Err(Error::Forbidden(Refusal::NotSignedIn));
    }
    let mut row = current.row.clone();
    row.token_hash = new_hash;
    row.stage = stage.as_str().to_owned();
    row.csrf = csrf;
    Ok((token, session_of(&row, &current.user)))
}

/// The actor a fully signed-in session acts as: its user with the permissions of the user's
/// roles and groups, as `Actor::for_user` builds it, found by id, with `source` as given.
pub async fn session_actor(
    store: &Store,
    session: &Session,
    source: Source,
) -> Result<Actor, Error> {
    if session.stage != SessionStage::Full {
        return Err(Error::Forbidden(Refusal::SessionStage {
            stage: session.stage,
        }));
    }
    let mut conn = store.acquire().await?;
    let user = directory_users::user_by_id(&mut conn, &session.user_id)
        .await?
        .ok_or_else(|| Missing::Record {
            entity: "user",
            key: session.user_id.clone(),
        })?;
    if !user.record.active {
        return Err(Error::Forbidden(Refusal::InactiveUser {
            username: user.record.username,
        }));
    }
    let catalog = muster_store::load_catalog(&mut conn).await?;
    let record = user.record;
    let permissions = effective_permissions(&catalog, &record.role_keys, &record.group_keys);
    Ok(Actor::user(
        record.id,
        record.username_key,
        record.username,
        source,
        permissions,
    ))
}

/// Ends the session behind `token`, at any stage. An unknown token is not an error: the
/// outcome, no session, is the same.
pub async fn sign_out(store: &Store, token: &str) -> Result<(), Error> {
    let Some(token) = SessionToken::parse(token) else {
        return Ok(());
    };
    let mut signin = store.acquire_signin().await?;
    db::delete_session(&mut signin, &token.digest()).await?;
    Ok(())
}

/// The live sessions of the signed-in user (fully signed in), newest first.
pub async fn list_own_sessions(
    store: &Store,
    ctx: &Context,
    token: &str,
) -> Result<Vec<Session>, Error> {
    let now = (ctx.now)();
    let current = signed_in(store, now, token).await?;
    current.require_stage(&[SessionStage::Full])?;
    let mut signin = store.acquire_signin().await?;
    let rows = db::user_sessions(&mut signin, &current.row.user_id, now).await?;
    Ok(rows
        .iter()
        .map(|row| session_of(row, &current.user))
        .collect())
}

/// Ends one of the signed-in user's sessions by its public id (this one too, if named). Another
/// user's session id is not found, as an unknown one.
pub async fn revoke_own_session(
    store: &Store,
    ctx: &Context,
    token: &str,
    session_id: &str,
) -> Result<(), Error> {
    let current = signed_in(store, (ctx.now)(), token).await?;
    current.require_stage(&[SessionStage::Full])?;
    let mut signin = store.acquire_signin().await?;
    if db::delete_session_by_id(&mut signin, &current.row.user_id, session_id).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Record {
            entity: "session",
            key: session_id.to_owned(),
        }))
    }
}

/// Ends every session of the signed-in user but this one; how many.
pub async fn revoke_other_sessions(
    store: &Store,
    ctx: &Context,
    token: &str,
) -> Result<u64, Error> {
    let current = signed_in(store, (ctx.now)(), token).await?;
    current.require_stage(&[SessionStage::Full])?;
    let mut signin = store.acquire_signin().await?;
    let ended =
        db::delete_user_sessions(&mut signin, &current.row.user_id, Some(&current.row.id)).await?;
    Ok(ended)
}

/// Ends every session of a user (by id); how many. The directory calls it after a password is
/// set, a user deactivated or deleted, or MFA reset; a password reset calls it too. No
/// permission is checked here: callers have checked theirs.
pub async fn revoke_user_sessions(store: &Store, user_id: &str) -> Result<u64, Error> {
    let mut signin = store.acquire_signin().await?;
    let ended = db::delete_user_sessions(&mut signin, user_id, None).await?;
    Ok(ended)
}

/// Writes a new session, the sign-in record, the account's cleared throttle and the
/// opportunistic clean-up (the user's expired sessions, a few ended ones of anyone) in one
/// sign-in database transaction.
pub(super) async fn open(
    store: &Store,
    row: &SessionRow,
    subjects: &super::throttle::Subjects,
) -> Result<(), Error> {
    let mut tx = store.begin_signin().await?;
    db::insert_session(&mut tx, row).await?;
    db::record_sign_in(&mut tx, &row.user_id, row.created_at, &row.address).await?;
    db::delete_expired_sessions(&mut tx, &row.user_id, row.created_at).await?;
    db::delete_ended_sessions(&mut tx, row.created_at, ENDED_PER_SIGN_IN).await?;
    super::throttle::clear_account(&mut tx, subjects).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
