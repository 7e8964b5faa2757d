//! Applying a stored preview (`muster imports apply ID`, SPEC §3.2): the plan a dry run stored
//! is executed exactly, without the file. Every record it touches must still be as the preview
//! saw it — a user or catalog entry created, changed or deleted since, or an e-mail taken since,
//! refuses the whole plan, naming the records, and nothing is written (preview again). The
//! apply holds a lease on the preview's record while it runs, and the status moves from
//! `dry_run` to `applied` inside the same transaction, as its last write and only while the
//! apply still holds that lease, so a plan is applied at most once even when two processes try
//! at the same moment, and an apply taken for dead never commits. The claim comes last because
//! on PostgreSQL it locks the record until the commit, and the heartbeat that renews the lease
//! writes the same record: claimed first, the lease would never be renewed and would look
//! expired to every other instance during a long apply.

use std::collections::HashMap;

use muster_domain::Permission;
use muster_store::{
    BusyJob, Catalog, ChunkTable, ImportRecord, JobKind, JobOptions, JobStatus, LeaseTake,
    NamedRecord, RoleRecord, Store, StoreError, Transaction, UserRecord,
};
use serde::Serialize;

use crate::access::{permissions_escalation, Actor, Grants, Own};
use crate::audit;
use crate::busy;
use crate::context::Context;
use crate::error::{Conflict, Error, Invalid, LeasedJob, Missing, Refusal};
use crate::history::journal::{assign_missing_ids, same_named, same_user, Change, ChangeChunk};
use crate::history::ChunkCursor;
use crate::ids::IdMaker;
use crate::import::catalog::CatalogWrites;
use crate::import::report::ImportStatus;
use crate::import::users::UserWrites;
use crate::lease;
use crate::timefmt::rfc3339_utc;

/// A record that changed since the preview (or, for a revert, since the import), as a report
/// lists it: not an error, since the report's status says what became of the whole.
#[derive(Clone, Debug, Serialize)]
pub struct RecordConflict {
    pub entity: &'static str,
    pub key: String,
    pub sheet: String,
    pub row: u64,
    pub reason: String,
    /// For a forced revert: the record was reverted anyway.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

impl std::fmt::Display for RecordConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} `{}` ({}, row {}): {}",
            self.entity, self.key, self.sheet, self.row, self.reason
        )?;
        if self.forced {
            write!(f, " — reverted anyway (forced)")?;
        }
        Ok(())
    }
}

/// Conflicts listed in full; the count stays exact.
pub(crate) const MAX_CONFLICTS: usize = 1_000;

/// How applying a stored preview ended, with the same statuses as every use case's report:
/// `applied`, `stale` (records changed since the preview: nothing applied, each one listed in
/// `conflicts`) or `cancelled` (nothing applied).
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub import_id: i64,
    pub status: ImportStatus,
    pub created: i64,
    pub updated: i64,
    pub conflict_count: u64,
    pub conflicts: Vec<RecordConflict>,
}

impl PlanReport {
    fn ended(import_id: i64, status: ImportStatus) -> PlanReport {
        PlanReport {
            import_id,
            status,
            created: 0,
            updated: 0,
            conflict_count: 0,
            conflicts: Vec::new(),
        }
    }
}

/// Applies the plan a preview stored; needs `users.import`, and is checked again for the
/// actor who applies it. A plan that records changed since is a `stale` report, not an error.
pub async fn apply_plan(store: &Store, id: i64, ctx: &Context) -> Result<PlanReport, Error> {
    busy::naming_job(store, async move {
        let target = audit::Target::import_number(id);
        let permission = Permission::UsersImport;
        audit::require(store, ctx, permission, "import.apply_preview", &target).await?;
        let record = applicable_preview(store, id).await?;
        // The apply holds a lease on the preview's record while it runs, as every job does; the
        // record stays `dry_run` until the apply commits, so a crash leaves a preview to apply.
        let holder = lease::new_holder(ctx);
        let lease = take_lease(store, id, &holder, ctx).await?;
        let applying = apply_held(store, &record, &holder, ctx);
        let (result, lost) = lease::hold(store, id, &lease, ctx, applying).await?;
        {
            let mut conn = store.acquire().await?;
            muster_store::release_lease(&mut conn, id, &holder, (ctx.now)()).await?;
        }
        match result {
            // An apply that lost its lease applied nothing, whatever it ended with (cancelled by
            // its heartbeat, or stale because the new holder's writes showed): the loss is why.
            Ok(report) if lost && report.status != ImportStatus::Applied => Err(lease_lost(id)),
            result => result,
        }
    })
    .await
}

/// The record of preview `id`, if it is a preview that can be applied.
async fn applicable_preview(store: &Store, id: i64) -> Result<ImportRecord, Error> {
    let record = {
        let mut conn = store.acquire().await?;
        muster_store::import_record(&mut conn, id)
            .await?
            .ok_or(Missing::Import(id))?
    };
    if record.kind != JobKind::Import || record.status != JobStatus::DryRun {
        return Err(if record.applied_at.is_some() {
            Conflict::AlreadyApplied { id }.into()
        } else {
            Invalid::NotAPreview {
                id,
                status: record.status,
            }
            .into()
        });
    }
    let partial = matches!(&record.options, JobOptions::Import(options) if options.partial);
    if record.failed > 0 && !partial {
        return Err(Invalid::HasFailures {
            id,
            failed: record.failed,
        }
        .into());
    }
    Ok(record)
}

/// Takes the lease of preview `id` for `holder`, while it is still a preview nobody applies;
/// returns the lease taken.
async fn take_lease(
    store: &Store,
    id: i64,
    holder: &str,
    ctx: &Context,
) -> Result<muster_store::Lease, Error> {
    let lease = lease::first_lease(holder.to_owned(), (ctx.now)(), ctx);
    let taken = {
        let mut conn = store.acquire().await?;
        muster_store::take_lease(&mut conn, id, JobStatus::DryRun, &lease).await?
    };
    match taken {
        LeaseTake::Taken => Ok(lease),
        LeaseTake::Held(live) => Err(Error::Store(StoreError::Busy(Some(BusyJob {
            kind: JobKind::Import,
            id,
            actor: format!("the apply of {}", live.holder),
            started: rfc3339_utc(live.heartbeat_at),
        })))),
        // A preview leaves `dry_run` only by being applied (by another command, since it was read).
        LeaseTake::Moved(Some(_)) => Err(Conflict::AlreadyApplied { id }.into()),
        LeaseTake::Moved(None) => Err(Missing::Import(id).into()),
    }
}

/// The apply of preview `id` was taken for dead by another command, which took its lease.
fn lease_lost(id: i64) -> Error {
    Error::Conflict(Conflict::LeaseLost {
        job: LeasedJob::Apply,
        id,
    })
}

/// Moves the preview to `applied`, as the last write of the apply's transaction, while the
/// apply still holds its lease. When it does not, the transaction is rolled back: the preview
/// was applied by someone else (who took the lease once it looked expired), or is being.
async fn claim(
    store: &Store,
    mut tx: Transaction,
    id: i64,
    holder: &str,
    now: i64,
) -> Result<Transaction, Error> {
    let (from, to) = (JobStatus::DryRun, JobStatus::Applied);
    if muster_store::claim_status(&mut tx, id, holder, from, to, now).await? {
        return Ok(tx);
    }
    tx.rollback().await.map_err(StoreError::from)?;
    let mut conn = store.acquire().await?;
    let status = muster_store::import_record(&mut conn, id)
        .await?
        .map(|record| record.status);
    Err(match status {
        Some(JobStatus::DryRun) => lease_lost(id),
        Some(_) => Conflict::AlreadyApplied { id }.into(),
        None => Missing::Import(id).into(),
    })
}

/// The apply itself, under the lease `apply_plan` took for `holder`.
async fn apply_held(
    store: &Store,
    record: &ImportRecord,
    holder: &str,
    ctx: &Context,
) -> Result<PlanReport, Error> {
    let id = record.id;
    let now = (ctx.now)();
    // The claim comes last, so the transaction reads before it first writes: on SQLite it takes
    // the write lock at its start, to wait for it there rather than fail at the first write.
    let mut tx = store.begin_writing().await?;
    let catalog = muster_store::load_catalog(&mut tx).await?;
    let mut checker = Checker {
        refused: None,
        actor: ctx.actor.clone(),
        grants: Grants::new(&ctx.actor, &catalog),
        catalog,
        conflicts: Vec::new(),
        conflict_count: 0,
    };
    let mut plan = ChunkCursor::new(id, ChunkTable::Changes);
    let mut ids = IdMaker::new(now, &ctx.rng);
    while let Some(chunk) = plan.next::<ChangeChunk>(&mut tx).await? {
        if ctx.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(PlanReport::ended(id, ImportStatus::Cancelled));
        }
        checker.check_chunk(&mut tx, &chunk).await?;
        if checker.conflict_count == 0 && checker.refused.is_none() {
            plan_writes(chunk.changes, store.backend(), &mut ids)
                .execute(&mut tx)
                .await?;
        }
    }
    if let Some(refusal) = checker.refused {
        tx.rollback().await.map_err(StoreError::from)?;
        let target = audit::Target::import(id, &record.file_name);
        audit::record_refusal(
            store,
            &ctx.actor,
            now,
            "import.apply_preview",
            &target,
            &refusal,
        )
        .await?;
        return Err(Error::Forbidden(refusal));
    }
    if checker.conflict_count > 0 {
        tx.rollback().await.map_err(StoreError::from)?;
        return Ok(PlanReport {
            conflict_count: checker.conflict_count,
            conflicts: checker.conflicts,
            ..PlanReport::ended(id, ImportStatus::Stale)
        });
    }
    let counts = [
        ("created", record.created as u64),
        ("updated", record.updated as u64),
    ];
    let entry = audit::import_entry(
        &ctx.actor,
        now,
        "import.apply_preview",
        id,
        &record.file_name,
        &counts,
    );
    muster_store::insert_audit(&mut tx, &entry).await?;
    let tx = claim(store, tx, id, holder, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    if record.created + record.updated >= 10_000 {
        store.refresh_statistics().await?;
    }
    Ok(PlanReport {
        created: record.created,
        updated: record.updated,
        ..PlanReport::ended(id, ImportStatus::Applied)
    })
}

struct Checker {
    /// The first change the applier may not make: the whole plan is then refused as forbidden.
    refused: Option<Refusal>,
    /// Who applies: the plan was checked for whoever previewed it, and is checked again for
    /// the one who applies it, so a preview cannot carry a grant past the applier's permissions.
    actor: Actor,
    /// What each role and group would grant beyond the applier, worked out once.
    grants: Grants,
    catalog: Catalog,
    conflicts: Vec<RecordConflict>,
    conflict_count: u64,
}

impl Checker {
    /// Why the applier may not make this user change: a grant beyond their permissions, or a
    /// change to their own roles, groups or password.
    fn user_refusal(
        &self,
        before: Option<&UserRecord>,
        after: Option<&UserRecord>,
    ) -> Option<Refusal> {
        let after = after?;
        let none = Vec::new();
        let (roles, groups) = before.map_or((&none, &none), |b| (&b.role_keys, &b.group_keys));
        if self.actor.is_user(&after.username_key) {
            let changed = if *roles != after.role_keys {
                Some(Own::Roles)
            } else if *groups != after.group_keys {
                Some(Own::Groups)
            } else if before.is_some_and(|b| b.password_hash != after.password_hash) {
                Some(Own::Password)
            } else {
                None
            };
            if let Some(what) = changed {
                return Some(Refusal::OwnRecord { what });
            }
        }
        self.grants
            .check(roles, &after.role_keys, groups, &after.group_keys)
            .map(Refusal::Escalation)
    }

    /// Why the applier may not give a role these permissions: the ones it gains beyond theirs.
    fn role_refusal(&self, before: Option<&RoleRecord>, after: &RoleRecord) -> Option<Refusal> {
        let gained: Vec<String> = after
            .permissions
            .iter()
            .filter(|p| before.is_none_or(|b| !b.permissions.contains(p)))
            .cloned()
            .collect();
        permissions_escalation(&self.actor, &after.named.name, &gained).map(Refusal::Escalation)
    }

    fn conflict(&mut self, sheet: &str, change: &Change, reason: String) {
        self.conflict_count += 1;
        if self.conflicts.len() < MAX_CONFLICTS {
            self.conflicts.push(RecordConflict {
                entity: change.entity(),
                key: change.key().to_owned(),
                sheet: sheet.to_owned(),
                row: change.row(),
                reason,
                forced: false,
            });
        }
    }

    /// Compares every record of the chunk with what the preview saw.
    async fn check_chunk(
        &mut self,
        tx: &mut Transaction,
        chunk: &ChangeChunk,
    ) -> Result<(), StoreError> {
        let keys: Vec<&str> = chunk
            .changes
            .iter()
            .filter(|c| matches!(c, Change::User { .. }))
            .map(Change::key)
            .collect();
        let current: HashMap<String, UserRecord> = muster_store::fetch_users(tx, &keys)
            .await?
            .into_iter()
            .map(|u| (u.username_key.clone(), u))
            .collect();
        // (e-mail key, index of the change that assigns it) for e-mails that change hands.
        let mut emails: Vec<(&str, usize)> = Vec::new();
        for (index, change) in chunk.changes.iter().enumerate() {
            let reason = match change {
                Change::User {
                    key, before, after, ..
                } => {
                    if let Some(email) = after.as_ref().and_then(|a| a.email_key.as_deref()) {
                        if before.as_ref().and_then(|b| b.email_key.as_deref()) != Some(email) {
                            emails.push((email, index));
                        }
                    }
                    if let Some(refusal) = self.user_refusal(before.as_ref(), after.as_ref()) {
                        self.refused.get_or_insert(refusal);
                    }
                    user_drift(before.as_ref(), current.get(key))
                }
                Change::Department { before, after, .. } => named_drift(
                    before.as_ref(),
                    self.catalog.departments.get(&after.name_key),
                ),
                Change::Group { before, after, .. } => {
                    named_drift(before.as_ref(), self.catalog.groups.get(&after.name_key))
                }
                Change::Role { before, after, .. } => {
                    if let Some(refusal) = self.role_refusal(before.as_ref(), after) {
                        self.refused.get_or_insert(refusal);
                    }
                    role_drift(
                        before.as_ref(),
                        self.catalog.roles.get(&after.named.name_key),
                    )
                }
            };
            if let Some(reason) = reason {
                self.conflict(&chunk.sheet, change, reason);
            }
        }
        let email_keys: Vec<&str> = emails.iter().map(|(e, _)| *e).collect();
        let owners = muster_store::email_owners(tx, &email_keys).await?;
        for (email, index) in emails {
            let change = &chunk.changes[index];
            if let Some(owner) = owners
                .get(email)
                .filter(|owner| owner.as_str() != change.key())
            {
                let reason = format!("e-mail `{email}` now belongs to user `{owner}`");
                self.conflict(&chunk.sheet, change, reason);
            }
        }
        Ok(())
    }
}

fn user_drift(before: Option<&UserRecord>, now: Option<&UserRecord>) -> Option<String> {
    match (before, now) {
        (None, None) => None,
        (None, Some(_)) => Some("created since the preview".into()),
        (Some(_), None) => Some("deleted since the preview".into()),
        (Some(b), Some(n)) => (!same_user(b, n)).then(|| "changed since the preview".into()),
    }
}

fn named_drift(before: Option<&NamedRecord>, now: Option<&NamedRecord>) -> Option<String> {
    match (before, now) {
        (None, None) => None,
        (None, Some(_)) => Some("created since the preview".into()),
        (Some(_), None) => Some("deleted since the preview".into()),
        (Some(b), Some(n)) => (!same_named(b, n)).then(|| "changed since the preview".into()),
    }
}

fn role_drift(before: Option<&RoleRecord>, now: Option<&RoleRecord>) -> Option<String> {
    named_drift(before.map(|b| &b.named), now.map(|n| &n.named)).or_else(|| {
        before
            .zip(now)
            .filter(|(b, n)| b.permissions != n.permissions)
            .map(|_| "changed since the preview".into())
    })
}

/// The statements that apply one chunk of a plan: catalog entries first, then users.
fn plan_writes(
    changes: Vec<Change>,
    backend: muster_store::Backend,
    ids: &mut IdMaker,
) -> muster_store::PreparedWrites {
    let (mut departments, mut groups, mut roles) = (Vec::new(), Vec::new(), Vec::new());
    let (mut created, mut updated) = (Vec::new(), Vec::new());
    for mut change in changes {
        assign_missing_ids(&mut change, ids);
        match change {
            Change::Department { after, .. } => departments.push(after),
            Change::Group { after, .. } => groups.push(after),
            Change::Role { after, .. } => roles.push(after),
            Change::User {
                before: None,
                after: Some(after),
                ..
            } => created.push(after),
            Change::User {
                before: Some(before),
                after: Some(after),
                ..
            } => updated.push((before, after)),
            // A plan always keeps its after images; an entry without one cannot be applied.
            Change::User { after: None, .. } => {}
        }
    }
    let mut writes = CatalogWrites::from_plan(departments, groups, roles).prepare(backend);
    writes.append(UserWrites::from_plan(created, updated, Vec::new(), Vec::new()).prepare(backend));
    writes
}
