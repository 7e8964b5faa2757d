//! `muster role|group|department add`: small helpers to set up what a users sheet refers to.
//! Only roles take `--permission`; groups and departments have their own argument struct
//! without it, so `--help` never offers what the command would refuse.
//!
//! `add` creates the entry, or updates the one that exists, through the directory's use cases
//! (the console and the API call the same ones): find by name, then create, or update at the
//! version just read.

use anyhow::anyhow;
use muster_engine::directory::catalog::{
    self, DepartmentView, EntryPatch, GroupView, NewEntry, NewRole, RolePatch, RoleView,
};
use muster_engine::directory::Expected;
use muster_engine::{Error, Invalid, NoProgress};
use muster_store::Store;

use crate::args::{CatalogAction, CatalogArgs, NameArgs, RoleAction, RoleArgs};
use crate::out::say;
use crate::{session, Outcome};

/// How `add` ended.
enum Added {
    Created,
    Updated,
    Unchanged,
}

impl Added {
    fn of(before: Option<i64>, after: i64) -> Added {
        match before {
            None => Added::Created,
            Some(version) if version == after => Added::Unchanged,
            Some(_) => Added::Updated,
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Added::Created => "created",
            Added::Updated => "updated",
            Added::Unchanged => "unchanged",
        }
    }
}

pub async fn role(store: &Store, args: RoleArgs) -> anyhow::Result<Outcome> {
    let RoleAction::Add { entry, permissions } = args.action;
    let NameArgs { name, description } = entry;
    let ctx = session::context(Box::new(NoProgress));
    let new = NewRole {
        name: name.clone(),
        description: description.clone(),
        permissions: permissions.clone(),
    };
    let patch = RolePatch {
        description,
        // No --permission keeps the role's permissions, as a blank cell would.
        permissions: (!permissions.is_empty()).then_some(permissions),
    };
    let added = add(
        catalog::find_role(store, &ctx, &name).await,
        async || catalog::create_role(store, &ctx, &new).await,
        async |id, expected| catalog::update_role(store, &ctx, id, expected, &patch).await,
        |role: &RoleView| (role.id.clone(), role.version),
    )
    .await;
    told(added, "role", &name)
}

pub async fn group(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add { entry } = args.action;
    let (new, patch) = entry_and_patch(entry);
    let ctx = session::context(Box::new(NoProgress));
    let added = add(
        catalog::find_group(store, &ctx, &new.name).await,
        async || catalog::create_group(store, &ctx, &new).await,
        async |id, expected| catalog::update_group(store, &ctx, id, expected, &patch).await,
        |group: &GroupView| (group.id.clone(), group.version),
    )
    .await;
    told(added, "group", &new.name)
}

pub async fn department(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add { entry } = args.action;
    let (new, patch) = entry_and_patch(entry);
    let ctx = session::context(Box::new(NoProgress));
    let added = add(
        catalog::find_department(store, &ctx, &new.name).await,
        async || catalog::create_department(store, &ctx, &new).await,
        async |id, expected| catalog::update_department(store, &ctx, id, expected, &patch).await,
        |department: &DepartmentView| (department.id.clone(), department.version),
    )
    .await;
    told(added, "department", &new.name)
}

fn entry_and_patch(entry: NameArgs) -> (NewEntry, EntryPatch) {
    let NameArgs { name, description } = entry;
    let new = NewEntry {
        name,
        description: description.clone(),
    };
    (new, EntryPatch { description })
}

/// `add`: given the lookup by name, creates the entry or updates the one found at the version
/// just read.
async fn add<V>(
    found_by_name: Result<V, Error>,
    create: impl AsyncFnOnce() -> Result<V, Error>,
    update: impl AsyncFnOnce(&str, Expected) -> Result<V, Error>,
    id_and_version: fn(&V) -> (String, i64),
) -> Result<Added, Error> {
    match found(found_by_name)? {
        None => {
            let (_, version) = id_and_version(&create().await?);
            Ok(Added::of(None, version))
        }
        Some(existing) => {
            let (id, before) = id_and_version(&existing);
            let (_, after) = id_and_version(&update(&id, Expected(before)).await?);
            Ok(Added::of(Some(before), after))
        }
    }
}

/// Says how `add` ended, or turns its error into the command's.
fn told(added: Result<Added, Error>, noun: &str, name: &str) -> anyhow::Result<Outcome> {
    let added = added.map_err(|e| flagged(e, noun, name))?;
    say!("{noun} `{name}`: {}", added.word());
    Ok(Outcome::Done)
}

/// A lookup by name, with "not found" as an answer rather than an error.
fn found<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(view) => Ok(Some(view)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The engine names fields; the command line has arguments. An invalid field is told as a
/// problem of the argument it came from (`--permission: …`), anything else as it is, with the
/// engine error kept in the chain for the exit code.
fn flagged(error: Error, noun: &str, name: &str) -> anyhow::Error {
    let context = format!("cannot add {noun} `{name}`");
    match &error {
        Error::Invalid(Invalid::Fields(problems)) => {
            let told: Vec<String> = problems
                .iter()
                .map(|p| match p.field.as_str() {
                    "permissions" => format!("--permission: {}", p.message),
                    "description" => format!("--description: {}", p.message),
                    "name" => format!("the name: {}", p.message),
                    other => format!("{other}: {}", p.message),
                })
                .collect();
            anyhow!(told.join("; ")).context(context)
        }
        _ => anyhow::Error::new(error).context(context),
    }
}
