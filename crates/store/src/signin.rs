//! The sign-in database's statements: sessions, sign-in throttles, last sign-ins, the TOTP steps
//! used and recovery codes. Every function takes a connection from `Store::acquire_signin` or
//! `Store::begin_signin`, never one of the main database: on SQLite the sign-in tables are in a
//! file of their own (see `connect.rs`), so they can be written while an import holds the main
//! database. Users are named by their immutable id. The engine decides what a row means
//! (stages, expiry, throttle limits); this module only runs the statements.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Connection, Result};

/// A session as stored: the SHA-256 (hex) of its token, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: String,
    pub id: String,
    pub user_id: String,
    pub stage: String,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
    pub address: String,
    pub user_agent: String,
}

const SESSION_COLUMNS: &str = "token_hash, id, user_id, stage, csrf, created_at, last_seen_at, \
    idle_expires_at, expires_at, address, user_agent";

fn session_from_row(row: &AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        token_hash: row.try_get(0)?,
        id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        stage: row.try_get(3)?,
        csrf: row.try_get(4)?,
        created_at: row.try_get(5)?,
        last_seen_at: row.try_get(6)?,
        idle_expires_at: row.try_get(7)?,
        expires_at: row.try_get(8)?,
        address: row.try_get(9)?,
        user_agent: row.try_get(10)?,
    })
}

pub async fn insert_session(conn: &mut Connection, session: &SessionRow) -> Result<()> {
    let sql = format!(
        "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    sqlx::query(&sql)
        .bind(session.token_hash.as_str())
        .bind(session.id.as_str())
        .bind(session.user_id.as_str())
        .bind(session.stage.as_str())
        .bind(session.csrf.as_str())
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.idle_expires_at)
        .bind(session.expires_at)
        .bind(session.address.as_str())
        .bind(session.user_agent.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The session whose token hashes to `token_hash`, expired or not (the engine judges expiry).
pub async fn session_by_token_hash(
    conn: &mut Connection,
    token_hash: &str,
) -> Result<Option<SessionRow>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// The sessions of a user that have not expired at `now`, newest first.
pub async fn user_sessions(
    conn: &mut Connection,
    user_id: &str,
    now: i64,
) -> Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND idle_expires_at > $2 \
         AND expires_at > $3 ORDER BY created_at DESC, id"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(now)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(session_from_row).collect()
}

/// Gives the session a new token hash, stage and CSRF token in one statement, so the old token
/// stops resolving the moment the new one exists. False when the old token is gone (revoked or
/// rotated by another request).
pub async fn rotate_session(
    conn: &mut Connection,
    old_token_hash: &str,
    new_token_hash: &str,
    stage: &str,
    csrf: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET token_hash = $1, stage = $2, csrf = $3 WHERE token_hash = $4",
    )
    .bind(new_token_hash)
    .bind(stage)
    .bind(csrf)
    .bind(old_token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the session was used at `now`, extending its idle expiry.
pub async fn touch_session(
    conn: &mut Connection,
    token_hash: &str,
    now: i64,
    idle_expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE token_hash = $3",
    )
    .bind(now)
    .bind(idle_expires_at)
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets the session with this token hash; true when there was one.
pub async fn delete_session(conn: &mut Connection, token_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets the session with this public id if it belongs to `user_id`; true when there was one.
pub async fn delete_session_by_id(conn: &mut Connection, user_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets every session of a user except the one with the public id `except_id`; how many.
pub async fn delete_user_sessions(
    conn: &mut Connection,
    user_id: &str,
    except_id: Option<&str>,
) -> Result<u64> {
    let done = match except_id {
        Some(except) => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                .bind(user_id)
                .bind(except)
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(done.rows_affected())
}

/// Forgets the sessions of a user that expired by `now` (the opportunistic clean-up a sign-in
/// does, through the user's index); how many.
pub async fn delete_expired_sessions(
    conn: &mut Connection,
    user_id: &str,
    now: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND (idle_expires_at <= $2 OR expires_at <= $3)",
    )
    .bind(user_id)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Forgets up to `limit` sessions of anyone that passed their absolute end by `now` (through the
/// expiry index), so sessions nobody comes back to do not accumulate; how many.
pub async fn delete_ended_sessions(conn: &mut Connection, now: i64, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE token_hash IN \
         (SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
    )
    .bind(now)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Which failures a throttle row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleScope {
    /// One account (or one unknown identifier, so the throttle does not reveal which exist).
    Account,
    /// One client address.
    Address,
}

impl ThrottleScope {
    fn as_str(self) -> &'static str {
        match self {
            ThrottleScope::Account => "account",
            ThrottleScope::Address => "address",
        }
    }
}

/// The failures counted against one subject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThrottleRow {
    pub failures: i64,
    pub window_started_at: i64,
    pub locked_until: i64,
    pub lockouts: i64,
    pub last_failure_at: i64,
}

pub async fn throttle(
    conn: &mut Connection,
    scope: ThrottleScope,
    subject: &str,
) -> Result<Option<ThrottleRow>> {
    let row = sqlx::query(
        "SELECT failures, window_started_at, locked_until, lockouts, last_failure_at \
         FROM signin_throttles WHERE scope = $1 AND subject = $2",
    )
    .bind(scope.as_str())
    .bind(subject)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(ThrottleRow {
            failures: row.try_get(0)?,
            window_started_at: row.try_get(1)?,
            locked_until: row.try_get(2)?,
            lockouts: row.try_get(3)?,
            last_failure_at: row.try_get(4)?,
        })
    })
    .transpose()
}

/// Writes the subject's throttle row, replacing the one there was.
pub async fn put_throttle(
    conn: &mut Connection,
    scope: ThrottleScope,
    subject: &str,
    row: &ThrottleRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO signin_throttles (scope, subject, failures, window_started_at, locked_until, \
         lockouts, last_failure_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (scope, subject) DO UPDATE SET failures = excluded.failures, \
         window_started_at = excluded.window_started_at, locked_until = excluded.locked_until, \
         lockouts = excluded.lockouts, last_failure_at = excluded.last_failure_at",
    )
    .bind(scope.as_str())
    .bind(subject)
    .bind(row.failures)
    .bind(row.window_started_at)
    .bind(row.locked_until)
    .bind(row.lockouts)
    .bind(row.last_failure_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn clear_throttle(
    conn: &mut Connection,
    scope: ThrottleScope,
    subject: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM signin_throttles WHERE scope = $1 AND subject = $2")
        .bind(scope.as_str())
        .bind(subject)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a successful sign-in of the user at `at` from `address`.
pub async fn record_sign_in(
    conn: &mut Connection,
    user_id: &str,
    at: i64,
    address: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO last_sign_ins (user_id, signed_in_at, address) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET signed_in_at = excluded.signed_in_at, \
         address = excluded.address",
    )
    .bind(user_id)
    .bind(at)
    .bind(address)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// When the user last signed in, if ever.
pub async fn last_sign_in(conn: &mut Connection, user_id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT signed_in_at FROM last_sign_ins WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Claims the TOTP time step `step` for the user: true when it is later than every step claimed
/// before, in one statement, so two requests with the same code cannot both succeed.
pub async fn claim_totp_step(conn: &mut Connection, user_id: &str, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO totp_steps (user_id, last_step) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET last_step = excluded.last_step \
         WHERE totp_steps.last_step < excluded.last_step",
    )
    .bind(user_id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `code_hashes` the user's recovery codes, dropping any earlier ones.
pub async fn replace_recovery_codes(
    conn: &mut Connection,
    user_id: &str,
    code_hashes: &[String],
    at: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in code_hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Marks the user's unused recovery code with this hash used at `at`: true when there was one.
pub async fn use_recovery_code(
    conn: &mut Connection,
    user_id: &str,
    code_hash: &str,
    at: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(at)
    .bind(user_id)
    .bind(code_hash)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many of the user's recovery codes are still unused.
pub async fn unused_recovery_codes(conn: &mut Connection, user_id: &str) -> Result<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.try_get(0)?)
}

/// Forgets the user's second-factor state in the sign-in database (the steps used and the
/// recovery codes), when an administrator resets the user's MFA or the user is deleted.
pub async fn forget_second_factor(conn: &mut Connection, user_id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM totp_steps WHERE user_id = $1",
        "DELETE FROM recovery_codes WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
    }
    Ok(())
}
