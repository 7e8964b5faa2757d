//! Users one at a time: read, list, create, change, rename, deactivate, delete, set or clear a
//! password, reset MFA, and the user's roles, groups and department.
//!
//! Every use case follows the same steps: the permission first (`users.read`, `users.write`, or
//! `users.credentials` for passwords, MFA and `ignore_mfa`), refusals recorded through
//! `audit::refused`; raw text parsed into domain types once, every bad field reported at once;
//! the record read inside the change's transaction and its version compared with the caller's;
//! the no-escalation rule for roles and groups; one conditional write that bumps the version;
//! one audit entry in the same transaction. The SQL is in `muster_store::directory_users`.
//!
//! A change that must end the user's sign-ins ends them after its commit
//! (`account::revoke_user_sessions`): setting or clearing a password, deactivating (also through
//! `update_user`), deleting, and resetting MFA (which also forgets the recovery codes). Should
//! the sign-in database fail then, the change stands and the error is returned, so the caller
//! knows the sessions may live on; `resolve_session` refuses a deleted or inactive user's
//! sessions anyway.

mod edit;
mod input;
mod view;

use muster_credentials::{PlainPassword, PROVISIONAL};
use muster_domain::{
    DisplayName, Email, EntityName, Locale, Permission, Phone, Timezone, Username,
};
use muster_store::{
    directory_users as db, Membership, Store, StoreError, StoredUser, UserFilter, UserRecord,
};

use super::{refuse, require};
use super::{Expected, Page};
use crate::access::{grant_escalation, Own};
use crate::account::revoke_user_sessions;
use crate::audit::{self, secret_change, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Conflict, Error, Invalid, Refusal, Taken};
use crate::ids::IdMaker;
use edit::{by_id, email_free, lacks, not_found, stale_or_missing, Edit};
use input::{
    check_policy, clearable, decode_cursor, encode_cursor, hash, known, matches_search, name_key,
    names, optional, parsed, problem,
};
pub use view::UserView;
use view::{fields, view};

/// The filters and position of a users list. Names are matched caselessly, as imports match
/// them; a name that exists nowhere gives an empty list.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    pub department: Option<String>,
    pub group: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    /// Case-insensitive substring of the username, name or e-mail.
    pub search: Option<String>,
    /// The `next` of the page before; None for the first page.
    pub cursor: Option<String>,
    /// Users per page, clamped to 1..=500; None means 50.
    pub limit: Option<usize>,
}

/// A user to create, as raw text; empty optional fields are absent.
#[derive(Debug, Default)]
pub struct NewUser {
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// None means active.
    pub active: Option<bool>,
    pub ignore_mfa: bool,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// None leaves the provisional marker, as an import without a password does.
    pub password: Option<PlainPassword>,
}

/// The fields an update changes; None leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub timezone: Option<Option<String>>,
    pub active: Option<bool>,
    pub ignore_mfa: Option<bool>,
}

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;
/// Rows a text search reads for one page before it returns a short page with a cursor, so
/// one request never reads the whole table for a rare word.
const MAX_SEARCH_ROWS: usize = 10_000;

/// The user with this id; needs `users.read`.
pub async fn get_user(store: &Store, ctx: &Context, id: &str) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        require(store, ctx, Permission::UsersRead, "user.read", &by_id(id)).await?;
        let mut conn = store.acquire().await?;
        let user = db::user_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let catalog = muster_store::load_catalog(&mut conn).await?;
        Ok(view(&catalog, &user))
    })
    .await
}

/// The user with this username (matched by its PRECIS key); needs `users.read`.
pub async fn find_user(store: &Store, ctx: &Context, username: &str) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        let target = Target {
            kind: "user",
            id: None,
            name: username.to_owned(),
        };
        require(store, ctx, Permission::UsersRead, "user.read", &target).await?;
        let key = Username::parse(username).map_err(|_| not_found(username))?;
        let mut conn = store.acquire().await?;
        let user = db::user_by_key(&mut conn, key.key())
            .await?
            .ok_or_else(|| not_found(username))?;
        let catalog = muster_store::load_catalog(&mut conn).await?;
        Ok(view(&catalog, &user))
    })
    .await
}

/// One page of the users matching `query`, in username-key order; needs `users.read`. A page
/// with `next` may be followed by an empty one: the walk knows it ended only when a page is
/// short.
pub async fn list_users(
    store: &Store,
    ctx: &Context,
    query: &UserQuery,
) -> Result<Page<UserView>, Error> {
    busy::naming_job(store, async move {
        let target = Target {
            kind: "user",
            id: None,
            name: "*".into(),
        };
        require(store, ctx, Permission::UsersRead, "user.list", &target).await?;
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let mut problems = Vec::new();
        let filter = UserFilter {
            department_key: name_key("department", query.department.as_deref(), &mut problems),
            group_key: name_key("group", query.group.as_deref(), &mut problems),
            role_key: name_key("role", query.role.as_deref(), &mut problems),
            active: query.active,
            search: None,
        };
        let mut after = match query.cursor.as_deref().map(decode_cursor) {
            Some(Some(key)) => Some(key),
            Some(None) => {
                problems.push(problem(
                    "cursor",
                    "not a cursor of this list; start again from the first page",
                ));
                None
            }
            None => None,
        };
        if !problems.is_empty() {
            return Err(Error::Invalid(Invalid::Fields(problems)));
        }
        let needle = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let mut conn = store.acquire().await?;
        let mut found: Vec<StoredUser> = Vec::new();
        let mut read = 0;
        let next = loop {
            let page = db::users_after(&mut conn, &filter, after.as_deref(), limit).await?;
            let full = page.len() == limit;
            read += page.len();
            after = page.last().map(|u| u.record.username_key.clone());
            for user in page {
                if needle
                    .as_deref()
                    .is_none_or(|n| matches_search(&user.record, n))
                {
                    found.push(user);
                    if found.len() == limit {
                        break;
                    }
                }
            }
            if found.len() == limit {
                // The page ends at the last user taken, which may be before the last one read.
                break found.last().map(|u| u.record.username_key.clone());
            }
            if !full {
                break None;
            }
            if read >= MAX_SEARCH_ROWS {
                break after.clone();
            }
        };
        let catalog = muster_store::load_catalog(&mut conn).await?;
        Ok(Page {
            items: found.iter().map(|u| view(&catalog, u)).collect(),
            next: next.map(|key| encode_cursor(&key)),
        })
    })
    .await
}

/// Creates a user; needs `users.write`, and `users.credentials` to give a password or
/// `ignore_mfa`. Roles and groups must exist and be within the actor's own permissions.
pub async fn create_user(store: &Store, ctx: &Context, new: NewUser) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        let target = Target {
            kind: "user",
            id: None,
            name: new.username.clone(),
        };
        require(store, ctx, Permission::UsersWrite, "user.create", &target).await?;
        if new.password.is_some() || new.ignore_mfa {
            require(
                store,
                ctx,
                Permission::UsersCredentials,
                "user.create",
                &target,
            )
            .await?;
        }
        let mut problems = Vec::new();
        let username = parsed(&mut problems, "username", Username::parse(&new.username));
        let name = parsed(&mut problems, "name", DisplayName::parse(&new.name));
        let email = optional(&mut problems, "email", new.email.as_deref(), Email::parse);
        let phone = optional(&mut problems, "phone", new.phone.as_deref(), Phone::parse);
        let locale = optional(
            &mut problems,
            "locale",
            new.locale.as_deref(),
            Locale::parse,
        );
        let timezone = optional(
            &mut problems,
            "timezone",
            new.timezone.as_deref(),
            Timezone::parse,
        );
        let department = optional(
            &mut problems,
            "department",
            new.department.as_deref(),
            EntityName::parse,
        );
        let roles = names(&mut problems, "roles", &new.roles);
        let groups = names(&mut problems, "groups", &new.groups);
        if let (Some(password), Some(username)) = (&new.password, &username) {
            check_policy(&mut problems, password, username.as_str());
        }
        let mut tx = store.begin().await?;
        let catalog = muster_store::load_catalog(&mut tx).await?;
        let department_key = department.map(|d| d.key().to_owned());
        known(&mut problems, "department", department_key.iter(), |k| {
            catalog.departments.contains_key(k)
        });
        known(&mut problems, "roles", roles.iter(), |k| {
            catalog.roles.contains_key(k)
        });
        known(&mut problems, "groups", groups.iter(), |k| {
            catalog.groups.contains_key(k)
        });
        let (Some(username), Some(name), true) = (username, name, problems.is_empty()) else {
            return Err(Error::Invalid(Invalid::Fields(problems)));
        };
        if db::user_by_key(&mut tx, username.key()).await?.is_some() {
            return Err(Error::Conflict(Conflict::Taken(Taken::User {
                username: username.as_str().to_owned(),
            })));
        }
        if let Some(email) = &email {
            email_free(&mut tx, email, None).await?;
        }
        if let Some(escalation) = grant_escalation(&ctx.actor, &catalog, &[], &roles, &[], &groups)
        {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(refuse(
                store,
                ctx,
                "user.create",
                &target,
                Refusal::Escalation(escalation),
            )
            .await);
        }
        let password_hash = match &new.password {
            Some(password) => hash(ctx, password)?,
            None => PROVISIONAL.to_owned(),
        };
        let now = (ctx.now)();
        let record = UserRecord {
            id: IdMaker::new(now, &ctx.rng).next_id(),
            username_key: username.key().to_owned(),
            username: username.as_str().to_owned(),
            name: name.as_str().to_owned(),
            email_key: email.as_ref().map(|e| e.key().to_owned()),
            email: email.map(|e| e.as_str().to_owned()),
            phone: phone.map(|p| p.as_str().to_owned()),
            department_key,
            active: new.active.unwrap_or(true),
            ignore_mfa: new.ignore_mfa,
            locale: locale.map(|l| l.as_str().to_owned()),
            timezone: timezone.map(|t| t.as_str().to_owned()),
            password_hash,
            created_at: now,
            updated_at: now,
            last_login_at: None,
            role_keys: roles,
            group_keys: groups,
        };
        db::insert_user(&mut tx, &record).await?;
        let mut changes = audit::diff(fields(&catalog, None), fields(&catalog, Some(&record)));
        if new.password.is_some() {
            changes.push(secret_change("password", true));
        }
        let target = Target::new("user", &record.id, &record.username);
        audit::record(
            &mut tx,
            &ctx.actor,
            now,
            "user.create",
            &target,
            None,
            changes,
        )
        .await?;
        let stored = db::user_by_id(&mut tx, &record.id)
            .await?
            .ok_or_else(|| not_found(&record.id))?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(view(&catalog, &stored))
    })
    .await
}

/// Changes the fields `patch` gives; needs `users.write`, and `users.credentials` to change
/// `ignore_mfa`. An e-mail another user holds is a conflict naming that user. A patch that
/// changes nothing writes nothing.
pub async fn update_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    patch: UserPatch,
) -> Result<UserView, Error> {
    let edit = UserEdit {
        patch,
        ..UserEdit::default()
    };
    edit_user(store, ctx, id, expected, edit).await
}

/// Everything a user's edit form changes at once: the fields of a patch, the department and,
/// when given, the roles and the groups (names). None leaves a part as it is.
#[derive(Clone, Debug, Default)]
pub struct UserEdit {
    pub patch: UserPatch,
    /// `Some(None)` (or blank text) takes the user out of any department.
    pub department: Option<Option<String>>,
    pub roles: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
}

/// Applies an edit in one transaction under the version the caller read, with one audit
/// entry: all of it or, on any problem, refusal or stale version, none of it. Needs
/// `users.write`; `users.credentials` to change `ignore_mfa`; new roles and groups are checked
/// as grants (no escalation, never one's own).
pub async fn edit_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    change: UserEdit,
) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        require(
            store,
            ctx,
            Permission::UsersWrite,
            "user.update",
            &by_id(id),
        )
        .await?;
        let patch = &change.patch;
        let mut problems = Vec::new();
        let name = patch
            .name
            .as_deref()
            .and_then(|raw| parsed(&mut problems, "name", DisplayName::parse(raw)));
        let email = clearable(&mut problems, "email", &patch.email, Email::parse);
        let phone = clearable(&mut problems, "phone", &patch.phone, Phone::parse);
        let locale = clearable(&mut problems, "locale", &patch.locale, Locale::parse);
        let timezone = clearable(&mut problems, "timezone", &patch.timezone, Timezone::parse);
        let department = clearable(
            &mut problems,
            "department",
            &change.department,
            EntityName::parse,
        );
        let roles = change
            .roles
            .as_deref()
            .map(|r| names(&mut problems, "roles", r));
        let groups = change
            .groups
            .as_deref()
            .map(|g| names(&mut problems, "groups", g));
        if !problems.is_empty() {
            return Err(Error::Invalid(Invalid::Fields(problems)));
        }
        let mut edit = Edit::begin(store, id, expected).await?;
        let catalog = muster_store::load_catalog(&mut edit.tx).await?;
        let department_key = department.map(|d| d.map(|n| n.key().to_owned()));
        if let Some(Some(key)) = &department_key {
            known(&mut problems, "department", [key].into_iter(), |k| {
                catalog.departments.contains_key(k)
            });
        }
        known(&mut problems, "roles", roles.iter().flatten(), |k| {
            catalog.roles.contains_key(k)
        });
        known(&mut problems, "groups", groups.iter().flatten(), |k| {
            catalog.groups.contains_key(k)
        });
        if !problems.is_empty() {
            return Err(Error::Invalid(Invalid::Fields(problems)));
        }
        let mut record = edit.user.record.clone();
        if let Some(name) = name {
            record.name = name.as_str().to_owned();
        }
        if let Some(email) = email {
            if let Some(email) = &email {
                email_free(&mut edit.tx, email, Some(id)).await?;
            }
            record.email_key = email.as_ref().map(|e| e.key().to_owned());
            record.email = email.map(|e| e.as_str().to_owned());
        }
        if let Some(phone) = phone {
            record.phone = phone.map(|p| p.as_str().to_owned());
        }
        if let Some(locale) = locale {
            record.locale = locale.map(|l| l.as_str().to_owned());
        }
        if let Some(timezone) = timezone {
            record.timezone = timezone.map(|t| t.as_str().to_owned());
        }
        if let Some(active) = patch.active {
            record.active = active;
        }
        if let Some(ignore_mfa) = patch.ignore_mfa {
            if ignore_mfa != record.ignore_mfa && !ctx.actor.holds(Permission::UsersCredentials) {
                let refusal = lacks(ctx, Permission::UsersCredentials);
                return Err(edit.refuse(store, ctx, "user.update", refusal).await);
            }
            record.ignore_mfa = ignore_mfa;
        }
        if let Some(key) = department_key {
            record.department_key = key;
        }
        // The same set in another order is no change (and no grant to check).
        if let Some(roles) = roles.filter(|r| !same_keys(r, &record.role_keys)) {
            record.role_keys = roles;
        }
        if let Some(groups) = groups.filter(|g| !same_keys(g, &record.group_keys)) {
            record.group_keys = groups;
        }
        if let Some(refusal) = membership_refusal(ctx, &catalog, &edit.user.record, &record) {
            return Err(edit.refuse(store, ctx, "user.update", refusal).await);
        }
        let deactivated = patch.active == Some(false);
        let view = edit
            .save(ctx, expected, record, "user.update", Vec::new())
            .await?;
        if deactivated {
            revoke_user_sessions(store, id).await?;
        }
        Ok(view)
    })
    .await
}

/// Whether two lists of keys hold the same keys, whatever their order.
fn same_keys(sorted: &[String], stored: &[String]) -> bool {
    let mut stored = stored.to_vec();
    stored.sort_unstable();
    stored.dedup();
    sorted == stored.as_slice()
}

/// Why an edit may not give `new` its roles and groups: changing one's own, or granting a
/// permission the actor lacks, directly or through a group. None when they do not change.
fn membership_refusal(
    ctx: &Context,
    catalog: &muster_store::Catalog,
    old: &UserRecord,
    new: &UserRecord,
) -> Option<Refusal> {
    let roles_change = old.role_keys != new.role_keys;
    let groups_change = old.group_keys != new.group_keys;
    if !roles_change && !groups_change {
        return None;
    }
    if ctx.actor.is_user(&old.username_key) {
        let what = if roles_change {
            Own::Roles
        } else {
            Own::Groups
        };
        return Some(Refusal::OwnRecord { what });
    }
    grant_escalation(
        &ctx.actor,
        catalog,
        &old.role_keys,
        &new.role_keys,
        &old.group_keys,
        &new.group_keys,
    )
    .map(Refusal::Escalation)
}

/// Gives the user a new username (its PRECIS key must be free); needs `users.write`. The
/// user's id, memberships, MFA enrolment and history stay with it.
pub async fn rename_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_username: &str,
) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        require(
            store,
            ctx,
            Permission::UsersWrite,
            "user.rename",
            &by_id(id),
        )
        .await?;
        let username =
            Username::parse(new_username).map_err(|e| Error::invalid("username", e.to_string()))?;
        let mut edit = Edit::begin(store, id, expected).await?;
        let mut record = edit.user.record.clone();
        if username.key() != record.username_key {
            if let Some(holder) = db::user_by_key(&mut edit.tx, username.key()).await? {
                return Err(Error::Conflict(Conflict::Taken(Taken::Username {
                    username: username.as_str().to_owned(),
                    holder: holder.record.username,
                })));
            }
        }
        record.username_key = username.key().to_owned();
        record.username = username.as_str().to_owned();
        edit.save(ctx, expected, record, "user.rename", Vec::new())
            .await
    })
    .await
}

/// Deactivates the user (they can no longer act or sign in) and ends their sessions; needs
/// `users.write`.
pub async fn deactivate_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<UserView, Error> {
    busy::naming_job(
        store,
        set_active(store, ctx, id, expected, false, "user.deactivate"),
    )
    .await
}

/// Activates a deactivated user; needs `users.write`. Recorded as an update of `active`.
pub async fn activate_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<UserView, Error> {
    busy::naming_job(
        store,
        set_active(store, ctx, id, expected, true, "user.update"),
    )
    .await
}

async fn set_active(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    active: bool,
    action: &'static str,
) -> Result<UserView, Error> {
    require(store, ctx, Permission::UsersWrite, action, &by_id(id)).await?;
    let edit = Edit::begin(store, id, expected).await?;
    let mut record = edit.user.record.clone();
    record.active = active;
    let view = edit.save(ctx, expected, record, action, Vec::new()).await?;
    if !active {
        revoke_user_sessions(store, id).await?;
    }
    Ok(view)
}

/// Deletes the user with their memberships, MFA enrolment and sessions; needs `users.write`. The audit
/// entry keeps the fields the user had.
pub async fn delete_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<(), Error> {
    busy::naming_job(store, async move {
        require(
            store,
            ctx,
            Permission::UsersWrite,
            "user.delete",
            &by_id(id),
        )
        .await?;
        let mut edit = Edit::begin(store, id, expected).await?;
        if !db::delete_user(&mut edit.tx, id, expected.0).await? {
            let username = &edit.user.record.username;
            return Err(stale_or_missing(&mut edit.tx, id, username, expected).await);
        }
        let catalog = muster_store::load_catalog(&mut edit.tx).await?;
        let changes = audit::diff(
            fields(&catalog, Some(&edit.user.record)),
            fields(&catalog, None),
        );
        let now = (ctx.now)();
        audit::record(
            &mut edit.tx,
            &ctx.actor,
            now,
            "user.delete",
            &edit.target,
            None,
            changes,
        )
        .await?;
        edit.tx.commit().await.map_err(StoreError::from)?;
        revoke_user_sessions(store, id).await?;
        let mut signin = store.acquire_signin().await?;
        muster_store::signin::forget_second_factor(&mut signin, id).await?;
        Ok(())
    })
    .await
}

/// Sets the user's password (checked against the policy, hashed with argon2id), or with None
/// clears it to the provisional marker; needs `users.credentials`. Nobody sets their own
/// password this way (that needs the current one, which the sign-in flow asks for). The user's
/// sessions end: whoever signed in with the old password is signed out.
pub async fn set_password(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    password: Option<PlainPassword>,
) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        require(
            store,
            ctx,
            Permission::UsersCredentials,
            "user.password",
            &by_id(id),
        )
        .await?;
        let edit = Edit::begin(store, id, expected).await?;
        if ctx.actor.is_user(&edit.user.record.username_key) {
            let refusal = Refusal::OwnRecord {
                what: Own::Password,
            };
            return Err(edit.refuse(store, ctx, "user.password", refusal).await);
        }
        let mut record = edit.user.record.clone();
        record.password_hash = match &password {
            Some(password) => {
                let mut problems = Vec::new();
                check_policy(&mut problems, password, &record.username);
                if !problems.is_empty() {
                    return Err(Error::Invalid(Invalid::Fields(problems)));
                }
                hash(ctx, password)?
            }
            None => PROVISIONAL.to_owned(),
        };
        let changes = vec![secret_change("password", password.is_some())];
        let view = edit
            .save(ctx, expected, record, "user.password", changes)
            .await?;
        revoke_user_sessions(store, id).await?;
        Ok(view)
    })
    .await
}

/// Forgets the user's second factor, so they enrol again at the next sign-in; needs
/// `users.credentials`. Nobody resets their own this way. Without an enrolment nothing is
/// written. The user's sessions end and their recovery codes are forgotten.
pub async fn reset_mfa(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<UserView, Error> {
    busy::naming_job(store, async move {
        require(
            store,
            ctx,
            Permission::UsersCredentials,
            "user.mfa_reset",
            &by_id(id),
        )
        .await?;
        let mut edit = Edit::begin(store, id, expected).await?;
        if ctx.actor.is_user(&edit.user.record.username_key) {
            let refusal = Refusal::OwnRecord { what: Own::Mfa };
            return Err(edit.refuse(store, ctx, "user.mfa_reset", refusal).await);
        }
        if !edit.user.mfa_enrolled {
            return edit.unchanged().await;
        }
        db::delete_mfa(&mut edit.tx, &edit.user.record.id).await?;
        let record = edit.user.record.clone();
        let changes = vec![secret_change("mfa", false)];
        let view = edit
            .force_save(ctx, expected, record, "user.mfa_reset", changes)
            .await?;
        revoke_user_sessions(store, id).await?;
        let mut signin = store.acquire_signin().await?;
        muster_store::signin::forget_second_factor(&mut signin, id).await?;
        Ok(view)
    })
    .await
}

/// Makes `roles` (names) the user's direct roles; needs `users.write`. Granting a role with a
/// permission the actor lacks is refused, and so is changing one's own roles.
pub async fn set_user_roles(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    roles: &[String],
) -> Result<UserView, Error> {
    busy::naming_job(
        store,
        set_memberships(store, ctx, id, expected, Membership::Roles, roles),
    )
    .await
}

/// Makes `groups` (names) the user's groups; needs `users.write`. Joining a group whose roles
/// hold a permission the actor lacks is refused, and so is changing one's own groups.
pub async fn set_user_groups(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    groups: &[String],
) -> Result<UserView, Error> {
    busy::naming_job(
        store,
        set_memberships(store, ctx, id, expected, Membership::Groups, groups),
    )
    .await
}

async fn set_memberships(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    which: Membership,
    raw: &[String],
) -> Result<UserView, Error> {
    let (field, action, what) = match which {
        Membership::Roles => ("roles", "user.roles", Own::Roles),
        Membership::Groups => ("groups", "user.groups", Own::Groups),
    };
    require(store, ctx, Permission::UsersWrite, action, &by_id(id)).await?;
    let mut problems = Vec::new();
    let keys = names(&mut problems, field, raw);
    if !problems.is_empty() {
        return Err(Error::Invalid(Invalid::Fields(problems)));
    }
    let mut edit = Edit::begin(store, id, expected).await?;
    let catalog = muster_store::load_catalog(&mut edit.tx).await?;
    match which {
        Membership::Roles => known(&mut problems, field, keys.iter(), |k| {
            catalog.roles.contains_key(k)
        }),
        Membership::Groups => known(&mut problems, field, keys.iter(), |k| {
            catalog.groups.contains_key(k)
        }),
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(Invalid::Fields(problems)));
    }
    if ctx.actor.is_user(&edit.user.record.username_key) {
        return Err(edit
            .refuse(store, ctx, action, Refusal::OwnRecord { what })
            .await);
    }
    let old = &edit.user.record;
    let (roles, groups) = match which {
        Membership::Roles => (&keys, &old.group_keys),
        Membership::Groups => (&old.role_keys, &keys),
    };
    let escalation = grant_escalation(
        &ctx.actor,
        &catalog,
        &old.role_keys,
        roles,
        &old.group_keys,
        groups,
    );
    if let Some(escalation) = escalation {
        return Err(edit
            .refuse(store, ctx, action, Refusal::Escalation(escalation))
            .await);
    }
    let mut record = edit.user.record.clone();
    match which {
        Membership::Roles => record.role_keys = keys,
        Membership::Groups => record.group_keys = keys,
    }
    edit.save(ctx, expected, record, action, Vec::new()).await
}

/// Puts the user in the department `department` (a name), or in none; needs `users.write`.
pub async fn set_user_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    department: Option<&str>,
) -> Result<UserView, Error> {
    let edit = UserEdit {
        department: Some(department.map(str::to_owned)),
        ..UserEdit::default()
    };
    edit_user(store, ctx, id, expected, edit).await
}
