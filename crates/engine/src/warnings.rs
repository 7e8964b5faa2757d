//! Warnings of a preview (SPEC §3.1): things an administrator should look at before applying,
//! which do not stop the import. Like issues they are data — a position and a kind.

use muster_domain::{near_duplicate, Permission};

use crate::issue::Positioned;

/// Permissions whose grant deserves a second look: they let the holder change accounts, roles
/// or credentials (SPEC §3.1 "rows that grant privileged roles").
pub(crate) const PRIVILEGED: [Permission; 3] = [
    Permission::UsersWrite,
    Permission::RolesWrite,
    Permission::UsersCredentials,
];

/// Something to look at before applying; it does not stop the row.
pub type Warning = Positioned<WarningKind>;

#[derive(Debug, thiserror::Error)]
pub enum WarningKind {
    #[error("department `{0}` does not exist yet: the import creates it")]
    NewDepartment(String),
    #[error("group `{0}` does not exist yet: the import creates it")]
    NewGroup(String),
    #[error(
        "new {entity} `{name}` looks like the existing `{existing}`: a typo or an accent variant?"
    )]
    NearDuplicate {
        entity: &'static str,
        name: String,
        existing: String,
    },
    #[error("username `{username}` looks like `{existing}` written in another script")]
    Confusable { username: String, existing: String },
    #[error("grants role `{role}`, which holds {}", permissions.join(", "))]
    PrivilegedRole {
        role: String,
        permissions: Vec<&'static str>,
    },
    #[error("role `{role}` gains {}", permissions.join(", "))]
    PrivilegedPermissions {
        role: String,
        permissions: Vec<&'static str>,
    },
    #[error("the same file (SHA-256) was already applied as import {0}")]
    SameFileApplied(i64),
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

/// The privileged codes among `permissions`.
pub(crate) fn privileged(permissions: &[String]) -> Vec<&'static str> {
    PRIVILEGED
        .iter()
        .map(|p| p.code())
        .filter(|code| permissions.iter().any(|p| p == code))
        .collect()
}
