//! The four kinds of thing muster imports and exports, and the columns (fields) each sheet may
//! carry. The canonical header text lives here, so templates, exports and error messages all say
//! the same words.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::squash;

/// A kind of record, one sheet each. As data (in a stored problem) it is its lowercase plural,
/// `users`, as `as_str` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Users,
    Groups,
    Roles,
    Departments,
}

impl Entity {
    /// All entities in dependency order: what users refer to is imported first.
    pub const ALL: [Entity; 4] = [
        Entity::Departments,
        Entity::Groups,
        Entity::Roles,
        Entity::Users,
    ];

    /// Lowercase plural: `users`, `groups`, `roles`, `departments`.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Users => "users",
            Entity::Groups => "groups",
            Entity::Roles => "roles",
            Entity::Departments => "departments",
        }
    }

    /// Lowercase singular, for sentences: `user`, `group`, `role`, `department`.
    pub fn singular(self) -> &'static str {
        match self {
            Entity::Users => "user",
            Entity::Groups => "group",
            Entity::Roles => "role",
            Entity::Departments => "department",
        }
    }

    /// The sheet name in a workbook: `Users`, `Groups`, `Roles`, `Departments`.
    pub fn sheet_name(self) -> &'static str {
        match self {
            Entity::Users => "Users",
            Entity::Groups => "Groups",
            Entity::Roles => "Roles",
            Entity::Departments => "Departments",
        }
    }

    /// An entity from a sheet name or a command-line word, singular or plural, any case and
    /// punctuation ("Users", "user", "User groups", "dept").
    pub fn parse(s: &str) -> Option<Entity> {
        match squash(s).as_str() {
            "users" | "user" | "accounts" | "account" => Some(Entity::Users),
            "groups" | "group" | "usergroups" | "usergroup" => Some(Entity::Groups),
            "roles" | "role" => Some(Entity::Roles),
            "departments" | "department" | "depts" | "dept" => Some(Entity::Departments),
            _ => None,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column a sheet may carry. `CreatedAt`, `UpdatedAt` and `LastLogin` are written by exports
/// and recognised, then ignored, on import. `Errors` is the last column of an error workbook: it is
/// recognised on every sheet and ignored, so a fixed error workbook imports as it is.
///
/// As data (in a stored problem) a field is its variant's name in snake case (`password_hash`),
/// which stays put when the header's words change; `header` gives the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    // users
    Username,
    Name,
    Password,
    PasswordHash,
    Department,
    Email,
    Phone,
    Active,
    IgnoreMfa,
    Roles,
    Groups,
    Locale,
    Timezone,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    // groups / roles / departments
    GroupName,
    RoleName,
    DepartmentName,
    Description,
    Permissions,
    // every sheet
    Errors,
}

/// Number of [`Field`] variants, for per-field tables indexed by `field as usize`.
pub(crate) const FIELD_COUNT: usize = Field::Errors as usize + 1;

impl Field {
    /// The canonical header text, as templates and exports write it.
    pub fn header(self) -> &'static str {
        match self {
            Field::Username => "Username",
            Field::Name => "Name",
            Field::Password => "Password",
            Field::PasswordHash => "Password hash",
            Field::Department => "Department",
            Field::Email => "E-mail",
            Field::Phone => "Phone",
            Field::Active => "Active",
            Field::IgnoreMfa => "Ignore MFA",
            Field::Roles => "Roles",
            Field::Groups => "User group",
            Field::Locale => "Locale",
            Field::Timezone => "Timezone",
            Field::CreatedAt => "Created at",
            Field::UpdatedAt => "Updated at",
            Field::LastLogin => "Last login",
            Field::GroupName => "Group",
            Field::RoleName => "Role",
            Field::DepartmentName => "Department",
            Field::Description => "Description",
            Field::Permissions => "Permissions",
            Field::Errors => "Errors",
        }
    }

    /// Written by exports (or, for `Errors`, by error workbooks), ignored by imports.
    pub fn is_export_only(self) -> bool {
        matches!(
            self,
            Field::CreatedAt | Field::UpdatedAt | Field::LastLogin | Field::Errors
        )
    }

    /// Cells whose value must never appear in a message, a log or a preview.
    pub fn is_secret(self) -> bool {
        matches!(self, Field::Password | Field::PasswordHash)
    }

    /// The key column of each entity's sheet.
    pub fn key_of(entity: Entity) -> Field {
        match entity {
            Entity::Users => Field::Username,
            Entity::Groups => Field::GroupName,
            Entity::Roles => Field::RoleName,
            Entity::Departments => Field::DepartmentName,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names() {
        for e in Entity::ALL {
            assert_eq!(Entity::parse(e.as_str()), Some(e));
            assert_eq!(Entity::parse(e.sheet_name()), Some(e));
        }
        assert_eq!(Entity::parse("user"), Some(Entity::Users));
        assert_eq!(Entity::parse("User groups"), Some(Entity::Groups));
        assert_eq!(Entity::parse("Sheet1"), None);
        assert_eq!(Entity::parse("Permission matrix"), None);
        assert_eq!(Entity::Departments.singular(), "department");
    }

    #[test]
    fn field_flags() {
        assert!(Field::Password.is_secret());
        assert!(Field::PasswordHash.is_secret());
        assert!(!Field::Email.is_secret());
        assert!(Field::LastLogin.is_export_only());
        assert!(Field::Errors.is_export_only());
        assert!(!Field::Errors.is_secret());
        assert_eq!(Field::Errors.header(), "Errors");
        assert_eq!(Field::Email.header(), "E-mail");
        assert_eq!(Field::Groups.header(), "User group");
    }
}
