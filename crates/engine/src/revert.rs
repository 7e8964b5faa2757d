//! Undoing an applied import in one action (`muster imports revert ID`, SPEC §3.6): users,
//! groups, roles and departments it created are removed, every record it changed gets its
//! before image back (fields and memberships), all in one transaction, and the revert is
//! recorded as an entry of its own. A record that changed after the import — its fingerprint no
//! longer matches the image the import left — is a conflict: reported and left alone unless the
//! revert is forced. A catalog entry the import created that something outside the import now
//! uses (a department with users, say) is never removed, forced or not.
//!
//! Users are undone first, in journal order and in batches, then the catalog: what the import
//! created for its users can only be removed once those users are gone.
//!
//! A revert that leaves records alone (conflicts not forced, catalog entries still in use,
//! users whose earlier department or role is gone) writes those records' journal entries under
//! its own history entry, and the import's status becomes `partly_reverted` instead of
//! `reverted`. The import stays revertible: the next revert (typically with `--force`) walks
//! what the last one left, and only that, so nothing the first revert undid is touched twice.

use std::collections::{HashMap, HashSet};

use muster_domain::Permission;
use muster_store::{
    Backend, Catalog, CatalogTable, ChunkTable, Connection, ImportOutcome, ImportRecord, JobKind,
    JobOptions, JobStatus, JobSummary, NamedKind, NamedRecord, NewImport, PreparedWrites,
    RevertJobOptions, RoleRecord, Store, StoreError, UserRecord,
};
use serde::Serialize;

use crate::access::Grants;
use crate::audit;
use crate::busy;
use crate::context::Context;
use crate::error::{Conflict, Error, Invalid, LeasedJob, Missing};
use crate::history::journal::{fingerprint, same_named, Change, ChangeChunk};
use crate::history::{self, ChunkCursor};
use crate::import::ended;
use crate::import::report::ImportStatus;
use crate::lease;
use crate::preview::{RecordConflict, MAX_CONFLICTS};

#[derive(Debug, Serialize)]
pub struct RevertReport {
    /// The history entry of this revert.
    pub revert_id: i64,
    pub import_id: i64,
    /// `applied`, `conflicted` (records changed since the import were left alone, listed in
    /// `conflicts`) or `cancelled` (nothing undone): the statuses every use case's report uses.
    pub status: ImportStatus,
    pub forced: bool,
    /// Records the import created that are now gone.
    pub removed: u64,
    /// Records the import changed that have their earlier state back.
    pub restored: u64,
    /// Records created by the import that were already gone.
    pub already_gone: u64,
    pub conflict_count: u64,
    pub conflicts: Vec<RecordConflict>,
    /// Records this revert left as they are; a later revert of the same import takes them up.
    pub left: u64,
    /// How many of `left` a forced revert would undo (conflicts with later changes); the rest
    /// (catalog entries in use, users whose earlier references are gone) are refused even when
    /// forced, so `--force` is only worth suggesting when this is above zero.
    pub forceable: u64,
    /// The import's status after this revert: `reverted`, or `partly_reverted` when something
    /// was left.
    pub import_status: JobStatus,
}

/// Undoes import `id` from its journal; needs `imports.revert`. Records changed since the import
/// are left alone unless `force` (a `conflicted` report), and a revert stopped by the cancel flag
/// is a `cancelled` report with nothing undone.
pub async fn revert_import(
    store: &Store,
    id: i64,
    force: bool,
    ctx: &Context,
) -> Result<RevertReport, Error> {
    busy::naming_job(store, async move {
        let target = audit::Target::import_number(id);
        let permission = Permission::ImportsRevert;
        audit::require(store, ctx, permission, "import.revert", &target).await?;
        let original = revertible(store, id).await?;
        let now = (ctx.now)();
        let holder = lease::new_holder(ctx);
        let lease = lease::first_lease(holder.clone(), now, ctx);
        let new = NewImport {
            kind: JobKind::Revert,
            actor: ctx.actor.to_string(),
            lease: lease.clone(),
            started_at: now,
            file_name: original.file_name.clone(),
            file_size: original.file_size,
            sha256: original.sha256.clone(),
            format: original.format.clone(),
            options: JobOptions::Revert(RevertJobOptions { force }),
            fixes_id: None,
            revert_of: Some(id),
        };
        let revert_id = history::begin(store, &new).await?;
        let job = RevertJob {
            revert_id,
            holder: &holder,
            force,
        };
        let undo = undo_import(store, &original, &job, ctx);
        // A lease taken over stops the revert through the cancel flag; the revert then finds, when
        // it records its end, that the record is no longer its own and reports the loss.
        let (result, _lost) = lease::hold(store, revert_id, &lease, ctx, undo).await?;
        if let Err(error) = &result {
            // A revert that stopped on an error it did not record itself (the record is then still
            // running under this holder) says why; the others are left as they are.
            let note = JobSummary::note(format!("the revert stopped: {error}"));
            let end = ended(JobStatus::Failed, (ctx.now)(), note);
            let mut conn = store.acquire().await?;
            muster_store::finish_job(&mut conn, revert_id, &holder, &end).await?;
        }
        result
    })
    .await
}

impl RevertReport {
    /// A revert of `import_id` that has undone nothing yet, ending with these statuses unless
    /// the walk changes them.
    fn nothing_yet(
        revert_id: i64,
        import_id: i64,
        forced: bool,
        status: ImportStatus,
        import_status: JobStatus,
    ) -> RevertReport {
        RevertReport {
            revert_id,
            import_id,
            status,
            forced,
            removed: 0,
            restored: 0,
            already_gone: 0,
            conflict_count: 0,
            conflicts: Vec::new(),
            left: 0,
            forceable: 0,
            import_status,
        }
    }

    /// Nothing undone: the import keeps the status it had before this revert.
    fn cancelled(revert_id: i64, original: &ImportRecord, forced: bool) -> RevertReport {
        let cancelled = ImportStatus::Cancelled;
        RevertReport::nothing_yet(revert_id, original.id, forced, cancelled, original.status)
    }
}

/// How the walk over the journal's users ended: a cancelled revert is an outcome, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walked {
    ToTheEnd,
    Cancelled,
}

/// The revert held by its lease.
struct RevertJob<'a> {
    revert_id: i64,
    holder: &'a str,
    force: bool,
}

async fn undo_import(
    store: &Store,
    original: &ImportRecord,
    job: &RevertJob<'_>,
    ctx: &Context,
) -> Result<RevertReport, Error> {
    let (id, revert_id, force, now) = (original.id, job.revert_id, job.force, (ctx.now)());
    // What is left to undo: the import's journal, or what its last revert left of it.
    let (journal, from_status) = match original.reverted_by {
        Some(last) if original.status == JobStatus::PartlyReverted => {
            (last, JobStatus::PartlyReverted)
        }
        _ => (id, JobStatus::Applied),
    };
    let last_revert = original.reverted_by;
    // The revert checks every reference it writes (see `Undo`), so it may run where the
    // database does not: on SQLite that makes its deletes several times cheaper.
    let mut conn = store.acquire_self_checking().await?;
    let mut tx = muster_store::begin_on(&mut conn).await?;
    let claimed = muster_store::claim_revert(
        &mut tx,
        id,
        from_status,
        last_revert,
        JobStatus::Reverted,
        revert_id,
    )
    .await?;
    if !claimed {
        tx.rollback().await.map_err(StoreError::from)?;
        let mut conn = store.acquire().await?;
        let note = JobSummary::note("another revert of the import came first");
        let end = ended(JobStatus::Failed, now, note);
        muster_store::finish_job(&mut conn, revert_id, job.holder, &end).await?;
        return Err(Conflict::AlreadyReverted { id, by: revert_id }.into());
    }
    let catalog = muster_store::load_catalog(&mut tx).await?;
    let mut undo = Undo {
        backend: store.backend(),
        force,
        report: RevertReport::nothing_yet(
            revert_id,
            id,
            force,
            ImportStatus::Applied,
            JobStatus::Reverted,
        ),
        catalog_changes: Vec::new(),
        grants: Grants::new(&ctx.actor, &catalog),
        catalog,
        left: Vec::new(),
        left_chunks: 0,
        mfa_enrolled: muster_store::any_mfa_enrolment(&mut tx).await?,
    };
    // Undoing users reads them by key and id only; the catalog's reference counts after it need
    // the filter indexes back.
    let removing = u64::try_from(original.created).unwrap_or(0);
    let suspended = muster_store::suspend_filter_indexes_for_removal(&mut tx, removing).await?;
    let walked = undo.users(store, &mut tx, journal, ctx).await;
    if !matches!(walked, Ok(Walked::ToTheEnd)) {
        tx.rollback().await.map_err(StoreError::from)?;
        return stopped(store, job, original, walked, ctx).await;
    }
    if suspended {
        muster_store::restore_indexes_after_removal(&mut tx).await?;
    }
    undo.catalog(&mut tx).await?;
    if undo.report.left > 0 {
        // Still claimed by this revert; only the status says that something is left.
        muster_store::claim_revert(
            &mut tx,
            id,
            JobStatus::Reverted,
            Some(revert_id),
            JobStatus::PartlyReverted,
            revert_id,
        )
        .await?;
        undo.report.import_status = JobStatus::PartlyReverted;
        undo.report.status = ImportStatus::Conflicted;
    }
    let report = undo.report;
    let outcome = ImportOutcome {
        status: JobStatus::Applied,
        finished_at: (ctx.now)(),
        format: original.format.clone(),
        created: 0,
        updated: (report.removed + report.restored) as i64,
        unchanged: 0,
        failed: report.conflict_count as i64,
        summary: serde_json::to_value(&report)
            .and_then(serde_json::from_value)
            .unwrap_or_default(),
        fixes_id: None,
    };
    if !muster_store::finish_job(&mut tx, revert_id, job.holder, &outcome).await? {
        // Taken for dead meanwhile: the record says nothing applied, so nothing may commit.
        tx.rollback().await.map_err(StoreError::from)?;
        return Err(lease_lost(revert_id));
    }
    if report.removed + report.restored > 0 {
        let counts = [
            ("removed", report.removed),
            ("restored", report.restored),
            ("conflicts", report.conflict_count),
        ];
        let entry = audit::import_entry(
            &ctx.actor,
            (ctx.now)(),
            "import.revert",
            id,
            &original.file_name,
            &counts,
        );
        muster_store::insert_audit(&mut tx, &entry).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(report)
}

/// Ends a revert that stopped while undoing users, by the cancel flag (a `cancelled` report)
/// or on an error: its transaction was rolled back, so nothing of it is kept, and its own entry
/// says why it stopped.
async fn stopped(
    store: &Store,
    job: &RevertJob<'_>,
    original: &ImportRecord,
    walked: Result<Walked, Error>,
    ctx: &Context,
) -> Result<RevertReport, Error> {
    let (status, note) = match &walked {
        Ok(_) => (
            JobStatus::Cancelled,
            format!("cancelled: import {} was not reverted", original.id),
        ),
        Err(error) => (JobStatus::Failed, error.to_string()),
    };
    let mut conn = store.acquire().await?;
    let end = ended(status, (ctx.now)(), JobSummary::note(note));
    // A revert whose lease was taken over stops the same way; its record says failed already.
    if !muster_store::finish_job(&mut conn, job.revert_id, job.holder, &end).await? {
        return Err(lease_lost(job.revert_id));
    }
    walked.map(|_| RevertReport::cancelled(job.revert_id, original, job.force))
}

/// The revert `id` was taken for dead by another command, which recorded it failed.
fn lease_lost(id: i64) -> Error {
    Error::Conflict(Conflict::LeaseLost {
        job: LeasedJob::Revert,
        id,
    })
}

/// The import's record, if it is one that can be reverted now.
async fn revertible(store: &Store, id: i64) -> Result<muster_store::ImportRecord, Error> {
    let original = {
        let mut conn = store.acquire().await?;
        muster_store::import_record(&mut conn, id)
            .await?
            .ok_or(Missing::Import(id))?
    };
    if original.kind != JobKind::Import {
        return Err(Invalid::NotAnImport(id).into());
    }
    match (original.status, original.reverted_by) {
        (JobStatus::Reverted, Some(by)) => return Err(Conflict::AlreadyReverted { id, by }.into()),
        (JobStatus::Applied, None) | (JobStatus::PartlyReverted, Some(_)) => {}
        (status, _) => return Err(Conflict::NothingApplied { id, status }.into()),
    }
    if original.created + original.updated == 0 && !created_catalog_entries(&original.summary) {
        return Err(Conflict::NothingChanged { id }.into());
    }
    Ok(original)
}

/// Whether an import's summary names departments or groups that it created for its users
/// (they are not counted as created rows).
fn created_catalog_entries(summary: &JobSummary) -> bool {
    !summary.departments_created.is_empty() || !summary.groups_created.is_empty()
}

/// The revert in progress. It runs on a connection without foreign-key enforcement on SQLite
/// (`Store::acquire_self_checking`), so it keeps integrity itself: users are deleted with their
/// memberships, a user is restored only if the department, roles and groups of its earlier
/// image still exist, and a catalog entry is deleted only when nothing references it.
struct Undo {
    /// What each role and group would grant beyond the reverting actor: restoring a user's
    /// earlier roles and groups is granting them again, which the no-escalation rule checks
    /// like any grant.
    grants: Grants,
    backend: Backend,
    force: bool,
    report: RevertReport,
    /// Catalog entries of the journal, undone after the users: (sheet, change).
    catalog_changes: Vec<(String, Change)>,
    /// The catalog when the revert started.
    catalog: Catalog,
    /// Journal entries left alone in the chunk at hand: (sheet, change).
    left: Vec<(String, Change)>,
    /// Chunks of left entries written so far under the revert's own entry.
    left_chunks: i64,
    /// Some user was enrolled in MFA when the revert began, so removed users' enrolments must be
    /// removed too. None can appear meanwhile on SQLite, where the revert is the one writer;
    /// PostgreSQL enforces the enrolments' ON DELETE CASCADE on every connection.
    mfa_enrolled: bool,
}

impl Undo {
    /// Records a conflict; returns whether the record is reverted anyway.
    /// A record that is not reverted is remembered, so that a later revert can take it up.
    fn conflict(&mut self, sheet: &str, change: &Change, reason: &str, forceable: bool) -> bool {
        let forced = forceable && self.force;
        self.report.conflict_count += 1;
        if !forced {
            self.report.left += 1;
            self.report.forceable += u64::from(forceable);
            self.left.push((sheet.to_owned(), change.clone()));
        }
        if self.report.conflicts.len() < MAX_CONFLICTS {
            let conflict = RecordConflict {
                entity: change.entity(),
                key: change.key().to_owned(),
                sheet: sheet.to_owned(),
                row: change.row(),
                reason: reason.to_owned(),
                forced,
            };
            self.report.conflicts.push(conflict);
        }
        forced
    }

    /// Walks the journal: users are undone batch by batch, catalog entries kept for later. A
    /// look-ahead task reads the next chunk and the current state of its users through a
    /// connection of its own while this one deletes and restores, so both cores work (the
    /// reads see the store as committed, before the revert, which is all they need: each
    /// record appears once in a journal).
    async fn users(
        &mut self,
        store: &Store,
        tx: &mut Connection,
        journal: i64,
        ctx: &Context,
    ) -> Result<Walked, Error> {
        let mut staged = read_ahead(store.acquire().await?, journal);
        while let Some(next) = staged.recv().await {
            if ctx.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(Walked::Cancelled);
            }
            let (chunk, current) = next?;
            self.user_chunk(tx, chunk, current).await?;
        }
        Ok(Walked::ToTheEnd)
    }

    async fn user_chunk(
        &mut self,
        tx: &mut Connection,
        chunk: ChangeChunk,
        mut current: HashMap<UserHandle, UserRecord>,
    ) -> Result<(), StoreError> {
        let mut delete = Vec::new();
        let mut restore = Vec::new();
        let mut rekey = Vec::new();
        for change in chunk.changes {
            let Some(handle) = UserHandle::of(&change) else {
                self.catalog_changes.push((chunk.sheet.clone(), change));
                continue;
            };
            let Change::User { before, fp, .. } = &change else {
                continue;
            };
            let now = current.remove(&handle);
            let untouched = now.as_ref().is_some_and(|n| fingerprint(n) == *fp);
            match (before, now) {
                (None, None) => self.report.already_gone += 1,
                (None, Some(now)) => {
                    if untouched
                        || self.conflict(&chunk.sheet, &change, "changed since the import", true)
                    {
                        delete.push(now.username_key);
                    }
                }
                (Some(before), now) => {
                    if let Some(missing) = self.missing_reference(before) {
                        self.conflict(&chunk.sheet, &change, &missing, false);
                        continue;
                    }
                    let none = Vec::new();
                    let (roles_now, groups_now) = now
                        .as_ref()
                        .map_or((&none, &none), |n| (&n.role_keys, &n.group_keys));
                    if let Some(escalation) = self.grants.check(
                        roles_now,
                        &before.role_keys,
                        groups_now,
                        &before.group_keys,
                    ) {
                        let reason = format!("forbidden: {escalation}");
                        self.conflict(&chunk.sheet, &change, &reason, false);
                        continue;
                    }
                    let reason = if now.is_none() {
                        "deleted since the import"
                    } else {
                        "changed since the import"
                    };
                    if untouched || self.conflict(&chunk.sheet, &change, reason, true) {
                        if let Some(renamed) = now.filter(|n| n.username_key != before.username_key)
                        {
                            rekey.push((renamed.username_key, before.username_key.clone()));
                        }
                        restore.push(before.clone());
                    }
                }
            }
        }
        self.report.removed += delete.len() as u64;
        self.report.restored += restore.len() as u64;
        let mut writes = PreparedWrites::new(self.backend);
        writes.delete_users(delete, self.mfa_enrolled);
        writes.rekey_users(rekey);
        writes.restore_users(restore);
        self.write_left(&mut writes);
        writes.execute(tx).await
    }

    /// Stores the entries left alone so far as journal chunks of the revert's own entry (one
    /// chunk per sheet), which the next revert of the import walks instead of the import's.
    fn write_left(&mut self, writes: &mut PreparedWrites) {
        let mut left = std::mem::take(&mut self.left).into_iter().peekable();
        while let Some((sheet, first)) = left.next() {
            let mut changes = vec![first];
            while let Some((_, change)) = left.next_if(|(s, _)| *s == sheet) {
                changes.push(change);
            }
            let chunk = ChangeChunk {
                sheet,
                changes,
                unchanged: Vec::new(),
            };
            self.left_chunks += 1;
            let data = serde_json::to_string(&chunk).unwrap_or_default();
            writes.insert_chunk(
                ChunkTable::Changes,
                self.report.revert_id,
                self.left_chunks,
                data,
            );
        }
    }

    /// A reference of a user's earlier image that no longer exists (deleted after the import):
    /// such a user cannot be restored, forced or not.
    fn missing_reference(&self, user: &UserRecord) -> Option<String> {
        if let Some(department) = user
            .department_key
            .as_ref()
            .filter(|d| !self.catalog.departments.contains_key(*d))
        {
            return Some(format!(
                "its earlier department `{department}` no longer exists; left alone"
            ));
        }
        if let Some(role) = user
            .role_keys
            .iter()
            .find(|r| !self.catalog.roles.contains_key(*r))
        {
            return Some(format!(
                "its earlier role `{role}` no longer exists; left alone"
            ));
        }
        let group = user
            .group_keys
            .iter()
            .find(|g| !self.catalog.groups.contains_key(*g))?;
        Some(format!(
            "its earlier group `{group}` no longer exists; left alone"
        ))
    }

    /// Undoes the catalog entries: created ones removed unless something else uses them,
    /// changed ones restored.
    async fn catalog(&mut self, tx: &mut Connection) -> Result<(), StoreError> {
        let catalog = muster_store::load_catalog(tx).await?;
        let changes = std::mem::take(&mut self.catalog_changes);
        let mut removals: Vec<(CatalogTable, String, String, Change)> = Vec::new();
        let mut restore = CatalogRestore::default();
        for (sheet, change) in changes {
            let (table, drifted, created) = catalog_state(&catalog, &change);
            let keep_going = match drifted {
                Some(reason) => self.conflict(&sheet, &change, reason, true),
                None => true,
            };
            if !keep_going {
                continue;
            }
            if created {
                removals.push((table, change.key().to_owned(), sheet, change));
            } else {
                restore.push(change);
            }
        }
        let mut writes = PreparedWrites::new(self.backend);
        for table in [
            CatalogTable::Roles,
            CatalogTable::Groups,
            CatalogTable::Departments,
        ] {
            let keys: Vec<&str> = removals
                .iter()
                .filter(|r| r.0 == table)
                .map(|r| r.1.as_str())
                .collect();
            let used: HashMap<String, i64> = muster_store::reference_counts(tx, table, &keys)
                .await?
                .into_iter()
                .collect();
            let mut delete = Vec::new();
            for (_, key, sheet, change) in removals.iter().filter(|r| r.0 == table) {
                match used.get(key) {
                    Some(count) => {
                        let reason = format!("still used ({count} reference(s) from outside this import); left in place");
                        self.conflict(sheet, change, &reason, false);
                    }
                    None => delete.push(key.clone()),
                }
            }
            self.report.removed += delete.len() as u64;
            writes.delete_catalog(table, delete);
        }
        self.report.restored += restore.count();
        restore.prepare(&mut writes);
        self.write_left(&mut writes);
        writes.execute(tx).await
    }
}

/// A journal chunk with the current state of its users.
type StagedChunk = Result<(ChangeChunk, HashMap<UserHandle, UserRecord>), Error>;

fn read_ahead(
    mut conn: muster_store::PooledConnection,
    id: i64,
) -> tokio::sync::mpsc::Receiver<StagedChunk> {
    let (out, staged) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let mut journal = ChunkCursor::new(id, ChunkTable::Changes);
        loop {
            let staged = match journal.next::<ChangeChunk>(&mut conn).await {
                Ok(None) => return,
                Ok(Some(chunk)) => with_current_users(&mut conn, chunk).await,
                Err(e) => Err(e),
            };
            let failed = staged.is_err();
            if out.send(staged).await.is_err() || failed {
                return;
            }
        }
    });
    staged
}

/// How a journaled user is found now: by its id, which survives a rename, or by its key in a
/// journal written before ids existed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum UserHandle {
    Id(String),
    Key(String),
}

impl UserHandle {
    fn of(change: &Change) -> Option<UserHandle> {
        match change {
            Change::User { id, .. } if !id.is_empty() => Some(UserHandle::Id(id.clone())),
            Change::User { key, .. } => Some(UserHandle::Key(key.clone())),
            _ => None,
        }
    }
}

/// The chunk with the current state of its users. Most journaled users still have the key
/// they had, so they are read by key, in the table's own order; by id only those that were
/// renamed since, or whose key another user holds now. Reading every user by id went through
/// the id index and then the table, and made a million-user revert a quarter slower.
async fn with_current_users(
    conn: &mut muster_store::Connection,
    chunk: ChangeChunk,
) -> StagedChunk {
    let (mut journaled, mut legacy_keys) = (HashMap::new(), Vec::new());
    for change in &chunk.changes {
        match change {
            Change::User { id, key, .. } if !id.is_empty() => {
                journaled.insert(id.as_str(), key.as_str());
            }
            Change::User { key, .. } => legacy_keys.push(key.as_str()),
            _ => {}
        }
    }
    let keys: Vec<&str> = journaled.values().copied().collect();
    let mut found = muster_store::fetch_users(conn, &keys).await?;
    found.retain(|user| journaled.contains_key(user.id.as_str()));
    let moved: Vec<&str> = {
        let found_ids: HashSet<&str> = found.iter().map(|user| user.id.as_str()).collect();
        journaled
            .keys()
            .copied()
            .filter(|id| !found_ids.contains(id))
            .collect()
    };
    found.extend(muster_store::fetch_users_by_id(conn, &moved).await?);
    let mut current: HashMap<UserHandle, UserRecord> = found
        .into_iter()
        .map(|user| (UserHandle::Id(user.id.clone()), user))
        .collect();
    for user in muster_store::fetch_users(conn, &legacy_keys).await? {
        current.insert(UserHandle::Key(user.username_key.clone()), user);
    }
    Ok((chunk, current))
}

/// A catalog change's table, why it no longer matches the import's after image (if it does
/// not), and whether the import created it.
fn catalog_state(catalog: &Catalog, change: &Change) -> (CatalogTable, Option<&'static str>, bool) {
    let named = |now: Option<&NamedRecord>, after: &NamedRecord| match now {
        None => Some("deleted since the import"),
        Some(now) if !same_named(after, now) => Some("changed since the import"),
        Some(_) => None,
    };
    match change {
        Change::Department { before, after, .. } => (
            CatalogTable::Departments,
            named(catalog.departments.get(&after.name_key), after),
            before.is_none(),
        ),
        Change::Group { before, after, .. } => (
            CatalogTable::Groups,
            named(catalog.groups.get(&after.name_key), after),
            before.is_none(),
        ),
        Change::Role { before, after, .. } => {
            let now: Option<&RoleRecord> = catalog.roles.get(&after.named.name_key);
            let drift = named(now.map(|r| &r.named), &after.named).or_else(|| {
                now.filter(|r| r.permissions != after.permissions)
                    .map(|_| "changed since the import")
            });
            (CatalogTable::Roles, drift, before.is_none())
        }
        Change::User { .. } => (CatalogTable::Departments, None, false),
    }
}

#[derive(Default)]
struct CatalogRestore {
    departments: Vec<NamedRecord>,
    groups: Vec<NamedRecord>,
    roles: Vec<RoleRecord>,
}

impl CatalogRestore {
    fn push(&mut self, change: Change) {
        match change {
            Change::Department {
                before: Some(b), ..
            } => self.departments.push(b),
            Change::Group {
                before: Some(b), ..
            } => self.groups.push(b),
            Change::Role {
                before: Some(b), ..
            } => self.roles.push(b),
            _ => {}
        }
    }

    fn count(&self) -> u64 {
        (self.departments.len() + self.groups.len() + self.roles.len()) as u64
    }

    fn prepare(self, writes: &mut PreparedWrites) {
        writes.upsert_named(NamedKind::Department, &self.departments);
        writes.upsert_named(NamedKind::Group, &self.groups);
        writes.upsert_roles(&self.roles);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undo_with(catalog: Catalog) -> Undo {
        let report =
            RevertReport::nothing_yet(2, 1, true, ImportStatus::Applied, JobStatus::Reverted);
        Undo {
            grants: Grants::new(
                &crate::Actor::operator("tester", crate::Source::Cli),
                &catalog,
            ),
            backend: Backend::Sqlite,
            force: true,
            report,
            catalog_changes: Vec::new(),
            catalog,
            left: Vec::new(),
            left_chunks: 0,
            mfa_enrolled: true,
        }
    }

    fn named(key: &str) -> NamedRecord {
        NamedRecord {
            id: String::new(),
            name_key: key.into(),
            name: key.into(),
            description: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn user(department: Option<&str>, roles: &[&str], groups: &[&str]) -> UserRecord {
        UserRecord {
            id: String::new(),
            username_key: "alice".into(),
            username: "alice".into(),
            name: "Alice".into(),
            email: None,
            email_key: None,
            phone: None,
            department_key: department.map(str::to_owned),
            active: true,
            ignore_mfa: false,
            locale: None,
            timezone: None,
            password_hash: "!provisional".into(),
            created_at: 0,
            updated_at: 0,
            last_login_at: None,
            role_keys: roles.iter().map(|r| (*r).to_owned()).collect(),
            group_keys: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    #[test]
    fn a_user_is_restored_only_onto_references_that_still_exist() {
        let mut catalog = Catalog::default();
        catalog.departments.insert("sales".into(), named("sales"));
        catalog.groups.insert("staff".into(), named("staff"));
        catalog.roles.insert(
            "viewer".into(),
            RoleRecord {
                named: named("viewer"),
                permissions: Vec::new(),
            },
        );
        let undo = undo_with(catalog);
        assert_eq!(
            undo.missing_reference(&user(Some("sales"), &["viewer"], &["staff"])),
            None
        );
        assert_eq!(undo.missing_reference(&user(None, &[], &[])), None);
        let gone = |u: &UserRecord| undo.missing_reference(u).unwrap_or_default();
        assert!(gone(&user(Some("ops"), &[], &[])).contains("department `ops`"));
        assert!(gone(&user(None, &["auditor"], &[])).contains("role `auditor`"));
        assert!(gone(&user(None, &[], &["emea"])).contains("group `emea`"));
    }

    #[test]
    fn a_forced_revert_overrides_changes_but_never_a_missing_reference() {
        let mut undo = undo_with(Catalog::default());
        let change = Change::User {
            row: 2,
            key: "alice".into(),
            id: String::new(),
            before: None,
            after: None,
            fp: String::new(),
        };
        assert!(undo.conflict("users", &change, "changed since the import", true));
        assert!(!undo.conflict(
            "users",
            &change,
            "its earlier role `x` no longer exists",
            false
        ));
        assert_eq!(undo.report.conflict_count, 2);
        assert_eq!(
            undo.report
                .conflicts
                .iter()
                .map(|c| c.forced)
                .collect::<Vec<_>>(),
            [true, false]
        );
        assert_eq!(
            (undo.report.left, undo.report.forceable),
            (1, 0),
            "only the refused one is left, and forcing would not help"
        );
        undo.force = false;
        assert!(!undo.conflict("users", &change, "changed since the import", true));
        assert_eq!((undo.report.left, undo.report.forceable), (2, 1));
        assert_eq!(undo.left.len(), 2, "both are kept for the next revert");
    }
}
