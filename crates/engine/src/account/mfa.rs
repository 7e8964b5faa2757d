//! The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way) with ten one-time recovery codes.
//!
//! Enrolment is two calls: `begin_mfa_enrolment` draws a secret and shows it (text, otpauth URI,
//! QR code as SVG) without storing it; `confirm_mfa_enrolment` takes the secret back with a code
//! computed from it, which proves the user's authenticator holds it, and only then stores the
//! enrolment in the main database (`user_mfa`, audited) and the recovery codes, hashed, in the
//! sign-in database. A code is accepted only for a time step later than the last one accepted
//! for the user, so a code seen once cannot be replayed within its window. Wrong codes count
//! against the account's sign-in throttle: six digits are few.

use std::fmt;

use muster_store::signin as signin_db;
use muster_store::{directory_users, Store, StoreError};
use qrcode::render::svg;
use qrcode::QrCode;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use super::sessions::{rotate, signed_in, Current};
use super::throttle::{self, Subjects};
use super::{random_bytes, sha256_hex, AccountPolicy, Session, SessionStage, SessionToken};
use crate::access::Actor;
use crate::audit::{self, secret_change, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Conflict, Error, Internal, Refusal};

const ISSUER: &str = "muster";
const DIGITS: usize = 6;
const STEP_S: u64 = 30;
const SKEW_STEPS: i64 = 1;
/// RFC 4226 recommends 160 bits.
const SECRET_BYTES: usize = 20;
/// The shortest secret accepted back (RFC 4226's minimum of 128 bits).
const MIN_SECRET_BYTES: usize = 16;
const RECOVERY_CODES: usize = 10;
/// 80 random bits each: sixteen base32 characters.
const RECOVERY_CODE_BYTES: usize = 10;

/// A secret to enrol, as the user is shown it. Not stored until confirmed.
#[derive(Clone)]
pub struct MfaEnrolment {
    /// For typing into an authenticator, and for handing back to `confirm_mfa_enrolment`.
    pub secret_base32: String,
    /// `otpauth://totp/muster:{username}?secret=…&issuer=muster`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

impl fmt::Debug for MfaEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MfaEnrolment(…)")
    }
}

/// Starts an enrolment for the signed-in user (stage `EnrolMfa`, or `Full` to enrol
/// voluntarily): a fresh secret from the context's random source. A user enrolled already is a
/// conflict.
pub async fn begin_mfa_enrolment(
    store: &Store,
    ctx: &Context,
    token: &str,
) -> Result<MfaEnrolment, Error> {
    let current = signed_in(store, (ctx.now)(), token).await?;
    current.require_stage(&[SessionStage::EnrolMfa, SessionStage::Full])?;
    if current.user.mfa_enrolled {
        return Err(Error::Conflict(Conflict::MfaEnrolled));
    }
    let secret = random_bytes::<SECRET_BYTES>(ctx).to_vec();
    let totp = totp(secret, &current.user.record.username)?;
    let otpauth_uri = totp.get_url();
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| Error::Internal(Internal::Credentials(e.to_string())))?
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(MfaEnrolment {
        secret_base32: totp.get_secret_base32(),
        otpauth_uri,
        qr_svg,
    })
}

/// Enrols the secret the user was shown, if `code` is the secret's code now: stores the
/// enrolment (audited as "user.mfa_enrol"), makes ten recovery codes and returns them (shown
/// once, stored hashed), and moves the session to `Full` under a new token.
pub async fn confirm_mfa_enrolment(
    store: &Store,
    ctx: &Context,
    policy: &AccountPolicy,
    token: &str,
    secret_base32: &str,
    code: &str,
) -> Result<(SessionToken, Session, Vec<String>), Error> {
    busy::naming_job(store, async move {
        let now = (ctx.now)();
        let current = signed_in(store, now, token).await?;
        current.require_stage(&[SessionStage::EnrolMfa, SessionStage::Full])?;
        if current.user.mfa_enrolled {
            return Err(Error::Conflict(Conflict::MfaEnrolled));
        }
        let secret = Secret::Encoded(secret_base32.trim().to_uppercase())
            .to_bytes()
            .ok()
            .filter(|bytes| bytes.len() >= MIN_SECRET_BYTES)
            .ok_or_else(|| Error::invalid("secret", "not a secret of this enrolment"))?;
        let subjects = Subjects::for_user(&current.user.record.id, &current.row.address);
        throttle::check(store, now, &subjects).await?;
        let totp = totp(secret, &current.user.record.username)?;
        let Some(step) = matching_step(&totp, code, now) else {
            throttle::record_failure(store, &policy.throttle, now, &subjects).await?;
            return Err(Error::Forbidden(Refusal::SecondFactorFailed));
        };
        enrol(store, ctx, &current, &totp.get_secret_base32(), now).await?;
        let codes = recovery_codes(ctx);
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
        let mut tx = store.begin_signin().await?;
        let user_id = &current.user.record.id;
        signin_db::claim_totp_step(&mut tx, user_id, step).await?;
        signin_db::replace_recovery_codes(&mut tx, user_id, &hashes, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let (token, session) = rotate(store, ctx, &current, SessionStage::Full).await?;
        Ok((token, session, codes))
    })
    .await
}

/// Writes the enrolment and its audit entry in one main-database transaction.
async fn enrol(
    store: &Store,
    ctx: &Context,
    current: &Current,
    secret_base32: &str,
    now: i64,
) -> Result<(), Error> {
    let user = &current.user.record;
    let mut tx = store.begin_writing().await?;
    if directory_users::mfa_secret(&mut tx, &user.id)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(Conflict::MfaEnrolled));
    }
    directory_users::insert_mfa(&mut tx, &user.id, secret_base32, now).await?;
    let actor = Actor::user(
        user.id.clone(),
        user.username_key.clone(),
        user.username.clone(),
        ctx.actor.source,
        [],
    );
    let target = Target::new("user", &user.id, &user.username);
    let changes = vec![secret_change("mfa", true)];
    audit::record(
        &mut tx,
        &actor,
        now,
        "user.mfa_enrol",
        &target,
        None,
        changes,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Completes the second factor of a session at stage `Mfa`: a TOTP code for a time step later
/// than the last one accepted, or an unused recovery code (used up by this). Moves the session
/// to `Full` under a new token.
pub async fn verify_mfa(
    store: &Store,
    ctx: &Context,
    policy: &AccountPolicy,
    token: &str,
    code: &str,
) -> Result<(SessionToken, Session), Error> {
    let now = (ctx.now)();
    let current = signed_in(store, now, token).await?;
    current.require_stage(&[SessionStage::Mfa])?;
    let user = &current.user.record;
    let subjects = Subjects::for_user(&user.id, &current.row.address);
    throttle::check(store, now, &subjects).await?;
    let accepted = accept_code(store, &user.id, &user.username, code, now).await?;
    if !accepted {
        throttle::record_failure(store, &policy.throttle, now, &subjects).await?;
        return Err(Error::Forbidden(Refusal::SecondFactorFailed));
    }
    rotate(store, ctx, &current, SessionStage::Full).await
}

/// Whether `code` is a fresh TOTP code or an unused recovery code of the user, claiming it.
async fn accept_code(
    store: &Store,
    user_id: &str,
    username: &str,
    code: &str,
    now: i64,
) -> Result<bool, Error> {
    let code = code.trim();
    let looks_like_totp = code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit());
    if looks_like_totp {
        let mut conn = store.acquire().await?;
        let secret = directory_users::mfa_secret(&mut conn, user_id).await?;
        drop(conn);
        let Some(secret) = secret.and_then(|s| Secret::Encoded(s).to_bytes().ok()) else {
            return Ok(false);
        };
        let Some(step) = matching_step(&totp(secret, username)?, code, now) else {
            return Ok(false);
        };
        let mut signin = store.acquire_signin().await?;
        return Ok(signin_db::claim_totp_step(&mut signin, user_id, step).await?);
    }
    let mut signin = store.acquire_signin().await?;
    let hash = recovery_hash(code);
    Ok(signin_db::use_recovery_code(&mut signin, user_id, &hash, now).await?)
}

fn totp(secret: Vec<u8>, username: &str) -> Result<TOTP, Error> {
    // The otpauth label separates issuer and account with a colon, so an account name cannot
    // hold one.
    let account = username.replace(':', "_");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        u8::try_from(SKEW_STEPS).unwrap_or(1),
        STEP_S,
        secret,
        Some(ISSUER.to_owned()),
        account,
    )
    .map_err(|e| Error::Internal(Internal::Credentials(e.to_string())))
}

/// The time step within the skew whose code `code` is, at `now` (unix milliseconds).
fn matching_step(totp: &TOTP, code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    let current = now.div_euclid(1000) / STEP_S as i64;
    (current - SKEW_STEPS..=current + SKEW_STEPS)
        .filter(|step| *step >= 0)
        .find(|step| {
            let expected = totp.generate(*step as u64 * STEP_S);
            bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
        })
}

/// Ten recovery codes: 80 random bits each, as four groups of four base32 letters and digits.
fn recovery_codes(ctx: &Context) -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let text = base32_lower(&random_bytes::<RECOVERY_CODE_BYTES>(ctx));
            text.as_bytes()
                .chunks(4)
                .map(|group| String::from_utf8_lossy(group).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its letters and digits, lower-cased, so
/// the dashes and case the user types do not matter. 80 random bits need no slow hash.
fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha256_hex(&normal)
}

/// RFC 4648 base32 in lower case, without padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32_lower(&[0u8; 10]).len(), 16);
    }

    #[test]
    fn recovery_hashes_ignore_dashes_and_case() {
        assert_eq!(
            recovery_hash("abcd-efgh-2345-67ab"),
            recovery_hash("ABCDefgh234567AB")
        );
        assert_ne!(
            recovery_hash("abcd-efgh-2345-67ab"),
            recovery_hash("abcd-efgh-2345-67ac")
        );
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbouring_ones_only() {
        let totp = totp(vec![7u8; 20], "ann").unwrap();
        let at = 1_800_000_000_000;
        let step = at / 1000 / 30;
        let code = totp.generate(step as u64 * 30);
        assert_eq!(matching_step(&totp, &code, at), Some(step));
        assert_eq!(matching_step(&totp, &code, at + 30_000), Some(step));
        assert_eq!(matching_step(&totp, &code, at - 30_000), Some(step));
        assert_eq!(matching_step(&totp, &code, at + 60_000), None);
    }
}
