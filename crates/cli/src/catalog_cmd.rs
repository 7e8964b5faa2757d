//! `muster role|group|department add`: small helpers to set up what a users sheet refers to.

use anyhow::Context as _;
use muster_engine::{add_catalog_entry, system_now, AddOutcome, CatalogEntry, Entity};
use muster_store::Store;

use crate::args::{CatalogAction, CatalogArgs};
use crate::Outcome;

pub async fn role(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    add(store, Entity::Roles, args).await
}

pub async fn group(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    add(store, Entity::Groups, args).await
}

pub async fn department(store: &Store, args: CatalogArgs) -> anyhow::Result<Outcome> {
    add(store, Entity::Departments, args).await
}

async fn add(store: &Store, entity: Entity, args: CatalogArgs) -> anyhow::Result<Outcome> {
    let CatalogAction::Add {
        name,
        description,
        permissions,
    } = args.action;
    let noun = entity.as_str().trim_end_matches('s');
    let entry = CatalogEntry {
        entity,
        name: name.clone(),
        description,
        permissions,
    };
    let outcome = add_catalog_entry(store, &entry, system_now())
        .await
        .with_context(|| format!("while adding {noun} `{name}`"))?;
    let verb = match outcome {
        AddOutcome::Created => "created",
        AddOutcome::Updated => "updated",
        AddOutcome::Unchanged => "unchanged",
    };
    println!("{noun} `{name}`: {verb}");
    Ok(Outcome::Done)
}
