//! Planning a users sheet, one batch at a time. `look_up` reads the existing users and e-mail
//! owners a batch needs; the planner merges each row into the stored record (a present column is
//! authoritative, an absent one untouched), settles passwords on every core, classifies the row
//! as created, updated or unchanged, and prepares the batch's statements. Unchanged rows cost no
//! write at all, which is what makes a re-import of the same file write nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use muster_credentials::{
    check_imported_hash, hash_passwords, verify_password, PasswordPolicy, PlainPassword,
    Verification, PROVISIONAL,
};
use muster_domain::{
    latin_lookalike, Entity, EntityName, Field, HeaderMap, Patch, Permission, UserRow,
};
use muster_store::{
    Backend, Catalog, Connection, Membership, NamedKind, NamedRecord, PreparedWrites, UserRecord,
};
use rayon::prelude::*;

use crate::access::{Actor, Grants, Own};
use crate::context::{Context, RngRef};
use crate::error::Refusal;
use crate::history::journal::{fingerprint, Change};
use crate::ids::{IdMaker, Stamp};
use crate::import::issue::{Issue, IssueKind, Position};
use crate::import::report::ImportReport;
use crate::import::seen::FileKeys;
use crate::import::source::{field_issue, in_column_order, RowIssue};
use crate::import::warnings::{near_duplicate_of, privileged, Tense, Warning, WarningKind};

/// What the store holds for one batch of user rows, read ahead while the previous batch is
/// planned. It reflects the store before the import: rows of the same file are tracked by the
/// planner itself (keys and e-mails seen, departments and groups created). One consequence is
/// deliberate: an e-mail that one row gives up and a later row of the same file takes is
/// reported as taken, rather than depending on the order in which rows are applied. The default
/// is what an empty directory holds.
#[derive(Default)]
pub(crate) struct Lookup {
    existing: HashMap<String, UserRecord>,
    /// E-mail key → the user holding it, for e-mails that would change hands.
    owners: HashMap<String, String>,
    /// For usernames written partly in look-alike letters of another script: the Latin key they
    /// imitate → the existing user holding it.
    lookalikes: HashMap<String, String>,
}

pub(crate) async fn look_up<'a>(
    conn: &mut Connection,
    users: impl Iterator<Item = &'a UserRow> + Clone,
) -> Result<Lookup, muster_store::StoreError> {
    let keys: Vec<&str> = users.clone().map(|u| u.username.key()).collect();
    let existing: HashMap<String, UserRecord> = muster_store::fetch_users(conn, &keys)
        .await?
        .into_iter()
        .map(|u| (u.username_key.clone(), u))
        .collect();
    // Only an e-mail that differs from the user's own current one can collide with another
    // user's; skipping the rest keeps a re-import from looking up a million owners.
    let email_keys: Vec<&str> = users
        .filter_map(|u| match &u.email {
            Patch::Set(Some(email)) => Some((u.username.key(), email.key())),
            _ => None,
        })
        .filter(|(user, email)| {
            existing
                .get(*user)
                .is_none_or(|u| u.email_key.as_deref() != Some(*email))
        })
        .map(|(_, email)| email)
        .collect();
    let owners = muster_store::email_owners(conn, &email_keys).await?;
    // Only keys with non-ASCII letters can imitate another script, so most batches skip this.
    let imitated: Vec<String> = keys
        .iter()
        .filter(|k| !k.is_ascii())
        .filter_map(|k| latin_lookalike(k))
        .collect();
    let imitated: Vec<&str> = imitated.iter().map(String::as_str).collect();
    let lookalikes = if imitated.is_empty() {
        HashMap::new()
    } else {
        muster_store::fetch_users(conn, &imitated)
            .await?
            .into_iter()
            .map(|u| (u.username_key, u.username))
            .collect()
    };
    Ok(Lookup {
        existing,
        owners,
        lookalikes,
    })
}

pub(crate) struct UserPlanner {
    sheet: String,
    map: HeaderMap,
    create_only: bool,
    create_groups: bool,
    now: i64,
    /// Gives each user, department and group this sheet creates its id.
    ids: IdMaker,
    /// Who imports: every row is checked against their permissions.
    actor: Actor,
    /// What each role and group would grant beyond the actor, worked out once per sheet.
    /// Boxed like `created_here`: the planner sits in an enum beside the catalog planner.
    grants: Box<Grants>,
    catalog: Catalog,
    usernames: FileKeys,
    emails: FileKeys,
    /// Departments and groups the file names that do not exist yet, with the row naming them first.
    new_departments: Vec<(u64, NamedRecord)>,
    new_groups: Vec<(u64, NamedRecord)>,
    /// Key → name of the departments and groups this sheet creates, for the warning that every
    /// row naming one of them counts into.
    /// Boxed: the planner sits in an enum beside the smaller catalog planner.
    created_here: Box<CreatedHere>,
    policy: PasswordPolicy,
    /// A preview keeps the whole image of each created user, so the plan can be applied later
    /// without the file; an import applied at once keeps only its fingerprint.
    keep_images: bool,
    warnings: Vec<Warning>,
    /// Role key → (display name, privileged permissions) for the roles that hold any: worked out
    /// once, because every row granting a role is checked against it.
    privileged_roles: HashMap<String, (String, Vec<Permission>)>,
}

/// Keys of the departments and groups this file created (their names are in the catalog), so
/// that later rows naming them count into the same warning.
#[derive(Default)]
struct CreatedHere {
    departments: HashSet<String>,
    groups: HashSet<String>,
}

/// The catalog entries a users sheet names and creates when missing.
#[derive(Clone, Copy)]
enum Named {
    Department,
    Group,
}

impl Named {
    fn field(self) -> Field {
        match self {
            Named::Department => Field::Department,
            Named::Group => Field::Groups,
        }
    }

    fn entity(self) -> Entity {
        match self {
            Named::Department => Entity::Departments,
            Named::Group => Entity::Groups,
        }
    }

    fn created(self, name: String) -> WarningKind {
        let tense = Tense::Planned;
        match self {
            Named::Department => WarningKind::NewDepartment { name, tense },
            Named::Group => WarningKind::NewGroup { name, tense },
        }
    }
}

/// A row that passed every check, waiting for its password to be settled.
struct Candidate {
    row: u64,
    record: UserRecord,
    existing: Option<UserRecord>,
    password: Option<PlainPassword>,
    /// The row carried a password or a hash (the archived file does not keep it).
    secret: bool,
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
    pub fn new(
        sheet: String,
        map: HeaderMap,
        catalog: Catalog,
        create_only: bool,
        create_groups: bool,
        stamp: Stamp,
        keep_images: bool,
    ) -> Self {
        let Stamp { now, ids, actor } = stamp;
        let grants = Box::new(Grants::new(&actor, &catalog));
        let privileged_roles = privileged_roles(&catalog);
        UserPlanner {
            sheet,
            map,
            create_only,
            create_groups,
            now,
            ids,
            actor,
            grants,
            catalog,
            usernames: FileKeys::default(),
            emails: FileKeys::default(),
            new_departments: Vec::new(),
            new_groups: Vec::new(),
            created_here: Box::default(),
            policy: PasswordPolicy::default(),
            keep_images,
            warnings: Vec::new(),
            privileged_roles,
        }
    }

    /// The catalog as this sheet leaves it, for the sheet after it.
    pub fn into_catalog(self) -> Catalog {
        self.catalog
    }

    /// Checks and plans one batch against what `look_up` found; returns what it would write.
    /// Issues go into the report.
    pub fn plan(
        &mut self,
        rows: impl IntoIterator<Item = (u64, UserRow, Vec<RowIssue>)>,
        mut lookup: Lookup,
        report: &mut ImportReport,
        ctx: &Context,
    ) -> UserWrites {
        let mut candidates = Vec::new();
        for (row, user, cell_issues) in rows {
            let old = lookup.existing.remove(user.username.key());
            let secret = user.password.is_some() || user.password_hash.is_some();
            match self.check_row(row, user, old, &lookup.owners, secret, cell_issues) {
                // Settled at once when nothing changed and no password needs checking: most rows
                // of a re-import, which then cost no further moves.
                Ok(c) if c.password.is_none() && c.unchanged() => {
                    report.unchanged_row(row, &c.record.username_key)
                }
                Ok(candidate) => candidates.push(candidate),
                Err(issues) => report.fail_row(row, secret, issues),
            }
        }
        let candidates = self.settle_passwords(candidates, report, ctx);
        let writes = self.classify(candidates, report, &lookup.lookalikes);
        for warning in self.warnings.drain(..) {
            report.push_warning(warning);
        }
        writes
    }

    /// An issue on `field`'s column, with that column's number for ordering the row's issues.
    fn issue(&self, row: u64, field: Field, kind: IssueKind) -> RowIssue {
        let absent = Some(field.header().to_owned());
        field_issue(&self.sheet, row, &self.map, field, kind, absent)
    }

    fn position(&self, row: u64, field: Field) -> Position {
        let column = match self.map.column(field) {
            Some(column) => self.map.header_text(column).to_owned(),
            None => field.header().to_owned(),
        };
        Position {
            sheet: self.sheet.clone(),
            row,
            column: Some(column),
        }
    }

    fn warn(&mut self, row: u64, field: Field, kind: WarningKind) {
        let position = self.position(row, field);
        self.warnings.push(Warning::new(position, kind));
    }

    /// Runs every check on the fields of the row that parsed, also when some of its cells
    /// failed (`cell_issues`), so the row reports all of its problems at once, in column order.
    fn check_row(
        &mut self,
        row: u64,
        user: UserRow,
        existing: Option<UserRecord>,
        owners: &HashMap<String, String>,
        secret: bool,
        cell_issues: Vec<RowIssue>,
    ) -> Result<Candidate, Vec<Issue>> {
        let name_failed = self
            .map
            .column(Field::Name)
            .is_some_and(|c| cell_issues.iter().any(|(column, _)| *column == c));
        let mut issues = cell_issues;
        let key = user.username.key();
        if let Some(first_row) = self.usernames.first_seen(key, row) {
            issues.push(self.issue(
                row,
                Field::Username,
                IssueKind::DuplicateKey {
                    key: user.username.as_str().to_owned(),
                    first_row,
                },
            ));
        }
        if self.create_only && existing.is_some() {
            issues.push(self.issue(
                row,
                Field::Username,
                IssueKind::AlreadyExists {
                    name: user.username.as_str().to_owned(),
                },
            ));
        }
        if existing.is_none() && matches!(user.name, Patch::Keep) && !name_failed {
            issues.push(self.issue(row, Field::Name, IssueKind::NameRequired));
        }
        if let Patch::Set(Some(email)) = &user.email {
            if let Some(first_row) = self.emails.first_seen(email.key(), row) {
                issues.push(self.issue(
                    row,
                    Field::Email,
                    IssueKind::DuplicateEmail {
                        email: email.as_str().to_owned(),
                        first_row,
                    },
                ));
            } else if let Some(owner) = owners
                .get(email.key())
                .filter(|owner| owner.as_str() != key)
            {
                issues.push(self.issue(
                    row,
                    Field::Email,
                    IssueKind::EmailTaken {
                        email: email.as_str().to_owned(),
                        owner: owner.clone(),
                    },
                ));
            }
        }
        if let Patch::Set(roles) = &user.roles {
            for role in roles
                .iter()
                .filter(|r| !self.catalog.roles.contains_key(r.key()))
            {
                issues.push(self.issue(
                    row,
                    Field::Roles,
                    IssueKind::UnknownRole {
                        name: role.as_str().to_owned(),
                    },
                ));
            }
        }
        if let Patch::Set(groups) = &user.groups {
            if !self.create_groups {
                for group in groups
                    .iter()
                    .filter(|g| !self.catalog.groups.contains_key(g.key()))
                {
                    issues.push(self.issue(
                        row,
                        Field::Groups,
                        IssueKind::UnknownGroup {
                            name: group.as_str().to_owned(),
                        },
                    ));
                }
            }
        }
        let secrets = self.check_secrets(row, &user, &mut issues);
        if !issues.is_empty() {
            return Err(in_column_order(issues));
        }
        let mut record = self.merge(&user, existing.as_ref());
        self.check_access(row, &user, &record, existing.as_ref(), secret, &mut issues);
        if !issues.is_empty() {
            return Err(in_column_order(issues));
        }
        self.note_new_names(row, &user);
        if let Some(hash) = secrets.imported_hash {
            record.password_hash = hash;
        }
        Ok(Candidate {
            row,
            record,
            existing,
            password: secrets.password,
            secret,
        })
    }

    /// Checks a plaintext password against the policy, or an imported hash against the accepted
    /// schemes; the hash is stored as it is, the plaintext is returned to be hashed in bulk.
    fn check_secrets(&self, row: u64, user: &UserRow, issues: &mut Vec<RowIssue>) -> Secrets {
        let mut secrets = Secrets {
            password: None,
            imported_hash: None,
        };
        if let Some(secret) = &user.password {
            let password = PlainPassword::new(secret.expose().to_owned());
            match self.policy.check(&password, user.username.as_str()) {
                Ok(()) => secrets.password = Some(password),
                Err(violation) => issues.push(self.issue(
                    row,
                    Field::Password,
                    IssueKind::Password { detail: violation },
                )),
            }
        }
        if let Some(secret) = &user.password_hash {
            match check_imported_hash(secret.expose()) {
                Ok(imported) => secrets.imported_hash = Some(imported.stored),
                Err(rejection) => issues.push(self.issue(
                    row,
                    Field::PasswordHash,
                    IssueKind::PasswordHash { detail: rejection },
                )),
            }
        }
        secrets
    }

    /// The permission checks of SPEC §5 on a row whose fields are valid: writing users at all,
    /// secrets and `Ignore MFA` (`users.credentials`), departments and groups the row would
    /// create, roles and groups it newly grants (no escalation, directly or through a group),
    /// and the actor's own access, which nobody changes through an import.
    fn check_access(
        &self,
        row: u64,
        user: &UserRow,
        record: &UserRecord,
        existing: Option<&UserRecord>,
        secret: bool,
        issues: &mut Vec<RowIssue>,
    ) {
        let actor = &self.actor;
        let mut refuse = |field: Field, refusal: Refusal| {
            issues.push(self.issue(row, field, IssueKind::Forbidden { detail: refusal }));
        };
        let lacks = |permission: Permission| Refusal::Lacks {
            permission,
            actor: actor.name(),
        };
        // Each check asks the cheap question first: this runs for every row of a million-row
        // import, where an actor usually holds the permissions and nothing needs comparing.
        if !actor.holds(Permission::UsersWrite) && existing != Some(record) {
            refuse(Field::Username, lacks(Permission::UsersWrite));
        }
        let mfa_changes = record.ignore_mfa != existing.is_some_and(|e| e.ignore_mfa);
        if !actor.holds(Permission::UsersCredentials) {
            if secret {
                let field = if user.password.is_some() {
                    Field::Password
                } else {
                    Field::PasswordHash
                };
                refuse(field, lacks(Permission::UsersCredentials));
            }
            if mfa_changes {
                refuse(Field::IgnoreMfa, lacks(Permission::UsersCredentials));
            }
        }
        let creates_department = || {
            record
                .department_key
                .as_ref()
                .is_some_and(|d| !self.catalog.departments.contains_key(d))
        };
        if !actor.holds(Permission::DepartmentsWrite) && creates_department() {
            refuse(Field::Department, lacks(Permission::DepartmentsWrite));
        }
        let creates_group = || {
            record
                .group_keys
                .iter()
                .any(|g| !self.catalog.groups.contains_key(g))
        };
        if !actor.holds(Permission::GroupsWrite) && creates_group() {
            refuse(Field::Groups, lacks(Permission::GroupsWrite));
        }
        let none = Vec::new();
        let (old_roles, old_groups) =
            existing.map_or((&none, &none), |e| (&e.role_keys, &e.group_keys));
        if actor.is_user(&record.username_key) {
            if *old_roles != record.role_keys {
                refuse(Field::Roles, Refusal::OwnRecord { what: Own::Roles });
            }
            if *old_groups != record.group_keys {
                refuse(Field::Groups, Refusal::OwnRecord { what: Own::Groups });
            }
            if secret {
                refuse(
                    Field::Password,
                    Refusal::OwnRecord {
                        what: Own::Password,
                    },
                );
            }
            if mfa_changes {
                refuse(Field::IgnoreMfa, Refusal::OwnRecord { what: Own::Mfa });
            }
        }
        // Roles and groups are refused each at its own cell.
        if let Some(escalation) = self
            .grants
            .check(old_roles, &record.role_keys, &none, &none)
        {
            refuse(Field::Roles, Refusal::Escalation(escalation));
        }
        if let Some(escalation) = self
            .grants
            .check(&none, &none, old_groups, &record.group_keys)
        {
            refuse(Field::Groups, Refusal::Escalation(escalation));
        }
    }

    /// Notes the departments and groups a valid row names that do not exist yet, for creation.
    fn note_new_names(&mut self, row: u64, user: &UserRow) {
        if let Patch::Set(Some(department)) = &user.department {
            self.ensure_named(Named::Department, row, department);
        }
        if let Patch::Set(groups) = &user.groups {
            for group in groups {
                self.ensure_named(Named::Group, row, group);
            }
        }
    }

    /// The stored record after this row: the existing one (or a new one) with every present
    /// column applied.
    fn merge(&mut self, user: &UserRow, existing: Option<&UserRecord>) -> UserRecord {
        let mut record = existing.cloned().unwrap_or_else(|| self.new_record(user));
        if let Patch::Set(name) = &user.name {
            record.name = name.as_str().to_owned();
        }
        if let Patch::Set(department) = &user.department {
            record.department_key = department.as_ref().map(|d| d.key().to_owned());
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
            record.group_keys = sorted_keys(groups);
        }
        record
    }

    fn new_record(&mut self, user: &UserRow) -> UserRecord {
        UserRecord {
            id: self.ids.next_id(),
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

    /// Every row naming a department or group this file creates gets the warning; the report
    /// counts them as one warning of so many rows. A name that exists neither in the store nor
    /// in the file so far is created here, with a warning when it looks like an existing one.
    fn ensure_named(&mut self, which: Named, row: u64, name: &EntityName) {
        let key = name.key();
        let (catalog, created_here) = self.named_sets(which);
        if created_here.contains(key) {
            let created = catalog[key].name.clone();
            self.warn(row, which.field(), which.created(created));
            return;
        }
        if catalog.contains_key(key) {
            return;
        }
        let similar = near_duplicate_of(name.as_str(), catalog.values().map(|r| r.name.as_str()));
        let record = self.named(name);
        let (catalog, created_here) = self.named_sets(which);
        catalog.insert(record.name_key.clone(), record.clone());
        created_here.insert(key.to_owned());
        match which {
            Named::Department => self.new_departments.push((row, record)),
            Named::Group => self.new_groups.push((row, record)),
        }
        self.warn(row, which.field(), which.created(name.as_str().to_owned()));
        if let Some(existing) = similar {
            let kind = WarningKind::NearDuplicate {
                entity: which.entity(),
                name: name.as_str().to_owned(),
                existing,
            };
            self.warn(row, which.field(), kind);
        }
    }

    /// The catalog entries of one kind and the keys of those this file created.
    fn named_sets(
        &mut self,
        which: Named,
    ) -> (&mut BTreeMap<String, NamedRecord>, &mut HashSet<String>) {
        match which {
            Named::Department => (
                &mut self.catalog.departments,
                &mut self.created_here.departments,
            ),
            Named::Group => (&mut self.catalog.groups, &mut self.created_here.groups),
        }
    }

    fn named(&mut self, name: &EntityName) -> NamedRecord {
        NamedRecord {
            id: self.ids.next_id(),
            name_key: name.key().to_owned(),
            name: name.as_str().to_owned(),
            description: String::new(),
            created_at: self.now,
            updated_at: self.now,
        }
    }

    /// A plaintext that already matches the stored hash keeps it (so a re-import is unchanged);
    /// every other plaintext is hashed with argon2id. Both run on every core.
    fn settle_passwords(
        &self,
        mut candidates: Vec<Candidate>,
        report: &mut ImportReport,
        ctx: &Context,
    ) -> Vec<Candidate> {
        // Most large files carry no passwords; waking the thread pool for nothing would take
        // the other core from the database.
        if candidates.iter().all(|c| c.password.is_none()) {
            return candidates;
        }
        let matches: Vec<bool> = candidates
            .par_iter()
            .map(|c| match (&c.password, &c.existing) {
                (Some(password), Some(old)) => {
                    matches!(
                        verify_password(&old.password_hash, password),
                        Ok(Verification::Match {
                            needs_rehash: false
                        })
                    )
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
        let passwords: Vec<&PlainPassword> = pending
            .iter()
            .filter_map(|&i| candidates[i].password.as_ref())
            .collect();
        let hashed = {
            let mut rng = ctx
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
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
                let failed: Vec<Candidate> = pending
                    .iter()
                    .rev()
                    .map(|&i| candidates.remove(i))
                    .collect();
                for candidate in failed {
                    let (_, issue) = self.issue(
                        candidate.row,
                        Field::Password,
                        IssueKind::Hashing {
                            reason: error.to_string(),
                        },
                    );
                    report.fail_row(candidate.row, candidate.secret, vec![issue]);
                }
                candidates
            }
        }
    }

    fn classify(
        &mut self,
        candidates: Vec<Candidate>,
        report: &mut ImportReport,
        lookalikes: &HashMap<String, String>,
    ) -> UserWrites {
        let mut writes = UserWrites::default();
        for (row, department) in std::mem::take(&mut self.new_departments) {
            report.departments_created.push(department.name.clone());
            report.log.changes.push(Change::Department {
                row,
                before: None,
                after: department.clone(),
            });
            writes.departments.push(department);
        }
        for (row, group) in std::mem::take(&mut self.new_groups) {
            report.groups_created.push(group.name.clone());
            report.log.changes.push(Change::Group {
                row,
                before: None,
                after: group.clone(),
            });
            writes.groups.push(group);
        }
        for candidate in candidates {
            if candidate.unchanged() {
                report.unchanged_row(candidate.row, &candidate.record.username_key);
                continue;
            }
            let Candidate {
                row,
                mut record,
                existing,
                ..
            } = candidate;
            self.warn_privileged(row, &record, existing.as_ref());
            match existing {
                Some(old) => {
                    report.counts.updated += 1;
                    record.updated_at = self.now;
                    writes
                        .role_changes
                        .push(MembershipChange::of(&record.role_keys, &old.role_keys));
                    writes
                        .group_changes
                        .push(MembershipChange::of(&record.group_keys, &old.group_keys));
                    let fp = fingerprint(&record);
                    report.log.changes.push(Change::User {
                        row,
                        key: record.username_key.clone(),
                        id: record.id.clone(),
                        before: Some(old),
                        after: Some(record.clone()),
                        fp,
                    });
                    writes.updated.push(record);
                }
                None => {
                    report.counts.created += 1;
                    self.warn_confusable(row, &record, lookalikes);
                    let fp = fingerprint(&record);
                    let after = self.keep_images.then(|| record.clone());
                    report.log.changes.push(Change::User {
                        row,
                        key: record.username_key.clone(),
                        id: record.id.clone(),
                        before: None,
                        after,
                        fp,
                    });
                    writes.created.push(record);
                }
            }
        }
        writes
    }

    /// Warns about each role a row newly grants that holds a privileged permission.
    fn warn_privileged(&mut self, row: u64, record: &UserRecord, old: Option<&UserRecord>) {
        for role in &record.role_keys {
            if old.is_some_and(|o| o.role_keys.contains(role)) {
                continue;
            }
            if let Some((name, permissions)) = self.privileged_roles.get(role) {
                let kind = WarningKind::PrivilegedRole {
                    role: name.clone(),
                    permissions: permissions.clone(),
                };
                self.warn(row, Field::Roles, kind);
            }
        }
    }

    /// Warns when a new username imitates an existing one (or one earlier in the file) with
    /// letters of another script.
    fn warn_confusable(
        &mut self,
        row: u64,
        record: &UserRecord,
        lookalikes: &HashMap<String, String>,
    ) {
        if record.username_key.is_ascii() {
            return;
        }
        let Some(imitated) = latin_lookalike(&record.username_key) else {
            return;
        };
        let existing = lookalikes
            .get(&imitated)
            .cloned()
            .or_else(|| self.usernames.row_of(&imitated).map(|_| imitated.clone()));
        if let Some(existing) = existing {
            self.warn(
                row,
                Field::Username,
                WarningKind::Confusable {
                    username: record.username.clone(),
                    existing,
                },
            );
        }
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
        if old == new {
            MembershipChange::Unchanged
        } else {
            MembershipChange::Replace
        }
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
    let replaced = updated
        .iter_mut()
        .zip(changes)
        .filter(|(_, c)| **c == MembershipChange::Replace)
        .map(|(u, _)| u);
    for user in replaced {
        clear.push(user.username_key.clone());
        let user_key = user.username_key.clone();
        pairs.extend(
            std::mem::take(keys(user))
                .into_iter()
                .map(|k| (user_key.clone(), k)),
        );
    }
    for user in created.iter_mut() {
        let user_key = user.username_key.clone();
        pairs.extend(
            std::mem::take(keys(user))
                .into_iter()
                .map(|k| (user_key.clone(), k)),
        );
    }
    (clear, pairs)
}

/// The roles of the catalog that hold a privileged permission, with those permissions.
fn privileged_roles(catalog: &Catalog) -> HashMap<String, (String, Vec<Permission>)> {
    catalog
        .roles
        .iter()
        .map(|(key, role)| {
            (
                key.clone(),
                (role.named.name.clone(), privileged(&role.permissions)),
            )
        })
        .filter(|(_, (_, permissions))| !permissions.is_empty())
        .collect()
}

fn sorted_keys(names: &[EntityName]) -> Vec<String> {
    let mut keys: Vec<String> = names.iter().map(|n| n.key().to_owned()).collect();
    keys.sort();
    keys.dedup();
    keys
}

impl UserWrites {
    /// The writes of a stored plan's users and the departments and groups it creates: new users
    /// inserted, changed users rewritten from their after images (memberships only where they
    /// changed).
    pub(crate) fn from_plan(
        created: Vec<UserRecord>,
        updated: Vec<(UserRecord, UserRecord)>,
        departments: Vec<NamedRecord>,
        groups: Vec<NamedRecord>,
    ) -> UserWrites {
        let mut writes = UserWrites {
            departments,
            groups,
            created,
            ..UserWrites::default()
        };
        for (before, after) in updated {
            writes
                .role_changes
                .push(MembershipChange::of(&after.role_keys, &before.role_keys));
            writes
                .group_changes
                .push(MembershipChange::of(&after.group_keys, &before.group_keys));
            writes.updated.push(after);
        }
        writes
    }

    /// The statements of this batch, built here so the writer only has to run them.
    pub fn prepare(mut self, backend: Backend) -> PreparedWrites {
        let (role_clear, role_pairs) = take_memberships(
            &mut self.created,
            &mut self.updated,
            &self.role_changes,
            |u| &mut u.role_keys,
        );
        let (group_clear, group_pairs) = take_memberships(
            &mut self.created,
            &mut self.updated,
            &self.group_changes,
            |u| &mut u.group_keys,
        );
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
#[path = "users_tests.rs"]
mod tests;
