//! Ways to reach a user: e-mail address and phone number. The e-mail is syntax-checked and keyed
//! by its lowercase form (uniqueness is case-insensitive); the phone is checked only for shape and
//! kept exactly as written, because "0044…" and "+44 …" are both what somebody meant.

use std::fmt;
use std::hash::{Hash, Hasher};

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::{char_len, excerpt};

/// Longest e-mail address (RFC 5321 path limit).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Longest phone number, extension included.
pub const PHONE_MAX_CHARS: usize = 32;
/// Fewest digits a phone number can have and still be dialled (emergency numbers: 3).
pub const PHONE_MIN_DIGITS: usize = 3;

/// Why a cell is not an e-mail address.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum EmailError {
    #[error("an e-mail address may not be empty")]
    Empty,
    #[error("`{value}` is not a valid e-mail address")]
    Invalid { value: String },
    #[error("`{value}` is too long: an e-mail address may be at most {max} characters, not {chars}", max = EMAIL_MAX_CHARS)]
    TooLong { value: String, chars: usize },
}

/// An e-mail address: trimmed, a bare address (no `Name <…>` display part, no `[IP]` domain
/// literal), at most 254 characters. Equal, hashed by its lowercase key.
#[derive(Clone)]
pub struct Email {
    text: String,
    key: String,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        let chars = char_len(trimmed);
        if chars > EMAIL_MAX_CHARS {
            return Err(EmailError::TooLong {
                value: excerpt(trimmed),
                chars,
            });
        }
        // A spreadsheet cell holds one bare address: a `Name <…>` display part or an `[IP]`
        // domain literal is a paste accident, not what the admin means to store.
        let options = Options::default()
            .without_display_text()
            .without_domain_literal();
        EmailAddress::parse_with_options(trimmed, options).map_err(|_| EmailError::Invalid {
            value: excerpt(trimmed),
        })?;
        let key = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            trimmed.to_lowercase()
        };
        Ok(Email {
            text: trimmed.to_owned(),
            key,
        })
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Lowercase form, for case-insensitive uniqueness.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Email {}
impl Hash for Email {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.text)
    }
}

/// Why a cell is not a phone number.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PhoneError {
    #[error("a phone number may not be empty")]
    Empty,
    #[error("`{value}` is too long: a phone number may be at most {max} characters", max = PHONE_MAX_CHARS)]
    TooLong { value: String },
    #[error("`{value}` is not a phone number: `{ch}` is not allowed (digits, spaces, + - ( ) . / and ext)")]
    InvalidChar { value: String, ch: char },
    #[error("`{value}` is not a phone number: letters other than an `ext` or `x` extension are not allowed")]
    InvalidWord { value: String },
    #[error("`{value}` is not a phone number: it needs at least {min} digits", min = PHONE_MIN_DIGITS)]
    TooFewDigits { value: String },
}

/// A phone number kept as text exactly as written (trimmed): `+44 20 7946 0958`, `0044…`,
/// `007` — leading zeros and the admin's spacing are meaning, not noise.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if char_len(trimmed) > PHONE_MAX_CHARS {
            return Err(PhoneError::TooLong {
                value: excerpt(trimmed),
            });
        }
        let digits = check_phone_chars(trimmed)?;
        if digits < PHONE_MIN_DIGITS {
            return Err(PhoneError::TooFewDigits {
                value: excerpt(trimmed),
            });
        }
        Ok(Phone(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Walks the number, allowing punctuation and one extension word (`ext`, `x`, any case, an
/// optional `.` after it is plain punctuation); returns the digit count.
fn check_phone_chars(s: &str) -> Result<usize, PhoneError> {
    let bytes = s.as_bytes();
    let mut digits = 0;
    let mut extension_seen = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            digits += 1;
            i += 1;
        } else if matches!(b, b' ' | b'+' | b'-' | b'(' | b')' | b'.' | b'/') {
            i += 1;
        } else if b.is_ascii_alphabetic() {
            let end = bytes[i..]
                .iter()
                .position(|c| !c.is_ascii_alphabetic())
                .map_or(bytes.len(), |n| i + n);
            let word = &s[i..end];
            let is_ext = word.eq_ignore_ascii_case("ext") || word.eq_ignore_ascii_case("x");
            if !is_ext || extension_seen || digits == 0 {
                return Err(PhoneError::InvalidWord { value: excerpt(s) });
            }
            extension_seen = true;
            i = end;
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            return Err(PhoneError::InvalidChar {
                value: excerpt(s),
                ch,
            });
        }
    }
    Ok(digits)
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_ok() {
        let e = Email::parse("  Jean.Dupont@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Jean.Dupont@Example.COM");
        assert_eq!(e.key(), "jean.dupont@example.com");
        assert_eq!(e, Email::parse("jean.dupont@example.com").unwrap());
        assert!(Email::parse("o'brien+tag@mail.example.co.uk").is_ok());
    }

    #[test]
    fn email_bad() {
        for bad in [
            "bob@@x",
            "bob",
            "bob@",
            "@x.com",
            "Bob <bob@x.com>",
            "bob@[1.2.3.4]",
            "a b@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse("bob@@x").unwrap_err().to_string(),
            "`bob@@x` is not a valid e-mail address"
        );
        assert_eq!(Email::parse(" "), Err(EmailError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(matches!(
            Email::parse(&long),
            Err(EmailError::TooLong { .. })
        ));
    }

    #[test]
    fn phone_kept_exactly() {
        assert_eq!(
            Phone::parse(" +44 20 7946 0958 ").unwrap().as_str(),
            "+44 20 7946 0958"
        );
        assert_eq!(Phone::parse("007").unwrap().as_str(), "007");
        assert_eq!(
            Phone::parse("0044 (0)20 7946-0958").unwrap().as_str(),
            "0044 (0)20 7946-0958"
        );
        assert!(Phone::parse("+1 555 0100 ext. 42").is_ok());
        assert!(Phone::parse("+1 555 0100 x42").is_ok());
        assert!(Phone::parse("555.0100/12").is_ok());
    }

    #[test]
    fn phone_rejected() {
        assert!(matches!(
            Phone::parse("12"),
            Err(PhoneError::TooFewDigits { .. })
        ));
        assert!(matches!(
            Phone::parse("call me"),
            Err(PhoneError::InvalidWord { .. })
        ));
        assert!(matches!(
            Phone::parse("555 0100 ext 1 x 2"),
            Err(PhoneError::InvalidWord { .. })
        ));
        assert!(matches!(
            Phone::parse("555#0100"),
            Err(PhoneError::InvalidChar { ch: '#', .. })
        ));
        assert!(matches!(
            Phone::parse(&"1".repeat(33)),
            Err(PhoneError::TooLong { .. })
        ));
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
    }
}
