//! One spreadsheet row (already text cells) becomes one checked record. A present column is
//! authoritative and an absent one untouched (SPEC §2), which [`Patch`] spells out per field;
//! every problem of the row is collected, so an admin fixes a row once, not once per column.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::contact::{Email, EmailError, Phone, PhoneError};
use crate::entity::{Entity, Field};
use crate::headers::HeaderMap;
use crate::locale::{Locale, LocaleError, Timezone, TimezoneError};
use crate::names::{
    parse_name_list, Description, DescriptionError, DisplayName, DisplayNameError, EntityName,
    EntityNameError, Username, UsernameError,
};
use crate::permissions::{parse_permission_list, Permission, UnknownPermission};
use crate::values::{parse_bool, BoolError, SecretText};

/// What a row says about one field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Leave the stored value alone: the column is absent (or, for booleans and secrets, blank).
    #[default]
    Keep,
    /// The column is present and its value replaces the stored one.
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The new value, if the row sets one.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Keep => None,
            Patch::Set(v) => Some(v),
        }
    }

    pub fn into_set(self) -> Option<T> {
        match self {
            Patch::Keep => None,
            Patch::Set(v) => Some(v),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Set(v) => Patch::Set(f(v)),
        }
    }
}

/// A checked row of a Users sheet.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub username: Username,
    /// Present but blank is an error: a user always has a name.
    pub name: Patch<DisplayName>,
    /// `None` when the column is absent or the cell blank: blank means keep (SPEC §2).
    pub password: Option<SecretText>,
    /// Same rule as `password`.
    pub password_hash: Option<SecretText>,
    /// Blank clears the department: `Set(None)`.
    pub department: Patch<Option<EntityName>>,
    pub email: Patch<Option<Email>>,
    pub phone: Patch<Option<Phone>>,
    /// Blank is `Keep`: an admin leaving Active empty must not flip an account.
    pub active: Patch<bool>,
    /// Blank is `Keep`, as for `active`.
    pub ignore_mfa: Patch<bool>,
    /// Blank is `Set(empty)`: the user holds no roles.
    pub roles: Patch<Vec<EntityName>>,
    pub groups: Patch<Vec<EntityName>>,
    pub locale: Patch<Option<Locale>>,
    pub timezone: Patch<Option<Timezone>>,
}

/// A checked row of a Groups sheet.
#[derive(Clone, Debug)]
pub struct GroupRow {
    pub name: EntityName,
    pub description: Patch<Description>,
}

/// A checked row of a Departments sheet.
#[derive(Clone, Debug)]
pub struct DepartmentRow {
    pub name: EntityName,
    pub description: Patch<Description>,
}

/// A checked row of a Roles sheet. Blank Permissions is `Set(empty)`.
#[derive(Clone, Debug)]
pub struct RoleRow {
    pub name: EntityName,
    pub description: Patch<Description>,
    pub permissions: Patch<BTreeSet<Permission>>,
}

/// What is wrong with one cell. Messages quote at most 40 characters of the value, and never
/// the value of a secret cell (no variant that can occur on a secret column carries one).
///
/// As data a cell problem is `{"code": "email", "detail": {"code": "invalid", "value": "x@"}}`:
/// the code names what the cell should hold, and the value type's own error, itself a code and
/// parameters, is the parameter `detail`.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FieldErrorKind {
    #[error("is required")]
    Required,
    #[error(transparent)]
    Username {
        #[from]
        detail: UsernameError,
    },
    #[error(transparent)]
    DisplayName {
        #[from]
        detail: DisplayNameError,
    },
    #[error(transparent)]
    EntityName {
        #[from]
        detail: EntityNameError,
    },
    /// One bad item of a list cell (`Roles`, `User group`).
    #[error("{}", list_item_message(item, detail))]
    ListItem {
        item: String,
        detail: EntityNameError,
    },
    #[error(transparent)]
    Description {
        #[from]
        detail: DescriptionError,
    },
    #[error(transparent)]
    Email {
        #[from]
        detail: EmailError,
    },
    #[error(transparent)]
    Phone {
        #[from]
        detail: PhoneError,
    },
    #[error(transparent)]
    Bool {
        #[from]
        detail: BoolError,
    },
    #[error(transparent)]
    Locale {
        #[from]
        detail: LocaleError,
    },
    #[error(transparent)]
    Timezone {
        #[from]
        detail: TimezoneError,
    },
    /// An unknown permission code; its parameters (`value`, `suggestion`) sit beside the code.
    #[error(transparent)]
    Permission {
        #[from]
        #[serde(flatten)]
        detail: UnknownPermission,
    },
    /// Reported on the Password hash column.
    #[error("a row may fill Password or Password hash, not both")]
    BothPasswordAndHash,
}

/// Errors that already quote the value are shown as they are; the others get the item in front.
fn list_item_message(item: &str, error: &EntityNameError) -> String {
    match error {
        EntityNameError::TooLong { .. } | EntityNameError::Comma { .. } => error.to_string(),
        _ => format!("`{item}`: {error}"),
    }
}

/// One bad cell: its 0-based file column, its field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub column: usize,
    pub field: Field,
    pub kind: FieldErrorKind,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FieldErrorKind::Required => write!(f, "{} is required", self.field.header()),
            _ => write!(f, "{}: {}", self.field.header(), self.kind),
        }
    }
}

impl std::error::Error for FieldError {}

/// Reads the cells of one row through a header map and collects every error on the way.
struct RowReader<'a> {
    map: &'a HeaderMap,
    cells: &'a [&'a str],
    errors: Vec<FieldError>,
}

impl<'a> RowReader<'a> {
    fn new(map: &'a HeaderMap, cells: &'a [&'a str]) -> Self {
        RowReader {
            map,
            cells,
            errors: Vec::new(),
        }
    }

    /// Column and text of `field`, `None` if the sheet lacks the column; a missing trailing cell
    /// reads as "".
    fn cell(&self, field: Field) -> Option<(usize, &'a str)> {
        let column = self.map.column(field)?;
        Some((column, self.cells.get(column).copied().unwrap_or("")))
    }

    fn fail(&mut self, column: usize, field: Field, kind: impl Into<FieldErrorKind>) {
        self.errors.push(FieldError {
            column,
            field,
            kind: kind.into(),
        });
    }

    /// The key column: must be present and non-blank.
    fn key<T, E: Into<FieldErrorKind>>(
        &mut self,
        field: Field,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let Some((column, text)) = self.cell(field) else {
            // Only reachable with a map built for another entity.
            self.fail(0, field, FieldErrorKind::Required);
            return None;
        };
        if text.trim().is_empty() {
            self.fail(column, field, FieldErrorKind::Required);
            return None;
        }
        self.checked(column, field, parse(text))
    }

    fn checked<T, E: Into<FieldErrorKind>>(
        &mut self,
        column: usize,
        field: Field,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.fail(column, field, e)).ok()
    }

    /// A field that must not be blank when present (Name).
    fn required<T, E: Into<FieldErrorKind>>(
        &mut self,
        field: Field,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Patch<T> {
        let Some((column, text)) = self.cell(field) else {
            return Patch::Keep;
        };
        if text.trim().is_empty() {
            self.fail(column, field, FieldErrorKind::Required);
            return Patch::Keep;
        }
        self.checked(column, field, parse(text))
            .map_or(Patch::Keep, Patch::Set)
    }

    /// A field that a blank cell clears: `Set(None)`.
    fn clearable<T, E: Into<FieldErrorKind>>(
        &mut self,
        field: Field,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Patch<Option<T>> {
        let Some((column, text)) = self.cell(field) else {
            return Patch::Keep;
        };
        if text.trim().is_empty() {
            return Patch::Set(None);
        }
        self.checked(column, field, parse(text))
            .map_or(Patch::Keep, |v| Patch::Set(Some(v)))
    }

    /// A field whose blank cell is a value of its own (Description: empty text).
    fn text<T, E: Into<FieldErrorKind>>(
        &mut self,
        field: Field,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Patch<T> {
        let Some((column, text)) = self.cell(field) else {
            return Patch::Keep;
        };
        self.checked(column, field, parse(text))
            .map_or(Patch::Keep, Patch::Set)
    }

    /// A Yes/No field; blank keeps, so an empty cell never flips an account.
    fn flag(&mut self, field: Field) -> Patch<bool> {
        let Some((column, text)) = self.cell(field) else {
            return Patch::Keep;
        };
        if text.trim().is_empty() {
            return Patch::Keep;
        }
        self.checked(column, field, parse_bool(text))
            .map_or(Patch::Keep, Patch::Set)
    }

    /// A secret cell; blank means keep. Copied as read: judging it is the credentials crate's job.
    fn secret(&self, field: Field) -> Option<(usize, SecretText)> {
        let (column, text) = self.cell(field)?;
        if text.trim().is_empty() {
            return None;
        }
        Some((column, SecretText::new(text.to_owned())))
    }

    /// A comma-separated name list; blank is the empty list.
    fn names(&mut self, field: Field) -> Patch<Vec<EntityName>> {
        let Some((column, text)) = self.cell(field) else {
            return Patch::Keep;
        };
        match parse_name_list(text) {
            Ok(names) => Patch::Set(names),
            Err(bad) => {
                for (item, error) in bad {
                    self.fail(
                        column,
                        field,
                        FieldErrorKind::ListItem {
                            item,
                            detail: error,
                        },
                    );
                }
                Patch::Keep
            }
        }
    }

    fn permissions(&mut self, field: Field) -> Patch<BTreeSet<Permission>> {
        let Some((column, text)) = self.cell(field) else {
            return Patch::Keep;
        };
        match parse_permission_list(text) {
            Ok(set) => Patch::Set(set),
            Err(unknown) => {
                for e in unknown {
                    self.fail(column, field, e);
                }
                Patch::Keep
            }
        }
    }

    /// The record (its failed fields left as `Keep`) and every error.
    fn finish<T>(self, record: Option<T>) -> Checked<T> {
        Checked {
            record,
            errors: self.errors,
        }
    }
}

/// A row as far as it could be checked: the record whenever its key parsed, with every field
/// that failed left as `Keep`, and every cell error. The planner still runs its own checks (a
/// taken e-mail, an unknown role…) on the fields that did parse, so an administrator sees all
/// of a row's problems at once instead of one more after each fix.
#[derive(Clone, Debug)]
pub struct Checked<T> {
    pub record: Option<T>,
    pub errors: Vec<FieldError>,
}

impl<T> Checked<T> {
    /// The record if no cell failed, else every error.
    pub fn into_result(self) -> Result<T, Vec<FieldError>> {
        match self.record {
            Some(r) if self.errors.is_empty() => Ok(r),
            _ => Err(self.errors),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Checked<U> {
        Checked {
            record: self.record.map(f),
            errors: self.errors,
        }
    }
}

/// Checks one Users row. `cells[i]` is the text of file column `i`; missing trailing cells may be
/// left out. Every problem of the row is reported.
pub fn parse_user_row(map: &HeaderMap, cells: &[&str]) -> Result<UserRow, Vec<FieldError>> {
    check_user_row(map, cells).into_result()
}

/// Checks one Users row as far as it goes (see [`Checked`]).
pub fn check_user_row(map: &HeaderMap, cells: &[&str]) -> Checked<UserRow> {
    let mut r = RowReader::new(map, cells);
    let username = r.key(Field::Username, Username::parse);
    let name = r.required(Field::Name, DisplayName::parse);
    let password = r.secret(Field::Password);
    let password_hash = r.secret(Field::PasswordHash);
    if let (Some(_), Some((column, _))) = (&password, &password_hash) {
        r.fail(
            *column,
            Field::PasswordHash,
            FieldErrorKind::BothPasswordAndHash,
        );
    }
    let department = r.clearable(Field::Department, EntityName::parse);
    let email = r.clearable(Field::Email, Email::parse);
    let phone = r.clearable(Field::Phone, Phone::parse);
    let active = r.flag(Field::Active);
    let ignore_mfa = r.flag(Field::IgnoreMfa);
    let roles = r.names(Field::Roles);
    let groups = r.names(Field::Groups);
    let locale = r.clearable(Field::Locale, Locale::parse);
    let timezone = r.clearable(Field::Timezone, Timezone::parse);
    let record = username.map(|username| UserRow {
        username,
        name,
        password: password.map(|(_, s)| s),
        password_hash: password_hash.map(|(_, s)| s),
        department,
        email,
        phone,
        active,
        ignore_mfa,
        roles,
        groups,
        locale,
        timezone,
    });
    r.finish(record)
}

/// Checks one Groups row.
pub fn parse_group_row(map: &HeaderMap, cells: &[&str]) -> Result<GroupRow, Vec<FieldError>> {
    check_group_row(map, cells).into_result()
}

/// Checks one Groups row as far as it goes (see [`Checked`]).
pub fn check_group_row(map: &HeaderMap, cells: &[&str]) -> Checked<GroupRow> {
    let mut r = RowReader::new(map, cells);
    let name = r.key(Field::key_of(Entity::Groups), EntityName::parse);
    let description = r.text(Field::Description, Description::parse);
    let record = name.map(|name| GroupRow { name, description });
    r.finish(record)
}

/// Checks one Departments row.
pub fn parse_department_row(
    map: &HeaderMap,
    cells: &[&str],
) -> Result<DepartmentRow, Vec<FieldError>> {
    check_department_row(map, cells).into_result()
}

/// Checks one Departments row as far as it goes (see [`Checked`]).
pub fn check_department_row(map: &HeaderMap, cells: &[&str]) -> Checked<DepartmentRow> {
    let mut r = RowReader::new(map, cells);
    let name = r.key(Field::key_of(Entity::Departments), EntityName::parse);
    let description = r.text(Field::Description, Description::parse);
    let record = name.map(|name| DepartmentRow { name, description });
    r.finish(record)
}

/// Checks one Roles row.
pub fn parse_role_row(map: &HeaderMap, cells: &[&str]) -> Result<RoleRow, Vec<FieldError>> {
    check_role_row(map, cells).into_result()
}

/// Checks one Roles row as far as it goes (see [`Checked`]).
pub fn check_role_row(map: &HeaderMap, cells: &[&str]) -> Checked<RoleRow> {
    let mut r = RowReader::new(map, cells);
    let name = r.key(Field::key_of(Entity::Roles), EntityName::parse);
    let description = r.text(Field::Description, Description::parse);
    let permissions = r.permissions(Field::Permissions);
    let record = name.map(|name| RoleRow {
        name,
        description,
        permissions,
    });
    r.finish(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;
    use crate::headers::{import_fields, map_headers};

    /// The users template's headers, Password hash last (the spec's literal list is checked
    /// against `Field::header` in the headers tests).
    fn template() -> Vec<&'static str> {
        import_fields(Entity::Users)
            .iter()
            .map(|f| f.header())
            .collect()
    }

    fn users_map(headers: &[&str]) -> HeaderMap {
        map_headers(Entity::Users, headers).unwrap()
    }

    #[test]
    fn full_row() {
        let map = users_map(&template());
        let row = parse_user_row(
            &map,
            &[
                "Alice",
                "Alice Martin",
                "s3cret!",
                "Sales",
                "alice@example.com",
                "+44 20 7946 0958",
                "Yes",
                "no",
                "Admin, staff,admin",
                "Ops",
                "pt-br",
                "europe/paris",
                "",
            ],
        )
        .unwrap();
        assert_eq!(row.username.key(), "alice");
        assert_eq!(row.name.as_set().unwrap().as_str(), "Alice Martin");
        assert_eq!(row.password.as_ref().unwrap().expose(), "s3cret!");
        assert!(row.password_hash.is_none());
        assert_eq!(
            row.department.as_set().unwrap().as_ref().unwrap().as_str(),
            "Sales"
        );
        assert_eq!(
            row.phone.as_set().unwrap().as_ref().unwrap().as_str(),
            "+44 20 7946 0958"
        );
        assert_eq!(row.active, Patch::Set(true));
        assert_eq!(row.ignore_mfa, Patch::Set(false));
        assert_eq!(row.roles.as_set().unwrap().len(), 2);
        assert_eq!(
            row.locale.as_set().unwrap().as_ref().unwrap().as_str(),
            "pt-BR"
        );
        assert_eq!(
            row.timezone.as_set().unwrap().as_ref().unwrap().as_str(),
            "Europe/Paris"
        );
    }

    #[test]
    fn absent_columns_keep() {
        let map = users_map(&["Username"]);
        let row = parse_user_row(&map, &["bob"]).unwrap();
        assert!(row.name.is_keep());
        assert!(row.password.is_none() && row.password_hash.is_none());
        assert!(row.department.is_keep());
        assert!(row.email.is_keep());
        assert!(row.phone.is_keep());
        assert!(row.active.is_keep());
        assert!(row.ignore_mfa.is_keep());
        assert!(row.roles.is_keep());
        assert!(row.groups.is_keep());
        assert!(row.locale.is_keep());
        assert!(row.timezone.is_keep());
    }

    #[test]
    fn blank_cells_follow_each_fields_rule() {
        let map = users_map(&template()[..12]);
        // Blank cells, with trailing cells left out entirely.
        let row = parse_user_row(&map, &["bob", "Bob", " ", "", "", "", " "]).unwrap();
        assert!(row.password.is_none(), "blank password keeps");
        assert_eq!(row.department, Patch::Set(None));
        assert_eq!(row.email, Patch::Set(None));
        assert_eq!(row.phone, Patch::Set(None));
        assert_eq!(
            row.active,
            Patch::Keep,
            "blank Active must not flip an account"
        );
        assert_eq!(row.ignore_mfa, Patch::Keep);
        assert_eq!(row.roles, Patch::Set(Vec::new()));
        assert_eq!(row.groups, Patch::Set(Vec::new()));
        assert_eq!(row.locale, Patch::Set(None));
        assert_eq!(row.timezone, Patch::Set(None));
    }

    #[test]
    fn blank_name_and_username_are_required() {
        let map = users_map(&["Username", "Name"]);
        let errs = parse_user_row(&map, &["", " "]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[0].column, errs[0].field), (0, Field::Username));
        assert_eq!(errs[0].kind, FieldErrorKind::Required);
        assert_eq!((errs[1].column, errs[1].field), (1, Field::Name));
        assert_eq!(errs[1].kind.to_string(), "is required");
        assert_eq!(errs[1].to_string(), "Name is required");
    }

    #[test]
    fn every_error_of_a_row_at_once() {
        let map = users_map(&template());
        let errs = parse_user_row(
            &map,
            &[
                "bob smith",
                "Bob",
                "",
                "Sa\nles",
                "bob@@x",
                "call me",
                "maybe",
                "",
                "a\u{7},b",
                "",
                "xx-YY-invalid!!",
                "Europe/Pariss",
                "",
            ],
        )
        .unwrap_err();
        let fields: Vec<Field> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                Field::Username,
                Field::Department,
                Field::Email,
                Field::Phone,
                Field::Active,
                Field::Roles,
                Field::Locale,
                Field::Timezone
            ]
        );
        let messages: Vec<String> = errs.iter().map(|e| e.kind.to_string()).collect();
        assert_eq!(messages[0], "a username may not contain a space");
        assert_eq!(messages[2], "`bob@@x` is not a valid e-mail address");
        assert_eq!(messages[4], "`maybe` is not Yes or No");
        assert_eq!(
            messages[5],
            "`a\\u{7}`: a name may not contain a control character"
        );
        assert!(messages[7].starts_with("`Europe/Pariss` is not an IANA time zone"));
        assert_eq!(errs[2].column, 4);
    }

    /// The planner checks the fields that parsed even when others failed, so the partial record
    /// must hold them (and leave the failed ones alone).
    #[test]
    fn a_failed_row_keeps_the_fields_that_parsed() {
        let map = users_map(&template());
        let mut cells = vec![""; 13];
        cells[0] = "bob";
        cells[1] = "Bob";
        cells[4] = "taken@example.com";
        cells[6] = "Maybe";
        cells[8] = "nosuchrole";
        cells[9] = "nosuchgroup";
        let checked = check_user_row(&map, &cells);
        assert_eq!(checked.errors.len(), 1);
        assert_eq!(checked.errors[0].field, Field::Active);
        let row = checked.record.expect("the key parsed");
        assert_eq!(row.active, Patch::Keep, "a failed field is left alone");
        assert_eq!(
            row.email.as_set().unwrap().as_ref().unwrap().as_str(),
            "taken@example.com"
        );
        assert_eq!(row.roles.as_set().unwrap()[0].as_str(), "nosuchrole");
        assert_eq!(row.groups.as_set().unwrap()[0].as_str(), "nosuchgroup");
        // Without a key there is nothing to check against the store.
        cells[0] = "";
        assert!(check_user_row(&map, &cells).record.is_none());
        let map = map_headers(Entity::Roles, &["Role", "Description", "Permissions"]).unwrap();
        let checked = check_role_row(&map, &["r", "d\u{1}", "users.read"]);
        assert_eq!(checked.errors.len(), 1);
        let role = checked.record.unwrap();
        assert!(role.description.is_keep() && role.permissions.as_set().is_some());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let map = users_map(&["Username", "E-mail"]);
        let long = format!("{}@@x", "a".repeat(100));
        let errs = parse_user_row(&map, &["bob", &long]).unwrap_err();
        let msg = errs[0].kind.to_string();
        assert!(msg.contains(&format!("`{}…`", "a".repeat(40))), "{msg}");
    }

    #[test]
    fn password_and_hash_both_filled() {
        let map = users_map(&template());
        let mut cells = vec![""; 13];
        cells[0] = "bob";
        cells[1] = "Bob";
        cells[2] = "Sup3r-Secret-Pw";
        cells[12] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
        let errs = parse_user_row(&map, &cells).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].column, errs[0].field), (12, Field::PasswordHash));
        assert_eq!(errs[0].kind, FieldErrorKind::BothPasswordAndHash);
        for e in &errs {
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains("Sup3r") && !shown.contains("argon2"),
                "{shown}"
            );
        }
        cells[2] = "";
        let row = parse_user_row(&map, &cells).unwrap();
        assert!(row.password.is_none());
        assert!(format!("{row:?}").contains("***"));
        assert!(!format!("{row:?}").contains("argon2"));
    }

    #[test]
    fn group_and_department_rows() {
        let map = map_headers(Entity::Groups, &["Group", "Description"]).unwrap();
        let row = parse_group_row(&map, &[" Sales  Team ", "line 1\r\nline 2"]).unwrap();
        assert_eq!(row.name.as_str(), "Sales Team");
        assert_eq!(row.description.as_set().unwrap().as_str(), "line 1\nline 2");
        let row = parse_group_row(&map, &["Ops"]).unwrap();
        assert_eq!(row.description, Patch::Set(Description::default()));
        let errs = parse_group_row(&map, &["", "x\u{1}"]).unwrap_err();
        assert_eq!(errs.len(), 2);

        let map = map_headers(Entity::Departments, &["Department"]).unwrap();
        let row = parse_department_row(&map, &["R&D"]).unwrap();
        assert!(row.description.is_keep());
    }

    #[test]
    fn role_rows() {
        let map = map_headers(Entity::Roles, &["Role", "Description", "Permissions"]).unwrap();
        let row = parse_role_row(&map, &["Helpdesk", "", "users.read\nusers.write"]).unwrap();
        assert_eq!(row.permissions.as_set().unwrap().len(), 2);
        let row = parse_role_row(&map, &["Nobody", "", " "]).unwrap();
        assert_eq!(row.permissions, Patch::Set(BTreeSet::new()));
        let errs = parse_role_row(&map, &["Bad", "", "user.read, x"]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].to_string(),
            "Permissions: `user.read` is not a permission; did you mean `users.read`?"
        );
        let map = map_headers(Entity::Roles, &["Role"]).unwrap();
        assert!(parse_role_row(&map, &["r"]).unwrap().permissions.is_keep());
    }

    #[test]
    fn export_only_columns_are_ignored() {
        let map = users_map(&["Username", "Created at", "Last login"]);
        assert!(parse_user_row(&map, &["bob", "garbage", "whatever"]).is_ok());
    }
}
