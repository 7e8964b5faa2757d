//! `muster role|group|department add`: small helpers to set up what a users sheet refers to.
//! Only roles take `--permission`; groups and departments have their own argument struct
//! without it, so `--help` never offers what the command would refuse.

use anyhow::Context as _;
use muster_engine::{add_catalog_entry, AddOutcome, CatalogEntry, Entity, NoProgress};
use muster_store::Store;

use crate::args::{CatalogAction, CatalogArgs, NameArgs, RoleAction, RoleArgs};
use crate::out::say;
use crate::Outcome;

pub async fn role(store: &Store, args: RoleArgs) -> anyhow::Result<Outcome> {
    let RoleAction::Add { entry, permissions } = args.action;
    add(store, Entity::Roles, entry, permissions).await
}

pub async fn group(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add { entry } = args.action;
    add(store, Entity::Groups, entry, Vec::new()).await
}

pub async fn department(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add { entry } = args.action;
    add(store, Entity::Departments, entry, Vec::new()).await
}

async fn add(
    store: &Store,
    entity: Entity,
    args: NameArgs,
    permissions: Vec<String>,
) -> anyhow::Result<Outcome> {
    let NameArgs { name, description } = args;
    let noun = entity.as_str().trim_end_matches('s');
    let entry = CatalogEntry {
        entity,
        name: name.clone(),
        description,
        permissions,
    };
    let outcome = add_catalog_entry(store, &entry, &crate::session::context(Box::new(NoProgress)))
        .await
        .with_context(|| format!("cannot add {noun} `{name}`"))?;
    let verb = match outcome {
        AddOutcome::Created => "created",
        AddOutcome::Updated => "updated",
        AddOutcome::Unchanged => "unchanged",
    };
    say!("{noun} `{name}`: {verb}");
    Ok(Outcome::Done)
}
