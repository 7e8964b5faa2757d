//! The fixed permission catalog (SPEC §1). Roles hold sets of these codes; the catalog is closed,
//! so an unknown code in a Roles sheet is an error with the nearest real code suggested, never a
//! silently created permission.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::text::excerpt;

/// The built-in role that holds every permission.
pub const ADMINISTRATOR_ROLE: &str = "administrator";

/// Name of the readable roles × permissions sheet that XLSX exports add and imports accept
/// (SPEC §2): header `Permission, <role 1>, <role 2>, …`, one row per code, `Yes` where held.
pub const PERMISSION_MATRIX_SHEET: &str = "Permission matrix";

/// One permission of the catalog. Ordered as listed in the spec, which is the order exports use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    UsersRead,
    UsersWrite,
    UsersImport,
    UsersExport,
    GroupsRead,
    GroupsWrite,
    RolesRead,
    RolesWrite,
    DepartmentsRead,
    DepartmentsWrite,
    UsersCredentials,
    ImportsRead,
    ImportsRevert,
    AuditRead,
    TokensManage,
}

impl Permission {
    /// The whole catalog in spec order.
    pub const ALL: [Permission; 15] = [
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::UsersImport,
        Permission::UsersExport,
        Permission::GroupsRead,
        Permission::GroupsWrite,
        Permission::RolesRead,
        Permission::RolesWrite,
        Permission::DepartmentsRead,
        Permission::DepartmentsWrite,
        Permission::UsersCredentials,
        Permission::ImportsRead,
        Permission::ImportsRevert,
        Permission::AuditRead,
        Permission::TokensManage,
    ];

    /// The code as written in sheets, the API and the database: `users.read`, …
    pub fn code(self) -> &'static str {
        match self {
            Permission::UsersRead => "users.read",
            Permission::UsersWrite => "users.write",
            Permission::UsersImport => "users.import",
            Permission::UsersExport => "users.export",
            Permission::GroupsRead => "groups.read",
            Permission::GroupsWrite => "groups.write",
            Permission::RolesRead => "roles.read",
            Permission::RolesWrite => "roles.write",
            Permission::DepartmentsRead => "departments.read",
            Permission::DepartmentsWrite => "departments.write",
            Permission::UsersCredentials => "users.credentials",
            Permission::ImportsRead => "imports.read",
            Permission::ImportsRevert => "imports.revert",
            Permission::AuditRead => "audit.read",
            Permission::TokensManage => "tokens.manage",
        }
    }

    /// One line for the documentation, the template and the permission matrix.
    pub fn description(self) -> &'static str {
        match self {
            Permission::UsersRead => "View users and their attributes",
            Permission::UsersWrite => "Create, change, deactivate and delete users",
            Permission::UsersImport => {
                "Import users, groups, roles and departments from spreadsheets"
            }
            Permission::UsersExport => {
                "Export users, groups, roles and departments to spreadsheets"
            }
            Permission::GroupsRead => "View user groups",
            Permission::GroupsWrite => "Create, change and delete user groups",
            Permission::RolesRead => "View roles and their permissions",
            Permission::RolesWrite => "Create, change and delete roles",
            Permission::DepartmentsRead => "View departments",
            Permission::DepartmentsWrite => "Create, change and delete departments",
            Permission::UsersCredentials => {
                "Set passwords and password hashes, reset MFA, set Ignore MFA"
            }
            Permission::ImportsRead => "View import plans, their previews and results",
            Permission::ImportsRevert => "Revert an applied import",
            Permission::AuditRead => "Read the audit log",
            Permission::TokensManage => "Create and revoke API tokens",
        }
    }

    /// A code, trimmed and case-insensitive. The error names the nearest code when one is close.
    pub fn parse(code: &str) -> Result<Permission, UnknownPermission> {
        let code = code.trim();
        Permission::ALL
            .into_iter()
            .find(|p| p.code().eq_ignore_ascii_case(code))
            .ok_or_else(|| UnknownPermission {
                code: excerpt(code),
                suggestion: closest_permission(code),
            })
    }
}

/// Error path only: the nearest code by edit distance, if it is near enough to be a typo.
fn closest_permission(code: &str) -> Option<Permission> {
    let lower = code.to_lowercase();
    Permission::ALL
        .into_iter()
        .map(|p| (strsim::normalized_damerau_levenshtein(&lower, p.code()), p))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A permission is data as its code (`users.read`), as in sheets and the database.
impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Permission, D::Error> {
        let code = String::deserialize(deserializer)?;
        Permission::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// A code that is not in the catalog. As data its code is `value`, since `code` names the kind
/// of a stored problem.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("`{code}` is not a permission{}", suggestion.map(|p| format!("; did you mean `{}`?", p.code())).unwrap_or_default())]
pub struct UnknownPermission {
    /// The offending code as written (at most 40 characters).
    #[serde(rename = "value")]
    pub code: String,
    pub suggestion: Option<Permission>,
}

/// A Permissions cell: codes separated by commas and/or whitespace (line breaks included, as in
/// a wrapped Excel cell). Duplicates collapse; every unknown code is reported.
pub fn parse_permission_list(raw: &str) -> Result<BTreeSet<Permission>, Vec<UnknownPermission>> {
    let mut set = BTreeSet::new();
    let mut errors = Vec::new();
    for code in raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        if code.is_empty() {
            continue;
        }
        match Permission::parse(code) {
            Ok(p) => {
                set.insert(p);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.code()), Ok(p));
            assert!(!p.description().is_empty());
        }
        assert_eq!(Permission::parse(" Users.READ "), Ok(Permission::UsersRead));
        let mut codes: Vec<_> = Permission::ALL.iter().map(|p| p.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), 15);
    }

    #[test]
    fn unknown_suggests() {
        let e = Permission::parse("user.read").unwrap_err();
        assert_eq!(e.suggestion, Some(Permission::UsersRead));
        assert_eq!(
            e.to_string(),
            "`user.read` is not a permission; did you mean `users.read`?"
        );
        assert_eq!(
            Permission::parse("launch.missiles").unwrap_err().suggestion,
            None
        );
    }

    #[test]
    fn list() {
        let set =
            parse_permission_list("users.read, users.write\ngroups.read  users.read,,").unwrap();
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [
                Permission::UsersRead,
                Permission::UsersWrite,
                Permission::GroupsRead
            ]
        );
        assert!(parse_permission_list("").unwrap().is_empty());
        let errs = parse_permission_list("users.read, nope, audit.reed").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[1].suggestion, Some(Permission::AuditRead));
    }
}
