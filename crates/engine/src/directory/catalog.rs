//! Departments, groups and roles one at a time: get (by id), find (by name), list (keyset pages
//! with a name search), create, update, rename and delete, plus a group's members and roles
//! (`members`). Each use case checks the actor's permission first (`departments.*`,
//! `groups.*`, `roles.*`), parses raw text into the domain's checked types once, refuses a
//! stale `version` as a conflict, and writes its audit entry in the transaction of the change.
//!
//! A name is matched by the key the importer uses (`EntityName::key`), so a rename recomputes
//! it and another entry holding the new key is a conflict; the references follow the key by
//! cascade. The built-in `administrator` role can be neither renamed, deleted nor lose a
//! permission. Creating a role or giving one permissions beyond the actor's is an escalation:
//! the permissions a role gains reach every user holding it, directly or through a group.
//! The SQL is in `muster_store::directory_catalog`.

mod members;

use std::collections::HashMap;

use muster_domain::{
    parse_permission_list, Description, EntityName, Permission, ADMINISTRATOR_ROLE,
};
use muster_store::{
    CatalogEntryRow, CatalogTable, Connection, EntryLookup, NamedRecord, Store, Transaction,
};
use serde::Serialize;

use super::{Expected, NameRef, Page};
use crate::access::permissions_escalation;
use crate::audit::{self, change, diff, Target};
use crate::context::Context;
use crate::error::{Error, FieldProblem, Refusal};
use crate::ids::IdMaker;

pub use members::{add_members, remove_members, set_group_roles};

/// The most entries one page may hold.
pub const MAX_PAGE: usize = 500;

/// Which table a use case works on; one set of functions serves all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Department,
    Group,
    Role,
}

impl Kind {
    fn table(self) -> CatalogTable {
        match self {
            Kind::Department => CatalogTable::Departments,
            Kind::Group => CatalogTable::Groups,
            Kind::Role => CatalogTable::Roles,
        }
    }

    /// The entity as errors, audit targets and actions name it.
    fn entity(self) -> &'static str {
        match self {
            Kind::Department => "department",
            Kind::Group => "group",
            Kind::Role => "role",
        }
    }

    fn read(self) -> Permission {
        match self {
            Kind::Department => Permission::DepartmentsRead,
            Kind::Group => Permission::GroupsRead,
            Kind::Role => Permission::RolesRead,
        }
    }

    fn write(self) -> Permission {
        match self {
            Kind::Department => Permission::DepartmentsWrite,
            Kind::Group => Permission::GroupsWrite,
            Kind::Role => Permission::RolesWrite,
        }
    }

    /// `group.create`, `role.rename`…; refused reads are recorded as `group.read`.
    fn action(self, verb: &str) -> String {
        format!("{}.{verb}", self.entity())
    }

    fn not_found(self, key: &str) -> Error {
        Error::NotFound {
            entity: self.entity(),
            key: key.to_owned(),
        }
    }
}

/// A department as front-ends show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DepartmentView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    /// The users in the department.
    pub users: i64,
}

/// A group as front-ends show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    /// The users who are members.
    pub members: i64,
    /// The roles the group gives its members, by name.
    pub roles: Vec<NameRef>,
}

/// A role as front-ends show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    /// The users holding the role directly.
    pub users: i64,
    /// The groups that give the role to their members.
    pub groups: i64,
    /// The built-in administrator role, which cannot be renamed, deleted or lose a permission.
    pub builtin: bool,
    /// In catalog order.
    pub permissions: Vec<PermissionView>,
}

/// One permission of a role, with the catalog's one-line description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PermissionView {
    pub code: &'static str,
    pub description: &'static str,
}

/// A new department or group, as raw text.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    pub name: String,
    pub description: Option<String>,
}

/// A new role, as raw text: permission codes may also be given several to an item, separated
/// by commas or whitespace, as in a sheet's cell.
#[derive(Clone, Debug, Default)]
pub struct NewRole {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

/// A partial change of a department or group: None leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct EntryPatch {
    pub description: Option<String>,
}

/// A partial change of a role; `permissions` replaces the whole set when given.
#[derive(Clone, Debug, Default)]
pub struct RolePatch {
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

/// Which entries a list shows: a case-insensitive part of the name, the cursor of the page
/// before (None for the first), and at most `limit` entries (clamped to 1..=500).
#[derive(Clone, Debug, Default)]
pub struct CatalogQuery {
    pub search: Option<String>,
    pub cursor: Option<String>,
    pub limit: usize,
}

/// What deleting an entry that is still referenced does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum References {
    /// Refuse as a conflict naming how many references there are.
    Refuse,
    /// Remove them first: users leave the department or group, the role is taken from its
    /// holders and from the groups that give it.
    Remove,
}

/// What the views of one kind need besides the entry's row.
#[derive(Default)]
struct Extras {
    /// Role key → permission codes.
    permissions: HashMap<String, Vec<String>>,
    /// Group key → the roles it gives.
    roles: HashMap<String, Vec<NameRef>>,
}

trait CatalogView: Sized {
    const KIND: Kind;
    fn build(row: CatalogEntryRow, extras: &mut Extras) -> Self;
}

impl CatalogView for DepartmentView {
    const KIND: Kind = Kind::Department;
    fn build(row: CatalogEntryRow, _: &mut Extras) -> Self {
        DepartmentView {
            id: row.named.id,
            name: row.named.name,
            description: row.named.description,
            version: row.version,
            users: row.users,
        }
    }
}

impl CatalogView for GroupView {
    const KIND: Kind = Kind::Group;
    fn build(row: CatalogEntryRow, extras: &mut Extras) -> Self {
        GroupView {
            roles: extras.roles.remove(&row.named.name_key).unwrap_or_default(),
            id: row.named.id,
            name: row.named.name,
            description: row.named.description,
            version: row.version,
            members: row.users,
        }
    }
}

impl CatalogView for RoleView {
    const KIND: Kind = Kind::Role;
    fn build(row: CatalogEntryRow, extras: &mut Extras) -> Self {
        let codes = extras
            .permissions
            .remove(&row.named.name_key)
            .unwrap_or_default();
        let mut permissions: Vec<Permission> = codes
            .iter()
            .filter_map(|code| Permission::parse(code).ok())
            .collect();
        permissions.sort();
        RoleView {
            builtin: row.named.name_key == ADMINISTRATOR_ROLE,
            id: row.named.id,
            name: row.named.name,
            description: row.named.description,
            version: row.version,
            users: row.users,
            groups: row.groups,
            permissions: permissions
                .into_iter()
                .map(|p| PermissionView {
                    code: p.code(),
                    description: p.description(),
                })
                .collect(),
        }
    }
}

async fn extras(conn: &mut Connection, kind: Kind, keys: &[&str]) -> Result<Extras, Error> {
    let mut extras = Extras::default();
    match kind {
        Kind::Department => {}
        Kind::Role => {
            for (role, code) in muster_store::role_permission_codes(conn, keys).await? {
                extras.permissions.entry(role).or_default().push(code);
            }
        }
        Kind::Group => {
            for row in muster_store::group_role_rows(conn, keys).await? {
                extras
                    .roles
                    .entry(row.group_key)
                    .or_default()
                    .push(NameRef {
                        id: row.role_id,
                        name: row.role_name,
                    });
            }
        }
    }
    Ok(extras)
}

async fn views<V: CatalogView>(
    conn: &mut Connection,
    rows: Vec<CatalogEntryRow>,
) -> Result<Vec<V>, Error> {
    let keys: Vec<&str> = rows.iter().map(|r| r.named.name_key.as_str()).collect();
    let mut extras = extras(conn, V::KIND, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| V::build(row, &mut extras))
        .collect())
}

async fn view_of<V: CatalogView>(
    conn: &mut Connection,
    lookup: EntryLookup<'_>,
    named_as: &str,
) -> Result<V, Error> {
    let row = muster_store::fetch_catalog_entry(conn, V::KIND.table(), lookup)
        .await?
        .ok_or_else(|| V::KIND.not_found(named_as))?;
    Ok(views(conn, vec![row]).await?.remove(0))
}

// ---- refusals -------------------------------------------------------------------------------

/// Records the refusal and returns the Forbidden error.
async fn refuse(
    store: &Store,
    ctx: &Context,
    action: &str,
    target: &Target,
    refusal: Refusal,
) -> Error {
    audit::refused(store, &ctx.actor, (ctx.now)(), action, target, refusal).await
}

/// Rolls back the change's transaction (it has only read so far), then refuses: on SQLite an
/// open transaction would hold up the refusal's own audit write.
async fn refuse_in(
    tx: Transaction,
    store: &Store,
    ctx: &Context,
    action: &str,
    target: &Target,
    refusal: Refusal,
) -> Error {
    if let Err(e) = tx.rollback().await {
        return Error::Store(e.into());
    }
    refuse(store, ctx, action, target, refusal).await
}

/// Refuses unless the actor holds `permission`.
async fn require(
    store: &Store,
    ctx: &Context,
    permission: Permission,
    action: &str,
    target: impl FnOnce() -> Target,
) -> Result<(), Error> {
    match ctx.actor.require(permission) {
        Err(Error::Forbidden(refusal)) => Err(refuse(store, ctx, action, &target(), refusal).await),
        other => other,
    }
}

/// Refuses a change of the entry `id` unless the actor holds the kind's write permission. The
/// refusal's audit entry names the entry when it exists.
async fn require_write(
    store: &Store,
    ctx: &Context,
    kind: Kind,
    id: &str,
    action: &str,
) -> Result<(), Error> {
    if ctx.actor.holds(kind.write()) {
        return Ok(());
    }
    let name = match store.acquire().await {
        Ok(mut conn) => {
            muster_store::fetch_catalog_entry(&mut conn, kind.table(), EntryLookup::Id(id))
                .await
                .ok()
                .flatten()
                .map(|row| row.named.name)
        }
        Err(_) => None,
    };
    let target = Target::new(kind.entity(), id, name.unwrap_or_else(|| id.to_owned()));
    require(store, ctx, kind.write(), action, || target).await
}

// ---- parsing --------------------------------------------------------------------------------

fn problem(field: &str, message: impl ToString) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        message: message.to_string(),
    }
}

fn parse_name(raw: &str, problems: &mut Vec<FieldProblem>) -> Option<EntityName> {
    EntityName::parse(raw)
        .map_err(|e| problems.push(problem("name", e)))
        .ok()
}

fn parse_description(raw: Option<&str>, problems: &mut Vec<FieldProblem>) -> Option<Description> {
    Description::parse(raw?)
        .map_err(|e| problems.push(problem("description", e)))
        .ok()
}

/// Permission codes, sorted as the store keeps them; every unknown code is a problem.
fn parse_permissions(raw: &[String], problems: &mut Vec<FieldProblem>) -> Option<Vec<String>> {
    match parse_permission_list(&raw.join(",")) {
        Ok(set) => {
            let mut codes: Vec<String> = set.into_iter().map(|p| p.code().to_owned()).collect();
            codes.sort();
            Some(codes)
        }
        Err(unknown) => {
            problems.extend(unknown.into_iter().map(|e| problem("permissions", e)));
            None
        }
    }
}

fn checked(problems: Vec<FieldProblem>) -> Result<(), Error> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

// ---- cursors --------------------------------------------------------------------------------

/// The next page starts after this key; the cursor is the key in hex, opaque to callers.
fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<String, Error> {
    let bad = || Error::invalid("cursor", "not a cursor that this list gave");
    if cursor.len() % 2 != 0 || !cursor.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// The search text folded as keys are (NFKC, lowercase), so it matches the key index.
fn needle(search: Option<&str>) -> Option<String> {
    let text = search?.trim();
    if text.is_empty() {
        return None;
    }
    Some(
        EntityName::parse(text)
            .map(|name| name.key().to_owned())
            .unwrap_or_else(|_| text.to_lowercase()),
    )
}

// ---- reads ----------------------------------------------------------------------------------

async fn get<V: CatalogView>(store: &Store, ctx: &Context, id: &str) -> Result<V, Error> {
    let kind = V::KIND;
    require(store, ctx, kind.read(), &kind.action("read"), || {
        Target::new(kind.entity(), id, id)
    })
    .await?;
    let mut conn = store.acquire().await?;
    view_of(&mut conn, EntryLookup::Id(id), id).await
}

async fn find<V: CatalogView>(store: &Store, ctx: &Context, name: &str) -> Result<V, Error> {
    let kind = V::KIND;
    require(store, ctx, kind.read(), &kind.action("read"), || Target {
        kind: kind.entity(),
        id: None,
        name: name.to_owned(),
    })
    .await?;
    let key = EntityName::parse(name).map_err(|_| kind.not_found(name))?;
    let mut conn = store.acquire().await?;
    view_of(&mut conn, EntryLookup::Key(key.key()), name).await
}

async fn list<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<V>, Error> {
    let kind = V::KIND;
    require(store, ctx, kind.read(), &kind.action("list"), || Target {
        kind: kind.entity(),
        id: None,
        name: query.search.clone().unwrap_or_default(),
    })
    .await?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = query.limit.clamp(1, MAX_PAGE);
    let needle = needle(query.search.as_deref());
    let mut conn = store.acquire().await?;
    let rows = muster_store::catalog_entries_page(
        &mut conn,
        kind.table(),
        after.as_deref(),
        needle.as_deref(),
        limit,
    )
    .await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| encode_cursor(&r.named.name_key)))
        .flatten();
    Ok(Page {
        items: views(&mut conn, rows).await?,
        next,
    })
}

// ---- changes --------------------------------------------------------------------------------

/// Reads the entry `id` for a change inside `tx`, refusing a stale `expected` version.
async fn fetch_for_change(
    tx: &mut Connection,
    kind: Kind,
    id: &str,
    expected: Expected,
) -> Result<CatalogEntryRow, Error> {
    let row = muster_store::fetch_catalog_entry(tx, kind.table(), EntryLookup::Id(id))
        .await?
        .ok_or_else(|| kind.not_found(id))?;
    if row.version != expected.0 {
        return Err(stale(kind, &row, expected));
    }
    Ok(row)
}

fn stale(kind: Kind, row: &CatalogEntryRow, expected: Expected) -> Error {
    Error::Stale {
        entity: kind.entity(),
        key: row.named.name.clone(),
        expected: expected.0,
        actual: row.version,
    }
}

/// After a conditional write matched no row: the entry is gone, or someone changed it since.
async fn lost_race(tx: &mut Connection, kind: Kind, id: &str, expected: Expected) -> Error {
    match muster_store::fetch_catalog_entry(tx, kind.table(), EntryLookup::Id(id)).await {
        Ok(Some(row)) => stale(kind, &row, expected),
        Ok(None) => kind.not_found(id),
        Err(e) => e.into(),
    }
}

/// Writes `record` (key, name, description, `updated_at`) over the entry if still at `expected`.
async fn write_entry(
    tx: &mut Connection,
    kind: Kind,
    record: &NamedRecord,
    expected: Expected,
) -> Result<(), Error> {
    if muster_store::update_catalog_entry(tx, kind.table(), record, expected.0).await? {
        Ok(())
    } else {
        Err(lost_race(tx, kind, &record.id, expected).await)
    }
}

/// Refuses a name whose key another entry of the kind already holds.
async fn ensure_free(
    tx: &mut Connection,
    kind: Kind,
    name: &EntityName,
    id: Option<&str>,
) -> Result<(), Error> {
    let holder =
        muster_store::fetch_catalog_entry(tx, kind.table(), EntryLookup::Key(name.key())).await?;
    match holder {
        Some(row) if Some(row.named.id.as_str()) != id => Err(Error::Conflict(format!(
            "a {} named `{}` already exists",
            kind.entity(),
            row.named.name
        ))),
        _ => Ok(()),
    }
}

async fn create<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    name: &str,
    description: Option<&str>,
    permissions: Option<&[String]>,
) -> Result<V, Error> {
    let kind = V::KIND;
    let action = kind.action("create");
    let now = (ctx.now)();
    let target = |name: &str| Target {
        kind: kind.entity(),
        id: None,
        name: name.to_owned(),
    };
    require(store, ctx, kind.write(), &action, || target(name)).await?;
    let mut problems = Vec::new();
    let name = parse_name(name, &mut problems);
    let description = parse_description(description, &mut problems).unwrap_or_default();
    let codes = permissions.and_then(|raw| parse_permissions(raw, &mut problems));
    // A name that did not parse left its problem, so the list is never empty then.
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };
    let codes = codes.unwrap_or_default();
    if let Some(escalation) = permissions_escalation(&ctx.actor, name.as_str(), &codes) {
        return Err(refuse(
            store,
            ctx,
            &action,
            &target(name.as_str()),
            Refusal::Escalation(escalation),
        )
        .await);
    }
    let mut tx = store.begin().await?;
    ensure_free(&mut tx, kind, &name, None).await?;
    let record = NamedRecord {
        id: IdMaker::new(now, &ctx.rng).next_id(),
        name_key: name.key().to_owned(),
        name: name.as_str().to_owned(),
        description: description.as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    muster_store::insert_catalog_entry(&mut tx, kind.table(), &record).await?;
    let mut changes = vec![change("name", None, Some(&record.name))];
    if !record.description.is_empty() {
        changes.push(change("description", None, Some(&record.description)));
    }
    if kind == Kind::Role {
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        muster_store::replace_role_permissions(&mut tx, &record.name_key, &refs).await?;
        changes.push(change("permissions", None, Some(&codes.join(", "))));
    }
    let target = Target::new(kind.entity(), &record.id, &record.name);
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(&record.id), &record.id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

async fn update<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    description: Option<&str>,
    permissions: Option<&[String]>,
) -> Result<V, Error> {
    let kind = V::KIND;
    let action = kind.action("update");
    let now = (ctx.now)();
    require_write(store, ctx, kind, id, &action).await?;
    let mut problems = Vec::new();
    let description = parse_description(description, &mut problems);
    let codes = permissions.and_then(|raw| parse_permissions(raw, &mut problems));
    checked(problems)?;
    let mut tx = store.begin().await?;
    let row = fetch_for_change(&mut tx, kind, id, expected).await?;
    let key = row.named.name_key.clone();
    let old_codes: Vec<String> = if kind == Kind::Role {
        muster_store::role_permission_codes(&mut tx, &[key.as_str()])
            .await?
            .into_iter()
            .map(|(_, code)| code)
            .collect()
    } else {
        Vec::new()
    };
    let new_codes = codes.unwrap_or_else(|| old_codes.clone());
    if key == ADMINISTRATOR_ROLE
        && kind == Kind::Role
        && old_codes.iter().any(|c| !new_codes.contains(c))
    {
        return Err(Error::invalid(
            "permissions",
            "the built-in administrator role keeps every permission it holds",
        ));
    }
    let gained: Vec<String> = new_codes
        .iter()
        .filter(|c| !old_codes.contains(c))
        .cloned()
        .collect();
    if let Some(escalation) = permissions_escalation(&ctx.actor, &row.named.name, &gained) {
        let target = Target::new(kind.entity(), id, &row.named.name);
        return Err(refuse_in(
            tx,
            store,
            ctx,
            &action,
            &target,
            Refusal::Escalation(escalation),
        )
        .await);
    }
    let mut next = row.named.clone();
    if let Some(description) = description {
        next.description = description.as_str().to_owned();
    }
    let changes = diff(
        [
            ("description", Some(row.named.description.clone())),
            ("permissions", Some(old_codes.join(", "))),
        ],
        [
            ("description", Some(next.description.clone())),
            ("permissions", Some(new_codes.join(", "))),
        ],
    );
    if changes.is_empty() {
        // Nothing to change: the caller's version is still current, and nothing is recorded.
        return view_of(&mut tx, EntryLookup::Id(id), id).await;
    }
    next.updated_at = now;
    write_entry(&mut tx, kind, &next, expected).await?;
    if new_codes != old_codes {
        let refs: Vec<&str> = new_codes.iter().map(String::as_str).collect();
        muster_store::replace_role_permissions(&mut tx, &key, &refs).await?;
    }
    let target = Target::new(kind.entity(), id, &next.name);
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(id), id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

async fn rename<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<V, Error> {
    let kind = V::KIND;
    let action = kind.action("rename");
    let now = (ctx.now)();
    require_write(store, ctx, kind, id, &action).await?;
    let mut problems = Vec::new();
    let name = parse_name(new_name, &mut problems);
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };
    let mut tx = store.begin().await?;
    let row = fetch_for_change(&mut tx, kind, id, expected).await?;
    if kind == Kind::Role && row.named.name_key == ADMINISTRATOR_ROLE {
        return Err(Error::invalid(
            "name",
            "the built-in administrator role cannot be renamed",
        ));
    }
    if name.as_str() == row.named.name {
        return view_of(&mut tx, EntryLookup::Id(id), id).await;
    }
    ensure_free(&mut tx, kind, &name, Some(id)).await?;
    let mut next = row.named.clone();
    next.name_key = name.key().to_owned();
    next.name = name.as_str().to_owned();
    next.updated_at = now;
    write_entry(&mut tx, kind, &next, expected).await?;
    let target = Target::new(kind.entity(), id, &next.name);
    let changes = vec![change("name", Some(&row.named.name), Some(&next.name))];
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(id), id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

/// How an entry is still referenced, in words, or None when nothing refers to it.
fn in_use(kind: Kind, row: &CatalogEntryRow) -> Option<String> {
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let name = &row.named.name;
    match kind {
        _ if row.users + row.groups == 0 => None,
        Kind::Department => Some(format!(
            "department `{name}` has {}",
            plural(row.users, "user", "users")
        )),
        Kind::Group => Some(format!(
            "group `{name}` has {}",
            plural(row.users, "member", "members")
        )),
        Kind::Role => Some(format!(
            "role `{name}` is held by {} directly and given by {}",
            plural(row.users, "user", "users"),
            plural(row.groups, "group", "groups")
        )),
    }
}

async fn delete(
    store: &Store,
    ctx: &Context,
    kind: Kind,
    id: &str,
    expected: Expected,
    references: References,
) -> Result<(), Error> {
    let action = kind.action("delete");
    let now = (ctx.now)();
    require_write(store, ctx, kind, id, &action).await?;
    let mut tx = store.begin().await?;
    let row = fetch_for_change(&mut tx, kind, id, expected).await?;
    if kind == Kind::Role && row.named.name_key == ADMINISTRATOR_ROLE {
        return Err(Error::Conflict(
            "the built-in administrator role cannot be deleted".to_owned(),
        ));
    }
    let mut changes = vec![
        change("name", Some(&row.named.name), None),
        change("description", Some(&row.named.description), None),
    ];
    if let Some(uses) = in_use(kind, &row) {
        if references == References::Refuse {
            return Err(Error::Conflict(format!(
                "{uses}; remove those references first, or delete it with its references removed"
            )));
        }
        muster_store::detach_catalog_references(&mut tx, kind.table(), &row.named.name_key, now)
            .await?;
        changes.push(change("references", Some(&uses), Some("removed")));
    }
    if !muster_store::delete_catalog_entry(&mut tx, kind.table(), id, expected.0).await? {
        return Err(lost_race(&mut tx, kind, id, expected).await);
    }
    let target = Target::new(kind.entity(), id, &row.named.name);
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(())
}

// ---- the use cases, by kind -----------------------------------------------------------------

/// The department with this id; needs `departments.read`.
pub async fn get_department(
    store: &Store,
    ctx: &Context,
    id: &str,
) -> Result<DepartmentView, Error> {
    get(store, ctx, id).await
}

/// The department with this name (matched by key: case and width do not matter).
pub async fn find_department(
    store: &Store,
    ctx: &Context,
    name: &str,
) -> Result<DepartmentView, Error> {
    find(store, ctx, name).await
}

pub async fn list_departments(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<DepartmentView>, Error> {
    list(store, ctx, query).await
}

/// Creates a department; needs `departments.write`. A name another department holds (by key)
/// is a conflict.
pub async fn create_department(
    store: &Store,
    ctx: &Context,
    new: &NewEntry,
) -> Result<DepartmentView, Error> {
    create(store, ctx, &new.name, new.description.as_deref(), None).await
}

pub async fn update_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    patch: &EntryPatch,
) -> Result<DepartmentView, Error> {
    update(store, ctx, id, expected, patch.description.as_deref(), None).await
}

/// Renames a department; its users follow the new key.
pub async fn rename_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<DepartmentView, Error> {
    rename(store, ctx, id, expected, new_name).await
}

/// Deletes a department; one that still has users is a conflict unless `references` says to
/// take them out of it.
pub async fn delete_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    references: References,
) -> Result<(), Error> {
    delete(store, ctx, Kind::Department, id, expected, references).await
}

/// The group with this id; needs `groups.read`.
pub async fn get_group(store: &Store, ctx: &Context, id: &str) -> Result<GroupView, Error> {
    get(store, ctx, id).await
}

pub async fn find_group(store: &Store, ctx: &Context, name: &str) -> Result<GroupView, Error> {
    find(store, ctx, name).await
}

pub async fn list_groups(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<GroupView>, Error> {
    list(store, ctx, query).await
}

/// Creates a group (with no roles: `set_group_roles` gives it some); needs `groups.write`.
pub async fn create_group(
    store: &Store,
    ctx: &Context,
    new: &NewEntry,
) -> Result<GroupView, Error> {
    create(store, ctx, &new.name, new.description.as_deref(), None).await
}

pub async fn update_group(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    patch: &EntryPatch,
) -> Result<GroupView, Error> {
    update(store, ctx, id, expected, patch.description.as_deref(), None).await
}

/// Renames a group; its members and roles follow the new key.
pub async fn rename_group(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<GroupView, Error> {
    rename(store, ctx, id, expected, new_name).await
}

/// Deletes a group; one with members is a conflict unless `references` says to remove them.
pub async fn delete_group(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    references: References,
) -> Result<(), Error> {
    delete(store, ctx, Kind::Group, id, expected, references).await
}

/// The role with this id and its permissions; needs `roles.read`.
pub async fn get_role(store: &Store, ctx: &Context, id: &str) -> Result<RoleView, Error> {
    get(store, ctx, id).await
}

pub async fn find_role(store: &Store, ctx: &Context, name: &str) -> Result<RoleView, Error> {
    find(store, ctx, name).await
}

pub async fn list_roles(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<RoleView>, Error> {
    list(store, ctx, query).await
}

/// Creates a role; needs `roles.write`, and every permission it holds must be the actor's.
pub async fn create_role(store: &Store, ctx: &Context, new: &NewRole) -> Result<RoleView, Error> {
    create(
        store,
        ctx,
        &new.name,
        new.description.as_deref(),
        Some(&new.permissions),
    )
    .await
}

/// Changes a role's description and replaces its permissions; each permission it gains must be
/// the actor's (it reaches every holder of the role). The administrator role loses none.
pub async fn update_role(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    patch: &RolePatch,
) -> Result<RoleView, Error> {
    update(
        store,
        ctx,
        id,
        expected,
        patch.description.as_deref(),
        patch.permissions.as_deref(),
    )
    .await
}

/// Renames a role; its holders and the groups giving it follow the new key.
pub async fn rename_role(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<RoleView, Error> {
    rename(store, ctx, id, expected, new_name).await
}

/// Deletes a role; one still held (directly or through a group) is a conflict unless
/// `references` says to take it from them.
pub async fn delete_role(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    references: References,
) -> Result<(), Error> {
    delete(store, ctx, Kind::Role, id, expected, references).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        for key in ["sales", "ventes été", ""] {
            assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
        }
        for bad in ["abc", "zz", "ff", "é1"] {
            assert!(
                matches!(decode_cursor(bad), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_search_is_folded_like_keys() {
        assert_eq!(needle(Some("  SALES ")), Some("sales".to_owned()));
        assert_eq!(needle(Some("a,b")), Some("a,b".to_owned()));
        assert_eq!(needle(Some("  ")), None);
    }
}
