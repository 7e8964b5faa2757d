//! The password policy applied when a password is set (by an admin import or
//! by the user). Checks run on the RFC 8265 §4.2 OpaqueString form of the
//! password, because that is the form two visually identical inputs share;
//! the violation messages name the rule broken and never the password.

use crate::common_passwords::is_common;
use crate::password::PlainPassword;
use precis_profiles::precis_core::profile::Profile;
use precis_profiles::OpaqueString;
use std::borrow::Cow;

/// Shortest username fragment we look for inside a password. Shorter names
/// ("al", "jo") would reject a large share of good passwords by coincidence;
/// an exact match is still refused whatever the length.
const MIN_USERNAME_FRAGMENT: usize = 3;

/// NFC can turn one character into at most three, so input more than this
/// many times `max_chars` is refused before doing any Unicode work on it.
const MAX_EXPANSION: usize = 3;

/// Length and content rules for new passwords. Lengths count Unicode scalar
/// values after PRECIS preparation, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    /// 12..=128 characters: long enough to resist guessing, short enough that
    /// hashing cost stays predictable.
    fn default() -> Self {
        Self {
            min_chars: 12,
            max_chars: 128,
        }
    }
}

/// Why a password was refused. `Display` is a sentence meant for the user; it
/// never contains the password or the username. As data it is
/// `{"code": "too_short", "min": 12}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PolicyViolation {
    #[error("the password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("the password must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("the password contains characters that are not allowed (such as control characters)")]
    InvalidCharacters,
    #[error("the password must not consist only of spaces")]
    OnlyWhitespace,
    #[error("the password must not contain the username")]
    ContainsUsername,
    #[error("the password is too common; choose one that is harder to guess")]
    TooCommon,
}

impl PasswordPolicy {
    /// Checks after PRECIS OpaqueString preparation (RFC 8265 §4.2): length in
    /// chars within bounds, not only whitespace, not equal to / containing the
    /// username (case-insensitive), not on the built-in common-password list.
    pub fn check(&self, password: &PlainPassword, username: &str) -> Result<(), PolicyViolation> {
        let prepared = self.prepare(password.expose())?;
        self.check_length(&prepared)?;
        if prepared.chars().all(char::is_whitespace) {
            return Err(PolicyViolation::OnlyWhitespace);
        }
        if contains_username(&prepared, username) {
            return Err(PolicyViolation::ContainsUsername);
        }
        if is_common(&prepared) {
            return Err(PolicyViolation::TooCommon);
        }
        Ok(())
    }

    /// Applies OpaqueString enforcement. The PRECIS error (which names the
    /// offending code point and its position) is dropped on purpose.
    fn prepare<'a>(&self, raw: &'a str) -> Result<Cow<'a, str>, PolicyViolation> {
        if raw.is_empty() {
            return Err(PolicyViolation::TooShort {
                min: self.min_chars,
            });
        }
        if raw.chars().count() > self.max_chars.saturating_mul(MAX_EXPANSION) {
            return Err(PolicyViolation::TooLong {
                max: self.max_chars,
            });
        }
        OpaqueString::new()
            .enforce(raw)
            .map_err(|_| PolicyViolation::InvalidCharacters)
    }

    fn check_length(&self, prepared: &str) -> Result<(), PolicyViolation> {
        let chars = prepared.chars().count();
        if chars < self.min_chars {
            return Err(PolicyViolation::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars {
            return Err(PolicyViolation::TooLong {
                max: self.max_chars,
            });
        }
        Ok(())
    }
}

/// Case-insensitive: equal to the username, or containing it (or, for an
/// e-mail-style username, its local part) when that is long enough to matter.
fn contains_username(password: &str, username: &str) -> bool {
    let password = password.to_lowercase();
    let username = username.trim().to_lowercase();
    if username.is_empty() {
        return false;
    }
    if password == username {
        return true;
    }
    let local_part = username.split('@').next().unwrap_or_default();
    [username.as_str(), local_part]
        .iter()
        .any(|frag| frag.chars().count() >= MIN_USERNAME_FRAGMENT && password.contains(frag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pw: &str, user: &str) -> Result<(), PolicyViolation> {
        PasswordPolicy::default().check(&PlainPassword::new(pw.to_owned()), user)
    }

    #[test]
    fn default_bounds() {
        let p = PasswordPolicy::default();
        assert_eq!((p.min_chars, p.max_chars), (12, 128));
    }

    #[test]
    fn accepts_reasonable_passwords() {
        assert_eq!(check("violet harbour engine", "alice"), Ok(()));
        assert_eq!(check("Zebra-Lantern-77", "alice@example.com"), Ok(()));
        // Non-ASCII letters count as one character each.
        assert_eq!(check("ünïcödé-pässwörd", "bob"), Ok(()));
        // Exactly at the bounds.
        assert_eq!(check("abcdefghijk9", "x"), Ok(()));
        assert_eq!(check(&"k".repeat(128), "x"), Ok(()));
    }

    #[test]
    fn length_rules() {
        assert_eq!(check("", "x"), Err(PolicyViolation::TooShort { min: 12 }));
        assert_eq!(
            check("short-pw1", "x"),
            Err(PolicyViolation::TooShort { min: 12 })
        );
        assert_eq!(
            check(&"k".repeat(129), "x"),
            Err(PolicyViolation::TooLong { max: 128 })
        );
        assert_eq!(
            check(&"k".repeat(10_000), "x"),
            Err(PolicyViolation::TooLong { max: 128 })
        );
        // 11 characters but 22 bytes: lengths are in characters.
        assert_eq!(
            check("ééééééééééé", "x"),
            Err(PolicyViolation::TooShort { min: 12 })
        );
    }

    #[test]
    fn counts_characters_after_nfc() {
        // 12 decomposed "e + combining acute" pairs are 24 chars raw, 12 after NFC.
        let decomposed = "e\u{301}".repeat(12);
        let policy = PasswordPolicy {
            min_chars: 12,
            max_chars: 12,
        };
        assert_eq!(policy.check(&PlainPassword::new(decomposed), "x"), Ok(()));
    }

    #[test]
    fn rejects_invalid_characters_and_blank() {
        assert_eq!(
            check("abcdefghij\u{0}klm", "x"),
            Err(PolicyViolation::InvalidCharacters)
        );
        assert_eq!(
            check("abcdefghij\u{7}klm", "x"),
            Err(PolicyViolation::InvalidCharacters)
        );
        assert_eq!(
            check(&" ".repeat(14), "x"),
            Err(PolicyViolation::OnlyWhitespace)
        );
        // A non-ASCII space is mapped to U+0020 first, so it is still blank.
        assert_eq!(
            check(&"\u{3000}".repeat(14), "x"),
            Err(PolicyViolation::OnlyWhitespace)
        );
    }

    #[test]
    fn rejects_username() {
        assert_eq!(
            check("Alexander1999", "alexander1999"),
            Err(PolicyViolation::ContainsUsername)
        );
        assert_eq!(
            check("my-ALEXANDER-password", "Alexander"),
            Err(PolicyViolation::ContainsUsername)
        );
        assert_eq!(
            check("dear-alexander-2024", "alexander@example.com"),
            Err(PolicyViolation::ContainsUsername)
        );
        // Two-letter names are only refused on an exact match.
        assert_eq!(check("jolly-roger-ships", "jo"), Ok(()));
    }

    #[test]
    fn rejects_common() {
        assert_eq!(check("password123!", "x"), Err(PolicyViolation::TooCommon));
        assert_eq!(check("QwertyUIOP12", "x"), Err(PolicyViolation::TooCommon));
        assert_eq!(
            check("correcthorsebatterystaple", "x"),
            Err(PolicyViolation::TooCommon)
        );
    }

    #[test]
    fn messages_never_echo_password_or_username() {
        let sentinel = "Sentinel-Zq9-Secret";
        let violations = [
            check(sentinel, "Sentinel-Zq9-Secret").unwrap_err(),
            PolicyViolation::TooShort { min: 12 },
            PolicyViolation::TooLong { max: 128 },
            PolicyViolation::InvalidCharacters,
            PolicyViolation::OnlyWhitespace,
            PolicyViolation::TooCommon,
        ];
        for v in violations {
            assert!(!v.to_string().contains("Sentinel"), "{v}");
            assert!(!format!("{v:?}").contains("Sentinel"), "{v:?}");
        }
    }
}
