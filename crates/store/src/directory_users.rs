//! Users one at a time, for the directory's single-record use cases: read one by id or key with
//! its version and MFA state, walk a filtered list by keyset pages, and write one user under
//! optimistic concurrency (every write is conditional on the version the caller read and bumps
//! it). The engine decides what may change; this module only runs the statements.
//!
//! A list page starts from the index that the most selective filter has: a group's or role's
//! members from their membership table (`group_members_by_group`, `user_roles_by_role`), a
//! department's from `users_by_department`, everyone from the key itself, always in key order
//! after the cursor, so a page costs the same at the millionth user as at the first.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::packed;
use crate::records::UserRecord;
use crate::sql::{placeholders, Placeholders};
use crate::users::{Membership, UserFilter, USER_COLUMNS};
use crate::{Connection, Result};

/// A user as the directory reads it: the record, the version it is at, and whether the user
/// has enrolled a second factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUser {
    pub record: UserRecord,
    pub version: i64,
    pub mfa_enrolled: bool,
    /// The user must choose a new password at the next sign-in (migration 6).
    pub must_change_password: bool,
}

/// The select list of a `StoredUser`, reading `users u`.
fn stored_user_columns() -> String {
    let item = packed::ITEM;
    let mut columns: Vec<String> = USER_COLUMNS.iter().map(|c| format!("u.{c}")).collect();
    columns.push("u.version".into());
    // A count rather than EXISTS: PostgreSQL returns EXISTS as a boolean and SQLite as an
    // integer, while COUNT is a BIGINT on both.
    columns.push("(SELECT COUNT(*) FROM user_mfa x WHERE x.user_id = u.id)".into());
    columns.push(format!(
        "(SELECT string_agg(x.role_key, '{item}') FROM user_roles x WHERE x.username_key = u.username_key)"
    ));
    columns.push(format!(
        "(SELECT string_agg(x.group_key, '{item}') FROM group_members x WHERE x.username_key = u.username_key)"
    ));
    columns.push("u.must_change_password".into());
    columns.join(", ")
}

fn stored_user_from_row(row: &AnyRow) -> Result<StoredUser> {
    let list = |value: Option<String>| value.map(|v| packed::list(&v)).unwrap_or_default();
    let record = UserRecord {
        username_key: row.try_get(0)?,
        username: row.try_get(1)?,
        name: row.try_get(2)?,
        email: row.try_get(3)?,
        email_key: row.try_get(4)?,
        phone: row.try_get(5)?,
        department_key: row.try_get(6)?,
        active: row.try_get::<i64, _>(7)? != 0,
        ignore_mfa: row.try_get::<i64, _>(8)? != 0,
        locale: row.try_get(9)?,
        timezone: row.try_get(10)?,
        password_hash: row.try_get(11)?,
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        last_login_at: row.try_get(14)?,
        id: row.try_get(15)?,
        role_keys: list(row.try_get(18)?),
        group_keys: list(row.try_get(19)?),
    };
    Ok(StoredUser {
        record,
        version: row.try_get(16)?,
        mfa_enrolled: row.try_get::<i64, _>(17)? > 0,
        must_change_password: row.try_get::<i64, _>(20)? != 0,
    })
}

/// The user with this id, if any.
pub async fn user_by_id(conn: &mut Connection, id: &str) -> Result<Option<StoredUser>> {
    user_where(conn, "id", id).await
}

/// The user with this username key, if any.
pub async fn user_by_key(conn: &mut Connection, key: &str) -> Result<Option<StoredUser>> {
    user_where(conn, "username_key", key).await
}

/// The user with this e-mail key, if any (sign-in by e-mail address).
pub async fn user_by_email_key(conn: &mut Connection, key: &str) -> Result<Option<StoredUser>> {
    user_where(conn, "email_key", key).await
}

async fn user_where(
    conn: &mut Connection,
    column: &str,
    value: &str,
) -> Result<Option<StoredUser>> {
    let sql = format!(
        "SELECT {} FROM users u WHERE u.{column} = {}",
        stored_user_columns(),
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let row = sqlx::query(&sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(stored_user_from_row).transpose()
}

/// The version of the user with this id, if the user exists: what a refused conditional write
/// reads to tell a stale version from a deleted user.
pub async fn user_version(conn: &mut Connection, id: &str) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT version FROM users WHERE id = {}",
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// The username of whoever holds this e-mail key, other than the user `except_id`.
pub async fn email_holder(
    conn: &mut Connection,
    email_key: &str,
    except_id: Option<&str>,
) -> Result<Option<String>> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "SELECT username, id FROM users WHERE email_key = {}",
        placeholders(style, 1, 1)
    );
    let row = sqlx::query(&sql)
        .bind(email_key)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => {
            let id: String = row.try_get(1)?;
            if except_id == Some(id.as_str()) {
                Ok(None)
            } else {
                Ok(Some(row.try_get(0)?))
            }
        }
        None => Ok(None),
    }
}

/// Up to `limit` users matching `filter` (its text search excepted, which the caller applies),
/// in username-key order after the key `after`. The page starts from the most selective index
/// the filter allows (see the module's documentation).
pub async fn users_after(
    conn: &mut Connection,
    filter: &UserFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<StoredUser>> {
    let style = Placeholders::of(conn);
    let mut binds: Vec<String> = Vec::new();
    let mut next = |value: &str| {
        binds.push(value.to_owned());
        placeholders(style, binds.len(), 1)
    };
    // The driving table: the one whose index lists the fewest rows for this filter. Its key
    // column is what the page is ordered by and what the cursor compares against.
    let (from, key, mut conditions) = if let Some(group) = &filter.group_key {
        let from = "group_members d JOIN users u ON u.username_key = d.username_key";
        (
            from,
            "d.username_key",
            vec![format!("d.group_key = {}", next(group))],
        )
    } else if let Some(role) = &filter.role_key {
        let from = "user_roles d JOIN users u ON u.username_key = d.username_key";
        (
            from,
            "d.username_key",
            vec![format!("d.role_key = {}", next(role))],
        )
    } else {
        ("users u", "u.username_key", Vec::new())
    };
    if let Some(after) = after {
        conditions.push(format!("{key} > {}", next(after)));
    }
    if let Some(department) = &filter.department_key {
        conditions.push(format!("u.department_key = {}", next(department)));
    }
    if filter.group_key.is_some() {
        if let Some(role) = &filter.role_key {
            let p = next(role);
            conditions.push(format!("EXISTS (SELECT 1 FROM user_roles m WHERE m.username_key = u.username_key AND m.role_key = {p})"));
        }
    }
    if let Some(active) = filter.active {
        conditions.push(format!("u.active = {}", i64::from(active)));
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {} FROM {from} {filter_sql} ORDER BY {key} LIMIT {limit}",
        stored_user_columns()
    );
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(stored_user_from_row).collect()
}

/// Inserts a new user and its memberships.
pub async fn insert_user(conn: &mut Connection, user: &UserRecord) -> Result<()> {
    let sql = format!(
        "INSERT INTO users ({}) VALUES ({})",
        USER_COLUMNS.join(", "),
        placeholders(Placeholders::of(conn), 1, USER_COLUMNS.len())
    );
    bind_record(sqlx::query(&sql), user)
        .bind(user.id.as_str())
        .execute(&mut *conn)
        .await?;
    replace_memberships(conn, &user.username_key, Membership::Roles, &user.role_keys).await?;
    replace_memberships(
        conn,
        &user.username_key,
        Membership::Groups,
        &user.group_keys,
    )
    .await?;
    Ok(())
}

/// Writes every field of `user` (its key too: a rename is this one statement, and the
/// memberships, MFA enrolment and references follow by `ON UPDATE CASCADE`) if the user with
/// its id is still at `expected`, and bumps the version. False when it was not (stale or gone).
pub async fn update_user(conn: &mut Connection, user: &UserRecord, expected: i64) -> Result<bool> {
    let style = Placeholders::of(conn);
    // Every column but `id`; `created_at` and `last_login_at` are written back as they were read.
    let assignments: Vec<String> = USER_COLUMNS[..USER_COLUMNS.len() - 1]
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = {}", placeholders(style, i + 1, 1)))
        .collect();
    let n = USER_COLUMNS.len();
    let sql = format!(
        "UPDATE users SET {}, version = version + 1 WHERE id = {} AND version = {}",
        assignments.join(", "),
        placeholders(style, n, 1),
        placeholders(style, n + 1, 1)
    );
    let done = bind_record(sqlx::query(&sql), user)
        .bind(user.id.as_str())
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Binds the first fifteen columns of `USER_COLUMNS` (all but `id`), in order.
fn bind_record<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    u: &'q UserRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(u.username_key.as_str())
        .bind(u.username.as_str())
        .bind(u.name.as_str())
        .bind(u.email.as_deref())
        .bind(u.email_key.as_deref())
        .bind(u.phone.as_deref())
        .bind(u.department_key.as_deref())
        .bind(i64::from(u.active))
        .bind(i64::from(u.ignore_mfa))
        .bind(u.locale.as_deref())
        .bind(u.timezone.as_deref())
        .bind(u.password_hash.as_str())
        .bind(u.created_at)
        .bind(u.updated_at)
        .bind(u.last_login_at)
}

/// Makes `keys` the user's roles or groups: removes the others, adds the missing ones.
pub async fn replace_memberships(
    conn: &mut Connection,
    username_key: &str,
    which: Membership,
    keys: &[String],
) -> Result<()> {
    let style = Placeholders::of(conn);
    let (table, column) = which.table_and_column();
    let p1 = placeholders(style, 1, 1);
    sqlx::query(&format!("DELETE FROM {table} WHERE username_key = {p1}"))
        .bind(username_key)
        .execute(&mut *conn)
        .await?;
    let p2 = placeholders(style, 2, 1);
    let insert = format!("INSERT INTO {table} (username_key, {column}) VALUES ({p1}, {p2})");
    for key in keys {
        sqlx::query(&insert)
            .bind(username_key)
            .bind(key.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Deletes the user with this id if it is still at `expected`; memberships go with it (`ON
/// DELETE CASCADE`), and its MFA enrolment is removed here (migration 5). False when it was not
/// (stale or gone).
pub async fn delete_user(conn: &mut Connection, id: &str, expected: i64) -> Result<bool> {
    let style = Placeholders::of(conn);
    let forget = format!(
        "DELETE FROM user_mfa WHERE user_id = {} AND EXISTS (SELECT 1 FROM users WHERE id = {} AND version = {})",
        placeholders(style, 1, 1),
        placeholders(style, 2, 1),
        placeholders(style, 3, 1)
    );
    sqlx::query(&forget)
        .bind(id)
        .bind(id)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    let sql = format!(
        "DELETE FROM users WHERE id = {} AND version = {}",
        placeholders(style, 1, 1),
        placeholders(style, 2, 1)
    );
    let done = sqlx::query(&sql)
        .bind(id)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets the MFA enrolment of the user with this id; true when there was one.
pub async fn delete_mfa(conn: &mut Connection, user_id: &str) -> Result<bool> {
    let sql = format!(
        "DELETE FROM user_mfa WHERE user_id = {}",
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let done = sqlx::query(&sql).bind(user_id).execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Enrols a second factor for the user (what the sign-in flow will do; tests use it to have
/// something to reset).
pub async fn insert_mfa(
    conn: &mut Connection,
    user_id: &str,
    secret: &str,
    enrolled_at: i64,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO user_mfa (user_id, secret, enrolled_at) VALUES ({})",
        placeholders(Placeholders::of(conn), 1, 3)
    );
    sqlx::query(&sql)
        .bind(user_id)
        .bind(secret)
        .bind(enrolled_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether any user is enrolled in MFA (a count, which both backends return as an integer).
pub async fn any_mfa_enrolment(conn: &mut Connection) -> Result<bool> {
    let enrolled: i64 = sqlx::query("SELECT COUNT(*) FROM (SELECT 1 FROM user_mfa LIMIT 1) AS one")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(enrolled > 0)
}

/// The TOTP secret (base32) of the user's enrolment, if the user is enrolled.
pub async fn mfa_secret(conn: &mut Connection, user_id: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT secret FROM user_mfa WHERE user_id = {}",
        placeholders(Placeholders::of(conn), 1, 1)
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Sets whether the user must choose a new password at the next sign-in, bumping the version.
/// False when there is no such user.
pub async fn set_must_change_password(
    conn: &mut Connection,
    user_id: &str,
    must_change: bool,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "UPDATE users SET must_change_password = {}, version = version + 1 WHERE id = {}",
        placeholders(style, 1, 1),
        placeholders(style, 2, 1)
    );
    let done = sqlx::query(&sql)
        .bind(i64::from(must_change))
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The user's own new password: the hash, the change flag cleared, the version bumped, if the
/// stored hash is still `old_hash` (another change in between wins). False otherwise.
pub async fn set_own_password(
    conn: &mut Connection,
    user_id: &str,
    old_hash: &str,
    new_hash: &str,
    at: i64,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "UPDATE users SET password_hash = {}, must_change_password = 0, updated_at = {}, \
         version = version + 1 WHERE id = {} AND password_hash = {}",
        placeholders(style, 1, 1),
        placeholders(style, 2, 1),
        placeholders(style, 3, 1),
        placeholders(style, 4, 1)
    );
    let done = sqlx::query(&sql)
        .bind(new_hash)
        .bind(at)
        .bind(user_id)
        .bind(old_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces an imported (legacy) hash by an argon2id hash of the same password, if the stored
/// hash is still `old_hash`. The version is not bumped: the user's data did not change, and a
/// caller holding the version must not see its next change refused for it.
pub async fn rehash_password(
    conn: &mut Connection,
    user_id: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "UPDATE users SET password_hash = {} WHERE id = {} AND password_hash = {}",
        placeholders(style, 1, 1),
        placeholders(style, 2, 1),
        placeholders(style, 3, 1)
    );
    let done = sqlx::query(&sql)
        .bind(new_hash)
        .bind(user_id)
        .bind(old_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether any user holds the role `role_key`, directly or through a group.
pub async fn role_has_holder(conn: &mut Connection, role_key: &str) -> Result<bool> {
    let style = Placeholders::of(conn);
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM user_roles WHERE role_key = {} LIMIT 1) AS d) \
         + (SELECT COUNT(*) FROM (SELECT 1 FROM group_roles r JOIN group_members m \
         ON m.group_key = r.group_key WHERE r.role_key = {} LIMIT 1) AS g)",
        placeholders(style, 1, 1),
        placeholders(style, 2, 1)
    );
    let held: i64 = sqlx::query(&sql)
        .bind(role_key)
        .bind(role_key)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(held > 0)
}
