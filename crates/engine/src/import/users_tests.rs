//! Unit tests of the users planner: no database, a catalog and a look-up built by hand.

use std::collections::HashMap;

use muster_domain::{check_user_row, map_headers, Entity};
use muster_store::{Catalog, NamedRecord, RoleRecord, UserRecord};

use super::*;
use crate::context::NoProgress;
use crate::import::report::ImportReport;
use crate::import::source::field_issues;

const NOW: i64 = 1_700_000_000_000;

fn context() -> Context {
    Context {
        now: Box::new(|| NOW),
        ..Context::system(Box::new(NoProgress))
    }
}

fn stamp() -> crate::ids::Stamp {
    crate::ids::Stamp {
        now: NOW,
        ids: crate::ids::IdMaker::new(NOW, &context().rng),
        actor: crate::Actor::operator("tester", crate::Source::Cli),
    }
}

fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    let named = |key: &str| NamedRecord {
        id: String::new(),
        name_key: key.into(),
        name: key.into(),
        description: String::new(),
        created_at: 0,
        updated_at: 0,
    };
    catalog.roles.insert(
        "viewer".into(),
        RoleRecord {
            named: named("viewer"),
            permissions: vec!["users.read".into()],
        },
    );
    catalog.groups.insert("staff".into(), named("staff"));
    catalog
}

/// Plans `lines` (CSV-like, comma-separated, no quoting) under `headers` against `existing`.
fn plan(
    headers: &[&str],
    lines: &[&str],
    existing: Vec<UserRecord>,
    owners: &[(&str, &str)],
    create_only: bool,
) -> (ImportReport, UserWrites) {
    let map = map_headers(Entity::Users, headers).expect("headers");
    let mut planner = UserPlanner::new(
        "users".into(),
        map.clone(),
        catalog(),
        create_only,
        false,
        stamp(),
        false,
    );
    let rows: Vec<(u64, UserRow, Vec<RowIssue>)> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let row = i as u64 + 2;
            let cells: Vec<&str> = line.split(',').collect();
            let checked = check_user_row(&map, &cells);
            let issues = field_issues("users", row, &map, checked.errors, &[]).collect();
            (row, checked.record.expect("the key parses"), issues)
        })
        .collect();
    let lookup = Lookup {
        existing: existing
            .into_iter()
            .map(|u| (u.username_key.clone(), u))
            .collect(),
        owners: owners
            .iter()
            .map(|(e, u)| ((*e).to_owned(), (*u).to_owned()))
            .collect::<HashMap<_, _>>(),
        lookalikes: HashMap::new(),
    };
    let mut report = ImportReport::new("users.csv".into());
    let writes = planner.plan(rows, lookup, &mut report, &context());
    (report, writes)
}

fn stored(username: &str) -> UserRecord {
    UserRecord {
        id: String::new(),
        username_key: username.to_lowercase(),
        username: username.into(),
        name: "Stored Name".into(),
        email: Some(format!("{username}@example.com")),
        email_key: Some(format!("{}@example.com", username.to_lowercase())),
        phone: Some("+44 20 7946 0958".into()),
        department_key: None,
        active: false,
        ignore_mfa: false,
        locale: None,
        timezone: None,
        password_hash: "!provisional".into(),
        created_at: 1,
        updated_at: 1,
        last_login_at: None,
        role_keys: vec!["viewer".into()],
        group_keys: Vec::new(),
    }
}

#[test]
fn creates_users_and_each_missing_department_once() {
    let (report, writes) = plan(
        &["Username", "Name", "Department"],
        &["alice,Alice,Sales", "bob,Bob,sales"],
        vec![],
        &[],
        false,
    );
    assert_eq!(report.counts.created, 2);
    assert_eq!(report.departments_created, ["Sales"]);
    assert_eq!(writes.created.len(), 2);
    assert!(
        writes
            .created
            .iter()
            .all(|u| u.department_key.as_deref() == Some("sales")
                && u.password_hash == "!provisional")
    );
}

#[test]
fn a_row_equal_to_the_store_is_unchanged_and_writes_nothing() {
    let (report, writes) = plan(
        &["Username", "Name", "Roles"],
        &["Alice,Stored Name,viewer"],
        vec![stored("alice")],
        &[],
        false,
    );
    assert_eq!((report.counts.unchanged, report.counts.updated), (1, 0));
    assert!(writes.created.is_empty() && writes.updated.is_empty());
}

#[test]
fn absent_columns_are_untouched_blank_cells_clear_and_blank_active_keeps() {
    let (report, writes) = plan(
        &["Username", "Phone", "Active"],
        &["alice,,"],
        vec![stored("alice")],
        &[],
        false,
    );
    assert_eq!(report.counts.updated, 1);
    let user = &writes.updated[0];
    assert_eq!(user.phone, None, "a blank cell clears the field");
    assert!(!user.active, "a blank Active keeps the stored value");
    assert_eq!(
        user.email.as_deref(),
        Some("alice@example.com"),
        "an absent column is untouched"
    );
    assert_eq!(user.role_keys, ["viewer"]);
    assert_eq!((user.created_at, user.updated_at), (1, NOW));
    assert!(writes
        .role_changes
        .iter()
        .all(|c| *c == MembershipChange::Unchanged));
}

#[test]
fn create_only_refuses_an_existing_username() {
    let (report, writes) = plan(
        &["Username", "Name"],
        &["ALICE,Alice"],
        vec![stored("alice")],
        &[],
        true,
    );
    assert_eq!(report.counts.failed, 1);
    assert!(matches!(
        report.errors[0].kind,
        IssueKind::AlreadyExists { .. }
    ));
    assert!(writes.updated.is_empty());
}

#[test]
fn duplicates_unknown_roles_and_taken_emails_fail_their_rows() {
    let (report, _) = plan(
        &["Username", "Name", "E-mail", "Roles"],
        &[
            "alice,Alice,a@example.com,viewer",
            "ALICE,Again,b@example.com,",
            "bob,Bob,c@example.com,admin",
            "carol,Carol,d@example.com,",
        ],
        vec![],
        &[("d@example.com", "dave")],
        false,
    );
    assert_eq!((report.counts.created, report.counts.failed), (1, 3));
    let kinds: Vec<String> = report.errors.iter().map(|i| i.kind.to_string()).collect();
    assert!(kinds[0].contains("first on row 2"), "{kinds:?}");
    assert!(
        kinds[1].contains("role `admin` does not exist"),
        "{kinds:?}"
    );
    assert!(
        kinds[2].contains("already belongs to user `dave`"),
        "{kinds:?}"
    );
    assert_eq!(report.errors[1].position.column.as_deref(), Some("Roles"));
}

#[test]
fn new_memberships_are_inserted_and_changed_ones_replaced() {
    let mut writes = UserWrites::default();
    let mut new_user = stored("new");
    new_user.group_keys = vec!["staff".into()];
    writes.created.push(new_user);
    let mut changed = stored("old");
    changed.group_keys = vec!["staff".into()];
    writes.updated.push(changed);
    writes
        .group_changes
        .push(MembershipChange::of(&["staff".to_owned()], &[]));
    let (clear, pairs) = take_memberships(
        &mut writes.created,
        &mut writes.updated,
        &writes.group_changes,
        |u| &mut u.group_keys,
    );
    assert_eq!(clear, ["old"]);
    assert_eq!(
        pairs,
        [
            ("old".to_owned(), "staff".to_owned()),
            ("new".to_owned(), "staff".to_owned())
        ]
    );
}

/// Item 12 of issue 7: a row with a bad Active cell, a taken e-mail, an unknown role and an
/// unknown group reports all four at once, in the order of its columns.
#[test]
fn a_row_reports_every_problem_at_once_in_column_order() {
    let headers = [
        "Username",
        "Name",
        "E-mail",
        "Active",
        "Roles",
        "User group",
    ];
    let line = "bob,Bob,taken@example.com,Maybe,nosuchrole,nosuchgroup";
    let (report, writes) = plan(
        &headers,
        &[line],
        vec![],
        &[("taken@example.com", "carol")],
        false,
    );
    assert_eq!(report.counts.failed, 1);
    assert!(writes.created.is_empty());
    let columns: Vec<Option<&str>> = report
        .errors
        .iter()
        .map(|e| e.position.column.as_deref())
        .collect();
    assert_eq!(
        columns,
        [
            Some("E-mail"),
            Some("Active"),
            Some("Roles"),
            Some("User group")
        ]
    );
    assert!(matches!(
        report.errors[0].kind,
        IssueKind::EmailTaken { .. }
    ));
    assert!(matches!(
        report.errors[2].kind,
        IssueKind::UnknownRole { .. }
    ));
    assert!(matches!(
        report.errors[3].kind,
        IssueKind::UnknownGroup { .. }
    ));
    assert_eq!(
        report.log.failures[0].issues.len(),
        4,
        "the history keeps all four"
    );
}

/// A failed Name cell is reported once, as itself, not also as "a new user needs a Name"; and a
/// failed row still takes its key, so a later row repeating it is told so.
#[test]
fn a_failed_cell_is_not_reported_twice_and_a_failed_row_still_holds_its_key() {
    let (report, _) = plan(
        &["Username", "Name", "Active"],
        &["bob, ,yes", "bob,Bob,maybe"],
        vec![],
        &[],
        false,
    );
    let messages: Vec<(u64, String)> = report
        .errors
        .iter()
        .map(|e| (e.position.row, e.kind.to_string()))
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[0], (2, "is required".to_owned()));
    assert_eq!(messages[1].0, 3);
    assert!(
        messages[1].1.contains("appears again: first on row 2"),
        "{messages:?}"
    );
    assert!(messages[2].1.contains("`maybe`"), "{messages:?}");
}

/// Item 15 of issue 7: every row naming a group or department that the file creates counts into
/// one warning for that name, at its first row.
#[test]
fn a_new_group_or_department_is_one_warning_counting_its_rows() {
    let map = map_headers(
        Entity::Users,
        &["Username", "Name", "Department", "User group"],
    )
    .expect("headers");
    let mut planner = UserPlanner::new(
        "users".into(),
        map.clone(),
        catalog(),
        false,
        true,
        stamp(),
        false,
    );
    let lines = [
        "a,A,Ops,night",
        "b,B,ops,staff",
        "c,C,Sales,Night",
        "d,D,Ops,night",
    ];
    let rows = lines.iter().enumerate().map(|(i, line)| {
        let cells: Vec<&str> = line.split(',').collect();
        (
            i as u64 + 2,
            check_user_row(&map, &cells).record.expect("parses"),
            Vec::new(),
        )
    });
    let lookup = Lookup {
        existing: HashMap::new(),
        owners: HashMap::new(),
        lookalikes: HashMap::new(),
    };
    let mut report = ImportReport::new("users.csv".into());
    planner.plan(rows, lookup, &mut report, &context());
    let seen: Vec<(String, u64, u64)> = report
        .warnings
        .iter()
        .map(|w| (w.kind.to_string(), w.position.row, w.count))
        .collect();
    assert_eq!(report.warning_count, 3, "{seen:?}");
    let of = |needle: &str| {
        seen.iter()
            .find(|(m, _, _)| m.contains(needle))
            .map(|(_, row, count)| (*row, *count))
    };
    assert_eq!(of("department `Ops`"), Some((2, 3)));
    assert_eq!(of("department `Sales`"), Some((4, 1)));
    assert_eq!(of("group `night`"), Some((2, 3)));
    assert_eq!(of("group `staff`"), None, "staff exists");
    assert_eq!(report.departments_created, ["Ops", "Sales"]);
}
