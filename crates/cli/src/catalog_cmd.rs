//! `muster role|group|department add`: small helpers to set up what a users sheet refers to.

use anyhow::Context as _;
use muster_engine::{add_catalog_entry, AddOutcome, CatalogEntry, Entity};
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
    let CatalogAction::Add { name, description, permissions } = args.action;
    let entry = CatalogEntry { entity, name: name.clone(), description, permissions };
    let outcome = add_catalog_entry(store, &entry, now_ms())
        .await
        .with_context(|| format!("while adding {} `{name}`", entity.as_str().trim_end_matches('s')))?;
    let verb = match outcome {
        AddOutcome::Created => "created",
        AddOutcome::Updated => "updated",
        AddOutcome::Unchanged => "unchanged",
    };
    println!("{} `{name}`: {verb}", entity.as_str().trim_end_matches('s'));
    Ok(Outcome::Done)
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| d.as_millis() as i64).unwrap_or(0)
}
