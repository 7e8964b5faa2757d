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
use muster_engine::{Context, Error, NoProgress};
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
    let added = add_role(store, &ctx, &name, description, permissions)
        .await
        .map_err(|e| flagged(e, "role", &name))?;
    say!("role `{name}`: {}", added.word());
    Ok(Outcome::Done)
}

async fn add_role(
    store: &Store,
    ctx: &Context,
    name: &str,
    description: Option<String>,
    permissions: Vec<String>,
) -> Result<Added, Error> {
    match found(catalog::find_role(store, ctx, name).await)? {
        None => {
            let new = NewRole {
                name: name.to_owned(),
                description,
                permissions,
            };
            let view: RoleView = catalog::create_role(store, ctx, &new).await?;
            Ok(Added::of(None, view.version))
        }
        Some(existing) => {
            let patch = RolePatch {
                description,
                // No --permission keeps the role's permissions, as a blank cell would.
                permissions: (!permissions.is_empty()).then_some(permissions),
            };
            let expected = Expected(existing.version);
            let view = catalog::update_role(store, ctx, &existing.id, expected, &patch).await?;
            Ok(Added::of(Some(existing.version), view.version))
        }
    }
}

pub async fn group(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add { entry } = args.action;
    let NameArgs { name, description } = entry;
    let ctx = session::context(Box::new(NoProgress));
    let added = async {
        let new = NewEntry {
            name: name.clone(),
            description: description.clone(),
        };
        match found(catalog::find_group(store, &ctx, &name).await)? {
            None => {
                let view: GroupView = catalog::create_group(store, &ctx, &new).await?;
                Ok(Added::of(None, view.version))
            }
            Some(existing) => {
                let patch = EntryPatch { description };
                let expected = Expected(existing.version);
                let view =
                    catalog::update_group(store, &ctx, &existing.id, expected, &patch).await?;
                Ok(Added::of(Some(existing.version), view.version))
            }
        }
    }
    .await
    .map_err(|e| flagged(e, "group", &name))?;
    say!("group `{name}`: {}", added.word());
    Ok(Outcome::Done)
}

pub async fn department(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add { entry } = args.action;
    let NameArgs { name, description } = entry;
    let ctx = session::context(Box::new(NoProgress));
    let added = async {
        let new = NewEntry {
            name: name.clone(),
            description: description.clone(),
        };
        match found(catalog::find_department(store, &ctx, &name).await)? {
            None => {
                let view: DepartmentView = catalog::create_department(store, &ctx, &new).await?;
                Ok(Added::of(None, view.version))
            }
            Some(existing) => {
                let patch = EntryPatch { description };
                let expected = Expected(existing.version);
                let view =
                    catalog::update_department(store, &ctx, &existing.id, expected, &patch).await?;
                Ok(Added::of(Some(existing.version), view.version))
            }
        }
    }
    .await
    .map_err(|e| flagged(e, "department", &name))?;
    say!("department `{name}`: {}", added.word());
    Ok(Outcome::Done)
}

/// A lookup by name, with "not found" as an answer rather than an error.
fn found<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(view) => Ok(Some(view)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The engine names fields; the command line has arguments. An invalid field is told as a
/// problem of the argument it came from (`--permission: …`), anything else as it is, with the
/// engine error kept in the chain for the exit code.
fn flagged(error: Error, noun: &str, name: &str) -> anyhow::Error {
    let context = format!("cannot add {noun} `{name}`");
    match &error {
        Error::Invalid(problems) => {
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
