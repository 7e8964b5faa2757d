//! Departments, groups and roles: small tables that the use cases load whole (a directory has
//! thousands of them at most, against a million users) and write back in batches.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::records::{NamedRecord, RoleRecord};
use crate::sql::{placeholders, rows_per_statement, values_list, Placeholders};
use crate::{Connection, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamedKind {
    Department,
    Group,
}

impl NamedKind {
    fn table(self) -> &'static str {
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
}

pub async fn load_catalog(conn: &mut Connection) -> Result<Catalog> {
    let departments = load_named(conn, NamedKind::Department).await?;
    let groups = load_named(conn, NamedKind::Group).await?;
    let mut roles: BTreeMap<String, RoleRecord> = BTreeMap::new();
    for row in sqlx::query(&named_select("roles")).fetch_all(&mut *conn).await? {
        let named = named_from_row(&row)?;
        roles.insert(named.name_key.clone(), RoleRecord { named, permissions: Vec::new() });
    }
    let grants = sqlx::query("SELECT role_key, permission FROM role_permissions ORDER BY role_key, permission")
        .fetch_all(&mut *conn)
        .await?;
    for row in grants {
        let role_key: String = row.try_get(0)?;
        if let Some(role) = roles.get_mut(&role_key) {
            role.permissions.push(row.try_get(1)?);
        }
    }
    Ok(Catalog { departments, groups, roles })
}

async fn load_named(conn: &mut Connection, kind: NamedKind) -> Result<BTreeMap<String, NamedRecord>> {
    let rows = sqlx::query(&named_select(kind.table())).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| named_from_row(row).map(|record| (record.name_key.clone(), record)))
        .collect()
}

fn named_select(table: &str) -> String {
    format!("SELECT name_key, name, description, created_at, updated_at FROM {table} ORDER BY name_key")
}

fn named_from_row(row: &AnyRow) -> Result<NamedRecord> {
    Ok(NamedRecord {
        name_key: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
    })
}

/// Creates or updates departments or groups by name key (the key never changes).
pub async fn upsert_named(conn: &mut Connection, kind: NamedKind, records: &[NamedRecord]) -> Result<()> {
    upsert_named_in(conn, kind.table(), records).await
}

async fn upsert_named_in(conn: &mut Connection, table: &str, records: &[NamedRecord]) -> Result<()> {
    for chunk in records.chunks(rows_per_statement(5)) {
        let sql = format!(
            "INSERT INTO {table} (name_key, name, description, created_at, updated_at) VALUES {} \
             ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, \
             description = excluded.description, updated_at = excluded.updated_at",
            values_list(Placeholders::of(conn), chunk.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query.bind(&r.name_key).bind(&r.name).bind(&r.description).bind(r.created_at).bind(r.updated_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Creates or updates roles and replaces their permission sets.
pub async fn upsert_roles(conn: &mut Connection, roles: &[RoleRecord]) -> Result<()> {
    let named: Vec<NamedRecord> = roles.iter().map(|r| r.named.clone()).collect();
    upsert_named_in(conn, "roles", &named).await?;
    for chunk in roles.chunks(500) {
        let sql = format!(
            "DELETE FROM role_permissions WHERE role_key IN ({})",
            placeholders(Placeholders::of(conn), 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for role in chunk {
            query = query.bind(&role.named.name_key);
        }
        query.execute(&mut *conn).await?;
    }
    let grants: Vec<(&str, &str)> = roles
        .iter()
        .flat_map(|r| r.permissions.iter().map(move |p| (r.named.name_key.as_str(), p.as_str())))
        .collect();
    for chunk in grants.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO role_permissions (role_key, permission) VALUES {}",
            values_list(Placeholders::of(conn), chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (role, permission) in chunk {
            query = query.bind(*role).bind(*permission);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
