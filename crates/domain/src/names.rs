//! Names: the username that keys a user, the names that key groups, roles and departments, a
//! user's display name and free-text descriptions. Each is parsed once from a cell and from then
//! on carries both what the admin wrote (`as_str`) and, where two spellings must meet, the
//! matching key (`key`), so no later layer re-derives equality with its own rules.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use precis_profiles::precis_core::profile::PrecisFastInvocation;
use precis_profiles::UsernameCaseMapped;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::{char_len, excerpt, fold_key, is_control, is_line_break, nfc};

/// Longest username, in characters of the enforced form (SPEC §1).
pub const USERNAME_MAX_CHARS: usize = 64;
/// Longest group, role or department name.
pub const ENTITY_NAME_MAX_CHARS: usize = 100;
/// Longest display name of a user.
pub const DISPLAY_NAME_MAX_CHARS: usize = 200;
/// Longest description.
pub const DESCRIPTION_MAX_CHARS: usize = 1000;

/// Why a cell is not a username.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum UsernameError {
    #[error("a username may not be empty")]
    Empty,
    #[error("a username may be at most {max} characters long, not {chars}", max = USERNAME_MAX_CHARS)]
    TooLong { chars: usize },
    #[error("a username may not contain a line break")]
    LineBreak,
    #[error("a username may not contain a control character")]
    ControlChar,
    #[error("a username may not contain a space")]
    Space,
    #[error("a username may not contain a comma")]
    Comma,
    /// A character outside letters, digits and `. _ - @`, after enforcement.
    #[error("`{value}`: a username may not contain `{ch}` (only letters, digits and . _ - @)")]
    Disallowed { value: String, ch: char },
    /// Rejected by the PRECIS UsernameCaseMapped profile itself (unassigned code points,
    /// mixed right-to-left text and the like).
    #[error("`{value}` is not a valid username (RFC 8265)")]
    Profile { value: String },
}

/// A user's login name. `display` is what the admin typed (trimmed, NFC); `key` is the PRECIS
/// UsernameCaseMapped enforced form (RFC 8265), which is what makes `Alice`, `alice` and
/// `ＡＬＩＣＥ` one user on every database backend. Equality, hashing and ordering use the key.
#[derive(Clone)]
pub struct Username {
    display: String,
    key: String,
}

impl Username {
    /// Checks and enforces a username cell.
    pub fn parse(raw: &str) -> Result<Username, UsernameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(UsernameError::Empty);
        }
        reject_separators(trimmed)?;
        // Plain ASCII identifiers are nearly every row of a million-row import; for them PRECIS
        // enforcement reduces to ASCII lowercasing (no width mapping, already NFC, no bidi), so
        // we skip the profile machinery.
        let (display, key) = if trimmed.bytes().all(is_ascii_username_byte) {
            (trimmed.to_owned(), trimmed.to_ascii_lowercase())
        } else {
            let key = UsernameCaseMapped::enforce(trimmed)
                .map_err(|_| UsernameError::Profile {
                    value: excerpt(trimmed),
                })?
                .into_owned();
            if let Some(ch) = key.chars().find(|&c| !is_username_char(c)) {
                return Err(UsernameError::Disallowed {
                    value: excerpt(trimmed),
                    ch,
                });
            }
            (nfc(trimmed), key)
        };
        let chars = char_len(&key);
        if chars > USERNAME_MAX_CHARS {
            return Err(UsernameError::TooLong { chars });
        }
        Ok(Username { display, key })
    }

    /// The username as the admin wrote it (trimmed, NFC).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The enforced form that identifies the user: store it in its own unique column.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// True when the key mixes letters of Latin, Greek and Cyrillic — the usual shape of a
    /// look-alike such as Cyrillic `аlice` (SPEC §1 asks for such names to be flagged; the
    /// name stays valid, because real names in those scripts are legitimate).
    pub fn is_mixed_script(&self) -> bool {
        if self.key.is_ascii() {
            return false;
        }
        let mut seen = [false; 3];
        for c in self.key.chars().filter(|c| c.is_alphabetic()) {
            if let Some(script) = confusable_script(c) {
                seen[script] = true;
            }
        }
        seen.iter().filter(|&&s| s).count() > 1
    }
}

/// Gives the specific reason for the separators admins most often paste by accident, before the
/// generic profile check would only say "invalid".
fn reject_separators(s: &str) -> Result<(), UsernameError> {
    for c in s.chars() {
        if is_line_break(c) {
            return Err(UsernameError::LineBreak);
        }
        if is_control(c) {
            return Err(UsernameError::ControlChar);
        }
        if c.is_whitespace() {
            return Err(UsernameError::Space);
        }
        if c == ',' {
            return Err(UsernameError::Comma);
        }
    }
    Ok(())
}

fn is_ascii_username_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')
}

fn is_username_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')
}

/// 0 = Latin, 1 = Greek, 2 = Cyrillic; the three scripts whose letters impersonate each other.
fn confusable_script(c: char) -> Option<usize> {
    match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => Some(0),
        0x370..=0x3FF | 0x1F00..=0x1FFF => Some(1),
        0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Some(2),
        _ => None,
    }
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Username {}
impl Hash for Username {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}
impl PartialOrd for Username {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Username {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}
impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}
impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({:?}, key {:?})", self.display, self.key)
    }
}

/// Why a cell is not a group, role or department name.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum EntityNameError {
    #[error("a name may not be empty")]
    Empty,
    #[error("`{value}` is too long: a name may be at most {max} characters, not {chars}", max = ENTITY_NAME_MAX_CHARS)]
    TooLong { value: String, chars: usize },
    #[error("a name may not contain a line break")]
    LineBreak,
    #[error("a name may not contain a control character")]
    ControlChar,
    /// Commas separate list items, so a name holding one could never be listed.
    #[error("`{value}`: a name may not contain a comma")]
    Comma { value: String },
}

/// The name of a group, role or department. Trimmed, inner whitespace (tabs included) collapsed; compared,
/// hashed and ordered by its key (NFKC + lowercase), so "Sales" and "sales " are one department.
#[derive(Clone)]
pub struct EntityName {
    display: String,
    key: String,
}

impl EntityName {
    /// Checks a name cell (or one item of a list cell).
    pub fn parse(raw: &str) -> Result<EntityName, EntityNameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EntityNameError::Empty);
        }
        for c in trimmed.chars() {
            if is_line_break(c) {
                return Err(EntityNameError::LineBreak);
            }
            // A tab between words is whitespace to collapse, not an invisible character.
            if is_control(c) && c != '\t' {
                return Err(EntityNameError::ControlChar);
            }
            if c == ',' {
                return Err(EntityNameError::Comma {
                    value: excerpt(trimmed),
                });
            }
        }
        let display = match collapse_whitespace(trimmed) {
            Some(collapsed) => nfc(&collapsed),
            None => nfc(trimmed),
        };
        let chars = char_len(&display);
        if chars > ENTITY_NAME_MAX_CHARS {
            return Err(EntityNameError::TooLong {
                value: excerpt(trimmed),
                chars,
            });
        }
        let key = fold_key(&display);
        Ok(EntityName { display, key })
    }

    /// The name as written (trimmed, whitespace collapsed, NFC).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The matching key: NFKC + lowercase of the display form.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Collapses every run of whitespace to one space; `s` is already trimmed. `None` when nothing
/// needs collapsing (the usual case), so the caller copies the text once, not twice.
fn collapse_whitespace(s: &str) -> Option<String> {
    let mut prev_space = false;
    let clean = s.chars().all(|c| {
        let bad = c.is_whitespace() && (c != ' ' || prev_space);
        prev_space = c == ' ';
        !bad
    });
    if clean {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    Some(out)
}

impl PartialEq for EntityName {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for EntityName {}
impl Hash for EntityName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}
impl PartialOrd for EntityName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for EntityName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}
impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}
impl fmt::Debug for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntityName({:?})", self.display)
    }
}

/// Parses a comma-separated list cell (`Roles`, `User group`): items trimmed, empty items
/// skipped (so "a,,b," is fine), duplicates by key collapsed keeping the first spelling, order of
/// first appearance kept. On failure, every bad item with its reason.
pub fn parse_name_list(raw: &str) -> Result<Vec<EntityName>, Vec<(String, EntityNameError)>> {
    let mut names: Vec<EntityName> = Vec::new();
    let mut errors = Vec::new();
    // Lists are short; a linear scan beats hashing until they are not.
    let mut seen: Option<HashSet<String>> = None;
    for item in raw.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match EntityName::parse(item) {
            Ok(name) => {
                if is_new(&names, &mut seen, &name) {
                    names.push(name);
                }
            }
            Err(e) => errors.push((excerpt(item), e)),
        }
    }
    if errors.is_empty() {
        Ok(names)
    } else {
        Err(errors)
    }
}

const LINEAR_DEDUP_LIMIT: usize = 16;

fn is_new(names: &[EntityName], seen: &mut Option<HashSet<String>>, name: &EntityName) -> bool {
    if seen.is_none() && names.len() >= LINEAR_DEDUP_LIMIT {
        *seen = Some(names.iter().map(|n| n.key.clone()).collect());
    }
    match seen {
        Some(set) => set.insert(name.key.clone()),
        None => !names.iter().any(|n| n.key == name.key),
    }
}

/// Why a cell is not a display name.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DisplayNameError {
    #[error("a name may not be empty")]
    Empty,
    #[error("`{value}` is too long: a name may be at most {max} characters, not {chars}", max = DISPLAY_NAME_MAX_CHARS)]
    TooLong { value: String, chars: usize },
    #[error("a name may not contain a line break")]
    LineBreak,
    #[error("a name may not contain a control character")]
    ControlChar,
}

/// A user's display name (the `Name` column): trimmed, 1–200 characters, one line.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, DisplayNameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if trimmed.chars().any(is_line_break) {
            return Err(DisplayNameError::LineBreak);
        }
        if trimmed.chars().any(is_control) {
            return Err(DisplayNameError::ControlChar);
        }
        let chars = char_len(trimmed);
        if chars > DISPLAY_NAME_MAX_CHARS {
            return Err(DisplayNameError::TooLong {
                value: excerpt(trimmed),
                chars,
            });
        }
        Ok(DisplayName(nfc(trimmed)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplayName({:?})", self.0)
    }
}

/// Why a cell is not a description.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DescriptionError {
    #[error("a description may be at most {max} characters long, not {chars}", max = DESCRIPTION_MAX_CHARS)]
    TooLong { chars: usize },
    #[error("a description may not contain control characters other than line breaks")]
    ControlChar,
}

/// Free text of a group, role or department: trimmed, 0–1000 characters, line breaks allowed and
/// stored as `\n` (Excel writes `\n`, CSV from Windows `\r\n`; they must compare equal on
/// re-import).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Description, DescriptionError> {
        let trimmed = raw.trim();
        if trimmed
            .chars()
            .any(|c| is_control(c) || matches!(c, '\u{0B}' | '\u{0C}'))
        {
            return Err(DescriptionError::ControlChar);
        }
        let text = normalise_line_breaks(trimmed);
        let chars = char_len(&text);
        if chars > DESCRIPTION_MAX_CHARS {
            return Err(DescriptionError::TooLong { chars });
        }
        Ok(Description(nfc(&text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `\r\n`, lone `\r` and the Unicode line separators all become `\n`.
fn normalise_line_breaks(s: &str) -> String {
    if !s.chars().any(|c| is_line_break(c) && c != '\n') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        out.push(if is_line_break(c) { '\n' } else { c });
    }
    out
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Description({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_keys_meet_across_case_and_width() {
        let a = Username::parse("Alice").unwrap();
        let b = Username::parse(" alice ").unwrap();
        let c = Username::parse("ＡＬＩＣＥ").unwrap();
        assert_eq!(a.key(), "alice");
        assert_eq!(b.key(), "alice");
        assert_eq!(c.key(), "alice");
        assert_eq!(a.as_str(), "Alice");
        assert_eq!(a, c);
    }

    #[test]
    fn username_fast_path_matches_precis() {
        for s in ["Alice", "jean.dupont@corp", "o_brien-2", "X-Y_Z.9@q", "007"] {
            let enforced = UsernameCaseMapped::enforce(s).unwrap();
            assert_eq!(Username::parse(s).unwrap().key(), enforced);
        }
    }

    #[test]
    fn username_length() {
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(UsernameError::TooLong { chars: 65 })
        );
        assert!(Username::parse(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn username_rejections() {
        assert_eq!(Username::parse("bob smith"), Err(UsernameError::Space));
        assert_eq!(Username::parse("bob\nx"), Err(UsernameError::LineBreak));
        assert_eq!(Username::parse("a,b"), Err(UsernameError::Comma));
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse("   "), Err(UsernameError::Empty));
        assert_eq!(Username::parse("a\tb"), Err(UsernameError::ControlChar));
        assert!(matches!(
            Username::parse("bob#x"),
            Err(UsernameError::Disallowed { ch: '#', .. })
        ));
        assert!(matches!(
            Username::parse("bob!"),
            Err(UsernameError::Disallowed { .. })
        ));
        assert_eq!(
            UsernameError::LineBreak.to_string(),
            "a username may not contain a line break"
        );
    }

    #[test]
    fn username_accepts() {
        assert_eq!(
            Username::parse("jean.dupont@corp").unwrap().key(),
            "jean.dupont@corp"
        );
        assert_eq!(Username::parse("o_brien-2").unwrap().as_str(), "o_brien-2");
        let e = Username::parse("Émile").unwrap();
        assert_eq!(e.key(), "émile");
        assert_eq!(e.as_str(), "Émile");
    }

    #[test]
    fn username_display_is_nfc() {
        let decomposed = "E\u{301}mile";
        let u = Username::parse(decomposed).unwrap();
        assert_eq!(u.as_str(), "\u{C9}mile");
        assert_eq!(u, Username::parse("émile").unwrap());
    }

    #[test]
    fn cyrillic_lookalike_is_another_user_and_flagged() {
        let fake = Username::parse("\u{430}lice").unwrap();
        let real = Username::parse("alice").unwrap();
        assert_ne!(fake.key(), real.key());
        assert!(fake.is_mixed_script());
        assert!(!real.is_mixed_script());
        assert!(!Username::parse("иван").unwrap().is_mixed_script());
    }

    #[test]
    fn entity_name_keys() {
        let a = EntityName::parse("Sales").unwrap();
        let b = EntityName::parse("  sales ").unwrap();
        let c = EntityName::parse("ＳＡＬＥＳ").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.key(), "sales");
        let d = EntityName::parse(" North   \t America ").unwrap();
        assert_eq!(d.as_str(), "North America");
        assert_eq!(d.key(), "north america");
        assert_eq!(EntityName::parse("Straße").unwrap().key(), "straße");
    }

    #[test]
    fn entity_name_rejections() {
        assert_eq!(EntityName::parse(""), Err(EntityNameError::Empty));
        assert!(matches!(
            EntityName::parse("a,b"),
            Err(EntityNameError::Comma { .. })
        ));
        assert_eq!(EntityName::parse("a\nb"), Err(EntityNameError::LineBreak));
        assert!(matches!(
            EntityName::parse(&"x".repeat(101)),
            Err(EntityNameError::TooLong { chars: 101, .. })
        ));
        assert!(EntityName::parse(&"x".repeat(100)).is_ok());
    }

    #[test]
    fn name_list_dedup_and_order() {
        let list = parse_name_list(" Admins, staff,,admins ,Staff , Ops,").unwrap();
        let shown: Vec<&str> = list.iter().map(EntityName::as_str).collect();
        assert_eq!(shown, ["Admins", "staff", "Ops"]);
        assert!(parse_name_list("").unwrap().is_empty());
        assert!(parse_name_list(" , ").unwrap().is_empty());
    }

    #[test]
    fn name_list_dedup_long() {
        let raw: Vec<String> = (0..40).map(|i| format!("g{}", i % 20)).collect();
        let list = parse_name_list(&raw.join(",")).unwrap();
        assert_eq!(list.len(), 20);
        assert_eq!(list[19].as_str(), "g19");
    }

    #[test]
    fn name_list_reports_every_bad_item() {
        let long = "y".repeat(101);
        let errs = parse_name_list(&format!("ok,{long},b\u{7}")).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(matches!(errs[0].1, EntityNameError::TooLong { .. }));
        assert_eq!(errs[1].1, EntityNameError::ControlChar);
    }

    #[test]
    fn display_name() {
        assert_eq!(
            DisplayName::parse("  Alice Martin ").unwrap().as_str(),
            "Alice Martin"
        );
        assert_eq!(DisplayName::parse(" "), Err(DisplayNameError::Empty));
        assert_eq!(
            DisplayName::parse("a\r\nb"),
            Err(DisplayNameError::LineBreak)
        );
        assert!(DisplayName::parse(&"n".repeat(200)).is_ok());
        assert!(DisplayName::parse(&"n".repeat(201)).is_err());
    }

    #[test]
    fn description() {
        assert_eq!(Description::parse("").unwrap().as_str(), "");
        assert_eq!(
            Description::parse("a\r\nb\rc\nd").unwrap().as_str(),
            "a\nb\nc\nd"
        );
        assert_eq!(
            Description::parse("a\u{1}"),
            Err(DescriptionError::ControlChar)
        );
        assert_eq!(
            Description::parse("a\tb"),
            Err(DescriptionError::ControlChar)
        );
        assert!(Description::parse(&"d".repeat(1000)).is_ok());
        assert!(Description::parse(&"d".repeat(1001)).is_err());
    }
}
