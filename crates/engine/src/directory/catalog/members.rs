//! A group's members and the roles it gives them. Both need `groups.write` and bump the group's
//! version (a member change also bumps each user's). Joining a group grants its roles, so each
//! user who joins is checked like a direct grant (`grant_escalation`), and giving the group a
//! role is checked like granting that role to every member (`role_escalation`). A user actor
//! never adds or removes themselves: that would be changing their own groups.

use muster_domain::EntityName;
use muster_store::{Catalog, EntryLookup, Store, UserRecord};

use super::changes::{fetch_for_change, problem, write_entry};
use super::views::{view_of, GroupView};
use super::{refuse_in, require_write, Kind};
use crate::access::{grant_escalation, role_escalation, Own};
use crate::audit::{self, change, Target};
use crate::busy;
use crate::context::Context;
use crate::directory::Expected;
use crate::error::{Error, Invalid, Missing, Refusal};

/// Makes the users with these ids members of the group `group_id`. Users who already are stay
/// as they are; when none joins, nothing is written or recorded.
pub async fn add_members(
    store: &Store,
    ctx: &Context,
    group_id: &str,
    expected: Expected,
    user_ids: &[String],
) -> Result<GroupView, Error> {
    busy::naming_job(
        store,
        change_members(store, ctx, group_id, expected, user_ids, true),
    )
    .await
}

/// Takes the users with these ids out of the group `group_id`; users who are not members are
/// left alone.
pub async fn remove_members(
    store: &Store,
    ctx: &Context,
    group_id: &str,
    expected: Expected,
    user_ids: &[String],
) -> Result<GroupView, Error> {
    busy::naming_job(
        store,
        change_members(store, ctx, group_id, expected, user_ids, false),
    )
    .await
}

async fn change_members(
    store: &Store,
    ctx: &Context,
    group_id: &str,
    expected: Expected,
    user_ids: &[String],
    join: bool,
) -> Result<GroupView, Error> {
    let kind = Kind::Group;
    let action = kind.action("members");
    let now = (ctx.now)();
    require_write(store, ctx, kind, group_id, &action).await?;
    if user_ids.is_empty() {
        return Err(Error::invalid("members", "no user given"));
    }
    let mut tx = store.begin().await?;
    let group = fetch_for_change(&mut tx, kind, group_id, expected).await?;
    let target = Target::new(kind.entity(), group_id, &group.named.name);
    if let Some(me) = ctx.actor.user_id() {
        if user_ids.iter().any(|id| id == me) {
            let refusal = Refusal::OwnRecord { what: Own::Groups };
            return Err(refuse_in(tx, store, ctx, &action, &target, refusal).await);
        }
    }
    let ids: Vec<&str> = user_ids.iter().map(String::as_str).collect();
    let users = muster_store::fetch_users_by_id(&mut tx, &ids).await?;
    if let Some(missing) = ids.iter().find(|id| !users.iter().any(|u| u.id == **id)) {
        return Err(Error::NotFound(Missing::Record {
            entity: "user",
            key: (*missing).to_owned(),
        }));
    }
    let key = group.named.name_key.as_str();
    let mut moving: Vec<&UserRecord> = users
        .iter()
        .filter(|u| u.group_keys.iter().any(|g| g == key) != join)
        .collect();
    moving.sort_by(|a, b| a.username_key.cmp(&b.username_key));
    moving.dedup_by(|a, b| a.username_key == b.username_key);
    if join {
        let catalog = muster_store::load_catalog(&mut tx).await?;
        if let Some(escalation) = joining_escalation(ctx, &catalog, &moving, key) {
            let refusal = Refusal::Escalation(escalation);
            return Err(refuse_in(tx, store, ctx, &action, &target, refusal).await);
        }
    }
    if moving.is_empty() {
        return view_of(&mut tx, EntryLookup::Id(group_id), group_id).await;
    }
    let mut next = group.named.clone();
    next.updated_at = now;
    write_entry(&mut tx, kind, &next, expected).await?;
    let keys: Vec<&str> = moving.iter().map(|u| u.username_key.as_str()).collect();
    muster_store::change_group_members(&mut tx, key, &keys, join, now).await?;
    let names = moving
        .iter()
        .map(|u| u.username.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    // Members are recorded as who joined (before empty) or who left (after empty), not as the
    // whole member list, which may hold thousands of users.
    let changes = if join {
        vec![change("members", None, Some(&names))]
    } else {
        vec![change("members", Some(&names), None)]
    };
    audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
    let view = view_of(&mut tx, EntryLookup::Id(group_id), group_id).await?;
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(view)
}

/// The first user for whom joining the group would grant permissions the actor lacks.
fn joining_escalation(
    ctx: &Context,
    catalog: &Catalog,
    joining: &[&UserRecord],
    group_key: &str,
) -> Option<crate::access::Escalation> {
    joining.iter().find_map(|user| {
        let mut groups = user.group_keys.clone();
        groups.push(group_key.to_owned());
        grant_escalation(
            &ctx.actor,
            catalog,
            &user.role_keys,
            &user.role_keys,
            &user.group_keys,
            &groups,
        )
    })
}

/// Replaces the roles the group gives its members with the roles named (matched by key). Each
/// role the group gains must hold no permission the actor lacks.
pub async fn set_group_roles(
    store: &Store,
    ctx: &Context,
    group_id: &str,
    expected: Expected,
    role_names: &[String],
) -> Result<GroupView, Error> {
    busy::naming_job(store, async move {
        let kind = Kind::Group;
        let action = kind.action("roles");
        let now = (ctx.now)();
        require_write(store, ctx, kind, group_id, &action).await?;
        let mut problems = Vec::new();
        let names: Vec<EntityName> = role_names
            .iter()
            .filter_map(|raw| {
                EntityName::parse(raw)
                    .map_err(|e| problems.push(problem("roles", e)))
                    .ok()
            })
            .collect();
        let mut tx = store.begin().await?;
        let catalog = muster_store::load_catalog(&mut tx).await?;
        for name in &names {
            if !catalog.roles.contains_key(name.key()) {
                problems.push(problem("roles", format!("no role `{name}`")));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(Invalid::Fields(problems)));
        }
        let group = fetch_for_change(&mut tx, kind, group_id, expected).await?;
        let target = Target::new(kind.entity(), group_id, &group.named.name);
        let key = group.named.name_key.as_str();
        let old: Vec<String> = catalog.group_roles.get(key).cloned().unwrap_or_default();
        let mut new: Vec<String> = names.iter().map(|n| n.key().to_owned()).collect();
        new.sort();
        new.dedup();
        let escalation = new
            .iter()
            .filter(|role| !old.contains(role))
            .find_map(|role| role_escalation(&ctx.actor, &catalog, role));
        if let Some(escalation) = escalation {
            let refusal = Refusal::Escalation(escalation);
            return Err(refuse_in(tx, store, ctx, &action, &target, refusal).await);
        }
        if new == old {
            return view_of(&mut tx, EntryLookup::Id(group_id), group_id).await;
        }
        let mut next = group.named.clone();
        next.updated_at = now;
        write_entry(&mut tx, kind, &next, expected).await?;
        let keys: Vec<&str> = new.iter().map(String::as_str).collect();
        muster_store::replace_group_roles(&mut tx, key, &keys).await?;
        let role_names = |keys: &[String]| {
            keys.iter()
                .map(|k| {
                    catalog
                        .roles
                        .get(k)
                        .map_or(k.as_str(), |r| r.named.name.as_str())
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let changes = vec![change(
            "roles",
            Some(&role_names(&old)),
            Some(&role_names(&new)),
        )];
        audit::record(&mut tx, &ctx.actor, now, &action, &target, None, changes).await?;
        let view = view_of(&mut tx, EntryLookup::Id(group_id), group_id).await?;
        tx.commit().await.map_err(muster_store::StoreError::from)?;
        Ok(view)
    })
    .await
}
