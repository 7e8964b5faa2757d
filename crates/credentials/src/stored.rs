//! What sits in the `password_hash` column: an argon2id PHC string we made,
//! an accepted imported hash, or the provisional marker for a user who has
//! no password yet. The marker starts with `!`, which no hash format uses, so
//! it can never be mistaken for (or verified as) a real hash.

use std::fmt;

/// The stored value for a new user without a password: matches no password ever.
pub const PROVISIONAL: &str = "!provisional";

/// True only for the exact provisional marker.
pub fn is_provisional(stored: &str) -> bool {
    stored == PROVISIONAL
}

/// True for any value that by construction matches nothing (the provisional
/// marker, or another `!`-prefixed lock marker in the shadow-file tradition).
pub(crate) fn is_locked_marker(stored: &str) -> bool {
    stored.starts_with('!')
}

/// What kind of secret a stored value is, judged by its prefix alone (cheap;
/// full validation is `check_imported_hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    Provisional,
    Argon2id,
    Bcrypt,
    Pbkdf2Sha256,
    Unknown,
}

/// A stored secret, as it sits in the database column `password_hash`.
/// A thin newtype so it is as cheap to clone as the `String` inside.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StoredSecret(String);

impl StoredSecret {
    /// Wraps a column value as is; nothing is validated here.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The marker for a user who has no password yet.
    pub fn provisional() -> Self {
        Self(PROVISIONAL.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_provisional(&self) -> bool {
        is_provisional(&self.0)
    }

    pub fn kind(&self) -> SecretKind {
        kind_of(&self.0)
    }
}

fn kind_of(stored: &str) -> SecretKind {
    const BCRYPT: [&str; 3] = ["$2a$", "$2b$", "$2y$"];
    if is_provisional(stored) {
        SecretKind::Provisional
    } else if stored.starts_with("$argon2id$") {
        SecretKind::Argon2id
    } else if BCRYPT.iter().any(|p| stored.starts_with(p)) {
        SecretKind::Bcrypt
    } else if stored.starts_with("$pbkdf2-sha256$") || stored.starts_with("pbkdf2_sha256$") {
        SecretKind::Pbkdf2Sha256
    } else {
        SecretKind::Unknown
    }
}

impl From<String> for StoredSecret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl AsRef<str> for StoredSecret {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Only the kind is shown: a hash is not a password, but it is still
/// offline-crackable material that has no business in logs.
impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredSecret({:?}, ..)", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisional_marker() {
        assert!(is_provisional(PROVISIONAL));
        assert!(!is_provisional("provisional"));
        assert!(StoredSecret::provisional().is_provisional());
        assert_eq!(StoredSecret::provisional().kind(), SecretKind::Provisional);
        assert!(is_locked_marker("!locked"));
    }

    #[test]
    fn kinds_by_prefix() {
        let kind = |s: &str| StoredSecret::new(s.to_owned()).kind();
        assert_eq!(
            kind("$argon2id$v=19$m=19456,t=2,p=1$x$y"),
            SecretKind::Argon2id
        );
        assert_eq!(kind("$2b$12$abc"), SecretKind::Bcrypt);
        assert_eq!(
            kind("$pbkdf2-sha256$i=1000,l=32$a$b"),
            SecretKind::Pbkdf2Sha256
        );
        assert_eq!(kind("pbkdf2_sha256$1000$a$b"), SecretKind::Pbkdf2Sha256);
        assert_eq!(kind("$1$abc$def"), SecretKind::Unknown);
    }

    #[test]
    fn debug_hides_the_hash() {
        let s = StoredSecret::new(
            "$2b$12$SENTINELxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".to_owned(),
        );
        assert_eq!(format!("{s:?}"), "StoredSecret(Bcrypt, ..)");
    }
}
