//! The steps every change of a user shares: the permission check and the recorded refusal,
//! the record read at the caller's version inside the change's transaction, and the one
//! conditional write with its audit entry.

use muster_domain::{Email, Permission};
use muster_store::{
    directory_users as db, AuditChange, Membership, Store, StoreError, StoredUser, Transaction,
    UserRecord,
};

use super::view::{fields, view, UserView};
use crate::audit::{self, Target};
use crate::context::Context;
use crate::directory::{refuse, Expected};
use crate::error::{Conflict, Error, Missing, Refusal, Taken};

/// A user read for a change, inside the change's transaction, at the version the caller read.
pub(super) struct Edit {
    pub(super) tx: Transaction,
    pub(super) user: StoredUser,
    pub(super) target: Target,
}

impl Edit {
    pub(super) async fn begin(store: &Store, id: &str, expected: Expected) -> Result<Edit, Error> {
        let mut tx = store.begin().await?;
        let user = db::user_by_id(&mut tx, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if user.version != expected.0 {
            return Err(stale(&user.record.username, expected, user.version));
        }
        let target = Target::new("user", id, &user.record.username);
        Ok(Edit { tx, user, target })
    }

    /// Gives up the change and records the refusal (on a connection of its own).
    pub(super) async fn refuse(
        self,
        store: &Store,
        ctx: &Context,
        action: &str,
        refusal: Refusal,
    ) -> Error {
        if let Err(e) = self.tx.rollback().await {
            return Error::Store(StoreError::from(e));
        }
        refuse(store, ctx, action, &self.target, refusal).await
    }

    /// The user as read, when the change turns out to change nothing.
    pub(super) async fn unchanged(mut self) -> Result<UserView, Error> {
        let catalog = muster_store::load_catalog(&mut self.tx).await?;
        self.tx.rollback().await.map_err(StoreError::from)?;
        Ok(view(&catalog, &self.user))
    }

    /// Writes `record` (with the memberships that differ) if it differs from the user as read;
    /// nothing is written otherwise.
    pub(super) async fn save(
        self,
        ctx: &Context,
        expected: Expected,
        record: UserRecord,
        action: &str,
        extra: Vec<AuditChange>,
    ) -> Result<UserView, Error> {
        if record == self.user.record {
            return self.unchanged().await;
        }
        self.force_save(ctx, expected, record, action, extra).await
    }

    /// Writes `record` under the caller's version, bumping it, and its roles and groups where
    /// they differ from the user as read, with one audit entry listing the changed fields (and
    /// `extra`, for what the record does not show).
    pub(super) async fn force_save(
        mut self,
        ctx: &Context,
        expected: Expected,
        mut record: UserRecord,
        action: &str,
        extra: Vec<AuditChange>,
    ) -> Result<UserView, Error> {
        let now = (ctx.now)();
        record.updated_at = now;
        let id = record.id.clone();
        if !db::update_user(&mut self.tx, &record, expected.0).await? {
            let username = &self.user.record.username;
            return Err(stale_or_missing(&mut self.tx, &id, username, expected).await);
        }
        let memberships = [
            (
                Membership::Roles,
                &self.user.record.role_keys,
                &record.role_keys,
            ),
            (
                Membership::Groups,
                &self.user.record.group_keys,
                &record.group_keys,
            ),
        ];
        for (which, before, after) in memberships {
            if before != after {
                db::replace_memberships(&mut self.tx, &record.username_key, which, after).await?;
            }
        }
        let catalog = muster_store::load_catalog(&mut self.tx).await?;
        let mut changes = audit::diff(
            fields(&catalog, Some(&self.user.record)),
            fields(&catalog, Some(&record)),
        );
        changes.extend(extra);
        let target = Target::new("user", &id, &record.username);
        audit::record(
            &mut self.tx,
            &ctx.actor,
            now,
            action,
            &target,
            None,
            changes,
        )
        .await?;
        let stored = db::user_by_id(&mut self.tx, &id)
            .await?
            .ok_or_else(|| not_found(&id))?;
        self.tx.commit().await.map_err(StoreError::from)?;
        Ok(view(&catalog, &stored))
    }
}

/// Why a conditional write changed nothing: the user is gone, or at another version.
/// The user is named by the username read before the write, the id when it is gone.
pub(super) async fn stale_or_missing(
    tx: &mut Transaction,
    id: &str,
    username: &str,
    expected: Expected,
) -> Error {
    match db::user_version(tx, id).await {
        Ok(Some(actual)) => stale(username, expected, actual),
        Ok(None) => not_found(id),
        Err(e) => Error::Store(e),
    }
}

pub(super) fn stale(key: &str, expected: Expected, actual: i64) -> Error {
    Error::Conflict(Conflict::Stale {
        entity: "user",
        key: key.to_owned(),
        expected: expected.0,
        actual,
    })
}

pub(super) fn not_found(key: &str) -> Error {
    Error::NotFound(Missing::Record {
        entity: "user",
        key: key.to_owned(),
    })
}

pub(super) fn by_id(id: &str) -> Target {
    Target::new("user", id, id)
}

pub(super) fn lacks(ctx: &Context, permission: Permission) -> Refusal {
    Refusal::Lacks {
        permission,
        actor: ctx.actor.name(),
    }
}

/// A conflict unless the e-mail is free or held by the user `own_id` already.
pub(super) async fn email_free(
    tx: &mut Transaction,
    email: &Email,
    own_id: Option<&str>,
) -> Result<(), Error> {
    match db::email_holder(tx, email.key(), own_id).await? {
        Some(owner) => Err(Error::Conflict(Conflict::Taken(Taken::Email {
            email: email.as_str().to_owned(),
            owner,
        }))),
        None => Ok(()),
    }
}
