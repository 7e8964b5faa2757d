//! What front-ends are shown of a department, group or role: the views, and how they are built
//! from the store's rows (a group's roles and a role's permissions read for a whole page at
//! once).

use std::collections::HashMap;

use muster_domain::{Permission, ADMINISTRATOR_ROLE};
use muster_store::{CatalogEntryRow, Connection, EntryLookup};
use serde::Serialize;

use super::Kind;
use crate::directory::NameRef;
use crate::error::Error;

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

/// What the views of one kind need besides the entry's row.
#[derive(Default)]
pub(super) struct Extras {
    /// Role key → permission codes.
    permissions: HashMap<String, Vec<String>>,
    /// Group key → the roles it gives.
    roles: HashMap<String, Vec<NameRef>>,
}

pub(super) trait CatalogView: Sized {
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

pub(super) async fn extras(
    conn: &mut Connection,
    kind: Kind,
    keys: &[&str],
) -> Result<Extras, Error> {
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

pub(super) async fn views<V: CatalogView>(
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

pub(super) async fn view_of<V: CatalogView>(
    conn: &mut Connection,
    lookup: EntryLookup<'_>,
    named_as: &str,
) -> Result<V, Error> {
    let row = muster_store::fetch_catalog_entry(conn, V::KIND.table(), lookup)
        .await?
        .ok_or_else(|| V::KIND.not_found(named_as))?;
    Ok(views(conn, vec![row]).await?.remove(0))
}
