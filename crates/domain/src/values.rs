//! Small cell values: Yes/No booleans and secret cells. Booleans accept the spellings every
//! spreadsheet tool produces; secrets are carried, never judged or shown — the credentials crate
//! decides what a password or hash is worth.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroize;

use crate::text::excerpt;

/// Why a cell is not a boolean.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum BoolError {
    #[error("`{value}` is not Yes or No")]
    NotBool { value: String },
}

/// `Yes/No`, `true/false`, `1/0`, `y/n`, `on/off`, any case, trimmed. Blank is an error here;
/// the row parser decides what a blank cell means.
pub fn parse_bool(raw: &str) -> Result<bool, BoolError> {
    const TRUE: [&str; 5] = ["yes", "true", "1", "y", "on"];
    const FALSE: [&str; 5] = ["no", "false", "0", "n", "off"];
    let s = raw.trim();
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Ok(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(s)) {
        Ok(false)
    } else {
        Err(BoolError::NotBool { value: excerpt(s) })
    }
}

/// A secret cell (`Password` or `Password hash`) exactly as read. Debug prints `***`, there is
/// no Display, and the memory is wiped on drop so a million passwords do not linger in freed heap.
#[derive(Clone)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(text: String) -> SecretText {
        SecretText(text)
    }

    /// The secret itself; call only where it is about to be hashed or verified.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_table() {
        for t in [
            "Yes", "yes", " YES ", "true", "TRUE", "1", "y", "Y", "on", "On",
        ] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["No", "no", "FALSE", "false", "0", "n", "N", "off", " OFF "] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        for bad in ["maybe", "", "2", "yess", "oui"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_bool("maybe").unwrap_err().to_string(),
            "`maybe` is not Yes or No"
        );
    }

    #[test]
    fn secret_is_redacted() {
        let s = SecretText::new("hunter2".to_owned());
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }
}
