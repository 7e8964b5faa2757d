//! Problems are data: every kind of problem and warning, with every kind it carries from the
//! sheets, domain and credentials crates and the access rules, is stored as a code and its
//! parameters and read back as the same value, saying the same sentence.

use muster_credentials::{HashRejection, HashScheme, PolicyViolation};
use muster_domain::{
    BoolError, DescriptionError, DisplayNameError, EmailError, Entity, EntityNameError, Field,
    FieldErrorKind, HeaderError, HeaderErrorKind, LocaleError, Permission, PhoneError,
    TimezoneError, UnknownPermission, Unrecognised, UsernameError,
};
use muster_sheets::ReadErrorKind;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::access::{Escalation, Own, Through};
use crate::error::Refusal;
use crate::import::warnings::{Tense, WarningKind};

/// Stores `kind` as JSON text and reads it back: the same value, the same code (the JSON's
/// `code`, which is `Coded::code`) and the same sentence.
fn round_trip<K>(kind: &K)
where
    K: Serialize + DeserializeOwned + Coded + std::fmt::Display + std::fmt::Debug + PartialEq,
{
    let text = serde_json::to_string(kind).expect("serialises");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(value["code"], kind.code(), "{text}");
    // No sentence is stored, and no parameter takes a name the shown object gives its place,
    // its sentence or its count.
    for reserved in ["message", "sheet", "row", "column", "count"] {
        assert!(value.get(reserved).is_none(), "`{reserved}` in {text}");
    }
    let back: K = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(&back, kind, "{text}");
    assert_eq!(back.to_string(), kind.to_string(), "{text}");
}

fn read_kinds() -> Vec<ReadErrorKind> {
    vec![
        ReadErrorKind::io(std::io::Error::other("disk on fire")),
        ReadErrorKind::NotAZip,
        ReadErrorKind::CorruptArchive {
            detail: "bad central directory".into(),
        },
        ReadErrorKind::ArchiveTooLarge {
            what: "xl/worksheets/sheet1.xml".into(),
        },
        ReadErrorKind::UnderstatedEntry {
            entry: "content.xml".into(),
            declared: 10,
        },
        ReadErrorKind::UnsafeEntryName {
            name: "../evil".into(),
        },
        ReadErrorKind::SheetNotFound {
            name: "Userz".into(),
            available: vec!["Users".into(), "Groups".into()],
        },
        ReadErrorKind::UnclosedQuote { opened_at_line: 3 },
        ReadErrorKind::StrayQuote,
        ReadErrorKind::RaggedRow {
            expected: 12,
            found: 5,
        },
        ReadErrorKind::InvalidEncoding {
            detail: "UTF-8".into(),
        },
        ReadErrorKind::InvalidUtf8 { byte: 0xE9 },
        ReadErrorKind::UnknownEncoding {
            label: "klingon".into(),
        },
        ReadErrorKind::TooManyRows { limit: 1_000_000 },
        ReadErrorKind::TooManyColumns { limit: 200 },
        ReadErrorKind::CellTooLong { limit: 32_767 },
        ReadErrorKind::Empty,
    ]
}

fn header_errors() -> Vec<HeaderError> {
    let at = |column: Option<usize>, header: &str, kind| HeaderError {
        kind,
        column,
        header: header.into(),
    };
    vec![
        at(
            Some(1),
            "Emial",
            HeaderErrorKind::Unknown {
                suggestion: Some(Field::Email),
            },
        ),
        at(
            Some(2),
            "Frobnicate",
            HeaderErrorKind::Unknown { suggestion: None },
        ),
        at(
            Some(3),
            "Mail",
            HeaderErrorKind::Duplicate {
                field: Field::Email,
                first_column: 1,
                first_header: "E-mail".into(),
            },
        ),
        at(Some(4), "", HeaderErrorKind::Blank),
        at(
            None,
            "Username",
            HeaderErrorKind::Missing {
                field: Field::Username,
            },
        ),
    ]
}

fn field_kinds() -> Vec<FieldErrorKind> {
    let value = || "x@".to_owned();
    vec![
        FieldErrorKind::Required,
        UsernameError::Disallowed {
            value: value(),
            ch: '!',
        }
        .into(),
        UsernameError::TooLong { chars: 300 }.into(),
        DisplayNameError::LineBreak.into(),
        EntityNameError::Comma { value: value() }.into(),
        FieldErrorKind::ListItem {
            item: "Ops".into(),
            detail: EntityNameError::ControlChar,
        },
        DescriptionError::TooLong { chars: 2000 }.into(),
        EmailError::Invalid { value: value() }.into(),
        EmailError::Empty.into(),
        PhoneError::InvalidChar {
            value: "12a".into(),
            ch: 'a',
        }
        .into(),
        BoolError::NotBool {
            value: "maybe".into(),
        }
        .into(),
        LocaleError::Unregistered {
            value: "xx-YY".into(),
        }
        .into(),
        TimezoneError::Unknown {
            value: "Europe/Pariss".into(),
            suggestion: Some("Europe/Paris".into()),
        }
        .into(),
        UnknownPermission {
            code: "user.read".into(),
            suggestion: Some(Permission::UsersRead),
        }
        .into(),
        FieldErrorKind::BothPasswordAndHash,
    ]
}

fn refusals() -> Vec<Refusal> {
    vec![
        Refusal::Lacks {
            permission: Permission::UsersWrite,
            actor: "ivy".into(),
        },
        Refusal::Escalation(Escalation {
            through: Through::Group,
            name: "Ops".into(),
            lacking: vec![Permission::RolesWrite, Permission::UsersCredentials],
        }),
        Refusal::OwnRecord { what: Own::Mfa },
        Refusal::InactiveUser {
            username: "zed".into(),
        },
    ]
}

fn password_kinds() -> Vec<IssueKind> {
    let violations = [
        PolicyViolation::TooShort { min: 12 },
        PolicyViolation::TooLong { max: 128 },
        PolicyViolation::InvalidCharacters,
        PolicyViolation::OnlyWhitespace,
        PolicyViolation::ContainsUsername,
        PolicyViolation::TooCommon,
    ];
    let rejections = [
        HashRejection::Unrecognised,
        HashRejection::Malformed {
            scheme: HashScheme::Argon2id,
            detail: "missing salt".into(),
        },
        HashRejection::CostTooHigh {
            scheme: HashScheme::Bcrypt,
            detail: "cost 20".into(),
        },
        HashRejection::CostTooLow {
            scheme: HashScheme::Pbkdf2Sha256,
            detail: "10 rounds".into(),
        },
        HashRejection::UnsupportedScheme {
            label: "argon2i".into(),
        },
    ];
    violations
        .into_iter()
        .map(|detail| IssueKind::Password { detail })
        .chain(
            rejections
                .into_iter()
                .map(|detail| IssueKind::PasswordHash { detail }),
        )
        .collect()
}

/// One or more of every kind of problem.
fn issue_kinds() -> Vec<IssueKind> {
    let mut kinds: Vec<IssueKind> = Vec::new();
    kinds.extend(
        read_kinds()
            .into_iter()
            .map(|detail| IssueKind::Read { detail }),
    );
    kinds.extend(
        header_errors()
            .into_iter()
            .map(|detail| IssueKind::Header { detail }),
    );
    kinds.extend(
        field_kinds()
            .into_iter()
            .map(|detail| IssueKind::Field { detail }),
    );
    kinds.extend(password_kinds());
    kinds.extend(
        refusals()
            .into_iter()
            .map(|detail| IssueKind::Forbidden { detail }),
    );
    kinds.extend([
        IssueKind::FileTooLarge {
            size: 200,
            limit: 100,
        },
        IssueKind::EmptyFile,
        IssueKind::HeaderOnly,
        IssueKind::UnknownEntity {
            detail: Unrecognised {
                candidates: vec![Entity::Groups, Entity::Roles],
            },
        },
        IssueKind::UnknownEntity {
            detail: Unrecognised::default(),
        },
        IssueKind::CellWithoutHeader,
        IssueKind::CellError {
            value: "#DIV/0!".into(),
        },
        IssueKind::DuplicateKey {
            key: "alice".into(),
            first_row: 2,
        },
        IssueKind::DuplicateEmail {
            email: "a@example.org".into(),
            first_row: 2,
        },
        IssueKind::EmailTaken {
            email: "a@example.org".into(),
            owner: "alice".into(),
        },
        IssueKind::UnknownRole {
            name: "auditor".into(),
        },
        IssueKind::UnknownGroup { name: "Ops".into() },
        IssueKind::AlreadyExists {
            name: "alice".into(),
        },
        IssueKind::NameRequired,
        IssueKind::Hashing {
            reason: "out of memory".into(),
        },
        IssueKind::BuiltinRole,
        IssueKind::UnknownPermission {
            value: "launch.missiles".into(),
        },
    ]);
    kinds
}

fn warning_kinds() -> Vec<WarningKind> {
    let mut kinds = Vec::new();
    for tense in [Tense::Planned, Tense::Done, Tense::NotDone] {
        kinds.push(WarningKind::NewDepartment {
            name: "Sales".into(),
            tense,
        });
        kinds.push(WarningKind::NewGroup {
            name: "Ops".into(),
            tense,
        });
    }
    kinds.extend([
        WarningKind::NearDuplicate {
            entity: Entity::Departments,
            name: "Salés".into(),
            existing: "Sales".into(),
        },
        WarningKind::Confusable {
            username: "аlice".into(),
            existing: "alice".into(),
        },
        WarningKind::PrivilegedRole {
            role: "Admins".into(),
            permissions: vec![Permission::UsersWrite, Permission::RolesWrite],
        },
        WarningKind::PrivilegedPermissions {
            role: "Helpdesk".into(),
            permissions: vec![Permission::UsersCredentials],
        },
        WarningKind::SameFileApplied { import_id: 7 },
    ]);
    kinds
}

/// Which variant a kind is, by an exhaustive match: a new variant does not compile here until
/// it has a number, and the tests below fail until it has a sample.
fn issue_variant(kind: &IssueKind) -> usize {
    match kind {
        IssueKind::Read { .. } => 0,
        IssueKind::Header { .. } => 1,
        IssueKind::Field { .. } => 2,
        IssueKind::FileTooLarge { .. } => 3,
        IssueKind::EmptyFile => 4,
        IssueKind::HeaderOnly => 5,
        IssueKind::UnknownEntity { .. } => 6,
        IssueKind::CellWithoutHeader => 7,
        IssueKind::CellError { .. } => 8,
        IssueKind::DuplicateKey { .. } => 9,
        IssueKind::DuplicateEmail { .. } => 10,
        IssueKind::EmailTaken { .. } => 11,
        IssueKind::UnknownRole { .. } => 12,
        IssueKind::UnknownGroup { .. } => 13,
        IssueKind::AlreadyExists { .. } => 14,
        IssueKind::NameRequired => 15,
        IssueKind::Password { .. } => 16,
        IssueKind::PasswordHash { .. } => 17,
        IssueKind::Hashing { .. } => 18,
        IssueKind::BuiltinRole => 19,
        IssueKind::UnknownPermission { .. } => 20,
        IssueKind::Forbidden { .. } => 21,
    }
}

fn warning_variant(kind: &WarningKind) -> usize {
    match kind {
        WarningKind::NewDepartment { .. } => 0,
        WarningKind::NewGroup { .. } => 1,
        WarningKind::NearDuplicate { .. } => 2,
        WarningKind::Confusable { .. } => 3,
        WarningKind::PrivilegedRole { .. } => 4,
        WarningKind::PrivilegedPermissions { .. } => 5,
        WarningKind::SameFileApplied { .. } => 6,
    }
}

#[test]
fn every_problem_is_stored_as_its_code_and_parameters_and_says_the_same_when_read_back() {
    let kinds = issue_kinds();
    let mut covered: Vec<usize> = kinds.iter().map(issue_variant).collect();
    covered.sort_unstable();
    covered.dedup();
    assert_eq!(
        covered,
        (0..=21).collect::<Vec<_>>(),
        "a variant has no sample"
    );
    for kind in &kinds {
        round_trip(kind);
    }
}

#[test]
fn every_warning_is_stored_as_its_code_and_parameters_and_says_the_same_when_read_back() {
    let kinds = warning_kinds();
    let mut covered: Vec<usize> = kinds.iter().map(warning_variant).collect();
    covered.sort_unstable();
    covered.dedup();
    assert_eq!(
        covered,
        (0..=6).collect::<Vec<_>>(),
        "a variant has no sample"
    );
    for kind in &kinds {
        round_trip(kind);
    }
}

#[test]
fn nested_kinds_are_a_detail_and_plain_structs_are_parameters() {
    let json = |kind: &IssueKind| serde_json::to_value(kind).expect("serialises");
    let email = IssueKind::Field {
        detail: EmailError::Invalid { value: "x@".into() }.into(),
    };
    assert_eq!(
        json(&email),
        serde_json::json!({"code": "bad_value", "detail": {"code": "email", "detail": {"code": "invalid", "value": "x@"}}})
    );
    let permission = IssueKind::Field {
        detail: UnknownPermission {
            code: "user.read".into(),
            suggestion: Some(Permission::UsersRead),
        }
        .into(),
    };
    assert_eq!(
        json(&permission),
        serde_json::json!({"code": "bad_value", "detail": {"code": "permission", "value": "user.read", "suggestion": "users.read"}})
    );
    let header = IssueKind::Header {
        detail: header_errors().remove(0),
    };
    assert_eq!(
        json(&header),
        serde_json::json!({"code": "bad_header", "detail": {"code": "unknown", "suggestion": "email", "column": 1, "header": "Emial"}})
    );
    let escalation = IssueKind::Forbidden {
        detail: refusals().remove(1),
    };
    assert_eq!(
        json(&escalation),
        serde_json::json!({"code": "forbidden", "detail": {"code": "escalation", "through": "group", "name": "Ops", "lacking": ["roles.write", "users.credentials"]}})
    );
    let entity = IssueKind::UnknownEntity {
        detail: Unrecognised {
            candidates: vec![Entity::Groups, Entity::Roles],
        },
    };
    assert_eq!(
        json(&entity),
        serde_json::json!({"code": "unknown_entity", "candidates": ["groups", "roles"]})
    );
}

/// The report's JSON (and so the job summary and `--json`) has the position, the code and
/// parameters, and the sentence, in one object.
#[test]
fn a_positioned_problem_is_shown_with_its_place_parameters_and_sentence() {
    let issue = Issue {
        position: Position {
            sheet: "users.csv".into(),
            row: 3,
            column: Some("E-mail".into()),
        },
        kind: IssueKind::EmailTaken {
            email: "a@example.org".into(),
            owner: "alice".into(),
        },
    };
    assert_eq!(
        serde_json::to_value(&issue).expect("serialises"),
        serde_json::json!({
            "sheet": "users.csv",
            "row": 3,
            "column": "E-mail",
            "code": "email_taken",
            "email": "a@example.org",
            "owner": "alice",
            "message": "e-mail `a@example.org` already belongs to user `alice`",
        })
    );
}
