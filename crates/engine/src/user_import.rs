//! Planning a users sheet, one batch at a time. `look_up` reads the existing users and e-mail
//! owners a batch needs; the planner merges each row into the stored record (a present column is
//! authoritative, an absent one untouched), settles passwords on every core, classifies the row
//! as created, updated or unchanged, and prepares the batch's statements. Unchanged rows cost no
//! write at all, which is what makes a re-import of the same file write nothing.

use std::collections::HashMap;

use muster_credentials::{check_imported_hash, hash_passwords, verify_password, PasswordPolicy, PlainPassword, Verification, PROVISIONAL};
use muster_domain::{EntityName, Field, HeaderMap, Patch, UserRow};
use muster_store::{Backend, Catalog, Connection, Membership, NamedKind, NamedRecord, PreparedWrites, UserRecord};
use rayon::prelude::*;

use crate::context::{Context, RngRef};
use crate::issue::{Issue, IssueKind, Position};
use crate::report::ImportReport;
use crate::source::cell_issue;
use crate::seen::FileKeys;

/// What the store holds for one batch of user rows, read ahead while the previous batch is
/// planned. It reflects the store before the import: rows of the same file are tracked by the
/// planner itself (keys and e-mails seen, departments and groups created). One consequence is
/// deliberate: an e-mail that one row gives up and a later row of the same file takes is
/// reported as taken, rather than depending on the order in which rows are applied.
pub(crate) struct Lookup {
    existing: HashMap<String, UserRecord>,
    /// E-mail key → the user holding it, for e-mails that would change hands.
    owners: HashMap<String, String>,
}

pub(crate) async fn look_up<'a>(
    conn: &mut Connection,
    users: impl Iterator<Item = &'a UserRow> + Clone,
) -> Result<Lookup, muster_store::StoreError> {
    let keys: Vec<&str> = users.clone().map(|u| u.username.key()).collect();
    let existing: HashMap<String, UserRecord> =
        muster_store::fetch_users(conn, &keys).await?.into_iter().map(|u| (u.username_key.clone(), u)).collect();
    // Only an e-mail that differs from the user's own current one can collide with another
    // user's; skipping the rest keeps a re-import from looking up a million owners.
    let email_keys: Vec<&str> = users
        .filter_map(|u| match &u.email {
            Patch::Set(Some(email)) => Some((u.username.key(), email.key())),
            _ => None,
        })
        .filter(|(user, email)| existing.get(*user).is_none_or(|u| u.email_key.as_deref() != Some(*email)))
        .map(|(_, email)| email)
        .collect();
    let owners = muster_store::email_owners(conn, &email_keys).await?;
    Ok(Lookup { existing, owners })
}

pub(crate) struct UserPlanner {
    sheet: String,
    map: HeaderMap,
    create_only: bool,
    create_groups: bool,
    now: i64,
    catalog: Catalog,
    usernames: FileKeys,
    emails: FileKeys,
    new_departments: Vec<NamedRecord>,
    new_groups: Vec<NamedRecord>,
    policy: PasswordPolicy,
}

/// A row that passed every check, waiting for its password to be settled.
struct Candidate {
    row: u64,
    record: UserRecord,
    existing: Option<UserRecord>,
    password: Option<PlainPassword>,
}

impl Candidate {
    /// The merge started from the stored record, so equality means no column changed.
    fn unchanged(&self) -> bool {
        self.existing.as_ref() == Some(&self.record)
    }
}

/// A row's secret cells once checked: a plaintext to hash in bulk, or an imported hash in the
/// form it is stored.
struct Secrets {
    password: Option<PlainPassword>,
    imported_hash: Option<String>,
}

/// What one batch writes.
#[derive(Default)]
pub(crate) struct UserWrites {
    departments: Vec<NamedRecord>,
    groups: Vec<NamedRecord>,
    created: Vec<UserRecord>,
    updated: Vec<UserRecord>,
    /// Per user in `updated`: whether its roles, and its groups, must be rewritten.
    role_changes: Vec<MembershipChange>,
    group_changes: Vec<MembershipChange>,
}

impl UserPlanner {
    pub fn new(sheet: String, map: HeaderMap, catalog: Catalog, create_only: bool, create_groups: bool, now: i64) -> Self {
        UserPlanner {
            sheet,
            map,
            create_only,
            create_groups,
            now,
            catalog,
            usernames: FileKeys::default(),
            emails: FileKeys::default(),
            new_departments: Vec::new(),
            new_groups: Vec::new(),
            policy: PasswordPolicy::default(),
        }
    }

    /// Checks and plans one batch against what `look_up` found; returns what it would write.
    /// Issues go into the report.
    pub fn plan(
        &mut self,
        rows: impl IntoIterator<Item = (u64, UserRow)>,
        mut lookup: Lookup,
        report: &mut ImportReport,
        ctx: &Context,
    ) -> UserWrites {
        let mut candidates = Vec::new();
        for (row, user) in rows {
            let old = lookup.existing.remove(user.username.key());
            match self.check_row(row, user, old, &lookup.owners) {
                // Settled at once when nothing changed and no password needs checking: most rows
                // of a re-import, which then cost no further moves.
                Ok(c) if c.password.is_none() && c.unchanged() => report.counts.unchanged += 1,
                Ok(candidate) => candidates.push(candidate),
                Err(issues) => fail_row(report, issues),
            }
        }
        let candidates = self.settle_passwords(candidates, report, ctx);
        self.classify(candidates, report)
    }

    fn issue(&self, row: u64, field: Field, kind: IssueKind) -> Issue {
        match self.map.column(field) {
            Some(column) => cell_issue(&self.sheet, row, &self.map, column, kind),
            None => Issue { position: Position { sheet: self.sheet.clone(), row, column: Some(field.header().to_owned()) }, kind },
        }
    }

    fn check_row(
        &mut self,
        row: u64,
        user: UserRow,
        existing: Option<UserRecord>,
        owners: &HashMap<String, String>,
    ) -> Result<Candidate, Vec<Issue>> {
        let mut issues = Vec::new();
        let key = user.username.key();
        if let Some(first_row) = self.usernames.first_seen(key, row) {
            issues.push(self.issue(row, Field::Username, IssueKind::DuplicateKey { key: user.username.as_str().to_owned(), first_row }));
        }
        if self.create_only && existing.is_some() {
            issues.push(self.issue(row, Field::Username, IssueKind::AlreadyExists(user.username.as_str().to_owned())));
        }
        if existing.is_none() && matches!(user.name, Patch::Keep) {
            issues.push(self.issue(row, Field::Name, IssueKind::NameRequired));
        }
        if let Patch::Set(Some(email)) = &user.email {
            if let Some(first_row) = self.emails.first_seen(email.key(), row) {
                issues.push(self.issue(row, Field::Email, IssueKind::DuplicateEmail { email: email.as_str().to_owned(), first_row }));
            } else if let Some(owner) = owners.get(email.key()).filter(|owner| owner.as_str() != key) {
                issues.push(self.issue(row, Field::Email, IssueKind::EmailTaken { email: email.as_str().to_owned(), owner: owner.clone() }));
            }
        }
        if let Patch::Set(roles) = &user.roles {
            for role in roles.iter().filter(|r| !self.catalog.roles.contains_key(r.key())) {
                issues.push(self.issue(row, Field::Roles, IssueKind::UnknownRole(role.as_str().to_owned())));
            }
        }
        if let Patch::Set(groups) = &user.groups {
            if !self.create_groups {
                for group in groups.iter().filter(|g| !self.catalog.groups.contains_key(g.key())) {
                    issues.push(self.issue(row, Field::Groups, IssueKind::UnknownGroup(group.as_str().to_owned())));
                }
            }
        }
        let secrets = self.check_secrets(row, &user, &mut issues);
        if !issues.is_empty() {
            return Err(issues);
        }
        let mut record = self.merge(&user, existing.as_ref());
        if let Some(hash) = secrets.imported_hash {
            record.password_hash = hash;
        }
        Ok(Candidate { row, record, existing, password: secrets.password })
    }

    /// Checks a plaintext password against the policy, or an imported hash against the accepted
    /// schemes; the hash is stored as it is, the plaintext is returned to be hashed in bulk.
    fn check_secrets(&self, row: u64, user: &UserRow, issues: &mut Vec<Issue>) -> Secrets {
        let mut secrets = Secrets { password: None, imported_hash: None };
        if let Some(secret) = &user.password {
            let password = PlainPassword::new(secret.expose().to_owned());
            match self.policy.check(&password, user.username.as_str()) {
                Ok(()) => secrets.password = Some(password),
                Err(violation) => issues.push(self.issue(row, Field::Password, IssueKind::Password(violation))),
            }
        }
        if let Some(secret) = &user.password_hash {
            match check_imported_hash(secret.expose()) {
                Ok(imported) => secrets.imported_hash = Some(imported.stored),
                Err(rejection) => issues.push(self.issue(row, Field::PasswordHash, IssueKind::PasswordHash(rejection))),
            }
        }
        secrets
    }

    /// The stored record after this row: the existing one (or a new one) with every present
    /// column applied. Departments and groups it names but that do not exist yet are noted for
    /// creation here, once the row is known to be valid.
    fn merge(&mut self, user: &UserRow, existing: Option<&UserRecord>) -> UserRecord {
        let mut record = existing.cloned().unwrap_or_else(|| self.new_record(user));
        if let Patch::Set(name) = &user.name {
            record.name = name.as_str().to_owned();
        }
        if let Patch::Set(department) = &user.department {
            record.department_key = department.as_ref().map(|d| self.ensure_department(d));
        }
        if let Patch::Set(email) = &user.email {
            record.email = email.as_ref().map(|e| e.as_str().to_owned());
            record.email_key = email.as_ref().map(|e| e.key().to_owned());
        }
        if let Patch::Set(phone) = &user.phone {
            record.phone = phone.as_ref().map(|p| p.as_str().to_owned());
        }
        if let Patch::Set(active) = user.active {
            record.active = active;
        }
        if let Patch::Set(ignore_mfa) = user.ignore_mfa {
            record.ignore_mfa = ignore_mfa;
        }
        if let Patch::Set(locale) = &user.locale {
            record.locale = locale.as_ref().map(|l| l.as_str().to_owned());
        }
        if let Patch::Set(timezone) = &user.timezone {
            record.timezone = timezone.as_ref().map(|t| t.as_str().to_owned());
        }
        if let Patch::Set(roles) = &user.roles {
            record.role_keys = sorted_keys(roles);
        }
        if let Patch::Set(groups) = &user.groups {
            for group in groups {
                self.ensure_group(group);
            }
            record.group_keys = sorted_keys(groups);
        }
        record
    }

    fn new_record(&self, user: &UserRow) -> UserRecord {
        UserRecord {
            username_key: user.username.key().to_owned(),
            username: user.username.as_str().to_owned(),
            name: String::new(),
            email: None,
            email_key: None,
            phone: None,
            department_key: None,
            active: true,
            ignore_mfa: false,
            locale: None,
            timezone: None,
            password_hash: PROVISIONAL.to_owned(),
            created_at: self.now,
            updated_at: self.now,
            last_login_at: None,
            role_keys: Vec::new(),
            group_keys: Vec::new(),
        }
    }

    fn ensure_department(&mut self, name: &EntityName) -> String {
        if !self.catalog.departments.contains_key(name.key()) {
            let record = self.named(name);
            self.catalog.departments.insert(record.name_key.clone(), record.clone());
            self.new_departments.push(record);
        }
        name.key().to_owned()
    }

    fn ensure_group(&mut self, name: &EntityName) {
        if !self.catalog.groups.contains_key(name.key()) {
            let record = self.named(name);
            self.catalog.groups.insert(record.name_key.clone(), record.clone());
            self.new_groups.push(record);
        }
    }

    fn named(&self, name: &EntityName) -> NamedRecord {
        NamedRecord {
            name_key: name.key().to_owned(),
            name: name.as_str().to_owned(),
            description: String::new(),
            created_at: self.now,
            updated_at: self.now,
        }
    }

    /// A plaintext that already matches the stored hash keeps it (so a re-import is unchanged);
    /// every other plaintext is hashed with argon2id. Both run on every core.
    fn settle_passwords(&self, mut candidates: Vec<Candidate>, report: &mut ImportReport, ctx: &Context) -> Vec<Candidate> {
        // Most large files carry no passwords; waking the thread pool for nothing would take
        // the other core from the database.
        if candidates.iter().all(|c| c.password.is_none()) {
            return candidates;
        }
        let matches: Vec<bool> = candidates
            .par_iter()
            .map(|c| match (&c.password, &c.existing) {
                (Some(password), Some(old)) => {
                    matches!(verify_password(&old.password_hash, password), Ok(Verification::Match { needs_rehash: false }))
                }
                _ => false,
            })
            .collect();
        let pending: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].password.is_some() && !matches[i])
            .collect();
        if pending.is_empty() {
            return candidates;
        }
        let passwords: Vec<&PlainPassword> = pending.iter().filter_map(|&i| candidates[i].password.as_ref()).collect();
        let hashed = {
            let mut rng = ctx.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            hash_passwords(&passwords, &mut RngRef(rng.as_mut()))
        };
        match hashed {
            Ok(hashes) => {
                for (&i, hash) in pending.iter().zip(hashes) {
                    candidates[i].record.password_hash = hash;
                }
                candidates
            }
            Err(error) => {
                // Hashing only fails on a broken random source; every affected row fails.
                let failed: Vec<Candidate> = pending.iter().rev().map(|&i| candidates.remove(i)).collect();
                for candidate in failed {
                    let issue = self.issue(candidate.row, Field::Password, IssueKind::Hashing(error.to_string()));
                    fail_row(report, vec![issue]);
                }
                candidates
            }
        }
    }

    fn classify(&mut self, candidates: Vec<Candidate>, report: &mut ImportReport) -> UserWrites {
        let mut writes = UserWrites {
            departments: std::mem::take(&mut self.new_departments),
            groups: std::mem::take(&mut self.new_groups),
            ..UserWrites::default()
        };
        report.departments_created.extend(writes.departments.iter().map(|d| d.name.clone()));
        report.groups_created.extend(writes.groups.iter().map(|g| g.name.clone()));
        for candidate in candidates {
            if candidate.unchanged() {
                report.counts.unchanged += 1;
                continue;
            }
            let Candidate { mut record, existing, .. } = candidate;
            match existing {
                Some(old) => {
                    report.counts.updated += 1;
                    record.updated_at = self.now;
                    writes.role_changes.push(MembershipChange::of(&record.role_keys, &old.role_keys));
                    writes.group_changes.push(MembershipChange::of(&record.group_keys, &old.group_keys));
                    writes.updated.push(record);
                }
                None => {
                    report.counts.created += 1;
                    writes.created.push(record);
                }
            }
        }
        writes
    }
}

/// Whether an updated user's role or group memberships are rewritten (unchanged sets, the
/// common case of an update, cost no statement).
#[derive(Clone, Copy, PartialEq, Eq)]
enum MembershipChange {
    Unchanged,
    /// The set changed: delete the old memberships, insert the new.
    Replace,
}

impl MembershipChange {
    fn of(new: &[String], old: &[String]) -> MembershipChange {
        if old == new { MembershipChange::Unchanged } else { MembershipChange::Replace }
    }
}

/// Takes the memberships to write out of the records: the users whose memberships are cleared,
/// and the (user, key) pairs inserted — every membership of a new user, and the new set of an
/// updated user whose set changed. The keys move; only the username is copied per pair.
fn take_memberships(
    created: &mut [UserRecord],
    updated: &mut [UserRecord],
    changes: &[MembershipChange],
    keys: fn(&mut UserRecord) -> &mut Vec<String>,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut clear = Vec::new();
    let mut pairs = Vec::new();
    let replaced = updated.iter_mut().zip(changes).filter(|(_, c)| **c == MembershipChange::Replace).map(|(u, _)| u);
    for user in replaced {
        clear.push(user.username_key.clone());
        let user_key = user.username_key.clone();
        pairs.extend(std::mem::take(keys(user)).into_iter().map(|k| (user_key.clone(), k)));
    }
    for user in created.iter_mut() {
        let user_key = user.username_key.clone();
        pairs.extend(std::mem::take(keys(user)).into_iter().map(|k| (user_key.clone(), k)));
    }
    (clear, pairs)
}

fn sorted_keys(names: &[EntityName]) -> Vec<String> {
    let mut keys: Vec<String> = names.iter().map(|n| n.key().to_owned()).collect();
    keys.sort();
    keys.dedup();
    keys
}

pub(crate) fn fail_row(report: &mut ImportReport, issues: Vec<Issue>) {
    report.counts.failed += 1;
    for issue in issues {
        report.push_issue(issue);
    }
}

impl UserWrites {
    /// The statements of this batch, built here so the writer only has to run them.
    pub fn prepare(mut self, backend: Backend) -> PreparedWrites {
        let (role_clear, role_pairs) = take_memberships(&mut self.created, &mut self.updated, &self.role_changes, |u| &mut u.role_keys);
        let (group_clear, group_pairs) =
            take_memberships(&mut self.created, &mut self.updated, &self.group_changes, |u| &mut u.group_keys);
        let mut prepared = PreparedWrites::new(backend);
        prepared.upsert_named(NamedKind::Department, &self.departments);
        prepared.upsert_named(NamedKind::Group, &self.groups);
        // Users before their memberships: the membership rows refer to them.
        prepared.insert_users(self.created);
        prepared.upsert_users(self.updated);
        prepared.replace_memberships(Membership::Roles, role_clear, role_pairs);
        prepared.replace_memberships(Membership::Groups, group_clear, group_pairs);
        prepared
    }
}

#[cfg(test)]
#[path = "user_import_tests.rs"]
mod tests;
