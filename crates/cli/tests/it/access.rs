//! Issue 8 at the command line: `--as USERNAME` runs a command with that user's permissions
//! (the CLI is otherwise the local operator, who holds them all), refusals end with exit 77 and
//! a JSON `kind`, and `muster audit` lists every change, one escaped line per entry. The rules
//! themselves are tested once for every front-end in the engine's suite.

use crate::support::{both, Store};

fn directory(store: &Store) {
    store.import_csv_ok(
        "roles.csv",
        "Role,Permissions\nviewer,users.read\nimporter,\"users.read, users.write, users.import\"\n",
        &[],
    );
    store.import_csv_ok(
        "users.csv",
        "Username,Name,Roles\nivy,Ivy,importer\nvic,Vic,viewer\n",
        &[],
    );
}

fn as_user_runs_with_that_users_permissions(store: &Store) {
    directory(store);
    let file = store.file(
        "new.csv",
        "Username,Name,Roles\nnew,New,viewer\nboss,Boss,administrator\n",
    );
    let before = store.snapshot();

    let refused = store.run(&[
        "--as".as_ref(),
        "vic".as_ref(),
        "import".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(refused.code, 77, "{}\n{}", refused.stdout, refused.stderr);
    let json = refused.json();
    assert_eq!(json["status"], "error");
    assert_eq!(json["kind"], "forbidden");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("users.import"),
        "{json}"
    );
    assert_eq!(store.snapshot(), before, "a refused import changes nothing");

    let escalating = store.run(&[
        "--as".as_ref(),
        "ivy".as_ref(),
        "import".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(escalating.code, 1, "{}", escalating.stderr);
    crate::support::assert_error(
        &escalating.json(),
        "new",
        3,
        Some("Roles"),
        "forbidden: role `administrator`",
    );
    assert_eq!(store.snapshot(), before);

    let ghost = store.run(&["--as", "ghost", "audit"]);
    assert_eq!(ghost.code, 2, "{}", ghost.stderr);
    assert!(
        ghost
            .stderr
            .contains("cannot act as `ghost`: no user `ghost`"),
        "{}",
        ghost.stderr
    );
}

fn the_audit_log_lists_changes_and_refusals(store: &Store) {
    directory(store);
    let file = store.file("new.csv", "Username,Name\nnew,New\n");
    let out = store.run(&[
        "--as".as_ref(),
        "vic".as_ref(),
        "import".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(out.code, 77);

    let log = store.run(&["audit", "--json"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let entries = log.json();
    let entries = entries.as_array().expect("an array");
    assert_eq!(entries.len(), 3, "{entries:#?}");
    assert_eq!(entries[0]["outcome"], "refused");
    assert_eq!(entries[0]["actor"], "vic");
    assert_eq!(entries[1]["action"], "import.apply");
    assert_eq!(entries[1]["target_name"], "users.csv");
    assert_eq!(entries[1]["import_id"], 2);

    let refusals = store.run(&["audit", "--json", "--actor", "vic"]);
    assert_eq!(refusals.json().as_array().map(Vec::len), Some(1));
    let imports = store.run(&["audit", "--json", "--action", "import."]);
    assert_eq!(imports.json().as_array().map(Vec::len), Some(3));
    let none = store.run(&["audit", "--json", "--since", "2999-01-01"]);
    assert_eq!(none.json().as_array().map(Vec::len), Some(0));
    let bad = store.run(&["audit", "--since", "yesterday"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("--since \"yesterday\" is not a date"),
        "{}",
        bad.stderr
    );

    let reader = store.run(&["--as", "vic", "audit"]);
    assert_eq!(
        reader.code, 77,
        "reading the log needs audit.read: {}",
        reader.stderr
    );
    // Every command checks its permission: the history needs imports.read, an export
    // users.export, a template users.import, a role roles.write.
    for args in [
        &["--as", "vic", "imports", "list"][..],
        &["--as", "vic", "imports", "show", "1"],
        &["--as", "vic", "export", "users", "-o", "-"],
        &["--as", "vic", "template", "users", "-o", "-"],
        &[
            "--as",
            "vic",
            "role",
            "add",
            "auditor",
            "--permission",
            "audit.read",
        ],
    ] {
        let out = store.run(args);
        assert_eq!(out.code, 77, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("forbidden: vic lacks the permission"),
            "{}",
            out.stderr
        );
    }
}

/// A file name holding a line break and an escape sequence cannot forge an audit entry: each
/// entry stays one line, with the characters shown escaped.
fn audit_lines_cannot_be_forged(store: &Store) {
    let name = "x\n#99 2026-01-01T00:00:00Z cli operator (root) user.delete\u{1b}[2K.csv";
    store.import_csv_ok(name, "Username,Name\nalice,Alice\n", &[]);
    let log = store.run(&["audit"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let lines: Vec<&str> = log.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", log.stdout);
    assert!(lines[0].contains("\\n#99"), "{}", lines[0]);
    assert!(!log.stdout.contains('\u{1b}'));
}

/// The engine says what is wrong in the domain's words; the CLI adds its own flags as hints to
/// the readable output, and JSON (which other front-ends' texts resemble) names none.
fn engine_messages_name_no_flags(store: &Store) {
    let file = store.file(
        "users.csv",
        "Username,Name,User group
alice,Alice,ghosts
",
    );
    let json = store.import(&file, &[]);
    assert_eq!(json.code, 1);
    let message = json.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        message,
        "group `ghosts` does not exist, and the import does not create groups"
    );
    let text = store.run(&["import".as_ref(), file.as_os_str()]);
    assert!(
        text.stdout
            .contains("does not create groups (pass --create-groups to create it)"),
        "{}",
        text.stdout
    );
}

both!(
    engine_messages_name_no_flags,
    as_user_runs_with_that_users_permissions,
    the_audit_log_lists_changes_and_refusals,
    audit_lines_cannot_be_forged,
);
