//! Creating, updating, renaming and deleting departments, groups and roles: input parsed once
//! into checked types, the version checked when the entry is read and again by the conditional
//! write, escalation refused and recorded, and one audit entry per change in its transaction.

use muster_domain::{parse_permission_list, Description, EntityName, ADMINISTRATOR_ROLE};
use muster_store::{CatalogEntryRow, Connection, EntryLookup, NamedRecord, Store};

use super::views::{view_of, CatalogView};
use super::{refuse_in, require_write, Kind, References};
use crate::access::permissions_escalation;
use crate::audit::{self, change, diff, Target};
use crate::context::Context;
use crate::directory::Expected;
use crate::directory::{refuse, require};
use crate::error::{Conflict, Error, FieldProblem, InUse, Invalid, Refusal, Taken};
use crate::ids::IdMaker;

// ---- parsing --------------------------------------------------------------------------------

pub(super) fn problem(field: &str, message: impl ToString) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        message: message.to_string(),
    }
}

fn parse_name(raw: &str, problems: &mut Vec<FieldProblem>) -> Option<EntityName> {
    EntityName::parse(raw)
        .map_err(|e| problems.push(problem("name", e)))
        .ok()
}

fn parse_description(raw: Option<&str>, problems: &mut Vec<FieldProblem>) -> Option<Description> {
    Description::parse(raw?)
        .map_err(|e| problems.push(problem("description", e)))
        .ok()
}

/// Permission codes, sorted as the store keeps them; every unknown code is a problem.
fn parse_permissions(raw: &[String], problems: &mut Vec<FieldProblem>) -> Option<Vec<String>> {
    match parse_permission_list(&raw.join(",")) {
        Ok(set) => {
            let mut codes: Vec<String> = set.into_iter().map(|p| p.code().to_owned()).collect();
            codes.sort();
            Some(codes)
        }
        Err(unknown) => {
            problems.extend(unknown.into_iter().map(|e| problem("permissions", e)));
            None
        }
    }
}

fn checked(problems: Vec<FieldProblem>) -> Result<(), Error> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(Invalid::Fields(problems)))
    }
}

// ---- changes --------------------------------------------------------------------------------

/// Reads the entry `id` for a change inside `tx`, refusing a stale `expected` version.
pub(super) async fn fetch_for_change(
    tx: &mut Connection,
    kind: Kind,
    id: &str,
    expected: Expected,
) -> Result<CatalogEntryRow, Error> {
    let row = muster_store::fetch_catalog_entry(tx, kind.table(), EntryLookup::Id(id))
        .await?
        .ok_or_else(|| kind.not_found(id))?;
    if row.version != expected.0 {
        return Err(stale(kind, &row, expected));
    }
    Ok(row)
}

fn stale(kind: Kind, row: &CatalogEntryRow, expected: Expected) -> Error {
    Error::Conflict(Conflict::Stale {
        entity: kind.entity(),
        key: row.named.name.clone(),
        expected: expected.0,
        actual: row.version,
    })
}

/// After a conditional write matched no row: the entry is gone, or someone changed it since.
async fn lost_race(tx: &mut Connection, kind: Kind, id: &str, expected: Expected) -> Error {
    match muster_store::fetch_catalog_entry(tx, kind.table(), EntryLookup::Id(id)).await {
        Ok(Some(row)) => stale(kind, &row, expected),
        Ok(None) => kind.not_found(id),
        Err(e) => e.into(),
    }
}

/// Writes `record` (key, name, description, `updated_at`) over the entry if still at `expected`.
pub(super) async fn write_entry(
    tx: &mut Connection,
    kind: Kind,
    record: &NamedRecord,
    expected: Expected,
) -> Result<(), Error> {
    if muster_store::update_catalog_entry(tx, kind.table(), record, expected.0).await? {
        Ok(())
    } else {
        Err(lost_race(tx, kind, &record.id, expected).await)
    }
}

/// Refuses a name whose key another entry of the kind already holds.
async fn ensure_free(
    tx: &mut Connection,
    kind: Kind,
    name: &EntityName,
    id: Option<&str>,
) -> Result<(), Error> {
    let holder =
        muster_store::fetch_catalog_entry(tx, kind.table(), EntryLookup::Key(name.key())).await?;
    match holder {
        Some(row) if Some(row.named.id.as_str()) != id => {
            Err(Error::Conflict(Conflict::Taken(Taken::Name {
                entity: kind.entity(),
                name: row.named.name,
            })))
        }
        _ => Ok(()),
    }
}

pub(super) async fn create<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    name: &str,
    description: Option<&str>,
    permissions: Option<&[String]>,
) -> Result<V, Error> {
    let kind = V::KIND;
    let action = kind.action("create");
    let now = (ctx.now)();
    let target = |name: &str| Target {
        kind: kind.entity(),
        id: None,
        name: name.to_owned(),
    };
    require(store, ctx, kind.write(), &action, &target(name)).await?;
    let mut problems = Vec::new();
    let name = parse_name(name, &mut problems);
    let description = parse_description(description, &mut problems).unwrap_or_default();
    let codes = permissions.and_then(|raw| parse_permissions(raw, &mut problems));
    // A name that did not parse left its problem, so the list is never empty then.
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(Error::Invalid(Invalid::Fields(problems)));
    };
    let codes = codes.unwrap_or_default();
    if let Some(escalation) = permissions_escalation(&ctx.actor, name.as_str(), &codes) {
        return Err(refuse(
            store,
            ctx,
            &action,
            &target(name.as_str()),
            Refusal::Escalation(escalation),
        )
        .await);
    }
    let mut tx = store.begin().await?;
    ensure_free(&mut tx, kind, &name, None).await?;
    let record = NamedRecord {
        id: IdMaker::new(now, &ctx.rng).next_id(),
        name_key: name.key().to_owned(),
        name: name.as_str().to_owned(),
        description: description.as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    muster_store::insert_catalog_entry(&mut tx, kind.table(), &record).await?;
    let mut changes = vec![change("name", None, Some(&record.name))];
    if !record.description.is_empty() {
        changes.push(change("description", None, Some(&record.description)));
    }
    if kind == Kind::Role {
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        muster_store::replace_role_permissions(&mut tx, &record.name_key, &refs).await?;
        changes.push(change("permissions", None, Some(&codes.join(", "))));
    }
    let target = Target::new(kind.entity(), &record.id, &record.name);
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(&record.id), &record.id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

pub(super) async fn update<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    description: Option<&str>,
    permissions: Option<&[String]>,
) -> Result<V, Error> {
    let kind = V::KIND;
    let action = kind.action("update");
    let now = (ctx.now)();
    require_write(store, ctx, kind, id, &action).await?;
    let mut problems = Vec::new();
    let description = parse_description(description, &mut problems);
    let codes = permissions.and_then(|raw| parse_permissions(raw, &mut problems));
    checked(problems)?;
    let mut tx = store.begin().await?;
    let row = fetch_for_change(&mut tx, kind, id, expected).await?;
    let key = row.named.name_key.clone();
    let old_codes: Vec<String> = if kind == Kind::Role {
        muster_store::role_permission_codes(&mut tx, &[key.as_str()])
            .await?
            .into_iter()
            .map(|(_, code)| code)
            .collect()
    } else {
        Vec::new()
    };
    let new_codes = codes.unwrap_or_else(|| old_codes.clone());
    let builtin = key == ADMINISTRATOR_ROLE && kind == Kind::Role;
    let gained: Vec<String> = new_codes
        .iter()
        .filter(|c| !old_codes.contains(c))
        .cloned()
        .collect();
    if let Some(escalation) = permissions_escalation(&ctx.actor, &row.named.name, &gained) {
        let target = Target::new(kind.entity(), id, &row.named.name);
        return Err(refuse_in(
            tx,
            store,
            ctx,
            &action,
            &target,
            Refusal::Escalation(escalation),
        )
        .await);
    }
    let mut next = row.named.clone();
    if let Some(description) = description {
        next.description = description.as_str().to_owned();
    }
    let changes = diff(
        [
            ("description", Some(row.named.description.clone())),
            ("permissions", Some(old_codes.join(", "))),
        ],
        [
            ("description", Some(next.description.clone())),
            ("permissions", Some(new_codes.join(", "))),
        ],
    );
    if changes.is_empty() {
        // Nothing to change: the caller's version is still current, and nothing is recorded.
        return view_of(&mut tx, EntryLookup::Id(id), id).await;
    }
    if builtin {
        // The same rule as an import's (`IssueKind::BuiltinRole`): the role that holds the
        // whole catalog is not edited by anyone, so every front-end behaves alike.
        return Err(Error::invalid(
            "name",
            "the built-in administrator role cannot be changed",
        ));
    }
    next.updated_at = now;
    write_entry(&mut tx, kind, &next, expected).await?;
    if new_codes != old_codes {
        let refs: Vec<&str> = new_codes.iter().map(String::as_str).collect();
        muster_store::replace_role_permissions(&mut tx, &key, &refs).await?;
    }
    let target = Target::new(kind.entity(), id, &next.name);
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(id), id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

pub(super) async fn rename<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    id: &str,
    expected: Expected,
    new_name: &str,
) -> Result<V, Error> {
    let kind = V::KIND;
    let action = kind.action("rename");
    let now = (ctx.now)();
    require_write(store, ctx, kind, id, &action).await?;
    let mut problems = Vec::new();
    let name = parse_name(new_name, &mut problems);
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(Error::Invalid(Invalid::Fields(problems)));
    };
    let mut tx = store.begin().await?;
    let row = fetch_for_change(&mut tx, kind, id, expected).await?;
    if kind == Kind::Role && row.named.name_key == ADMINISTRATOR_ROLE {
        return Err(Error::invalid(
            "name",
            "the built-in administrator role cannot be renamed",
        ));
    }
    if name.as_str() == row.named.name {
        return view_of(&mut tx, EntryLookup::Id(id), id).await;
    }
    ensure_free(&mut tx, kind, &name, Some(id)).await?;
    let mut next = row.named.clone();
    next.name_key = name.key().to_owned();
    next.name = name.as_str().to_owned();
    next.updated_at = now;
    write_entry(&mut tx, kind, &next, expected).await?;
    let target = Target::new(kind.entity(), id, &next.name);
    let changes = vec![change("name", Some(&row.named.name), Some(&next.name))];
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(id), id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

/// How an entry is still referenced, or None when nothing refers to it.
fn in_use(kind: Kind, row: &CatalogEntryRow) -> Option<InUse> {
    let name = row.named.name.clone();
    match kind {
        _ if row.users + row.groups == 0 => None,
        Kind::Department => Some(InUse::Department {
            name,
            users: row.users,
        }),
        Kind::Group => Some(InUse::Group {
            name,
            members: row.users,
        }),
        Kind::Role => Some(InUse::Role {
            name,
            users: row.users,
            groups: row.groups,
        }),
    }
}

pub(super) async fn delete(
    store: &Store,
    ctx: &Context,
    kind: Kind,
    id: &str,
    expected: Expected,
    references: References,
) -> Result<(), Error> {
    let action = kind.action("delete");
    let now = (ctx.now)();
    require_write(store, ctx, kind, id, &action).await?;
    let mut tx = store.begin().await?;
    let row = fetch_for_change(&mut tx, kind, id, expected).await?;
    if kind == Kind::Role && row.named.name_key == ADMINISTRATOR_ROLE {
        return Err(Error::Conflict(Conflict::AdministratorRole));
    }
    let mut changes = vec![
        change("name", Some(&row.named.name), None),
        change("description", Some(&row.named.description), None),
    ];
    if let Some(uses) = in_use(kind, &row) {
        if references == References::Refuse {
            return Err(Error::Conflict(Conflict::InUse(uses)));
        }
        muster_store::detach_catalog_references(&mut tx, kind.table(), &row.named.name_key, now)
            .await?;
        changes.push(change(
            "references",
            Some(&uses.to_string()),
            Some("removed"),
        ));
    }
    if !muster_store::delete_catalog_entry(&mut tx, kind.table(), id, expected.0).await? {
        return Err(lost_race(&mut tx, kind, id, expected).await);
    }
    let target = Target::new(kind.entity(), id, &row.named.name);
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(())
}
