//! Raw text into checked values, once, at the start of a use case: each bad field becomes a
//! `FieldProblem`, and a use case reports all of them together. Also the list's cursor.

use muster_credentials::{hash_password, PasswordPolicy, PlainPassword};
use muster_domain::EntityName;
use muster_store::UserRecord;

use crate::context::{Context, RngRef};
use crate::error::{Error, FieldProblem};

pub(super) fn hash(ctx: &Context, password: &PlainPassword) -> Result<String, Error> {
    let mut rng = ctx
        .rng
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    hash_password(password, &mut RngRef(rng.as_mut()))
        .map_err(|e| Error::invalid("password", e.to_string()))
}

/// The policy imports apply, with the same messages.
pub(super) fn check_policy(
    problems: &mut Vec<FieldProblem>,
    password: &PlainPassword,
    username: &str,
) {
    if let Err(violation) = PasswordPolicy::default().check(password, username) {
        problems.push(problem("password", violation.to_string()));
    }
}

pub(super) fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(super) fn parsed<T, E: std::fmt::Display>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    result: Result<T, E>,
) -> Option<T> {
    result
        .map_err(|e| problems.push(problem(field, e.to_string())))
        .ok()
}

/// An optional field: absent or blank is None.
pub(super) fn optional<T, E: std::fmt::Display>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    parsed(problems, field, parse(raw))
}

/// A field of a patch: None keeps it, `Some(None)` or blank text clears it.
pub(super) fn clearable<T, E: std::fmt::Display>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    raw: &Option<Option<String>>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    let raw = raw.as_ref()?;
    let before = problems.len();
    let value = optional(problems, field, raw.as_deref(), parse);
    (problems.len() == before).then_some(value)
}

/// Role or group names as sorted, distinct keys.
pub(super) fn names(problems: &mut Vec<FieldProblem>, field: &str, raw: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = raw
        .iter()
        .filter(|r| !r.trim().is_empty())
        .filter_map(|r| parsed(problems, field, EntityName::parse(r)))
        .map(|n| n.key().to_owned())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

pub(super) fn name_key(
    field: &str,
    raw: Option<&str>,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    optional(problems, field, raw, EntityName::parse).map(|n| n.key().to_owned())
}

/// Reports each key the catalog does not have.
pub(super) fn known<'a>(
    problems: &mut Vec<FieldProblem>,
    field: &str,
    keys: impl Iterator<Item = &'a String>,
    exists: impl Fn(&str) -> bool,
) {
    let entity = match field {
        "roles" => "role",
        "groups" => "group",
        other => other,
    };
    for key in keys.filter(|k| !exists(k)) {
        problems.push(problem(field, format!("there is no {entity} `{key}`")));
    }
}

pub(super) fn matches_search(user: &UserRecord, needle: &str) -> bool {
    user.username_key.contains(needle)
        || user.name.to_lowercase().contains(needle)
        || user
            .email_key
            .as_deref()
            .is_some_and(|e| e.contains(needle))
}

/// The cursor is the last key of the page, hex-encoded so that callers treat it as opaque and
/// it travels in a URL as it is.
pub(super) fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn decode_cursor(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) || cursor.is_empty() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        for key in ["alice", "zoë.müller@example", ""] {
            let cursor = encode_cursor(key);
            if key.is_empty() {
                assert_eq!(decode_cursor(&cursor), None);
            } else {
                assert_eq!(decode_cursor(&cursor).as_deref(), Some(key));
            }
        }
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor("ff"), None, "not UTF-8");
    }
}
