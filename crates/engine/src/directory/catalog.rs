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

mod changes;
mod members;
mod reads;
mod views;

use muster_domain::Permission;
use muster_store::{CatalogTable, EntryLookup, Store, Transaction};

use super::{refuse, require, Expected, Page};
use crate::audit::Target;
use crate::busy;
use crate::context::Context;
use crate::error::{Error, Missing, Refusal};
use changes::{create, delete, rename, update};
use reads::{find, get, list};

pub use members::{add_members, remove_members, set_group_roles};
pub use views::{DepartmentView, GroupView, PermissionView, RoleView};

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
        Error::NotFound(Missing::Record {
            entity: self.entity(),
            key: key.to_owned(),
        })
    }
}

/// A department as front-ends show it.
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

// ---- refusals -------------------------------------------------------------------------------

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
    require(store, ctx, kind.write(), action, &target).await
}

// ---- the use cases, by kind -----------------------------------------------------------------

/// The department with this id; needs `departments.read`.
pub async fn get_department(
    store: &Store,
    ctx: &Context,
    id: &str,
) -> Result<DepartmentView, Error> {
    busy::naming_job(store, get(store, ctx, id)).await
}

/// The department with this name (matched by key: case and width do not matter).
pub async fn find_department(
    store: &Store,
    ctx: &Context,
    name: &str,
) -> Result<DepartmentView, Error> {
    busy::naming_job(store, find(store, ctx, name)).await
}

pub async fn list_departments(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<DepartmentView>, Error> {
    busy::naming_job(store, list(store, ctx, query)).await
}

/// Creates a department; needs `departments.write`. A name another department holds (by key)
/// is a conflict.
pub async fn create_department(
    store: &Store,
    ctx: &Context,
    new: &NewEntry,
) -> Result<DepartmentView, Error> {
    busy::naming_job(
        store,
        create(store, ctx, &new.name, new.description.as_deref(), None),
    )
    .await
}

pub async fn update_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    patch: &EntryPatch,
) -> Result<DepartmentView, Error> {
    busy::naming_job(
        store,
        update(store, ctx, id, expected, patch.description.as_deref(), None),
    )
    .await
}

/// Renames a department; its users follow the new key.
pub async fn rename_department(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<DepartmentView, Error> {
    busy::naming_job(store, rename(store, ctx, id, expected, new_name)).await
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
    busy::naming_job(
        store,
        delete(store, ctx, Kind::Department, id, expected, references),
    )
    .await
}

/// The group with this id; needs `groups.read`.
pub async fn get_group(store: &Store, ctx: &Context, id: &str) -> Result<GroupView, Error> {
    busy::naming_job(store, get(store, ctx, id)).await
}

pub async fn find_group(store: &Store, ctx: &Context, name: &str) -> Result<GroupView, Error> {
    busy::naming_job(store, find(store, ctx, name)).await
}

pub async fn list_groups(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<GroupView>, Error> {
    busy::naming_job(store, list(store, ctx, query)).await
}

/// Creates a group (with no roles: `set_group_roles` gives it some); needs `groups.write`.
pub async fn create_group(
    store: &Store,
    ctx: &Context,
    new: &NewEntry,
) -> Result<GroupView, Error> {
    busy::naming_job(
        store,
        create(store, ctx, &new.name, new.description.as_deref(), None),
    )
    .await
}

pub async fn update_group(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    patch: &EntryPatch,
) -> Result<GroupView, Error> {
    busy::naming_job(
        store,
        update(store, ctx, id, expected, patch.description.as_deref(), None),
    )
    .await
}

/// Renames a group; its members and roles follow the new key.
pub async fn rename_group(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<GroupView, Error> {
    busy::naming_job(store, rename(store, ctx, id, expected, new_name)).await
}

/// Deletes a group; one with members is a conflict unless `references` says to remove them.
pub async fn delete_group(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    references: References,
) -> Result<(), Error> {
    busy::naming_job(
        store,
        delete(store, ctx, Kind::Group, id, expected, references),
    )
    .await
}

/// The role with this id and its permissions; needs `roles.read`.
pub async fn get_role(store: &Store, ctx: &Context, id: &str) -> Result<RoleView, Error> {
    busy::naming_job(store, get(store, ctx, id)).await
}

pub async fn find_role(store: &Store, ctx: &Context, name: &str) -> Result<RoleView, Error> {
    busy::naming_job(store, find(store, ctx, name)).await
}

pub async fn list_roles(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<RoleView>, Error> {
    busy::naming_job(store, list(store, ctx, query)).await
}

/// Creates a role; needs `roles.write`, and every permission it holds must be the actor's.
pub async fn create_role(store: &Store, ctx: &Context, new: &NewRole) -> Result<RoleView, Error> {
    busy::naming_job(
        store,
        create(
            store,
            ctx,
            &new.name,
            new.description.as_deref(),
            Some(&new.permissions),
        ),
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
    busy::naming_job(
        store,
        update(
            store,
            ctx,
            id,
            expected,
            patch.description.as_deref(),
            patch.permissions.as_deref(),
        ),
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
    busy::naming_job(store, rename(store, ctx, id, expected, new_name)).await
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
    busy::naming_job(
        store,
        delete(store, ctx, Kind::Role, id, expected, references),
    )
    .await
}
