//! Departments, groups and roles one at a time, for the directory use cases (issue 8): reading
//! an entry by id or key with its version and how much refers to it, keyset pages of entries,
//! and the conditional writes that refuse a stale version. The engine decides what a change
//! means (checks, escalation, audit); these functions only run its statements, normally inside
//! the caller's transaction.
//!
//! A rename is one UPDATE of the entry's key and name: every reference is declared `ON UPDATE
//! CASCADE` (migration 3), so memberships, grants and departments follow inside that statement.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::history::CatalogTable;
use crate::records::NamedRecord;
use crate::sql::{placeholders, values_list, Placeholders};
use crate::{Connection, Result};

/// Keys per `IN (...)` list.
const KEYS_PER_STATEMENT: usize = 1_000;

/// How an entry is looked up: by its immutable id or by its name key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryLookup<'a> {
    Id(&'a str),
    Key(&'a str),
}

/// One department, group or role with its version and reference counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogEntryRow {
    pub named: NamedRecord,
    pub version: i64,
    /// Departments: the users in it; groups: their members; roles: the users holding it
    /// directly.
    pub users: i64,
    /// Roles: the groups that give it to their members; 0 for departments and groups.
    pub groups: i64,
}

/// A role named by a group, as the group's view shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRoleRow {
    pub group_key: String,
    pub role_key: String,
    pub role_id: String,
    pub role_name: String,
}

/// The columns of an entry row: the named record, the version and the two counts. The counts
/// are correlated subqueries on the membership indexes (`users_by_department`,
/// `group_members_by_group`, `user_roles_by_role`, `group_roles_by_role`).
fn entry_select(table: CatalogTable) -> String {
    let (users, groups) = match table {
        CatalogTable::Departments => (
            "(SELECT COUNT(*) FROM users x WHERE x.department_key = t.name_key)",
            "0",
        ),
        CatalogTable::Groups => (
            "(SELECT COUNT(*) FROM group_members x WHERE x.group_key = t.name_key)",
            "0",
        ),
        CatalogTable::Roles => (
            "(SELECT COUNT(*) FROM user_roles x WHERE x.role_key = t.name_key)",
            "(SELECT COUNT(*) FROM group_roles x WHERE x.role_key = t.name_key)",
        ),
    };
    format!(
        "SELECT t.name_key, t.name, t.description, t.created_at, t.updated_at, t.id, t.version, \
         {users}, {groups} FROM {} t",
        table.table()
    )
}

fn entry_from_row(row: &AnyRow) -> Result<CatalogEntryRow> {
    Ok(CatalogEntryRow {
        named: NamedRecord {
            name_key: row.try_get(0)?,
            name: row.try_get(1)?,
            description: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            id: row.try_get(5)?,
        },
        version: row.try_get(6)?,
        users: row.try_get(7)?,
        groups: row.try_get(8)?,
    })
}

/// The entry with this id or key, if it exists.
pub async fn fetch_catalog_entry(
    conn: &mut Connection,
    table: CatalogTable,
    lookup: EntryLookup<'_>,
) -> Result<Option<CatalogEntryRow>> {
    let (column, value) = match lookup {
        EntryLookup::Id(id) => ("id", id),
        EntryLookup::Key(key) => ("name_key", key),
    };
    let sql = format!(
        "{} WHERE t.{column} = {}",
        entry_select(table),
        placeholders(Placeholders::of(conn), 1, 1)
    );
    sqlx::query(&sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(entry_from_row)
        .transpose()
}

/// Up to `limit` entries in name-key order after the key `after`, whose key contains `needle`
/// (already folded the way keys are). The order and the `>` comparison are the database's own,
/// so pages neither repeat nor skip entries under a linguistic collation.
pub async fn catalog_entries_page(
    conn: &mut Connection,
    table: CatalogTable,
    after: Option<&str>,
    needle: Option<&str>,
    limit: usize,
) -> Result<Vec<CatalogEntryRow>> {
    let style = Placeholders::of(conn);
    let mut binds: Vec<String> = Vec::new();
    let mut conditions = Vec::new();
    if let Some(after) = after {
        binds.push(after.to_owned());
        conditions.push(format!(
            "t.name_key > {}",
            placeholders(style, binds.len(), 1)
        ));
    }
    if let Some(needle) = needle {
        // LIKE with the wildcards of the needle escaped; keys are lowercase already, so the
        // backends' different case rules for LIKE do not matter.
        binds.push(format!("%{}%", escape_like(needle)));
        conditions.push(format!(
            "t.name_key LIKE {} ESCAPE '\\'",
            placeholders(style, binds.len(), 1)
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "{} {filter} ORDER BY t.name_key LIMIT {limit}",
        entry_select(table)
    );
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The permission codes of these roles, as (role key, code) pairs sorted by role and code.
pub async fn role_permission_codes(
    conn: &mut Connection,
    role_keys: &[&str],
) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for chunk in role_keys.chunks(KEYS_PER_STATEMENT) {
        let sql = format!(
            "SELECT role_key, permission FROM role_permissions WHERE role_key IN ({}) \
             ORDER BY role_key, permission",
            placeholders(Placeholders::of(conn), 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(*key);
        }
        for row in query.fetch_all(&mut *conn).await? {
            pairs.push((row.try_get(0)?, row.try_get(1)?));
        }
    }
    Ok(pairs)
}

/// The roles these groups give their members, with the roles' ids and names.
pub async fn group_role_rows(
    conn: &mut Connection,
    group_keys: &[&str],
) -> Result<Vec<GroupRoleRow>> {
    let mut found = Vec::new();
    for chunk in group_keys.chunks(KEYS_PER_STATEMENT) {
        let sql = format!(
            "SELECT g.group_key, r.name_key, r.id, r.name FROM group_roles g \
             JOIN roles r ON r.name_key = g.role_key WHERE g.group_key IN ({}) \
             ORDER BY g.group_key, r.name_key",
            placeholders(Placeholders::of(conn), 1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(*key);
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.push(GroupRoleRow {
                group_key: row.try_get(0)?,
                role_key: row.try_get(1)?,
                role_id: row.try_get(2)?,
                role_name: row.try_get(3)?,
            });
        }
    }
    Ok(found)
}

/// Creates an entry at version 1.
pub async fn insert_catalog_entry(
    conn: &mut Connection,
    table: CatalogTable,
    record: &NamedRecord,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (name_key, name, description, created_at, updated_at, id, version) \
         VALUES ({}, 1)",
        table.table(),
        placeholders(Placeholders::of(conn), 1, 6)
    );
    sqlx::query(&sql)
        .bind(record.name_key.as_str())
        .bind(record.name.as_str())
        .bind(record.description.as_str())
        .bind(record.created_at)
        .bind(record.updated_at)
        .bind(record.id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the key, name, description and `updated_at` of the entry `record.id` and bumps its
/// version, if its version is still `expected`. False when no row matched (gone or stale).
pub async fn update_catalog_entry(
    conn: &mut Connection,
    table: CatalogTable,
    record: &NamedRecord,
    expected: i64,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let p = |n| placeholders(style, n, 1);
    let sql = format!(
        "UPDATE {} SET name_key = {}, name = {}, description = {}, updated_at = {}, \
         version = version + 1 WHERE id = {} AND version = {}",
        table.table(),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
    );
    let done = sqlx::query(&sql)
        .bind(record.name_key.as_str())
        .bind(record.name.as_str())
        .bind(record.description.as_str())
        .bind(record.updated_at)
        .bind(record.id.as_str())
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the entry `id` if its version is still `expected`; its memberships and grants go
/// with it by cascade (a department's users must have been detached first). False when no row
/// matched.
pub async fn delete_catalog_entry(
    conn: &mut Connection,
    table: CatalogTable,
    id: &str,
    expected: i64,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "DELETE FROM {} WHERE id = {} AND version = {}",
        table.table(),
        placeholders(style, 1, 1),
        placeholders(style, 2, 1),
    );
    let done = sqlx::query(&sql)
        .bind(id)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes everything that refers to the entry `key` so it can be deleted: a department's users
/// leave it, a group's members leave it, a role is taken from its holders and from the groups
/// that give it. Each user (and each group giving a role) whose memberships change gets its
/// version bumped and `updated_at` set, as any membership change does.
pub async fn detach_catalog_references(
    conn: &mut Connection,
    table: CatalogTable,
    key: &str,
    now: i64,
) -> Result<()> {
    let style = Placeholders::of(conn);
    let (p1, p2) = (placeholders(style, 1, 1), placeholders(style, 2, 1));
    let statements: Vec<(String, bool)> = match table {
        CatalogTable::Departments => vec![(
            format!(
                "UPDATE users SET department_key = NULL, version = version + 1, updated_at = {p1} \
                 WHERE department_key = {p2}"
            ),
            true,
        )],
        CatalogTable::Groups => vec![
            (bump_users_where("group_members", "group_key", &p1, &p2), true),
            (format!("DELETE FROM group_members WHERE group_key = {p1}"), false),
        ],
        CatalogTable::Roles => vec![
            (bump_users_where("user_roles", "role_key", &p1, &p2), true),
            (
                format!(
                    "UPDATE user_groups SET version = version + 1, updated_at = {p1} WHERE name_key IN \
                     (SELECT group_key FROM group_roles WHERE role_key = {p2})"
                ),
                true,
            ),
            (format!("DELETE FROM user_roles WHERE role_key = {p1}"), false),
            (format!("DELETE FROM group_roles WHERE role_key = {p1}"), false),
        ],
    };
    for (sql, with_time) in statements {
        let mut query = sqlx::query(&sql);
        if with_time {
            query = query.bind(now);
        }
        query.bind(key).execute(&mut *conn).await?;
    }
    Ok(())
}

fn bump_users_where(membership: &str, column: &str, time: &str, key: &str) -> String {
    format!(
        "UPDATE users SET version = version + 1, updated_at = {time} WHERE username_key IN \
         (SELECT username_key FROM {membership} WHERE {column} = {key})"
    )
}

/// Adds (`join` true) or removes these users as members of the group `group_key`, and bumps
/// each one's version. The caller passes only users whose membership actually changes.
pub async fn change_group_members(
    conn: &mut Connection,
    group_key: &str,
    username_keys: &[&str],
    join: bool,
    now: i64,
) -> Result<()> {
    let style = Placeholders::of(conn);
    for chunk in username_keys.chunks(KEYS_PER_STATEMENT) {
        if join {
            let sql = format!(
                "INSERT INTO group_members (username_key, group_key) VALUES {}",
                values_list(style, chunk.len(), 2)
            );
            let mut query = sqlx::query(&sql);
            for key in chunk {
                query = query.bind(*key).bind(group_key);
            }
            query.execute(&mut *conn).await?;
        } else {
            let sql = format!(
                "DELETE FROM group_members WHERE group_key = {} AND username_key IN ({})",
                placeholders(style, 1, 1),
                placeholders(style, 2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(group_key);
            for key in chunk {
                query = query.bind(*key);
            }
            query.execute(&mut *conn).await?;
        }
        let sql = format!(
            "UPDATE users SET version = version + 1, updated_at = {} WHERE username_key IN ({})",
            placeholders(style, 1, 1),
            placeholders(style, 2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(now);
        for key in chunk {
            query = query.bind(*key);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the roles the group `group_key` gives its members.
pub async fn replace_group_roles(
    conn: &mut Connection,
    group_key: &str,
    role_keys: &[&str],
) -> Result<()> {
    replace_pairs(
        conn,
        "group_roles",
        "group_key",
        "role_key",
        group_key,
        role_keys,
    )
    .await
}

/// Replaces the permission codes of the role `role_key`.
pub async fn replace_role_permissions(
    conn: &mut Connection,
    role_key: &str,
    codes: &[&str],
) -> Result<()> {
    replace_pairs(
        conn,
        "role_permissions",
        "role_key",
        "permission",
        role_key,
        codes,
    )
    .await
}

async fn replace_pairs(
    conn: &mut Connection,
    table: &str,
    owner_column: &str,
    item_column: &str,
    owner: &str,
    items: &[&str],
) -> Result<()> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "DELETE FROM {table} WHERE {owner_column} = {}",
        placeholders(style, 1, 1)
    );
    sqlx::query(&sql).bind(owner).execute(&mut *conn).await?;
    for chunk in items.chunks(KEYS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO {table} ({owner_column}, {item_column}) VALUES {}",
            values_list(style, chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for item in chunk {
            query = query.bind(owner).bind(*item);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_a_needle_are_escaped() {
        assert_eq!(super::escape_like(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(super::escape_like("sales"), "sales");
    }
}
