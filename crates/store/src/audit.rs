//! The audit log (migration 3): one row per change any use case made, or refused. The engine
//! decides what an entry says; the store keeps it and reads it back newest first, filtered.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{placeholders, Placeholders};
use crate::{Connection, Result};

/// One field of a record before and after a change. Secrets never appear: a password change is
/// the field `password` with the after value `set` (or `cleared`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Assigned by the store; 0 on an entry not yet written.
    pub id: i64,
    pub at: i64,
    /// The acting user's id; None for the operator and system actors.
    pub actor_id: Option<String>,
    /// The actor as people read it (a username, `operator (account)`).
    pub actor: String,
    /// `cli`, `console`, `api` or `scim`.
    pub source: String,
    /// What was done: `user.create`, `role.update`, `import.apply`…
    pub action: String,
    /// `user`, `group`, `role`, `department` or `import`.
    pub target_kind: String,
    pub target_id: Option<String>,
    pub target_name: String,
    /// The import an entry is about, instead of a copy of its rows.
    pub import_id: Option<i64>,
    /// `done` or `refused`.
    pub outcome: String,
    pub changes: Vec<AuditChange>,
}

/// Which entries to list; every filter is optional and they combine with AND.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// The actor's name or user id.
    pub actor: Option<String>,
    /// The target's id or name.
    pub target: Option<String>,
    pub source: Option<String>,
    /// An action (`user.update`) or a prefix ending with a dot (`user.`).
    pub action: Option<String>,
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    /// Keyset cursor: entries older than this id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

const COLUMNS: &str = "id, at, actor_id, actor, source, action, target_kind, target_id, \
    target_name, import_id, outcome, changes";

/// Writes an entry (normally inside the transaction of the change it records) and returns its
/// id.
pub async fn insert_audit(conn: &mut Connection, entry: &AuditEntry) -> Result<i64> {
    let changes = serde_json::to_string(&entry.changes)
        .map_err(|e| crate::StoreError::Sql(sqlx::Error::Encode(Box::new(e))))?;
    let sql = format!(
        "INSERT INTO audit_log (at, actor_id, actor, source, action, target_kind, target_id, \
         target_name, import_id, outcome, changes) VALUES ({}) RETURNING id",
        placeholders(Placeholders::of(conn), 1, 11)
    );
    let id: i64 = sqlx::query(&sql)
        .bind(entry.at)
        .bind(entry.actor_id.as_deref())
        .bind(entry.actor.as_str())
        .bind(entry.source.as_str())
        .bind(entry.action.as_str())
        .bind(entry.target_kind.as_str())
        .bind(entry.target_id.as_deref())
        .bind(entry.target_name.as_str())
        .bind(entry.import_id)
        .bind(entry.outcome.as_str())
        .bind(changes)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(id)
}

/// The entries matching `query`, newest first.
pub async fn list_audit(conn: &mut Connection, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let style = Placeholders::of(conn);
    // Text filters come first in placeholder order, then numbers, and bind in that order.
    let mut text: Vec<String> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    let mut conditions = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        placeholders(style, n, 1)
    };
    if let Some(actor) = &query.actor {
        let a = next();
        text.push(actor.clone());
        let b = next();
        text.push(actor.clone());
        conditions.push(format!("(actor = {a} OR actor_id = {b})"));
    }
    if let Some(target) = &query.target {
        let a = next();
        text.push(target.clone());
        let b = next();
        text.push(target.clone());
        conditions.push(format!("(target_id = {a} OR target_name = {b})"));
    }
    if let Some(source) = &query.source {
        let p = next();
        text.push(source.clone());
        conditions.push(format!("source = {p}"));
    }
    if let Some(action) = &query.action {
        let p = next();
        if let Some(prefix) = action.strip_suffix('.') {
            // A prefix: `user.` matches `user.create`, `user.update`… The prefix is compared
            // with substr rather than LIKE, whose escaping and case rules differ per backend.
            text.push(format!("{prefix}."));
            conditions.push(format!("substr(action, 1, {}) = {p}", prefix.len() + 1));
        } else {
            text.push(action.clone());
            conditions.push(format!("action = {p}"));
        }
    }
    for (value, op) in [
        (query.since, "at >="),
        (query.until, "at <"),
        (query.before_id, "id <"),
    ] {
        if let Some(value) = value {
            let p = next();
            numbers.push(value);
            conditions.push(format!("{op} {p}"));
        }
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log {filter} ORDER BY id DESC LIMIT {}",
        query.limit.max(0)
    );
    let mut q = sqlx::query(&sql);
    for value in &text {
        q = q.bind(value.as_str());
    }
    for value in &numbers {
        q = q.bind(*value);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry> {
    let changes: String = row.try_get(11)?;
    Ok(AuditEntry {
        id: row.try_get(0)?,
        at: row.try_get(1)?,
        actor_id: row.try_get(2)?,
        actor: row.try_get(3)?,
        source: row.try_get(4)?,
        action: row.try_get(5)?,
        target_kind: row.try_get(6)?,
        target_id: row.try_get(7)?,
        target_name: row.try_get(8)?,
        import_id: row.try_get(9)?,
        outcome: row.try_get(10)?,
        changes: serde_json::from_str(&changes).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}
