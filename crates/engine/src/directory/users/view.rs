//! How a user is shown: to front-ends as a `UserView` (memberships by id and name, never a
//! secret), and to the audit log as its fields by name.

use muster_credentials::is_provisional;
use muster_store::{Catalog, StoredUser, UserRecord};
use serde::Serialize;

use crate::directory::NameRef;
use crate::timefmt::rfc3339_utc;

/// A user as front-ends show it. The password hash and the MFA secret never leave the engine:
/// only whether there is a usable password and whether a second factor is enrolled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department: Option<NameRef>,
    pub active: bool,
    pub ignore_mfa: bool,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub roles: Vec<NameRef>,
    pub groups: Vec<NameRef>,
    /// False while the password is the provisional marker (never set, or cleared).
    pub has_password: bool,
    pub mfa_enrolled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: Option<String>,
    pub version: i64,
}

pub(super) fn name_ref(id: &str, name: &str) -> NameRef {
    NameRef {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

pub(super) fn view(catalog: &Catalog, user: &StoredUser) -> UserView {
    let u = &user.record;
    let group = |key: &String| match catalog.groups.get(key) {
        Some(g) => name_ref(&g.id, &g.name),
        None => name_ref("", key),
    };
    let role = |key: &String| match catalog.roles.get(key) {
        Some(r) => name_ref(&r.named.id, &r.named.name),
        None => name_ref("", key),
    };
    UserView {
        id: u.id.clone(),
        username: u.username.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        phone: u.phone.clone(),
        department: u
            .department_key
            .as_ref()
            .map(|key| match catalog.departments.get(key) {
                Some(d) => name_ref(&d.id, &d.name),
                None => name_ref("", key),
            }),
        active: u.active,
        ignore_mfa: u.ignore_mfa,
        locale: u.locale.clone(),
        timezone: u.timezone.clone(),
        roles: u.role_keys.iter().map(role).collect(),
        groups: u.group_keys.iter().map(group).collect(),
        has_password: !is_provisional(&u.password_hash),
        mfa_enrolled: user.mfa_enrolled,
        created_at: rfc3339_utc(u.created_at),
        updated_at: rfc3339_utc(u.updated_at),
        last_login_at: u.last_login_at.map(rfc3339_utc),
        version: user.version,
    }
}

/// The audited fields of a user (none for a user that does not exist), memberships and the
/// department by their names. The password hash is not among them: a password change is
/// recorded as "set" or "cleared" by the use case.
pub(super) fn fields(
    catalog: &Catalog,
    user: Option<&UserRecord>,
) -> Vec<(&'static str, Option<String>)> {
    let department = |key: &String| {
        catalog
            .departments
            .get(key)
            .map_or_else(|| key.clone(), |d| d.name.clone())
    };
    let joined = |keys: &[String], name: &dyn Fn(&String) -> String| {
        (!keys.is_empty()).then(|| keys.iter().map(name).collect::<Vec<_>>().join(", "))
    };
    let role = |key: &String| {
        catalog
            .roles
            .get(key)
            .map_or_else(|| key.clone(), |r| r.named.name.clone())
    };
    let group = |key: &String| {
        catalog
            .groups
            .get(key)
            .map_or_else(|| key.clone(), |g| g.name.clone())
    };
    let flag = |b: bool| Some(b.to_string());
    vec![
        ("username", user.map(|u| u.username.clone())),
        ("name", user.map(|u| u.name.clone())),
        ("email", user.and_then(|u| u.email.clone())),
        ("phone", user.and_then(|u| u.phone.clone())),
        (
            "department",
            user.and_then(|u| u.department_key.as_ref().map(department)),
        ),
        ("active", user.and_then(|u| flag(u.active))),
        ("ignore_mfa", user.and_then(|u| flag(u.ignore_mfa))),
        ("locale", user.and_then(|u| u.locale.clone())),
        ("timezone", user.and_then(|u| u.timezone.clone())),
        ("roles", user.and_then(|u| joined(&u.role_keys, &role))),
        ("groups", user.and_then(|u| joined(&u.group_keys, &group))),
    ]
}
