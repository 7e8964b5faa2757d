//! Plain rows as they sit in the database. Department, role and group references are keys
//! (the caseless form of a name); display names live in the catalog tables. They serialise, so
//! the engine can keep images of them in an import's plan and journal.
//!
//! A record's `version` is not part of it: the database bumps it on every write, and an image
//! kept in a journal must compare equal to the record it describes whatever writes came between
//! with the same content. The single-record reads return it beside the record.

/// A user row plus its memberships, keys sorted so two records compare field by field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserRecord {
    /// The immutable opaque id (a UUID). Images journaled before ids existed have none; they
    /// are read back with an empty id and matched by key.
    #[serde(default)]
    pub id: String,
    pub username_key: String,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub phone: Option<String>,
    pub department_key: Option<String>,
    pub active: bool,
    pub ignore_mfa: bool,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
    pub role_keys: Vec<String>,
    pub group_keys: Vec<String>,
}

/// A department or a group: both are a name and a description.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NamedRecord {
    /// The immutable opaque id (a UUID); empty in images journaled before ids existed.
    #[serde(default)]
    pub id: String,
    pub name_key: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleRecord {
    pub named: NamedRecord,
    /// Permission codes, sorted.
    pub permissions: Vec<String>,
}
