//! Users one at a time: read, list, create, change, rename, deactivate, delete, set or clear a
//! password, reset MFA, and the user's roles, groups and department.
//!
//! Every use case follows the same steps: the permission first (`users.read`, `users.write`, or
//! `users.credentials` for passwords, MFA and `ignore_mfa`), refusals recorded through
//! `audit::refused`; raw text parsed into domain types once, every bad field reported at once;
//! the record read inside the change's transaction and its version compared with the caller's;
//! the no-escalation rule for roles and groups; one conditional write that bumps the version;
//! one audit entry in the same transaction. The SQL is in `muster_store::directory_users`.

use muster_credentials::{
    hash_password, is_provisional, PasswordPolicy, PlainPassword, PROVISIONAL,
};
use muster_domain::{
    DisplayName, Email, EntityName, Locale, Permission, Phone, Timezone, Username,
};
use muster_store::{
    directory_users as db, AuditChange, Catalog, Membership, Store, StoreError, StoredUser,
    Transaction, UserFilter, UserRecord,
};
use serde::Serialize;

use super::{Expected, NameRef, Page};
use crate::access::grant_escalation;
use crate::audit::{self, secret_change, Target};
use crate::context::{Context, RngRef};
use crate::error::{Error, FieldProblem, Refusal};
use crate::ids::IdMaker;
use crate::timefmt::rfc3339_utc;

/// A user as front-ends show it. The password hash and the MFA secret never leave the engine:
/// only whether there is a usable password and whether a second factor is enrolled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department: Option<NameRef>,
    pub active: bool,
    pub ignore_mfa: bool,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub roles: Vec<NameRef>,
    pub groups: Vec<NameRef>,
    /// False while the password is the provisional marker (never set, or cleared).
    pub has_password: bool,
    pub mfa_enrolled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: Option<String>,
    pub version: i64,
}

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
    require(store, ctx, Permission::UsersRead, "user.read", &by_id(id)).await?;
    let mut conn = store.acquire().await?;
    let user = db::user_by_id(&mut conn, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let catalog = muster_store::load_catalog(&mut conn).await?;
    Ok(view(&catalog, &user))
}

/// The user with this username (matched by its PRECIS key); needs `users.read`.
pub async fn find_user(store: &Store, ctx: &Context, username: &str) -> Result<UserView, Error> {
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
}

/// One page of the users matching `query`, in username-key order; needs `users.read`. A page
/// with `next` may be followed by an empty one: the walk knows it ended only when a page is
/// short.
pub async fn list_users(
    store: &Store,
    ctx: &Context,
    query: &UserQuery,
) -> Result<Page<UserView>, Error> {
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
        return Err(Error::Invalid(problems));
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
}

/// Creates a user; needs `users.write`, and `users.credentials` to give a password or
/// `ignore_mfa`. Roles and groups must exist and be within the actor's own permissions.
pub async fn create_user(store: &Store, ctx: &Context, new: NewUser) -> Result<UserView, Error> {
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
        return Err(Error::Invalid(problems));
    };
    if db::user_by_key(&mut tx, username.key()).await?.is_some() {
        return Err(Error::Conflict(format!(
            "a user `{}` already exists",
            username.as_str()
        )));
    }
    if let Some(email) = &email {
        email_free(&mut tx, email, None).await?;
    }
    if let Some(escalation) = grant_escalation(&ctx.actor, &catalog, &[], &roles, &[], &groups) {
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
    require(
        store,
        ctx,
        Permission::UsersWrite,
        "user.update",
        &by_id(id),
    )
    .await?;
    let mut problems = Vec::new();
    let name = patch
        .name
        .as_deref()
        .and_then(|raw| parsed(&mut problems, "name", DisplayName::parse(raw)));
    let email = clearable(&mut problems, "email", &patch.email, Email::parse);
    let phone = clearable(&mut problems, "phone", &patch.phone, Phone::parse);
    let locale = clearable(&mut problems, "locale", &patch.locale, Locale::parse);
    let timezone = clearable(&mut problems, "timezone", &patch.timezone, Timezone::parse);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let mut edit = Edit::begin(store, id, expected).await?;
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
    edit.save(ctx, expected, record, None, "user.update", Vec::new())
        .await
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
    require(
        store,
        ctx,
        Permission::UsersWrite,
        "user.rename",
        &by_id(id),
    )
    .await?;
    let username = Username::parse(new_username)
        .map_err(|e| Error::Invalid(vec![problem("username", e.to_string())]))?;
    let mut edit = Edit::begin(store, id, expected).await?;
    let mut record = edit.user.record.clone();
    if username.key() != record.username_key {
        if let Some(holder) = db::user_by_key(&mut edit.tx, username.key()).await? {
            return Err(Error::Conflict(format!(
                "the username `{}` is taken by user `{}`",
                username.as_str(),
                holder.record.username
            )));
        }
    }
    record.username_key = username.key().to_owned();
    record.username = username.as_str().to_owned();
    edit.save(ctx, expected, record, None, "user.rename", Vec::new())
        .await
}

/// Deactivates the user (they can no longer act or sign in); needs `users.write`.
pub async fn deactivate_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<UserView, Error> {
    set_active(store, ctx, id, expected, false, "user.deactivate").await
}

/// Activates a deactivated user; needs `users.write`. Recorded as an update of `active`.
pub async fn activate_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<UserView, Error> {
    set_active(store, ctx, id, expected, true, "user.update").await
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
    edit.save(ctx, expected, record, None, action, Vec::new())
        .await
}

/// Deletes the user with their memberships and MFA enrolment; needs `users.write`. The audit
/// entry keeps the fields the user had.
pub async fn delete_user(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<(), Error> {
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
        return Err(stale_or_missing(&mut edit.tx, id, expected).await);
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
    Ok(())
}

/// Sets the user's password (checked against the policy, hashed with argon2id), or with None
/// clears it to the provisional marker; needs `users.credentials`. Nobody sets their own
/// password this way (that needs the current one, which the sign-in flow asks for).
pub async fn set_password(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    password: Option<PlainPassword>,
) -> Result<UserView, Error> {
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
        let refusal = Refusal::OwnRecord { what: "password" };
        return Err(edit.refuse(store, ctx, "user.password", refusal).await);
    }
    let mut record = edit.user.record.clone();
    record.password_hash = match &password {
        Some(password) => {
            let mut problems = Vec::new();
            check_policy(&mut problems, password, &record.username);
            if !problems.is_empty() {
                return Err(Error::Invalid(problems));
            }
            hash(ctx, password)?
        }
        None => PROVISIONAL.to_owned(),
    };
    let changes = vec![secret_change("password", password.is_some())];
    edit.save(ctx, expected, record, None, "user.password", changes)
        .await
}

/// Forgets the user's second factor, so they enrol again at the next sign-in; needs
/// `users.credentials`. Nobody resets their own this way. Without an enrolment nothing is
/// written.
pub async fn reset_mfa(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
) -> Result<UserView, Error> {
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
        let refusal = Refusal::OwnRecord { what: "MFA" };
        return Err(edit.refuse(store, ctx, "user.mfa_reset", refusal).await);
    }
    if !edit.user.mfa_enrolled {
        return edit.unchanged().await;
    }
    db::delete_mfa(&mut edit.tx, &edit.user.record.username_key).await?;
    let record = edit.user.record.clone();
    let changes = vec![secret_change("mfa", false)];
    edit.force_save(ctx, expected, record, None, "user.mfa_reset", changes)
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
    set_memberships(store, ctx, id, expected, Membership::Roles, roles).await
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
    set_memberships(store, ctx, id, expected, Membership::Groups, groups).await
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
        Membership::Roles => ("roles", "user.roles", "roles"),
        Membership::Groups => ("groups", "user.groups", "groups"),
    };
    require(store, ctx, Permission::UsersWrite, action, &by_id(id)).await?;
    let mut problems = Vec::new();
    let keys = names(&mut problems, field, raw);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
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
        return Err(Error::Invalid(problems));
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
    edit.save(ctx, expected, record, Some(which), action, Vec::new())
        .await
}

/// Puts the user in the department `department` (a name), or in none; needs `users.write`.
pub async fn set_user_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    department: Option<&str>,
) -> Result<UserView, Error> {
    require(
        store,
        ctx,
        Permission::UsersWrite,
        "user.update",
        &by_id(id),
    )
    .await?;
    let mut problems = Vec::new();
    let name = optional(&mut problems, "department", department, EntityName::parse);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let mut edit = Edit::begin(store, id, expected).await?;
    let catalog = muster_store::load_catalog(&mut edit.tx).await?;
    let key = name.map(|n| n.key().to_owned());
    known(&mut problems, "department", key.iter(), |k| {
        catalog.departments.contains_key(k)
    });
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let mut record = edit.user.record.clone();
    record.department_key = key;
    edit.save(ctx, expected, record, None, "user.update", Vec::new())
        .await
}

/// A user read for a change, inside the change's transaction, at the version the caller read.
struct Edit {
    tx: Transaction,
    user: StoredUser,
    target: Target,
}

impl Edit {
    async fn begin(store: &Store, id: &str, expected: Expected) -> Result<Edit, Error> {
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
    async fn refuse(self, store: &Store, ctx: &Context, action: &str, refusal: Refusal) -> Error {
        if let Err(e) = self.tx.rollback().await {
            return Error::Store(StoreError::from(e));
        }
        refuse(store, ctx, action, &self.target, refusal).await
    }

    /// The user as read, when the change turns out to change nothing.
    async fn unchanged(mut self) -> Result<UserView, Error> {
        let catalog = muster_store::load_catalog(&mut self.tx).await?;
        self.tx.rollback().await.map_err(StoreError::from)?;
        Ok(view(&catalog, &self.user))
    }

    /// Writes `record` (and the membership `which`, when given) if it differs from the user as
    /// read; nothing is written otherwise.
    async fn save(
        self,
        ctx: &Context,
        expected: Expected,
        record: UserRecord,
        which: Option<Membership>,
        action: &str,
        extra: Vec<AuditChange>,
    ) -> Result<UserView, Error> {
        if record == self.user.record {
            return self.unchanged().await;
        }
        self.force_save(ctx, expected, record, which, action, extra)
            .await
    }

    /// Writes `record` under the caller's version, bumping it, with one audit entry listing
    /// the changed fields (and `extra`, for what the record does not show).
    async fn force_save(
        mut self,
        ctx: &Context,
        expected: Expected,
        mut record: UserRecord,
        which: Option<Membership>,
        action: &str,
        extra: Vec<AuditChange>,
    ) -> Result<UserView, Error> {
        let now = (ctx.now)();
        record.updated_at = now;
        let id = record.id.clone();
        if !db::update_user(&mut self.tx, &record, expected.0).await? {
            return Err(stale_or_missing(&mut self.tx, &id, expected).await);
        }
        match which {
            Some(Membership::Roles) => {
                db::replace_memberships(
                    &mut self.tx,
                    &record.username_key,
                    Membership::Roles,
                    &record.role_keys,
                )
                .await?
            }
            Some(Membership::Groups) => {
                db::replace_memberships(
                    &mut self.tx,
                    &record.username_key,
                    Membership::Groups,
                    &record.group_keys,
                )
                .await?
            }
            None => {}
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
async fn stale_or_missing(tx: &mut Transaction, id: &str, expected: Expected) -> Error {
    match db::user_version(tx, id).await {
        Ok(Some(actual)) => stale(id, expected, actual),
        Ok(None) => not_found(id),
        Err(e) => Error::Store(e),
    }
}

fn stale(key: &str, expected: Expected, actual: i64) -> Error {
    Error::Stale {
        entity: "user",
        key: key.to_owned(),
        expected: expected.0,
        actual,
    }
}

fn not_found(key: &str) -> Error {
    Error::NotFound {
        entity: "user",
        key: key.to_owned(),
    }
}

fn by_id(id: &str) -> Target {
    Target::new("user", id, id)
}

fn lacks(ctx: &Context, permission: Permission) -> Refusal {
    Refusal::Lacks {
        permission,
        actor: ctx.actor.name(),
    }
}

/// Refuses (and records the refusal) unless the actor holds `permission`.
async fn require(
    store: &Store,
    ctx: &Context,
    permission: Permission,
    action: &str,
    target: &Target,
) -> Result<(), Error> {
    if ctx.actor.holds(permission) {
        return Ok(());
    }
    Err(refuse(store, ctx, action, target, lacks(ctx, permission)).await)
}

async fn refuse(
    store: &Store,
    ctx: &Context,
    action: &str,
    target: &Target,
    refusal: Refusal,
) -> Error {
    audit::refused(store, &ctx.actor, (ctx.now)(), action, target, refusal).await
}

/// A conflict unless the e-mail is free or held by the user `own_id` already.
async fn email_free(
    tx: &mut Transaction,
    email: &Email,
    own_id: Option<&str>,
) -> Result<(), Error> {
    match db::email_holder(tx, email.key(), own_id).await? {
        Some(owner) => Err(Error::Conflict(format!(
            "the e-mail address `{}` belongs to user `{owner}`",
            email.as_str()
        ))),
        None => Ok(()),
    }
}

fn hash(ctx: &Context, password: &PlainPassword) -> Result<String, Error> {
    let mut rng = ctx
        .rng
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    hash_password(password, &mut RngRef(rng.as_mut()))
        .map_err(|e| Error::invalid("password", e.to_string()))
}

/// The policy imports apply, with the same messages.
fn check_policy(problems: &mut Vec<FieldProblem>, password: &PlainPassword, username: &str) {
    if let Err(violation) = PasswordPolicy::default().check(password, username) {
        problems.push(problem("password", violation.to_string()));
    }
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn parsed<T, E: std::fmt::Display>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    result: Result<T, E>,
) -> Option<T> {
    result
        .map_err(|e| problems.push(problem(field, e.to_string())))
        .ok()
}

/// An optional field: absent or blank is None.
fn optional<T, E: std::fmt::Display>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    parsed(problems, field, parse(raw))
}

/// A field of a patch: None keeps it, `Some(None)` or blank text clears it.
fn clearable<T, E: std::fmt::Display>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    raw: &Option<Option<String>>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    let raw = raw.as_ref()?;
    let before = problems.len();
    let value = optional(problems, field, raw.as_deref(), parse);
    (problems.len() == before).then_some(value)
}

/// Role or group names as sorted, distinct keys.
fn names(problems: &mut Vec<FieldProblem>, field: &str, raw: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = raw
        .iter()
        .filter(|r| !r.trim().is_empty())
        .filter_map(|r| parsed(problems, field, EntityName::parse(r)))
        .map(|n| n.key().to_owned())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn name_key(field: &str, raw: Option<&str>, problems: &mut Vec<FieldProblem>) -> Option<String> {
    optional(problems, field, raw, EntityName::parse).map(|n| n.key().to_owned())
}

/// Reports each key the catalog does not have.
fn known<'a>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    keys: impl Iterator<Item = &'a String>,
    exists: impl Fn(&str) -> bool,
) {
    let entity = match field {
        "roles" => "role",
        "groups" => "group",
        other => other,
    };
    for key in keys.filter(|k| !exists(k)) {
        problems.push(problem(field, format!("there is no {entity} `{key}`")));
    }
}

fn matches_search(user: &UserRecord, needle: &str) -> bool {
    user.username_key.contains(needle)
        || user.name.to_lowercase().contains(needle)
        || user
            .email_key
            .as_deref()
            .is_some_and(|e| e.contains(needle))
}

/// The cursor is the last key of the page, hex-encoded so that callers treat it as opaque and
/// it travels in a URL as it is.
fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() % 2 != 0 || cursor.is_empty() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn name_ref(id: &str, name: &str) -> NameRef {
    NameRef {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

fn view(catalog: &Catalog, user: &StoredUser) -> UserView {
    let u = &user.record;
    let group = |key: &String| match catalog.groups.get(key) {
        Some(g) => name_ref(&g.id, &g.name),
        None => name_ref("", key),
    };
    let role = |key: &String| match catalog.roles.get(key) {
        Some(r) => name_ref(&r.named.id, &r.named.name),
        None => name_ref("", key),
    };
    UserView {
        id: u.id.clone(),
        username: u.username.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        phone: u.phone.clone(),
        department: u
            .department_key
            .as_ref()
            .map(|key| match catalog.departments.get(key) {
                Some(d) => name_ref(&d.id, &d.name),
                None => name_ref("", key),
            }),
        active: u.active,
        ignore_mfa: u.ignore_mfa,
        locale: u.locale.clone(),
        timezone: u.timezone.clone(),
        roles: u.role_keys.iter().map(role).collect(),
        groups: u.group_keys.iter().map(group).collect(),
        has_password: !is_provisional(&u.password_hash),
        mfa_enrolled: user.mfa_enrolled,
        created_at: rfc3339_utc(u.created_at),
        updated_at: rfc3339_utc(u.updated_at),
        last_login_at: u.last_login_at.map(rfc3339_utc),
        version: user.version,
    }
}

/// The audited fields of a user (none for a user that does not exist), memberships and the
/// department by their names. The password hash is not among them: a password change is
/// recorded as "set" or "cleared" by the use case.
fn fields(catalog: &Catalog, user: Option<&UserRecord>) -> Vec<(&'static str, Option<String>)> {
    let department = |key: &String| {
        catalog
            .departments
            .get(key)
            .map_or_else(|| key.clone(), |d| d.name.clone())
    };
    let joined = |keys: &[String], name: &dyn Fn(&String) -> String| {
        (!keys.is_empty()).then(|| keys.iter().map(name).collect::<Vec<_>>().join(", "))
    };
    let role = |key: &String| {
        catalog
            .roles
            .get(key)
            .map_or_else(|| key.clone(), |r| r.named.name.clone())
    };
    let group = |key: &String| {
        catalog
            .groups
            .get(key)
            .map_or_else(|| key.clone(), |g| g.name.clone())
    };
    let flag = |b: bool| Some(b.to_string());
    vec![
        ("username", user.map(|u| u.username.clone())),
        ("name", user.map(|u| u.name.clone())),
        ("email", user.and_then(|u| u.email.clone())),
        ("phone", user.and_then(|u| u.phone.clone())),
        (
            "department",
            user.and_then(|u| u.department_key.as_ref().map(department)),
        ),
        ("active", user.and_then(|u| flag(u.active))),
        ("ignore_mfa", user.and_then(|u| flag(u.ignore_mfa))),
        ("locale", user.and_then(|u| u.locale.clone())),
        ("timezone", user.and_then(|u| u.timezone.clone())),
        ("roles", user.and_then(|u| joined(&u.role_keys, &role))),
        ("groups", user.and_then(|u| joined(&u.group_keys, &group))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        for key in ["alice", "zoë.müller@example", ""] {
            let cursor = encode_cursor(key);
            if key.is_empty() {
                assert_eq!(decode_cursor(&cursor), None);
            } else {
                assert_eq!(decode_cursor(&cursor).as_deref(), Some(key));
            }
        }
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor("ff"), None, "not UTF-8");
    }
}
