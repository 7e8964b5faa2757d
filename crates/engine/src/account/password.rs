//! The signed-in user's own password change: forced (stage `ChangePassword`) or chosen (stage
//! `Full`). It needs the current password, which the throttle guards as a sign-in's, and writes
//! the main database: the new argon2id hash with `must_change_password` cleared, and an audit
//! entry ("user.password", the password "set", never its value) in the same transaction. Then
//! the user's other sessions end and this one moves on under a new token.

use muster_credentials::{PasswordPolicy, PlainPassword, Verification};
use muster_store::{directory_users, Store, StoreError};

use super::sessions::{next_stage, rotate, signed_in};
use super::sign_in::{hash_new, verify};
use super::throttle::{self, Subjects};
use super::{AccountPolicy, Session, SessionStage, SessionToken};
use crate::access::Actor;
use crate::audit::{self, secret_change, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Error, Refusal};

/// Changes the signed-in user's password. The new one must pass the password policy; the
/// audit entry's actor is the user, with the source of the context's actor. Returns the
/// session, rotated, at its next stage.
pub async fn change_own_password(
    store: &Store,
    ctx: &Context,
    policy: &AccountPolicy,
    token: &str,
    current_password: &str,
    new_password: &str,
) -> Result<(SessionToken, Session), Error> {
    busy::naming_job(store, async move {
        let now = (ctx.now)();
        let current = signed_in(store, now, token).await?;
        current.require_stage(&[SessionStage::ChangePassword, SessionStage::Full])?;
        let user = &current.user;
        let subjects = Subjects::for_user(&user.record.id, &current.row.address);
        throttle::check(store, now, &subjects).await?;
        let old_hash = user.record.password_hash.clone();
        let verification = verify(old_hash.clone(), current_password.to_owned()).await?;
        if verification == Verification::Mismatch {
            throttle::record_failure(store, &policy.throttle, now, &subjects).await?;
            return Err(Error::Forbidden(Refusal::CurrentPasswordWrong));
        }
        // A forced change that keeps the one-time password would change nothing.
        if new_password == current_password {
            let message = "the new password must differ from the current one";
            return Err(Error::invalid("new_password", message));
        }
        let candidate = PlainPassword::new(new_password.to_owned());
        if let Err(violation) = PasswordPolicy::default().check(&candidate, &user.record.username) {
            return Err(Error::invalid("new_password", violation.to_string()));
        }
        drop(candidate);
        let new_hash = hash_new(ctx, new_password.to_owned()).await?;
        let mut tx = store.begin_writing().await?;
        let id = &user.record.id;
        if !directory_users::set_own_password(&mut tx, id, &old_hash, &new_hash, now).await? {
            // Changed (or the user deleted) since the session was resolved: the current
            // password checked above may no longer be the current one.
            return Err(Error::Forbidden(Refusal::CurrentPasswordWrong));
        }
        let actor = Actor::user(
            id.clone(),
            user.record.username_key.clone(),
            user.record.username.clone(),
            ctx.actor.source,
            [],
        );
        let target = Target::new("user", id, &user.record.username);
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
        let mut signin = store.acquire_signin().await?;
        muster_store::signin::delete_user_sessions(&mut signin, id, Some(&current.row.id)).await?;
        drop(signin);
        // A full session stays full; a forced change moves on to the second factor, if any.
        let stage = match current.stage() {
            SessionStage::Full => SessionStage::Full,
            _ => {
                let mut changed = current.user.clone();
                changed.must_change_password = false;
                next_stage(policy, &changed)
            }
        };
        rotate(store, ctx, &current, stage).await
    })
    .await
}
