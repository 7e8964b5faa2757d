//! The audit log as use cases: every change any use case makes is recorded in the same
//! transaction as the change (actor, source, time, target, action, fields before → after), and
//! refusals are recorded too; `list_audit` reads it back for whoever holds `audit.read`.
//!
//! Values are stored as they are. What keeps an entry from being forged is that readers never
//! print a stored value raw: the CLI escapes control characters and newlines in every line, and
//! JSON escapes them by itself, so a name holding "\n… user.delete" shows as one field.

use muster_domain::Permission;
use muster_store::{AuditChange, AuditEntry, AuditQuery, Connection, Store};
use serde::Serialize;

use crate::access::Actor;
use crate::error::{Error, Refusal};
use crate::timefmt::rfc3339_utc;

/// What a change was done to.
#[derive(Clone, Debug)]
pub struct Target {
    /// `user`, `group`, `role`, `department` or `import`.
    pub kind: &'static str,
    pub id: Option<String>,
    pub name: String,
}

impl Target {
    pub fn new(kind: &'static str, id: impl Into<String>, name: impl Into<String>) -> Target {
        Target {
            kind,
            id: Some(id.into()),
            name: name.into(),
        }
    }

    /// The import history as a whole (listing it).
    pub fn history() -> Target {
        Target {
            kind: "import",
            id: None,
            name: "the import history".to_owned(),
        }
    }

    /// An import known by its number only.
    pub fn import_number(id: i64) -> Target {
        Target {
            kind: "import",
            id: Some(id.to_string()),
            name: format!("import {id}"),
        }
    }

    /// An import, named by its file.
    pub fn import(id: i64, file_name: &str) -> Target {
        Target {
            kind: "import",
            id: Some(id.to_string()),
            name: file_name.to_owned(),
        }
    }
}

/// A field that changed. Secrets are never given here: use `Change::secret`.
pub fn change(field: &str, before: Option<&str>, after: Option<&str>) -> AuditChange {
    AuditChange {
        field: field.to_owned(),
        before: before.map(str::to_owned),
        after: after.map(str::to_owned),
    }
}

/// A secret field (a password, a password hash, an MFA secret): the entry says that it was
/// set or cleared, never its value.
pub fn secret_change(field: &str, set: bool) -> AuditChange {
    AuditChange {
        field: field.to_owned(),
        before: None,
        after: Some(if set { "set" } else { "cleared" }.to_owned()),
    }
}

/// The changed fields between two lists of (field, value) pairs.
pub fn diff<'a>(
    before: impl IntoIterator<Item = (&'a str, Option<String>)>,
    after: impl IntoIterator<Item = (&'a str, Option<String>)>,
) -> Vec<AuditChange> {
    before
        .into_iter()
        .zip(after)
        .filter(|((_, b), (_, a))| b != a)
        .map(|((field, b), (_, a))| AuditChange {
            field: field.to_owned(),
            before: b,
            after: a,
        })
        .collect()
}

/// The entry of an import, preview apply or revert that changed the store: the import's id and
/// its counts, not a copy of its rows (the history keeps those).
pub(crate) fn import_entry(
    actor: &Actor,
    at: i64,
    action: &str,
    import_id: i64,
    file_name: &str,
    counts: &[(&str, u64)],
) -> AuditEntry {
    let changes = counts
        .iter()
        .map(|(field, n)| AuditChange {
            field: (*field).to_owned(),
            before: None,
            after: Some(n.to_string()),
        })
        .collect();
    entry(
        actor,
        at,
        action,
        &Target::import(import_id, file_name),
        Some(import_id),
        "done",
        changes,
    )
}

/// Writes the entry for a change, inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut Connection,
    actor: &Actor,
    at: i64,
    action: &str,
    target: &Target,
    import_id: Option<i64>,
    changes: Vec<AuditChange>,
) -> Result<(), Error> {
    let entry = entry(actor, at, action, target, import_id, "done", changes);
    muster_store::insert_audit(conn, &entry).await?;
    Ok(())
}

/// Records that `actor` was refused `action` on `target`, on a connection of its own (the
/// refused change has no transaction to join), and gives back the error to return.
pub(crate) async fn refused(
    store: &Store,
    actor: &Actor,
    at: i64,
    action: &str,
    target: &Target,
    refusal: Refusal,
) -> Error {
    match record_refusal(store, actor, at, action, target, &refusal).await {
        Ok(()) => Error::Forbidden(refusal),
        Err(e) => Error::Store(e),
    }
}

/// Checks that the context's actor holds `permission`; a refusal is recorded (on a connection
/// of its own) and returned as `Error::Forbidden`. Every use case starts with this.
pub(crate) async fn require(
    store: &Store,
    ctx: &crate::Context,
    permission: Permission,
    action: &str,
    target: &Target,
) -> Result<(), Error> {
    if ctx.actor.holds(permission) {
        return Ok(());
    }
    let refusal = Refusal::Lacks {
        permission,
        actor: ctx.actor.name(),
    };
    record_refusal(store, &ctx.actor, (ctx.now)(), action, target, &refusal).await?;
    Err(Error::Forbidden(refusal))
}

/// Records a refusal on a connection of its own.
pub(crate) async fn record_refusal(
    store: &Store,
    actor: &Actor,
    at: i64,
    action: &str,
    target: &Target,
    refusal: &Refusal,
) -> Result<(), muster_store::StoreError> {
    let changes = vec![AuditChange {
        field: "reason".into(),
        before: None,
        after: Some(refusal.to_string()),
    }];
    let entry = entry(actor, at, action, target, None, "refused", changes);
    let mut conn = store.acquire().await?;
    muster_store::insert_audit(&mut conn, &entry).await?;
    Ok(())
}

fn entry(
    actor: &Actor,
    at: i64,
    action: &str,
    target: &Target,
    import_id: Option<i64>,
    outcome: &str,
    changes: Vec<AuditChange>,
) -> AuditEntry {
    AuditEntry {
        id: 0,
        at,
        actor_id: actor.user_id().map(str::to_owned),
        actor: actor.name(),
        source: actor.source.as_str().to_owned(),
        action: action.to_owned(),
        target_kind: target.kind.to_owned(),
        target_id: target.id.clone(),
        target_name: target.name.clone(),
        import_id,
        outcome: outcome.to_owned(),
        changes,
    }
}

/// One entry as front-ends show it.
#[derive(Clone, Debug, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub actor_id: Option<String>,
    pub source: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub target_name: String,
    pub import_id: Option<i64>,
    pub outcome: String,
    pub changes: Vec<AuditChange>,
}

/// The entries matching `query`, newest first; needs `audit.read`.
pub async fn list_audit(
    store: &Store,
    ctx: &crate::Context,
    query: &AuditQuery,
) -> Result<Vec<AuditRecord>, Error> {
    let target = Target {
        kind: "audit",
        id: None,
        name: String::new(),
    };
    require(store, ctx, Permission::AuditRead, "audit.read", &target).await?;
    let mut conn = store.acquire().await?;
    let entries = muster_store::list_audit(&mut conn, query).await?;
    Ok(entries
        .into_iter()
        .map(|e| AuditRecord {
            id: e.id,
            at: rfc3339_utc(e.at),
            actor: e.actor,
            actor_id: e.actor_id,
            source: e.source,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            target_name: e.target_name,
            import_id: e.import_id,
            outcome: e.outcome,
            changes: e.changes,
        })
        .collect())
}
