//! Signing in and the account of the signed-in user: sessions, sign-in with throttling, the
//! forced and voluntary password change, the TOTP second factor with recovery codes, and the
//! bootstrap of the first administrator. What front-ends call (the console today; see
//! `muster-server`), with no HTTP here: a token in, a session or a refusal out.
//!
//! Everything a sign-in or a page view writes goes to the sign-in database
//! (`muster_store::signin`), which on SQLite is a file of its own, so a sign-in works while an
//! import holds the main database's write lock (ARCHITECTURE.md, "Accounts"). The main database
//! is only read, except where the user's record itself changes: a password change, an MFA
//! enrolment (both audited), the bootstrap, and the best-effort re-hash of an imported password.
//!
//! A session moves through stages (`SessionStage`): a password to change, a second factor to
//! enrol or give, then `Full`, the only stage that acts for the user (`session_actor`). Every
//! advance issues a new token and forgets the old one. Time and randomness come from the
//! context, so tests compute TOTP codes and expiries exactly.
//!
//! The mail the engine sends goes through `mail::MailTransport`, which `muster-mail` implements.

mod bootstrap;
mod invite;
pub mod mail;
mod mfa;
mod one_time;
mod password;
mod reset;
mod sessions;
mod sign_in;
mod throttle;

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::error::{Error, Internal};

pub use bootstrap::{bootstrap_admin, sign_in_info, UserSignInInfo, BOOTSTRAP_USERNAME};
pub use invite::{
    accept_invitation, invite_import, invite_user, InviteReport, SkipReason, Skipped,
};
pub use mfa::{begin_mfa_enrolment, confirm_mfa_enrolment, verify_mfa, MfaEnrolment};
pub use one_time::{check_one_time_token, TokenInfo, TokenPurpose};
pub use password::change_own_password;
pub use reset::{request_password_reset, reset_password, MAX_PENDING_RESETS};
pub use sessions::{
    list_own_sessions, resolve_session, revoke_other_sessions, revoke_own_session,
    revoke_user_sessions, session_actor, sign_out,
};
pub use sign_in::sign_in;
pub use throttle::ThrottlePolicy;

/// Random bytes in a session token.
const TOKEN_BYTES: usize = 32;

/// The secret a browser holds in its session cookie: 32 random bytes, base64url without
/// padding. Only its SHA-256 is stored. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh token from the context's random source.
    fn generate(ctx: &Context) -> SessionToken {
        SessionToken(random_text::<TOKEN_BYTES>(ctx))
    }

    /// The token a client sent, if it has the form of one (43 base64url characters that decode
    /// to 32 bytes); anything else resolves to no session without a database read.
    pub fn parse(raw: &str) -> Option<SessionToken> {
        let decoded = URL_SAFE_NO_PAD.decode(raw.as_bytes()).ok()?;
        (decoded.len() == TOKEN_BYTES).then(|| SessionToken(raw.to_owned()))
    }

    /// The secret, for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the sign-in database stores: the SHA-256 of the token, in hex.
    fn digest(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

/// How far a session has come; only `Full` acts for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Signed in with a password that must be changed first (the bootstrap administrator's).
    ChangePassword,
    /// MFA is required, the user has not enrolled and is not exempt (`ignore_mfa`).
    EnrolMfa,
    /// Enrolled: a TOTP code or a recovery code comes next.
    Mfa,
    /// Everything done: the session acts for the user.
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::ChangePassword => "change_password",
            SessionStage::EnrolMfa => "enrol_mfa",
            SessionStage::Mfa => "mfa",
            SessionStage::Full => "full",
        }
    }

    pub fn parse(text: &str) -> Option<SessionStage> {
        [
            SessionStage::ChangePassword,
            SessionStage::EnrolMfa,
            SessionStage::Mfa,
            SessionStage::Full,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// What the session still has to do, as a refusal says it.
    pub(crate) fn pending(self) -> &'static str {
        match self {
            SessionStage::ChangePassword => "the password must be changed first",
            SessionStage::EnrolMfa => "a second factor must be enrolled first",
            SessionStage::Mfa => "the second factor must be given first",
            SessionStage::Full => "the session is signed in fully already",
        }
    }
}

/// The client a session was opened from, as the front-end saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientInfo {
    pub address: String,
    pub user_agent: String,
}

/// A session as front-ends see it. Times are unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The public id (for listing and revoking), not the token.
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub stage: SessionStage,
    /// The session's CSRF token for forms (random, stored, renewed with the token).
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
    pub client: ClientInfo,
}

/// How sign-in and sessions behave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPolicy {
    /// Every user without `ignore_mfa` enrols a second factor before acting.
    pub mfa_required: bool,
    /// A session unused for this long ends.
    pub idle_ms: i64,
    /// A session ends this long after its sign-in, used or not.
    pub absolute_ms: i64,
    pub throttle: ThrottlePolicy,
}

impl Default for AccountPolicy {
    /// MFA optional, 30 minutes idle, 12 hours at most, the default throttle.
    fn default() -> AccountPolicy {
        AccountPolicy {
            mfa_required: false,
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * 60 * 60 * 1000,
            throttle: ThrottlePolicy::default(),
        }
    }
}

/// `N` bytes from the context's random source.
fn random_bytes<const N: usize>(ctx: &Context) -> [u8; N] {
    let mut bytes = [0u8; N];
    let mut rng = ctx
        .rng
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    rng.fill_bytes(&mut bytes);
    bytes
}

/// `N` random bytes as base64url text without padding.
fn random_text<const N: usize>(ctx: &Context) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>(ctx))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs CPU-heavy work (argon2) on tokio's blocking threads, off the async workers that serve
/// other requests.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(Internal::Credentials(e.to_string())))
}
