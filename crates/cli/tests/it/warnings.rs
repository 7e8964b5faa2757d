//! SPEC §3.1 and issue 3: a preview warns — without failing — about departments and groups it
//! would create, names that are near-duplicates of existing ones, usernames that imitate
//! existing ones in another script, and rows that grant privileged roles.

use serde_json::Value;

use crate::support::{assert_counts, both, Store};

fn messages(report: &Value) -> Vec<(u64, Option<String>, String)> {
    report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| {
            (
                w["row"].as_u64().unwrap(),
                w["column"].as_str().map(str::to_owned),
                w["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(report: &Value, row: u64, column: &str, needle: &str) -> bool {
    messages(report)
        .iter()
        .any(|(r, c, m)| *r == row && c.as_deref() == Some(column) && m.contains(needle))
}

fn a_preview_warns_without_failing(store: &Store) {
    store.department("Sales");
    store.group("Support Team");
    store.role("admins", &["users.write", "users.read"]);
    store.role("viewer", &["users.read"]);
    store.import_csv_ok("first.csv", "Username,Name\nalice,Alice\n", &[]);
    let text = "Username,Name,Department,User group,Roles\n\
                bob,Bob,Sale,Support-Team,viewer\n\
                \u{0430}lice,Fake Alice,Sales,,\n\
                carol,Carol,Vente,,admins\n";
    let file = store.file("users.csv", text);
    let report = store
        .import(&file, &["--dry-run", "--create-groups"])
        .json();
    assert_counts(&report, 3, 0, 0, 0);
    assert_eq!(
        report["issue_count"], 0,
        "warnings are not errors: {report}"
    );
    assert!(
        has(
            &report,
            2,
            "Department",
            "department `Sale` does not exist yet: the import will create it"
        ),
        "{:?}",
        messages(&report)
    );
    assert!(
        has(&report, 2, "Department", "looks like the existing `Sales`"),
        "{:?}",
        messages(&report)
    );
    assert!(
        has(
            &report,
            2,
            "User group",
            "looks like the existing `Support Team`"
        ),
        "{:?}",
        messages(&report)
    );
    assert!(
        has(&report, 3, "Username", "looks like `alice`"),
        "{:?}",
        messages(&report)
    );
    assert!(
        has(
            &report,
            4,
            "Roles",
            "grants role `admins`, which holds users.write"
        ),
        "{:?}",
        messages(&report)
    );
    assert!(
        !has(&report, 2, "Roles", "grants"),
        "viewer holds nothing privileged"
    );
    assert!(
        !has(&report, 4, "Department", "looks like"),
        "Vente is not like Sales"
    );
    // The same warnings are kept in the history.
    let id = report["import_id"].as_u64().unwrap().to_string();
    let show = store.run(&["imports", "show", &id, "--json"]).json();
    assert_eq!(show["summary"]["warning_count"], report["warning_count"]);
}

fn a_roles_sheet_warns_when_a_role_gains_privileges(store: &Store) {
    store.role("helpdesk", &["users.read"]);
    let file = store.file(
        "roles.csv",
        "Role,Permissions\nhelpdesk,\"users.read, users.credentials\"\nHelp-Desk,users.read\n",
    );
    let report = store.import(&file, &["--dry-run"]).json();
    assert!(
        has(
            &report,
            2,
            "Permissions",
            "role `helpdesk` gains users.credentials"
        ),
        "{:?}",
        messages(&report)
    );
    assert!(
        has(&report, 3, "Role", "looks like the existing `helpdesk`"),
        "{:?}",
        messages(&report)
    );
}

both!(
    a_preview_warns_without_failing,
    a_roles_sheet_warns_when_a_role_gains_privileges
);
