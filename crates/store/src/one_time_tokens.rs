//! The statements of one-time links (password resets, invitations) in the sign-in database:
//! issue, read, claim once, give back a claim whose password change failed, count the pending
//! ones and retire a user's unused ones. Tokens are stored as the SHA-256 (hex) of the secret
//! the link carries; the engine hashes, decides validity periods and judges expiry, and this
//! module makes "used once" hold under concurrent requests (`claim` is one conditional update).
//! Every function takes a connection from `Store::acquire_signin` or `Store::begin_signin`.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Connection, Result};

/// A one-time token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimeTokenRow {
    pub token_hash: String,
    /// `reset` or `invitation`.
    pub purpose: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub created_by: String,
}

const COLUMNS: &str = "token_hash, purpose, user_id, created_at, expires_at, used_at, created_by";

fn from_row(row: &AnyRow) -> Result<OneTimeTokenRow> {
    Ok(OneTimeTokenRow {
        token_hash: row.try_get(0)?,
        purpose: row.try_get(1)?,
        user_id: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        used_at: row.try_get(5)?,
        created_by: row.try_get(6)?,
    })
}

pub async fn insert_token(conn: &mut Connection, token: &OneTimeTokenRow) -> Result<()> {
    let sql =
        format!("INSERT INTO one_time_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    sqlx::query(&sql)
        .bind(token.token_hash.as_str())
        .bind(token.purpose.as_str())
        .bind(token.user_id.as_str())
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.used_at)
        .bind(token.created_by.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The token with this hash, used or expired or not (the engine judges).
pub async fn token_by_hash(
    conn: &mut Connection,
    token_hash: &str,
) -> Result<Option<OneTimeTokenRow>> {
    let sql = format!("SELECT {COLUMNS} FROM one_time_tokens WHERE token_hash = $1");
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks the token used at `now` if it is unused, of `purpose` and not expired at `now`, in one
/// statement: of two requests with the same token, exactly one gets true.
pub async fn claim_token(
    conn: &mut Connection,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE one_time_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at IS NULL AND expires_at > $4",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes a token claimed at `claimed_at` unused again, when what it was claimed for could not
/// be done (the main database was busy): the link keeps working until it expires.
pub async fn release_token(conn: &mut Connection, token_hash: &str, claimed_at: i64) -> Result<()> {
    sqlx::query("UPDATE one_time_tokens SET used_at = NULL WHERE token_hash = $1 AND used_at = $2")
        .bind(token_hash)
        .bind(claimed_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many of the user's tokens of `purpose` are unused and not expired at `now`.
pub async fn pending_tokens(
    conn: &mut Connection,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM one_time_tokens WHERE user_id = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

/// Deletes the user's unused tokens (of every purpose) and those expired at `now`, used or
/// not: after the password was set, no older link may set it again. Returns how many went.
pub async fn retire_user_tokens(conn: &mut Connection, user_id: &str, now: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM one_time_tokens WHERE user_id = $1 AND (used_at IS NULL OR expires_at <= $2)",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes the user's tokens that expired before `now` (used or not): the opportunistic
/// clean-up done whenever a token is issued.
pub async fn delete_expired_tokens(conn: &mut Connection, user_id: &str, now: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM one_time_tokens WHERE user_id = $1 AND expires_at <= $2")
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes one token: a link whose mail could not be sent is never used.
pub async fn delete_token(conn: &mut Connection, token_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM one_time_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
