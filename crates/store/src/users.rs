//! Reading users: by key in batches for the import's look-ahead, and by keyset pages for the
//! export. Both come back packed (see `packed`), memberships aggregated into each user. The
//! writes are in `writes`.

use std::collections::HashMap;

use sqlx::Row;

use crate::packed;
use crate::records::UserRecord;
use crate::sql::{placeholders, Placeholders};
use crate::{Connection, Result};

/// The columns of `users`, in the order `UserRecord` is read and written.
pub(crate) const USER_COLUMNS: [&str; 16] = [
    "username_key",
    "username",
    "name",
    "email",
    "email_key",
    "phone",
    "department_key",
    "active",
    "ignore_mfa",
    "locale",
    "timezone",
    "password_hash",
    "created_at",
    "updated_at",
    "last_login_at",
    "id",
];
pub(crate) const USER_COLUMN_COUNT: usize = USER_COLUMNS.len();
/// Keys per `IN (...)` read: large enough to amortise the round trip, small for any backend.
const KEYS_PER_READ: usize = 1_000;

/// The users with these keys that exist, with their memberships. Missing keys are simply absent.
/// Each user arrives as one packed row (see `packed`), memberships aggregated into it.
pub async fn fetch_users(conn: &mut Connection, keys: &[&str]) -> Result<Vec<UserRecord>> {
    fetch_users_where(conn, "username_key", keys).await
}

/// The users with these ids that exist, like `fetch_users`.
pub async fn fetch_users_by_id(conn: &mut Connection, ids: &[&str]) -> Result<Vec<UserRecord>> {
    fetch_users_where(conn, "id", ids).await
}

async fn fetch_users_where(
    conn: &mut Connection,
    column: &str,
    keys: &[&str],
) -> Result<Vec<UserRecord>> {
    let mut found = Vec::with_capacity(keys.len());
    let packed_row = packed_user_columns();
    let row_separator = packed::ROW;
    for chunk in keys.chunks(KEYS_PER_READ) {
        let list = placeholders(Placeholders::of(conn), 1, chunk.len());
        let sql = format!("SELECT string_agg({packed_row}, '{row_separator}') FROM users u WHERE u.{column} IN ({list})");
        let batch: Option<String> = bind_all(sqlx::query(&sql), chunk)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        for row in packed::rows(batch.as_deref()) {
            found.push(user_from_packed(row)?);
        }
    }
    Ok(found)
}

fn packed_user_columns() -> String {
    let item = packed::ITEM;
    let mut columns: Vec<String> = USER_COLUMNS.iter().map(|c| format!("u.{c}")).collect();
    columns.push(format!(
        "(SELECT string_agg(x.role_key, '{item}') FROM user_roles x WHERE x.username_key = u.username_key)"
    ));
    columns.push(format!(
        "(SELECT string_agg(x.group_key, '{item}') FROM group_members x WHERE x.username_key = u.username_key)"
    ));
    let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
    packed::pack(&refs)
}

fn user_from_packed(row: &str) -> Result<UserRecord> {
    let f = packed::unpack(row);
    if f.len() != USER_COLUMN_COUNT + 2 {
        return Err(sqlx::Error::Decode(
            format!("a packed user row has {} fields", f.len()).into(),
        )
        .into());
    }
    Ok(UserRecord {
        username_key: f[0].to_owned(),
        username: f[1].to_owned(),
        name: f[2].to_owned(),
        email: packed::optional(f[3]),
        email_key: packed::optional(f[4]),
        phone: packed::optional(f[5]),
        department_key: packed::optional(f[6]),
        active: packed::number(f[7])? != 0,
        ignore_mfa: packed::number(f[8])? != 0,
        locale: packed::optional(f[9]),
        timezone: packed::optional(f[10]),
        password_hash: f[11].to_owned(),
        created_at: packed::number(f[12])?,
        updated_at: packed::number(f[13])?,
        last_login_at: packed::optional(f[14])
            .map(|n| packed::number(&n))
            .transpose()?,
        id: f[15].to_owned(),
        role_keys: packed::list(f[16]),
        group_keys: packed::list(f[17]),
    })
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

/// Which membership table: a user's roles or a user's groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Roles,
    Groups,
}

impl Membership {
    pub(crate) fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            Membership::Roles => ("user_roles", "role_key"),
            Membership::Groups => ("group_members", "group_key"),
        }
    }
}

/// For each e-mail key, the user who holds it now (if any).
pub async fn email_owners(
    conn: &mut Connection,
    email_keys: &[&str],
) -> Result<HashMap<String, String>> {
    let mut owners = HashMap::new();
    for chunk in email_keys.chunks(KEYS_PER_READ) {
        let sql = format!(
            "SELECT email_key, username_key FROM users WHERE email_key IN ({})",
            placeholders(Placeholders::of(conn), 1, chunk.len())
        );
        for row in bind_all(sqlx::query(&sql), chunk)
            .fetch_all(&mut *conn)
            .await?
        {
            owners.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(owners)
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

/// One page of the export walk: the users of the page that match, and where the next page
/// starts (None after the last page). The cursor comes from the page before the text search is
/// applied, so a page with few matches never ends the walk early.
#[derive(Debug)]
pub struct UserPage {
    pub users: Vec<UserRecord>,
    pub next: Option<String>,
}

/// One page of the users matching `filter`, in username-key order, starting after `after`.
/// Export walks the table page by page (keyset pagination), so it holds one page in memory and no
/// long-lived cursor; each page arrives as one aggregated value (see `packed`).
pub async fn users_page(
    conn: &mut Connection,
    filter: &UserFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<UserPage> {
    let style = Placeholders::of(conn);
    let mut binds: Vec<String> = Vec::new();
    let mut next = |value: String| {
        binds.push(value);
        placeholders(style, binds.len(), 1)
    };
    let mut conditions = Vec::new();
    if let Some(after) = after {
        conditions.push(format!("u.username_key > {}", next(after.to_owned())));
    }
    if let Some(key) = &filter.department_key {
        conditions.push(format!("u.department_key = {}", next(key.clone())));
    }
    if let Some(key) = &filter.group_key {
        let p = next(key.clone());
        conditions.push(format!("EXISTS (SELECT 1 FROM group_members m WHERE m.username_key = u.username_key AND m.group_key = {p})"));
    }
    if let Some(key) = &filter.role_key {
        let p = next(key.clone());
        conditions.push(format!("EXISTS (SELECT 1 FROM user_roles m WHERE m.username_key = u.username_key AND m.role_key = {p})"));
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
        "SELECT string_agg(page.p, '{}' ORDER BY page.k) FROM \
         (SELECT u.username_key AS k, {} AS p FROM users u {filter_sql} ORDER BY u.username_key LIMIT {limit}) page",
        packed::ROW,
        packed_user_columns()
    );
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value.as_str());
    }
    let batch: Option<String> = query.fetch_one(&mut *conn).await?.try_get(0)?;
    // The page is aggregated in the database's own key order (one sort per page), the order in
    // which `username_key > after` walks: re-sorting here by bytes would repeat or skip users
    // under a linguistic collation (PostgreSQL databases created with en_US.UTF-8, say).
    let mut users: Vec<UserRecord> = packed::rows(batch.as_deref())
        .map(user_from_packed)
        .collect::<Result<_>>()?;
    let next = (users.len() == limit)
        .then(|| users.last().map(|u| u.username_key.clone()))
        .flatten();
    if let Some(text) = &filter.search {
        // Matched here rather than with SQL LIKE: SQLite folds ASCII letters only, and a
        // substring search reads every row of the page either way.
        let needle = text.to_lowercase();
        users.retain(|u| {
            u.username_key.contains(&needle)
                || u.name.to_lowercase().contains(&needle)
                || u.email_key.as_deref().is_some_and(|e| e.contains(&needle))
        });
    }
    Ok(UserPage { users, next })
}
