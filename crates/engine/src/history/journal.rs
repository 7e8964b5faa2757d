//! What an import remembers of every record it creates or changes: its image before (to undo
//! it) and after (to apply a stored preview, and to tell at revert time whether anything
//! changed it since). Images travel as JSON inside the store's chunk tables, one chunk per batch.
//!
//! A user created by an import that was applied directly keeps only the fingerprint of its
//! after image: the users table itself holds that image, and a revert only has to know whether
//! the user still looks exactly as the import left it. That halves the bookkeeping of a large
//! first import. Previews keep the whole after image, because applying one must not need the
//! uploaded file (whose passwords are never archived).

use muster_store::{NamedRecord, RoleRecord, UserRecord};

use crate::ids::IdMaker;
use crate::import::issue::{Coded, IssueKind, Shown};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

// Users are nearly every entry of a large journal; boxing their images would add two
// allocations per row for the few catalog entries' sake.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Change {
    User {
        row: u64,
        key: String,
        /// The user's id; empty in journals written before ids existed, which are matched by
        /// key. A revert finds the user by it, so a rename since the import is seen as a
        /// change rather than as a user that is gone.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<UserRecord>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<UserRecord>,
        /// `fingerprint` of the after image.
        fp: String,
    },
    Department {
        row: u64,
        before: Option<NamedRecord>,
        after: NamedRecord,
    },
    Group {
        row: u64,
        before: Option<NamedRecord>,
        after: NamedRecord,
    },
    Role {
        row: u64,
        before: Option<RoleRecord>,
        after: RoleRecord,
    },
}

impl Change {
    pub fn row(&self) -> u64 {
        match self {
            Change::User { row, .. }
            | Change::Department { row, .. }
            | Change::Group { row, .. }
            | Change::Role { row, .. } => *row,
        }
    }

    /// The record's key: a username key or a catalog name key.
    pub fn key(&self) -> &str {
        match self {
            Change::User { key, .. } => key,
            Change::Department { after, .. } | Change::Group { after, .. } => &after.name_key,
            Change::Role { after, .. } => &after.named.name_key,
        }
    }

    pub fn is_create(&self) -> bool {
        match self {
            Change::User { before, .. } => before.is_none(),
            Change::Department { before, .. } | Change::Group { before, .. } => before.is_none(),
            Change::Role { before, .. } => before.is_none(),
        }
    }

    /// The entity word used in messages.
    pub fn entity(&self) -> &'static str {
        match self {
            Change::User { .. } => "user",
            Change::Department { .. } => "department",
            Change::Group { .. } => "group",
            Change::Role { .. } => "role",
        }
    }
}

/// One batch of changes, as stored.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChangeChunk {
    pub sheet: String,
    pub changes: Vec<Change>,
    /// (row, key) of the batch's rows that changed nothing: not needed to apply or undo, kept
    /// so the history has the outcome of every row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchanged: Vec<(u64, String)>,
}

/// One batch of failed rows, as stored.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FailureChunk {
    pub sheet: String,
    pub rows: Vec<FailedRowLog>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FailedRowLog {
    pub row: u64,
    /// The row carried a password or password hash, which the archive does not keep.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    pub issues: Vec<LoggedIssue>,
}

/// One problem of a failed row, as the history keeps it: the column header and the problem as
/// data, `{"column": "User group", "code": "unknown_group", "name": "Ops"}` (see `issue` for the
/// shape). The sentence is made when the problem is shown, never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedIssue {
    pub column: Option<String>,
    #[serde(flatten)]
    pub problem: LoggedProblem,
}

/// A stored problem: the kind with its parameters, or, in a history written by an earlier
/// release, the sentence it stored.
///
/// `Legacy` is tried first and needs `message`, which only earlier releases wrote; a problem
/// that is data has no `message`, so it is read as an `IssueKind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LoggedProblem {
    Legacy {
        /// The kind's code; empty in histories written before codes were kept.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        code: String,
        message: String,
    },
    Kind(IssueKind),
}

impl LoggedIssue {
    pub(crate) fn new(column: Option<String>, kind: IssueKind) -> LoggedIssue {
        LoggedIssue {
            column,
            problem: LoggedProblem::Kind(kind),
        }
    }

    /// The problem's code (`Coded::code`); empty for a problem stored before codes were kept.
    pub fn code(&self) -> &str {
        match &self.problem {
            LoggedProblem::Kind(kind) => kind.code(),
            LoggedProblem::Legacy { code, .. } => code,
        }
    }

    /// The problem as data, unless an earlier release stored it as a sentence.
    pub fn kind(&self) -> Option<&IssueKind> {
        match &self.problem {
            LoggedProblem::Kind(kind) => Some(kind),
            LoggedProblem::Legacy { .. } => None,
        }
    }

    /// The sentence: the kind's words, or the sentence an earlier release stored.
    pub fn message(&self) -> String {
        match &self.problem {
            LoggedProblem::Kind(kind) => kind.to_string(),
            LoggedProblem::Legacy { message, .. } => message.clone(),
        }
    }
}

/// Serialises a row's problems as readers of JSON get them, each `{column, code, <parameters>,
/// message}` (a legacy problem: `{column, code, message}`).
pub(crate) fn serialize_shown<S: serde::Serializer>(
    issues: &[LoggedIssue],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Column<'a> {
        column: &'a Option<String>,
    }
    #[derive(Serialize)]
    struct LegacyCode<'a> {
        #[serde(skip_serializing_if = "str::is_empty")]
        code: &'a str,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Data<'a> {
        Kind(&'a IssueKind),
        Legacy(LegacyCode<'a>),
    }
    serializer.collect_seq(issues.iter().map(|issue| Shown {
        place: Column {
            column: &issue.column,
        },
        kind: match &issue.problem {
            LoggedProblem::Kind(kind) => Data::Kind(kind),
            LoggedProblem::Legacy { code, .. } => Data::Legacy(LegacyCode { code }),
        },
        message: issue.message(),
    }))
}

/// A 128-bit digest of everything about a user that an import or an administrator can change,
/// memberships included (sorted, as the database returns them in any order). `last_login_at` is
/// left out: a user signing in does not change the record an import wrote.
pub(crate) fn fingerprint(user: &UserRecord) -> String {
    let mut h = Xxh3::new();
    let mut text = |s: &str| {
        h.update(s.as_bytes());
        h.update(&[0x1f]);
    };
    text(&user.username_key);
    text(&user.username);
    text(&user.name);
    for optional in [
        &user.email,
        &user.email_key,
        &user.phone,
        &user.department_key,
        &user.locale,
        &user.timezone,
    ] {
        // A separate marker keeps "absent" apart from "empty".
        text(optional.as_deref().unwrap_or("\u{1c}"));
    }
    text(if user.active { "1" } else { "0" });
    text(if user.ignore_mfa { "1" } else { "0" });
    text(&user.password_hash);
    text(&user.created_at.to_string());
    text(&user.updated_at.to_string());
    for list in [&user.role_keys, &user.group_keys] {
        let mut sorted: Vec<&String> = list.iter().collect();
        sorted.sort();
        for key in sorted {
            text(key);
        }
        text("\u{1d}");
    }
    format!("{:032x}", h.digest128())
}

/// The same department, group or role entry as the image says. An image journaled before ids
/// existed has an empty id, which matches the id the migration gave the record.
pub(crate) fn same_named(image: &NamedRecord, now: &NamedRecord) -> bool {
    if image.id.is_empty() {
        let image = NamedRecord {
            id: now.id.clone(),
            ..image.clone()
        };
        image == *now
    } else {
        image == now
    }
}

/// Gives every record of a plan that has no id one: plans stored before ids existed are
/// applied with fresh ids for the records they create (a record that exists keeps its own, as
/// the writes never change an id).
pub(crate) fn assign_missing_ids(change: &mut Change, ids: &mut IdMaker) {
    let id = match change {
        Change::User {
            after: Some(after), ..
        } => &mut after.id,
        Change::Department { after, .. } | Change::Group { after, .. } => &mut after.id,
        Change::Role { after, .. } => &mut after.named.id,
        Change::User { after: None, .. } => return,
    };
    if id.is_empty() {
        *id = ids.next_id();
    }
}

/// The same record apart from what `fingerprint` ignores.
pub(crate) fn same_user(a: &UserRecord, b: &UserRecord) -> bool {
    fingerprint(a) == fingerprint(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserRecord {
        UserRecord {
            id: String::new(),
            username_key: "alice".into(),
            username: "Alice".into(),
            name: "Alice".into(),
            email: None,
            email_key: None,
            phone: Some(String::new()),
            department_key: None,
            active: true,
            ignore_mfa: false,
            locale: None,
            timezone: None,
            password_hash: "!provisional".into(),
            created_at: 1,
            updated_at: 2,
            last_login_at: None,
            role_keys: vec!["b".into(), "a".into()],
            group_keys: vec![],
        }
    }

    #[test]
    fn fingerprints_ignore_membership_order_and_logins_but_not_fields() {
        let a = user();
        let mut b = user();
        b.role_keys.reverse();
        b.last_login_at = Some(9);
        assert!(same_user(&a, &b));
        b.phone = None;
        assert!(!same_user(&a, &b), "an empty phone and no phone differ");
        let mut c = user();
        c.role_keys = vec!["a".into()];
        c.group_keys = vec!["b".into()];
        assert!(!same_user(&a, &c), "a role moved to groups is a change");
    }

    #[test]
    fn a_change_round_trips_through_json() {
        let change = Change::User {
            row: 7,
            key: "alice".into(),
            id: String::new(),
            before: None,
            after: Some(user()),
            fp: fingerprint(&user()),
        };
        let text = serde_json::to_string(&change).expect("serialises");
        let back: Change = serde_json::from_str(&text).expect("parses");
        assert_eq!(
            (back.row(), back.key(), back.is_create(), back.entity()),
            (7, "alice", true, "user")
        );
    }

    /// A failed row as the history keeps it now, and as earlier releases kept it: with the
    /// sentence and its code, or the sentence only. Each reads back and says what it said.
    #[test]
    fn a_failed_rows_problems_read_back_as_data_or_as_the_sentence_an_earlier_release_stored() {
        let stored = r#"{"row":4,"issues":[
            {"column":"User group","code":"unknown_group","name":"Ops"},
            {"column":"E-mail","code":"email_taken","message":"e-mail `a@x.org` is taken"},
            {"column":null,"message":"a new user needs a Name"}
        ]}"#;
        let row: FailedRowLog = serde_json::from_str(stored).expect("reads");
        let [data, coded, bare] = &row.issues[..] else {
            panic!("three problems: {row:?}");
        };
        assert_eq!(
            data.kind(),
            Some(&IssueKind::UnknownGroup { name: "Ops".into() })
        );
        assert_eq!(data.code(), "unknown_group");
        assert_eq!(
            data.message(),
            "group `Ops` does not exist, and the import does not create groups"
        );
        assert_eq!((coded.code(), coded.kind()), ("email_taken", None));
        assert_eq!(coded.message(), "e-mail `a@x.org` is taken");
        assert_eq!(
            (bare.code(), bare.message().as_str()),
            ("", "a new user needs a Name")
        );

        // What is written keeps no sentence, and reads back as the same problem.
        let written = serde_json::to_value(data).expect("serialises");
        assert_eq!(
            written,
            serde_json::json!({"column": "User group", "code": "unknown_group", "name": "Ops"})
        );
        let again: LoggedIssue = serde_json::from_value(written).expect("reads");
        assert_eq!(&again, data);

        // Shown, each carries its sentence, and its code and parameters where it has them.
        #[derive(Serialize)]
        struct Shown<'a>(#[serde(serialize_with = "serialize_shown")] &'a [LoggedIssue]);
        assert_eq!(
            serde_json::to_value(Shown(&row.issues)).expect("serialises"),
            serde_json::json!([
                {"column": "User group", "code": "unknown_group", "name": "Ops",
                 "message": "group `Ops` does not exist, and the import does not create groups"},
                {"column": "E-mail", "code": "email_taken", "message": "e-mail `a@x.org` is taken"},
                {"column": null, "message": "a new user needs a Name"},
            ])
        );
    }
}
