//! SPEC §4: exports filtered by department, group, role, active and case-insensitive text.

use crate::support::{both, Store};

fn populate(store: &Store) {
    store.role("staff", &["users.read"]);
    store.role("auditor", &["audit.read"]);
    store.group("Ops");
    store.group("Night shift");
    store.department("Engineering");
    store.import_csv_ok(
        "users.csv",
        "Username,Name,Department,E-mail,Active,Roles,User group\n\
         alice,Alice Liddell,Sales,alice@example.com,Yes,staff,Ops\n\
         bob,Bob Builder,Engineering,bob@builders.example,No,\"staff, auditor\",\"Ops, Night shift\"\n\
         carl,Carl Sagan,Sales,cosmos@example.com,No,,\n\
         dora,Dora Explorer,,,Yes,auditor,Night shift\n",
        &[],
    );
}

fn export_filters(store: &Store) {
    populate(store);
    let keys = |args: &[&str]| store.table("users", args).keys();
    assert_eq!(keys(&[]), ["alice", "bob", "carl", "dora"]);
    assert_eq!(keys(&["--department", "Sales"]), ["alice", "carl"]);
    assert_eq!(
        keys(&["--department", "sales"]),
        ["alice", "carl"],
        "names match by key, case-insensitively"
    );
    assert_eq!(keys(&["--group", "Night shift"]), ["bob", "dora"]);
    assert_eq!(keys(&["--role", "staff"]), ["alice", "bob"]);
    assert_eq!(keys(&["--active", "no"]), ["bob", "carl"]);
    assert_eq!(keys(&["--active", "yes"]), ["alice", "dora"]);
    assert_eq!(
        keys(&["--search", "ALICE"]),
        ["alice"],
        "search is case-insensitive"
    );
    assert_eq!(
        keys(&["--search", "builder"]),
        ["bob"],
        "search looks at names and e-mails"
    );
    assert_eq!(
        keys(&["--search", "COSMOS"]),
        ["carl"],
        "search looks at e-mails"
    );
    assert_eq!(
        keys(&["--search", "nobody-matches-this"]),
        Vec::<String>::new()
    );
    assert_eq!(
        keys(&["--role", "auditor", "--active", "yes"]),
        ["dora"],
        "filters combine"
    );
    assert_eq!(
        keys(&["--department", "Sales", "--search", "sagan"]),
        ["carl"]
    );
    // Filters hold in every format.
    let path = store.path("filtered.xlsx");
    let out = store.run(&[
        "export".as_ref(),
        "users".as_ref(),
        "--group".as_ref(),
        "Ops".as_ref(),
        "-o".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = store.import(&path, &[]).json();
    crate::support::assert_counts(&report, 0, 0, 2, 0);
}

fn export_unknown_filter_name_is_an_error(store: &Store) {
    populate(store);
    for (flag, name) in [
        ("--department", "Marketing"),
        ("--group", "Day shift"),
        ("--role", "janitor"),
    ] {
        let out = store.run(&["export", "users", flag, name]);
        assert_eq!(out.code, 2, "{flag} {name}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(name),
            "the error names `{name}`: {}",
            out.stderr
        );
    }
}

both!(export_filters, export_unknown_filter_name_is_an_error);
