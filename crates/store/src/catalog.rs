//! Departments, groups and roles: small tables that the use cases load whole (a directory has
//! thousands of them at most, against a million users) and write back in batches.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::records::{NamedRecord, RoleRecord};
use crate::{Connection, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamedKind {
    Department,
    Group,
}

impl NamedKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            NamedKind::Department => "departments",
            NamedKind::Group => "user_groups",
        }
    }
}

/// Every department, group and role, keyed by name key.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub departments: BTreeMap<String, NamedRecord>,
    pub groups: BTreeMap<String, NamedRecord>,
    pub roles: BTreeMap<String, RoleRecord>,
    /// Group key → the keys of the roles the group gives its members, sorted.
    pub group_roles: BTreeMap<String, Vec<String>>,
}

pub async fn load_catalog(conn: &mut Connection) -> Result<Catalog> {
    let departments = load_named(conn, NamedKind::Department).await?;
    let groups = load_named(conn, NamedKind::Group).await?;
    let mut roles: BTreeMap<String, RoleRecord> = BTreeMap::new();
    for row in sqlx::query(&named_select("roles"))
        .fetch_all(&mut *conn)
        .await?
    {
        let named = named_from_row(&row)?;
        roles.insert(
            named.name_key.clone(),
            RoleRecord {
                named,
                permissions: Vec::new(),
            },
        );
    }
    let grants = sqlx::query(
        "SELECT role_key, permission FROM role_permissions ORDER BY role_key, permission",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in grants {
        let role_key: String = row.try_get(0)?;
        if let Some(role) = roles.get_mut(&role_key) {
            role.permissions.push(row.try_get(1)?);
        }
    }
    let mut group_roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in sqlx::query("SELECT group_key, role_key FROM group_roles ORDER BY group_key, role_key")
        .fetch_all(&mut *conn)
        .await?
    {
        group_roles
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    Ok(Catalog {
        departments,
        groups,
        roles,
        group_roles,
    })
}

async fn load_named(
    conn: &mut Connection,
    kind: NamedKind,
) -> Result<BTreeMap<String, NamedRecord>> {
    let rows = sqlx::query(&named_select(kind.table()))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| named_from_row(row).map(|record| (record.name_key.clone(), record)))
        .collect()
}

fn named_select(table: &str) -> String {
    format!(
        "SELECT name_key, name, description, created_at, updated_at, id FROM {table} ORDER BY name_key"
    )
}

fn named_from_row(row: &AnyRow) -> Result<NamedRecord> {
    Ok(NamedRecord {
        name_key: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
        id: row.try_get(5)?,
    })
}
