//! Users: batch reads by key for the import planner, batch writes for the applier, and the
//! streaming read behind the export. Memberships (roles, groups) are separate tables written
//! only for users whose memberships changed.

use std::collections::HashMap;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::records::UserRecord;
use crate::sql::{placeholders, rows_per_statement, values_list, Placeholders};
use crate::{Connection, Result};

const USER_COLUMNS: &str = "username_key, username, name, email, email_key, phone, department_key, \
     active, ignore_mfa, locale, timezone, password_hash, created_at, updated_at, last_login_at";
const USER_COLUMN_COUNT: usize = 15;
/// Keys per `IN (...)` read: large enough to amortise the round trip, small for any backend.
const KEYS_PER_READ: usize = 1_000;

/// The users with these keys that exist, with their memberships. Missing keys are simply absent.
pub async fn fetch_users(conn: &mut Connection, keys: &[&str]) -> Result<Vec<UserRecord>> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_READ) {
        let list = placeholders(Placeholders::of(conn), 1, chunk.len());
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_key IN ({list})");
        let rows = bind_all(sqlx::query(&sql), chunk).fetch_all(&mut *conn).await?;
        let mut batch: Vec<UserRecord> = rows.iter().map(user_from_row).collect::<Result<_>>()?;
        if !batch.is_empty() {
            let present: Vec<&str> = batch.iter().map(|u| u.username_key.as_str()).collect();
            let roles = memberships_of(conn, Membership::Roles, &present).await?;
            let groups = memberships_of(conn, Membership::Groups, &present).await?;
            for user in &mut batch {
                user.role_keys = roles.get(&user.username_key).cloned().unwrap_or_default();
                user.group_keys = groups.get(&user.username_key).cloned().unwrap_or_default();
            }
        }
        found.extend(batch);
    }
    Ok(found)
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    values: &'q [&'q str],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for value in values {
        query = query.bind(*value);
    }
    query
}

fn user_from_row(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
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
        role_keys: Vec::new(),
        group_keys: Vec::new(),
    })
}

/// Which membership table: a user's roles or a user's groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Roles,
    Groups,
}

impl Membership {
    fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            Membership::Roles => ("user_roles", "role_key"),
            Membership::Groups => ("group_members", "group_key"),
        }
    }
}

async fn memberships_of(
    conn: &mut Connection,
    kind: Membership,
    users: &[&str],
) -> Result<HashMap<String, Vec<String>>> {
    let (table, column) = kind.table_and_column();
    let sql = format!(
        "SELECT username_key, {column} FROM {table} WHERE username_key IN ({}) ORDER BY username_key, {column}",
        placeholders(Placeholders::of(conn), 1, users.len())
    );
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for row in bind_all(sqlx::query(&sql), users).fetch_all(&mut *conn).await? {
        map.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
    }
    Ok(map)
}

/// For each e-mail key, the user who holds it now (if any).
pub async fn email_owners(conn: &mut Connection, email_keys: &[&str]) -> Result<HashMap<String, String>> {
    let mut owners = HashMap::new();
    for chunk in email_keys.chunks(KEYS_PER_READ) {
        let sql = format!(
            "SELECT email_key, username_key FROM users WHERE email_key IN ({})",
            placeholders(Placeholders::of(conn), 1, chunk.len())
        );
        for row in bind_all(sqlx::query(&sql), chunk).fetch_all(&mut *conn).await? {
            owners.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(owners)
}

/// Creates or updates users (the whole row; memberships are written separately).
pub async fn upsert_users(conn: &mut Connection, users: &[UserRecord]) -> Result<()> {
    for chunk in users.chunks(rows_per_statement(USER_COLUMN_COUNT)) {
        let sql = format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES {} ON CONFLICT (username_key) DO UPDATE SET \
             username = excluded.username, name = excluded.name, email = excluded.email, \
             email_key = excluded.email_key, phone = excluded.phone, \
             department_key = excluded.department_key, active = excluded.active, \
             ignore_mfa = excluded.ignore_mfa, locale = excluded.locale, timezone = excluded.timezone, \
             password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            values_list(Placeholders::of(conn), chunk.len(), USER_COLUMN_COUNT)
        );
        let mut query = sqlx::query(&sql);
        for u in chunk {
            query = query
                .bind(&u.username_key)
                .bind(&u.username)
                .bind(&u.name)
                .bind(&u.email)
                .bind(&u.email_key)
                .bind(&u.phone)
                .bind(&u.department_key)
                .bind(i64::from(u.active))
                .bind(i64::from(u.ignore_mfa))
                .bind(&u.locale)
                .bind(&u.timezone)
                .bind(&u.password_hash)
                .bind(u.created_at)
                .bind(u.updated_at)
                .bind(u.last_login_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the memberships of `users` with `pairs` (user key, role or group key). Users that
/// are new need no delete; pass them in `pairs` only.
pub async fn replace_memberships(
    conn: &mut Connection,
    kind: Membership,
    users: &[&str],
    pairs: &[(&str, &str)],
) -> Result<()> {
    let (table, column) = kind.table_and_column();
    for chunk in users.chunks(KEYS_PER_READ) {
        let sql = format!("DELETE FROM {table} WHERE username_key IN ({})", placeholders(Placeholders::of(conn), 1, chunk.len()));
        bind_all(sqlx::query(&sql), chunk).execute(&mut *conn).await?;
    }
    for chunk in pairs.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO {table} (username_key, {column}) VALUES {}",
            values_list(Placeholders::of(conn), chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (user, key) in chunk {
            query = query.bind(*user).bind(*key);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The export filters; each is optional and they combine with AND. Names are matched by key.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub department_key: Option<String>,
    pub group_key: Option<String>,
    pub role_key: Option<String>,
    pub active: Option<bool>,
    /// Case-insensitive substring of username, name or e-mail.
    pub search: Option<String>,
}

/// One user as the export writes it: display names of department, roles and groups resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportUserRow {
    pub username: String,
    pub name: String,
    pub department: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub active: bool,
    pub ignore_mfa: bool,
    /// Display names, sorted by key.
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

/// Streams the matching users in username order, memberships aggregated by the database.
/// `string_agg … ORDER BY` reads the same on PostgreSQL and on SQLite ≥ 3.44.
pub fn export_users(pool: &AnyPool, filter: UserFilter) -> BoxStream<'static, Result<ExportUserRow>> {
    let pool = pool.clone();
    let (sql, binds) = export_query(&filter);
    async_stream_rows(pool, sql, binds)
}

fn export_query(filter: &UserFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let next = |value: String, binds: &mut Vec<String>| {
        binds.push(value);
        format!("${}", binds.len())
    };
    if let Some(key) = &filter.department_key {
        conditions.push(format!("u.department_key = {}", next(key.clone(), &mut binds)));
    }
    if let Some(key) = &filter.group_key {
        let p = next(key.clone(), &mut binds);
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM group_members m WHERE m.username_key = u.username_key AND m.group_key = {p})"
        ));
    }
    if let Some(key) = &filter.role_key {
        let p = next(key.clone(), &mut binds);
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM user_roles m WHERE m.username_key = u.username_key AND m.role_key = {p})"
        ));
    }
    if let Some(active) = filter.active {
        conditions.push(format!("u.active = {}", i64::from(active)));
    }
    if let Some(text) = &filter.search {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let p = next(pattern, &mut binds);
        conditions.push(format!(
            "(u.username_key LIKE {p} ESCAPE '\\' OR lower(u.name) LIKE {p} ESCAPE '\\' OR u.email_key LIKE {p} ESCAPE '\\')"
        ));
    }
    let filter_sql = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    let sql = format!(
        "SELECT u.username, u.name, d.name, u.email, u.phone, u.active, u.ignore_mfa, \
         (SELECT string_agg(r.name, '\u{1f}' ORDER BY r.name_key) FROM user_roles x JOIN roles r ON r.name_key = x.role_key WHERE x.username_key = u.username_key), \
         (SELECT string_agg(g.name, '\u{1f}' ORDER BY g.name_key) FROM group_members x JOIN user_groups g ON g.name_key = x.group_key WHERE x.username_key = u.username_key), \
         u.locale, u.timezone, u.created_at, u.updated_at, u.last_login_at \
         FROM users u LEFT JOIN departments d ON d.name_key = u.department_key {filter_sql} ORDER BY u.username_key"
    );
    (sql, binds)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn async_stream_rows(pool: AnyPool, sql: String, binds: Vec<String>) -> BoxStream<'static, Result<ExportUserRow>> {
    // The query borrows its SQL text, so a task owns both and hands rows over a bounded channel:
    // the export holds a few hundred rows at a time, whatever the size of the directory.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<ExportUserRow>>(512);
    tokio::spawn(async move {
        let mut query = sqlx::query(&sql);
        for value in &binds {
            query = query.bind(value.as_str());
        }
        let mut rows = query.fetch(&pool);
        while let Some(row) = rows.next().await {
            let item = row.map_err(Into::into).and_then(|row| export_row(&row));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed()
}

fn split_names(joined: Option<String>) -> Vec<String> {
    joined.map(|s| s.split('\u{1f}').map(str::to_owned).collect()).unwrap_or_default()
}

fn export_row(row: &AnyRow) -> Result<ExportUserRow> {
    Ok(ExportUserRow {
        username: row.try_get(0)?,
        name: row.try_get(1)?,
        department: row.try_get(2)?,
        email: row.try_get(3)?,
        phone: row.try_get(4)?,
        active: row.try_get::<i64, _>(5)? != 0,
        ignore_mfa: row.try_get::<i64, _>(6)? != 0,
        roles: split_names(row.try_get(7)?),
        groups: split_names(row.try_get(8)?),
        locale: row.try_get(9)?,
        timezone: row.try_get(10)?,
        created_at: row.try_get(11)?,
        updated_at: row.try_get(12)?,
        last_login_at: row.try_get(13)?,
    })
}
