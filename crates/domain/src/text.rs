//! Small text helpers shared by the checked types: what counts as a line break or a control
//! character, how long a string is in characters, and how an offending value is quoted in an
//! error message. Kept in one place so every type draws the same lines.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// How many characters of an offending value an error message quotes; a whole 30 000-char cell
/// in a message helps nobody.
pub(crate) const EXCERPT_CHARS: usize = 40;

/// Line breaks an admin can paste from a spreadsheet cell, including the Unicode ones, because a
/// line break inside an identifier or a name breaks every CSV and every log line it lands in.
pub(crate) fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Control characters other than line breaks (tab included): invisible, and never intended in a
/// name or an identifier.
pub(crate) fn is_control(c: char) -> bool {
    c.is_control() && !is_line_break(c)
}

/// Length in characters, which is what an administrator means by "at most 64".
pub(crate) fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// The first [`EXCERPT_CHARS`] characters of `s`, with control characters and line breaks escaped
/// so that a message stays on one line, and `…` when something was cut.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(EXCERPT_CHARS * 2));
    for (i, c) in s.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || is_line_break(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// NFC form of `s`, skipping the normaliser when a quick check proves it is already NFC (always
/// the case for ASCII), because this runs on every row.
pub(crate) fn nfc(s: &str) -> String {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s.to_owned()
    } else {
        s.nfc().collect()
    }
}

/// Matching key of a name: NFKC then lowercase, so that "Sales", "sales" and "ＳＡＬＥＳ" meet.
pub(crate) fn fold_key(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.nfkc().collect::<String>().to_lowercase()
    }
}

/// Lowercase with everything that is not a letter or a digit removed: the form in which headers,
/// aliases and entity names are compared, so "E-mail", "E mail" and "E_MAIL" are one.
pub(crate) fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_and_escapes() {
        assert_eq!(excerpt("a\nb"), "a\\nb");
        let long = "x".repeat(50);
        assert_eq!(excerpt(&long), format!("{}…", "x".repeat(40)));
    }

    #[test]
    fn squash_removes_punctuation() {
        assert_eq!(squash("E-mail"), "email");
        assert_eq!(squash(" E_MAIL "), "email");
        assert_eq!(squash("\u{FEFF}Username"), "username");
    }
}
