//! Who runs a use case, from where, and what they may do (SPEC §5).
//!
//! Every use case takes an `Actor` and checks the permission catalog itself, so the CLI, the
//! console, the API and SCIM cannot differ. The CLI's default actor is the local operator, who
//! holds every permission (like the admin CLIs of Gitea or Keycloak: whoever can run the binary
//! against the database can read it anyway); `--as USERNAME` makes it that user, with that
//! user's permissions.
//!
//! The no-escalation rule lives here too, as functions every path calls: nobody grants a role,
//! directly or through a group, holding a permission they lack; nobody creates or changes a
//! role beyond their own permissions; nobody changes their own roles, groups, password or MFA
//! through an import.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use muster_domain::Permission;
use muster_store::{Catalog, Store};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Missing, Refusal};

/// Where a request came from, as the audit log and the history record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Cli,
    Console,
    Api,
    Scim,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Console => "console",
            Source::Api => "api",
            Source::Scim => "scim",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        [Source::Cli, Source::Console, Source::Api, Source::Scim]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Who acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// The local operator of the CLI, named by the operating-system account that ran it.
    Operator { account: String },
    /// A user of the directory.
    User {
        id: String,
        username_key: String,
        username: String,
    },
    /// A named part of muster itself (the bootstrap of an empty store, a job's recovery).
    System { name: String },
}

#[derive(Clone, Debug)]
pub struct Actor {
    pub who: Who,
    pub source: Source,
    permissions: BTreeSet<Permission>,
}

impl Actor {
    /// The local operator: every permission (documented in the README).
    pub fn operator(account: impl Into<String>, source: Source) -> Actor {
        Actor {
            who: Who::Operator {
                account: account.into(),
            },
            source,
            permissions: Permission::ALL.into_iter().collect(),
        }
    }

    /// A part of muster acting on its own, with every permission.
    pub fn system(name: impl Into<String>) -> Actor {
        Actor {
            who: Who::System { name: name.into() },
            source: Source::Cli,
            permissions: Permission::ALL.into_iter().collect(),
        }
    }

    /// A user with exactly these permissions; `for_user` is how front-ends get one.
    pub fn user(
        id: impl Into<String>,
        username_key: impl Into<String>,
        username: impl Into<String>,
        source: Source,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> Actor {
        Actor {
            who: Who::User {
                id: id.into(),
                username_key: username_key.into(),
                username: username.into(),
            },
            source,
            permissions: permissions.into_iter().collect(),
        }
    }

    /// The user `username` as an actor, with the permissions of their roles and of the roles
    /// of their groups. An unknown or inactive user cannot act.
    pub async fn for_user(store: &Store, username: &str, source: Source) -> Result<Actor, Error> {
        let unknown = || Missing::Record {
            entity: "user",
            key: username.to_owned(),
        };
        let key = muster_domain::Username::parse(username)
            .map_err(|_| unknown())?
            .key()
            .to_owned();
        let mut conn = store.acquire().await?;
        let user = muster_store::fetch_users(&mut conn, &[key.as_str()])
            .await?
            .pop()
            .ok_or_else(unknown)?;
        if !user.active {
            return Err(Error::Forbidden(Refusal::InactiveUser {
                username: user.username,
            }));
        }
        let catalog = muster_store::load_catalog(&mut conn).await?;
        let permissions = effective_permissions(&catalog, &user.role_keys, &user.group_keys);
        Ok(Actor::user(
            user.id,
            user.username_key,
            user.username,
            source,
            permissions,
        ))
    }

    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn permissions(&self) -> &BTreeSet<Permission> {
        &self.permissions
    }

    /// Refuses unless the actor holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Error> {
        if self.holds(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden(Refusal::Lacks {
                permission,
                actor: self.name(),
            }))
        }
    }

    /// The acting user's id (None for the operator and system actors).
    pub fn user_id(&self) -> Option<&str> {
        match &self.who {
            Who::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether the actor is this user (by key), which the rules about one's own record use.
    pub fn is_user(&self, username_key: &str) -> bool {
        matches!(&self.who, Who::User { username_key: k, .. } if k == username_key)
    }

    /// The actor as people read it: a username, `operator (account)`, or `system (name)`.
    pub fn name(&self) -> String {
        match &self.who {
            Who::Operator { account } => format!("operator ({account})"),
            Who::User { username, .. } => username.clone(),
            Who::System { name } => format!("system ({name})"),
        }
    }

    /// The permissions among `wanted` that the actor lacks, in catalog order.
    pub fn lacking<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a Permission>,
    ) -> BTreeSet<Permission> {
        wanted
            .into_iter()
            .filter(|p| !self.holds(**p))
            .copied()
            .collect()
    }
}

/// How the import history shows the actor: the source, then the account, username or system
/// name (`cli:root`, `console:alice`). The audit log keeps the user id beside it.
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.who {
            Who::Operator { account } => account,
            Who::User { username, .. } => username,
            Who::System { name } => name,
        };
        write!(f, "{}:{name}", self.source.as_str())
    }
}

/// Every permission the roles give, directly or through the groups.
pub fn effective_permissions(
    catalog: &Catalog,
    role_keys: &[String],
    group_keys: &[String],
) -> BTreeSet<Permission> {
    let mut roles: BTreeSet<&str> = role_keys.iter().map(String::as_str).collect();
    for group in group_keys {
        if let Some(held) = catalog.group_roles.get(group) {
            roles.extend(held.iter().map(String::as_str));
        }
    }
    roles
        .into_iter()
        .filter_map(|key| catalog.roles.get(key))
        .flat_map(|role| role.permissions.iter())
        .filter_map(|code| Permission::parse(code).ok())
        .collect()
}

/// Why granting something would raise the actor above their own permissions: the role (named
/// as the catalog shows it) and the permissions of it the actor lacks. As data it is
/// `{"through": "role", "name": "admin", "lacking": ["users.write"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub through: Through,
    pub name: String,
    pub lacking: Vec<Permission>,
}

/// How a grant would give the permissions: the role itself, or a group whose roles hold them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Through {
    Role,
    Group,
}

/// What of their own record nobody changes through an import or a single-record change: the
/// access they hold and their credentials (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Own {
    Roles,
    Groups,
    Password,
    Mfa,
}

impl fmt::Display for Own {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Own::Roles => "roles",
            Own::Groups => "groups",
            Own::Password => "password",
            Own::Mfa => "MFA",
        })
    }
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.lacking.iter().map(|p| p.code()).collect();
        match self.through {
            Through::Group => write!(
                f,
                "joining group `{}` grants {}, which the actor does not hold",
                self.name,
                codes.join(", ")
            ),
            Through::Role => write!(
                f,
                "role `{}` holds {}, which the actor does not hold",
                self.name,
                codes.join(", ")
            ),
        }
    }
}

/// What granting each role and joining each group would give an actor beyond their own
/// permissions, worked out once from the catalog. An import checks every row against it (and a
/// preview or a revert every record), so the role's permission codes are parsed once per
/// catalog, not once per row; an actor who holds every permission gets an empty table.
pub struct Grants {
    roles: HashMap<String, Escalation>,
    groups: HashMap<String, Escalation>,
}

impl Grants {
    pub fn new(actor: &Actor, catalog: &Catalog) -> Grants {
        let roles: HashMap<String, Escalation> = catalog
            .roles
            .keys()
            .filter_map(|key| Some((key.clone(), role_escalation(actor, catalog, key)?)))
            .collect();
        let groups = catalog
            .group_roles
            .iter()
            .filter_map(|(group, held)| {
                let lacking: BTreeSet<Permission> = held
                    .iter()
                    .filter_map(|role| roles.get(role))
                    .flat_map(|escalation| escalation.lacking.iter().copied())
                    .collect();
                if lacking.is_empty() {
                    return None;
                }
                let name = catalog
                    .groups
                    .get(group)
                    .map_or_else(|| group.clone(), |g| g.name.clone());
                let escalation = Escalation {
                    through: Through::Group,
                    name,
                    lacking: lacking.into_iter().collect(),
                };
                Some((group.clone(), escalation))
            })
            .collect();
        Grants { roles, groups }
    }

    /// The first escalation in giving a user `new_roles` and `new_groups` that they did not
    /// have (`old_*`): each role newly granted, and each group newly joined whose roles hold a
    /// permission the actor lacks. Keeping what one already has is never an escalation.
    pub fn check(
        &self,
        old_roles: &[String],
        new_roles: &[String],
        old_groups: &[String],
        new_groups: &[String],
    ) -> Option<Escalation> {
        let gained = |new: &[String], old: &[String], table: &HashMap<String, Escalation>| {
            if table.is_empty() {
                return None;
            }
            new.iter()
                .filter(|key| !old.contains(key))
                .find_map(|key| table.get(key).cloned())
        };
        gained(new_roles, old_roles, &self.roles)
            .or_else(|| gained(new_groups, old_groups, &self.groups))
    }
}

/// `Grants::check` for one grant (a single-record use case).
pub fn grant_escalation(
    actor: &Actor,
    catalog: &Catalog,
    old_roles: &[String],
    new_roles: &[String],
    old_groups: &[String],
    new_groups: &[String],
) -> Option<Escalation> {
    Grants::new(actor, catalog).check(old_roles, new_roles, old_groups, new_groups)
}

/// Whether granting the role `key` would give permissions the actor lacks.
pub fn role_escalation(actor: &Actor, catalog: &Catalog, key: &str) -> Option<Escalation> {
    let role = catalog.roles.get(key)?;
    permissions_escalation(actor, &role.named.name, &role.permissions)
}

/// Whether a role holding `codes` is beyond the actor (creating it, or giving it more).
pub fn permissions_escalation(actor: &Actor, name: &str, codes: &[String]) -> Option<Escalation> {
    let lacking: Vec<Permission> = codes
        .iter()
        .filter_map(|code| Permission::parse(code).ok())
        .filter(|p| !actor.holds(*p))
        .collect();
    (!lacking.is_empty()).then(|| Escalation {
        through: Through::Role,
        name: name.to_owned(),
        lacking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use muster_store::{NamedRecord, RoleRecord};

    fn catalog() -> Catalog {
        let named = |key: &str| NamedRecord {
            id: format!("id-{key}"),
            name_key: key.into(),
            name: key.to_uppercase(),
            description: String::new(),
            created_at: 0,
            updated_at: 0,
        };
        let mut catalog = Catalog::default();
        for (key, permissions) in [
            ("viewer", vec!["users.read"]),
            ("admin", vec!["users.read", "roles.write"]),
        ] {
            catalog.roles.insert(
                key.into(),
                RoleRecord {
                    named: named(key),
                    permissions: permissions.into_iter().map(str::to_owned).collect(),
                },
            );
        }
        catalog.groups.insert("ops".into(), named("ops"));
        catalog.groups.insert("readers".into(), named("readers"));
        catalog
            .group_roles
            .insert("ops".into(), vec!["admin".into()]);
        catalog
            .group_roles
            .insert("readers".into(), vec!["viewer".into()]);
        catalog
    }

    fn reader() -> Actor {
        Actor::user("u1", "rita", "Rita", Source::Api, [Permission::UsersRead])
    }

    #[test]
    fn a_role_or_group_beyond_the_actor_is_an_escalation_and_keeping_one_is_not() {
        let c = catalog();
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let none: Vec<String> = Vec::new();
        assert_eq!(
            grant_escalation(&reader(), &c, &none, &strings(&["viewer"]), &none, &none),
            None
        );
        let direct =
            grant_escalation(&reader(), &c, &none, &strings(&["admin"]), &none, &none).unwrap();
        assert_eq!(direct.through, Through::Role);
        assert_eq!(direct.lacking, [Permission::RolesWrite]);
        let group =
            grant_escalation(&reader(), &c, &none, &none, &none, &strings(&["ops"])).unwrap();
        assert_eq!(group.through, Through::Group);
        assert!(group.to_string().contains("roles.write"), "{group}");
        let kept = strings(&["admin"]);
        assert_eq!(
            grant_escalation(&reader(), &c, &kept, &kept, &none, &none),
            None
        );
        let operator = Actor::operator("root", Source::Cli);
        assert_eq!(
            grant_escalation(&operator, &c, &none, &kept, &none, &strings(&["ops"])),
            None
        );
    }

    #[test]
    fn effective_permissions_include_the_roles_of_groups() {
        let c = catalog();
        let held = effective_permissions(&c, &[], &["ops".into()]);
        assert!(held.contains(&Permission::RolesWrite));
        assert_eq!(
            effective_permissions(&c, &["viewer".into()], &[]),
            [Permission::UsersRead].into_iter().collect()
        );
    }
}
