//! The first administrator of a new instance, and what the directory shows about a user's
//! sign-ins.
//!
//! `bootstrap_admin` runs when the server starts: on a store where no user holds the
//! administrator role (directly or through a group), it creates `admin` with that role and a
//! one-time password that must be changed at the first sign-in, and returns the password for
//! the operator to read once. Two servers starting together never create two: the check is
//! repeated inside the writing transaction, which on SQLite holds the write lock from its
//! start; on PostgreSQL the later insert fails on the username's key.

use muster_credentials::{PasswordPolicy, PlainPassword};
use muster_domain::Username;
use muster_store::{directory_users as db, Store, StoreError, UserRecord};

use super::random_bytes;
use super::sign_in::hash_new;
use crate::access::Actor;
use crate::audit::{self, change, secret_change, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Conflict, Error, Taken};
use crate::ids::IdMaker;

/// The username of the bootstrap administrator.
pub const BOOTSTRAP_USERNAME: &str = "admin";
const ADMINISTRATOR_ROLE: &str = "administrator";

/// Characters of a generated password: letters and digits without those read alike (0/O,
/// 1/l/I) and without `i`, so no password holds the username `admin`, which the policy refuses.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Four groups of five: 20 characters of 56, about 116 bits.
const PASSWORD_GROUPS: usize = 4;
const GROUP_LEN: usize = 5;

/// Creates `admin` (role administrator, must change the password at the first sign-in) when no
/// user holds the administrator role, and returns its one-time password: `password` when given
/// (it must pass the password policy), a generated one otherwise. None when an administrator
/// exists. A user `admin` without the role is a conflict: the operator renames it or grants
/// the role.
pub async fn bootstrap_admin(
    store: &Store,
    ctx: &Context,
    password: Option<String>,
) -> Result<Option<String>, Error> {
    busy::naming_job(store, async move {
        let mut conn = store.acquire().await?;
        if db::role_has_holder(&mut conn, ADMINISTRATOR_ROLE).await? {
            return Ok(None);
        }
        drop(conn);
        let password = match password {
            Some(given) => {
                let candidate = PlainPassword::new(given.clone());
                if let Err(violation) =
                    PasswordPolicy::default().check(&candidate, BOOTSTRAP_USERNAME)
                {
                    return Err(Error::invalid("password", violation.to_string()));
                }
                given
            }
            None => generate_password(ctx),
        };
        let hash = hash_new(ctx, password.clone()).await?;
        let mut tx = store.begin_writing().await?;
        if db::role_has_holder(&mut tx, ADMINISTRATOR_ROLE).await? {
            return Ok(None);
        }
        let username = Username::parse(BOOTSTRAP_USERNAME)
            .map_err(|e| Error::invalid("username", e.to_string()))?;
        if db::user_by_key(&mut tx, username.key()).await?.is_some() {
            return Err(Error::Conflict(Conflict::Taken(Taken::User {
                username: BOOTSTRAP_USERNAME.to_owned(),
            })));
        }
        let now = (ctx.now)();
        let record = admin_record(ctx, &username, hash, now);
        db::insert_user(&mut tx, &record).await?;
        db::set_must_change_password(&mut tx, &record.id, true).await?;
        let changes = vec![
            change("username", None, Some(record.username.as_str())),
            change("name", None, Some(record.name.as_str())),
            change("roles", None, Some(ADMINISTRATOR_ROLE)),
            secret_change("password", true),
        ];
        let target = Target::new("user", &record.id, &record.username);
        let actor = Actor::system("bootstrap");
        audit::record(&mut tx, &actor, now, "user.create", &target, None, changes).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(password))
    })
    .await
}

fn admin_record(ctx: &Context, username: &Username, password_hash: String, now: i64) -> UserRecord {
    UserRecord {
        id: IdMaker::new(now, &ctx.rng).next_id(),
        username_key: username.key().to_owned(),
        username: username.as_str().to_owned(),
        name: "Administrator".to_owned(),
        email: None,
        email_key: None,
        phone: None,
        department_key: None,
        active: true,
        ignore_mfa: false,
        locale: None,
        timezone: None,
        password_hash,
        created_at: now,
        updated_at: now,
        last_login_at: None,
        role_keys: vec![ADMINISTRATOR_ROLE.to_owned()],
        group_keys: Vec::new(),
    }
}

/// A random password from `PASSWORD_ALPHABET` in dash-separated groups. Bytes beyond the
/// largest multiple of the alphabet's size are drawn again, so every character is equally
/// likely.
fn generate_password(ctx: &Context) -> String {
    let size = PASSWORD_ALPHABET.len();
    let limit = 256 - 256 % size;
    let mut chars = Vec::with_capacity(PASSWORD_GROUPS * GROUP_LEN);
    while chars.len() < PASSWORD_GROUPS * GROUP_LEN {
        for byte in random_bytes::<32>(ctx) {
            if usize::from(byte) < limit && chars.len() < PASSWORD_GROUPS * GROUP_LEN {
                chars.push(char::from(PASSWORD_ALPHABET[usize::from(byte) % size]));
            }
        }
    }
    chars
        .chunks(GROUP_LEN)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// What the directory shows about a user's sign-ins.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UserSignInInfo {
    /// Unix milliseconds of the last successful sign-in (recorded in the sign-in database).
    pub last_sign_in_at: Option<i64>,
    pub mfa_enrolled: bool,
}

/// The last sign-in and MFA state of the user with this id. No permission is checked: the
/// caller shows it beside a user it was allowed to read.
pub async fn sign_in_info(store: &Store, user_id: &str) -> Result<UserSignInInfo, Error> {
    let mut signin = store.acquire_signin().await?;
    let last_sign_in_at = muster_store::signin::last_sign_in(&mut signin, user_id).await?;
    drop(signin);
    let mut conn = store.acquire().await?;
    let mfa_enrolled = db::mfa_secret(&mut conn, user_id).await?.is_some();
    Ok(UserSignInInfo {
        last_sign_in_at,
        mfa_enrolled,
    })
}
