//! The plaintext password wrapper. It exists so that a password cannot be
//! printed by accident (`Debug` is redacted, there is no `Display`) and so
//! that its bytes are wiped from memory as soon as it is dropped.

use std::fmt;
use zeroize::Zeroize;

/// A plaintext password held only as long as needed; `Debug` prints
/// `Password(***)`, and the buffer is zeroized on drop.
///
/// Deliberately not `Clone`: every copy is one more buffer to wipe.
pub struct PlainPassword(String);

impl PlainPassword {
    /// Takes ownership of the string so no un-wiped copy stays with the caller.
    pub fn new(s: String) -> Self {
        Self(s)
    }

    /// The plaintext, for hashing or policy checks. Keep the borrow short.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for PlainPassword {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Drop for PlainPassword {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = PlainPassword::new("Sentinel-Secret-42".to_owned());
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(format!("{p:#?}"), "Password(***)");
        assert!(!format!("{:?}", Some(&p)).contains("Sentinel"));
    }

    #[test]
    fn expose_returns_the_text() {
        let p = PlainPassword::from("abc".to_owned());
        assert_eq!(p.expose(), "abc");
    }
}
