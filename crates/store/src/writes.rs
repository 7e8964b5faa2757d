//! Every write of muster, prepared ahead of execution. A `PreparedWrites` holds finished
//! statements with owned arguments; building them (placing a million users' fields into
//! arguments) happens on the caller's thread, and `execute` only hands them to the database. An
//! import builds batch N+1 while the task holding its transaction executes batch N: with sqlx's
//! `Any` driver the argument handling is as long as SQLite's own work, so this overlap is what
//! keeps the writer, an import's critical path, busy with database work only.

use sqlx::any::AnyArguments;
use sqlx::{Arguments, Encode, Type};

use crate::catalog::NamedKind;
use crate::history::CatalogTable;
use crate::records::{NamedRecord, RoleRecord, UserRecord};
use crate::sql::{placeholders, rows_per_statement, values_list, Placeholders};
use crate::users::{Membership, USER_COLUMNS, USER_COLUMN_COUNT};
use crate::{Backend, Connection, Result};

struct Statement {
    sql: String,
    args: AnyArguments<'static>,
}

/// Statements to run in order, inside the caller's transaction.
pub struct PreparedWrites {
    style: Placeholders,
    statements: Vec<Statement>,
}

/// Keys per `DELETE … IN (...)`.
const KEYS_PER_DELETE: usize = 1_000;

impl PreparedWrites {
    pub fn new(backend: Backend) -> PreparedWrites {
        PreparedWrites {
            style: Placeholders::for_backend(backend),
            statements: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The `n`th placeholder of a statement in this backend's style.
    pub(crate) fn placeholder(&self, n: usize) -> String {
        placeholders(self.style, n, 1)
    }

    pub(crate) fn push(&mut self, sql: String, args: AnyArguments<'static>) {
        self.statements.push(Statement { sql, args });
    }

    /// Appends another batch's statements after these.
    pub fn append(&mut self, other: PreparedWrites) {
        self.statements.extend(other.statements);
    }

    /// Runs the statements in order on `conn` (normally inside a transaction).
    pub async fn execute(self, conn: &mut Connection) -> Result<()> {
        for statement in self.statements {
            sqlx::query_with(&statement.sql, statement.args)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Creates or updates departments or groups by name key (the key never changes).
    pub fn upsert_named(&mut self, kind: NamedKind, records: &[NamedRecord]) {
        self.upsert_named_in(kind.table(), records.iter());
    }

    fn upsert_named_in<'a>(&mut self, table: &str, records: impl Iterator<Item = &'a NamedRecord>) {
        let records: Vec<&NamedRecord> = records.collect();
        for chunk in records.chunks(rows_per_statement(6)) {
            let sql = format!(
                "INSERT INTO {table} (name_key, name, description, created_at, updated_at, id) VALUES {} \
                 ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, \
                 description = excluded.description, updated_at = excluded.updated_at, \
                 version = {table}.version + 1",
                values_list(self.style, chunk.len(), 6)
            );
            let mut args = AnyArguments::default();
            for r in chunk {
                add(&mut args, r.name_key.clone());
                add(&mut args, r.name.clone());
                add(&mut args, r.description.clone());
                add(&mut args, r.created_at);
                add(&mut args, r.updated_at);
                add(&mut args, r.id.clone());
            }
            self.statements.push(Statement { sql, args });
        }
    }

    /// Creates or updates roles and replaces their permission sets.
    pub fn upsert_roles(&mut self, roles: &[RoleRecord]) {
        self.upsert_named_in("roles", roles.iter().map(|r| &r.named));
        let keys: Vec<String> = roles.iter().map(|r| r.named.name_key.clone()).collect();
        self.delete_in("role_permissions", "role_key", &keys);
        let grants: Vec<(String, String)> = roles
            .iter()
            .flat_map(|r| {
                r.permissions
                    .iter()
                    .map(move |p| (r.named.name_key.clone(), p.clone()))
            })
            .collect();
        self.insert_pairs("role_permissions", "role_key", "permission", grants);
    }

    /// Creates users that do not exist yet (memberships are written separately). A plain INSERT:
    /// an upsert would first probe every unique index for a conflict, which doubled the B-tree
    /// work of a large first import.
    pub fn insert_users(&mut self, users: Vec<UserRecord>) {
        self.write_users(users, "");
    }

    /// Updates existing users: every column an import sets (memberships are written
    /// separately). `created_at` and `last_login_at` are kept: an import never changes them.
    pub fn upsert_users(&mut self, users: Vec<UserRecord>) {
        // An import never changes them; the id never changes at all.
        let kept = ["username_key", "created_at", "last_login_at", "id"];
        self.write_users(users, &on_conflict_update(&kept));
    }

    /// Puts users back exactly as they were, `created_at` and `last_login_at` included, with
    /// their memberships (a revert restoring the image an import saved before changing them).
    pub fn restore_users(&mut self, mut users: Vec<UserRecord>) {
        let keys: Vec<String> = users.iter().map(|u| u.username_key.clone()).collect();
        let mut roles = Vec::new();
        let mut groups = Vec::new();
        for user in &mut users {
            roles.extend(
                std::mem::take(&mut user.role_keys)
                    .into_iter()
                    .map(|k| (user.username_key.clone(), k)),
            );
            groups.extend(
                std::mem::take(&mut user.group_keys)
                    .into_iter()
                    .map(|k| (user.username_key.clone(), k)),
            );
        }
        self.write_users(users, &on_conflict_update(&["username_key", "id"]));
        self.replace_memberships(Membership::Roles, keys.clone(), roles);
        self.replace_memberships(Membership::Groups, keys, groups);
    }

    /// Gives users back an earlier key (old key → new key), with their memberships (an MFA
    /// enrolment follows the id, which no rename changes): a revert restoring a user renamed
    /// since the import. The user moves first, so
    /// on a connection that enforces foreign keys the references follow by ON UPDATE CASCADE
    /// and the explicit updates after it find nothing; on the self-checking connection they
    /// move the references themselves.
    pub fn rekey_users(&mut self, moves: Vec<(String, String)>) {
        for table in ["users", "user_roles", "group_members"] {
            for (from, to) in &moves {
                let sql = format!(
                    "UPDATE {table} SET username_key = {} WHERE username_key = {}",
                    self.placeholder(1),
                    self.placeholder(2)
                );
                let mut args = AnyArguments::default();
                add(&mut args, to.clone());
                add(&mut args, from.clone());
                self.statements.push(Statement { sql, args });
            }
        }
    }

    /// Deletes users by key with their memberships and MFA enrolments, explicitly rather than by
    /// ON DELETE CASCADE (one statement per thousand users instead of SQLite's per-row cascade
    /// programs), so it is correct on a connection without foreign-key enforcement too.
    /// `mfa: false` says that no user is enrolled (`any_mfa_enrolment` in the same
    /// transaction), which spares a statement per thousand users that would find nothing.
    pub fn delete_users(&mut self, keys: Vec<String>, mfa: bool) {
        if mfa {
            self.delete_matching(&keys, |list| {
                format!("DELETE FROM user_mfa WHERE user_id IN (SELECT id FROM users WHERE username_key IN ({list}))")
            });
        }
        for (table, _) in [
            Membership::Roles.table_and_column(),
            Membership::Groups.table_and_column(),
        ] {
            self.delete_in(table, "username_key", &keys);
        }
        self.delete_in("users", "username_key", &keys);
    }

    /// Deletes departments, groups or roles by key, a role with its grants. The caller makes
    /// sure nothing uses them any more (no cascade is relied on: see
    /// `Store::acquire_self_checking`).
    pub fn delete_catalog(&mut self, table: CatalogTable, keys: Vec<String>) {
        if table == CatalogTable::Roles {
            self.delete_in("role_permissions", "role_key", &keys);
        }
        if table == CatalogTable::Groups {
            self.delete_in("group_roles", "group_key", &keys);
        }
        self.delete_in(table.table(), "name_key", &keys);
    }

    /// The records are consumed: their strings move into the arguments instead of being copied.
    fn write_users(&mut self, users: Vec<UserRecord>, on_conflict: &str) {
        let per_statement = rows_per_statement(USER_COLUMN_COUNT);
        let mut users = users.into_iter().peekable();
        while users.peek().is_some() {
            let chunk: Vec<UserRecord> = users.by_ref().take(per_statement).collect();
            let sql = format!(
                "INSERT INTO users ({}) VALUES {}{on_conflict}",
                USER_COLUMNS.join(", "),
                values_list(self.style, chunk.len(), USER_COLUMN_COUNT)
            );
            let mut args = AnyArguments::default();
            for u in chunk {
                add(&mut args, u.username_key);
                add(&mut args, u.username);
                add(&mut args, u.name);
                add(&mut args, u.email);
                add(&mut args, u.email_key);
                add(&mut args, u.phone);
                add(&mut args, u.department_key);
                add(&mut args, i64::from(u.active));
                add(&mut args, i64::from(u.ignore_mfa));
                add(&mut args, u.locale);
                add(&mut args, u.timezone);
                add(&mut args, u.password_hash);
                add(&mut args, u.created_at);
                add(&mut args, u.updated_at);
                add(&mut args, u.last_login_at);
                add(&mut args, u.id);
            }
            self.statements.push(Statement { sql, args });
        }
    }

    /// Replaces the memberships of the users in `clear` and inserts `pairs` (user key, role or
    /// group key). New users need no delete: pass them in `pairs` only.
    pub fn replace_memberships(
        &mut self,
        kind: Membership,
        clear: Vec<String>,
        pairs: Vec<(String, String)>,
    ) {
        let (table, column) = kind.table_and_column();
        self.delete_in(table, "username_key", &clear);
        self.insert_pairs(table, "username_key", column, pairs);
    }

    fn delete_in(&mut self, table: &str, column: &str, keys: &[String]) {
        self.delete_matching(keys, |list| {
            format!("DELETE FROM {table} WHERE {column} IN ({list})")
        });
    }

    /// One delete per thousand keys; `sql` makes each statement from its `IN` list.
    fn delete_matching(&mut self, keys: &[String], sql: impl Fn(&str) -> String) {
        for chunk in keys.chunks(KEYS_PER_DELETE) {
            let sql = sql(&placeholders(self.style, 1, chunk.len()));
            let mut args = AnyArguments::default();
            for key in chunk {
                add(&mut args, key.clone());
            }
            self.statements.push(Statement { sql, args });
        }
    }

    fn insert_pairs(
        &mut self,
        table: &str,
        first: &str,
        second: &str,
        pairs: Vec<(String, String)>,
    ) {
        let per_statement = rows_per_statement(2);
        let mut pairs = pairs.into_iter().peekable();
        while pairs.peek().is_some() {
            let chunk: Vec<(String, String)> = pairs.by_ref().take(per_statement).collect();
            let sql = format!(
                "INSERT INTO {table} ({first}, {second}) VALUES {}",
                values_list(self.style, chunk.len(), 2)
            );
            let mut args = AnyArguments::default();
            for (a, b) in chunk {
                add(&mut args, a);
                add(&mut args, b);
            }
            self.statements.push(Statement { sql, args });
        }
    }
}

/// The `ON CONFLICT` clause of a users upsert that sets every column but `kept`.
fn on_conflict_update(kept: &[&str]) -> String {
    let set: Vec<String> = USER_COLUMNS
        .iter()
        .filter(|c| !kept.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    // Every write that reaches an existing user changes it (unchanged rows are never written),
    // so each one counts as a new version.
    format!(
        " ON CONFLICT (username_key) DO UPDATE SET {}, version = users.version + 1",
        set.join(", ")
    )
}

/// Adds an owned value, so the driver has nothing left to copy when the statement runs.
pub(crate) fn add<T>(args: &mut AnyArguments<'static>, value: T)
where
    T: 'static + Encode<'static, sqlx::Any> + Type<sqlx::Any>,
{
    // Encoding text, integers and their Options into `Any` arguments cannot fail; sqlx's
    // signature allows it only for types that validate their value.
    let _ = args.add(value);
}
