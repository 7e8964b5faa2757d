//! Warnings of a preview (SPEC §3.1): things an administrator should look at before applying,
//! which do not stop the import. Like issues they are data — a position and a kind — plus the
//! number of rows that gave the same warning: a name that 600 rows use is one warning, at its
//! first row, not 600 lines saying the same thing.

use muster_domain::{near_duplicate, Entity, Permission};
use serde::{Deserialize, Serialize, Serializer};

use crate::import::issue::{Coded, Position, Shown};
use crate::import::report::ImportStatus;

/// Permissions whose grant deserves a second look: they let the holder change accounts, roles
/// or credentials (SPEC §3.1 "rows that grant privileged roles").
pub(crate) const PRIVILEGED: [Permission; 3] = [
    Permission::UsersWrite,
    Permission::RolesWrite,
    Permission::UsersCredentials,
];

/// Something to look at before applying; it does not stop the row. It serialises as one object,
/// `{sheet, row, column, code, <parameters>, message, count}` (see `issue`): `row` is the first
/// row that gave it and `count` the number of rows that did.
#[derive(Debug)]
pub struct Warning {
    pub position: Position,
    pub kind: WarningKind,
    /// Rows that gave this same warning (at least 1).
    pub count: u64,
}

impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Counted<'a> {
            #[serde(flatten)]
            shown: Shown<&'a Position, &'a WarningKind>,
            count: u64,
        }
        Counted {
            shown: Shown {
                place: &self.position,
                kind: &self.kind,
                message: self.kind.to_string(),
            },
            count: self.count,
        }
        .serialize(serializer)
    }
}

impl Warning {
    pub(crate) fn new(position: Position, kind: WarningKind) -> Warning {
        Warning {
            position,
            kind,
            count: 1,
        }
    }

    /// What makes two warnings the same one: the place (sheet and column, not the row) and
    /// the kind with its values. Borrowed, so comparing a row's warning with the ones already
    /// given neither copies nor formats anything.
    pub(crate) fn identity(&self) -> (&str, Option<&str>, &WarningKind) {
        (
            &self.position.sheet,
            self.position.column.as_deref(),
            &self.kind,
        )
    }

    /// Whether the import's "departments created" / "groups created" summary already says
    /// what this warning says.
    pub fn is_creation(&self) -> bool {
        matches!(
            self.kind,
            WarningKind::NewDepartment { .. } | WarningKind::NewGroup { .. }
        )
    }
}

/// "sheet, row N, column C: message", and for a warning of several rows
/// "sheet, column C: message (N rows, the first row R)".
impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.position;
        write!(f, "{}", p.sheet)?;
        if p.row > 0 && self.count <= 1 {
            write!(f, ", row {}", p.row)?;
        }
        if let Some(column) = &p.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.kind)?;
        if self.count > 1 {
            write!(f, " ({} rows, the first row {})", self.count, p.row)?;
        }
        Ok(())
    }
}

/// Whether what a warning announces happened: a preview's "will be created" becomes "created"
/// once applied, and "would have been created" when the import was rejected or cancelled.
/// As data: `planned`, `done`, `not_done`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tense {
    #[default]
    Planned,
    Done,
    NotDone,
}

impl Tense {
    pub(crate) fn of(status: ImportStatus) -> Tense {
        match status {
            ImportStatus::DryRun => Tense::Planned,
            ImportStatus::Applied | ImportStatus::Conflicted => Tense::Done,
            ImportStatus::Rejected | ImportStatus::Cancelled | ImportStatus::Stale => {
                Tense::NotDone
            }
        }
    }

    fn created(self, what: &str, name: &str) -> String {
        match self {
            Tense::Planned => {
                format!("{what} `{name}` does not exist yet: the import will create it")
            }
            Tense::Done => format!("{what} `{name}` did not exist: the import created it"),
            Tense::NotDone => {
                format!("{what} `{name}` does not exist: the import would have created it")
            }
        }
    }
}

/// What a warning is about, as data in the shape of `IssueKind` (see `issue`); the serde names
/// are the `Coded` codes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum WarningKind {
    #[error("{}", tense.created("department", name))]
    NewDepartment { name: String, tense: Tense },
    #[error("{}", tense.created("group", name))]
    NewGroup { name: String, tense: Tense },
    #[error(
        "new {} `{name}` looks like the existing `{existing}`: a typo or an accent variant?",
        entity.singular()
    )]
    NearDuplicate {
        entity: Entity,
        name: String,
        existing: String,
    },
    #[serde(rename = "confusable_username")]
    #[error("username `{username}` looks like `{existing}` written in another script")]
    Confusable { username: String, existing: String },
    #[error("grants role `{role}`, which holds {}", codes(permissions))]
    PrivilegedRole {
        role: String,
        permissions: Vec<Permission>,
    },
    #[error("role `{role}` gains {}", codes(permissions))]
    PrivilegedPermissions {
        role: String,
        permissions: Vec<Permission>,
    },
    #[error("the same file (SHA-256) was already applied as import {import_id}")]
    SameFileApplied { import_id: i64 },
}

/// `users.write, roles.write`.
fn codes(permissions: &[Permission]) -> String {
    permissions
        .iter()
        .map(|p| p.code())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Coded for WarningKind {
    fn code(&self) -> &'static str {
        match self {
            WarningKind::NewDepartment { .. } => "new_department",
            WarningKind::NewGroup { .. } => "new_group",
            WarningKind::NearDuplicate { .. } => "near_duplicate",
            WarningKind::Confusable { .. } => "confusable_username",
            WarningKind::PrivilegedRole { .. } => "privileged_role",
            WarningKind::PrivilegedPermissions { .. } => "privileged_permissions",
            WarningKind::SameFileApplied { .. } => "same_file_applied",
        }
    }
}

impl WarningKind {
    /// Puts a warning about something the import creates into the tense of what happened.
    pub(crate) fn set_tense(&mut self, to: Tense) {
        if let WarningKind::NewDepartment { tense, .. } | WarningKind::NewGroup { tense, .. } = self
        {
            *tense = to;
        }
    }
}

/// The existing names that `name` is a near-duplicate of (at most one is reported).
pub(crate) fn near_duplicate_of<'a>(
    name: &str,
    existing: impl Iterator<Item = &'a str>,
) -> Option<String> {
    existing
        .into_iter()
        .find(|other| near_duplicate(name, other))
        .map(str::to_owned)
}

/// The privileged permissions among the codes `permissions`.
pub(crate) fn privileged(permissions: &[String]) -> Vec<Permission> {
    PRIVILEGED
        .into_iter()
        .filter(|privileged| permissions.iter().any(|p| p == privileged.code()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_creation_is_told_in_the_tense_of_what_happened() {
        let mut kind = WarningKind::NewDepartment {
            name: "Sales".into(),
            tense: Tense::default(),
        };
        assert_eq!(
            kind.to_string(),
            "department `Sales` does not exist yet: the import will create it"
        );
        kind.set_tense(Tense::of(ImportStatus::Applied));
        assert_eq!(
            kind.to_string(),
            "department `Sales` did not exist: the import created it"
        );
        kind.set_tense(Tense::of(ImportStatus::Rejected));
        assert_eq!(
            kind.to_string(),
            "department `Sales` does not exist: the import would have created it"
        );
    }

    #[test]
    fn a_warning_of_several_rows_names_its_count_and_first_row() {
        let position = Position {
            sheet: "users.csv".into(),
            row: 4,
            column: Some("Department".into()),
        };
        let mut warning = Warning::new(
            position,
            WarningKind::NewGroup {
                name: "Ops".into(),
                tense: Tense::Done,
            },
        );
        assert_eq!(
            warning.to_string(),
            "users.csv, row 4, column Department: group `Ops` did not exist: the import created it"
        );
        warning.count = 3;
        assert_eq!(warning.to_string(), "users.csv, column Department: group `Ops` did not exist: the import created it (3 rows, the first row 4)");
        let json = serde_json::to_value(&warning).unwrap();
        assert_eq!(json["row"], 4);
        assert_eq!(json["count"], 3);
        assert_eq!(json["column"], "Department");
        assert!(json["message"].as_str().unwrap().starts_with("group `Ops`"));
    }
}
