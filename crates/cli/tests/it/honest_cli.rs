//! Issue 7, "an honest CLI": what the `muster` binary prints and writes must be what happened.
//! Hostile names are escaped in readable output, previews offer only what can be applied, each
//! cause is said once, `--json` always answers, usage errors are never recorded, `-` is stdout,
//! files are not overwritten silently, the actor is the real account, help describes every
//! argument, and logs are plain text. The real binary runs against SQLite and PostgreSQL.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{both, muster, Out, Store};

/// Runs `muster` with this store in `dir` as the working directory and `env` changes
/// (`None` removes the variable).
fn run_with(store: &Store, dir: &Path, env: &[(&str, Option<&str>)], args: &[&OsStr]) -> Out {
    let mut command = store.command();
    command.current_dir(dir);
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
        .args(args)
        .output()
        .expect("running the muster binary")
        .into()
}

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// No byte of `text` would make a terminal do anything but print: no control character except
/// the line breaks between lines, no bidi override or isolate.
#[track_caller]
fn assert_inert(what: &str, text: &str) {
    let hazard = text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    assert_eq!(
        hazard, None,
        "{what} holds a raw control or bidi character:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 8: escaped output

fn hostile_names_and_cells_are_escaped(store: &Store) {
    // A file name with an escape sequence and a line break that would forge a summary line.
    let name = "evil\u{1b}[2K\rimport 99: applied\n\u{202e}vsc.csv";
    let path = store.path(name);
    std::fs::write(
        &path,
        "Username,Name,Active\nalice,Alice\u{1b}[31m,yes\nb\u{202e}ob,Bob\u{7},Maybe\u{85}\n",
    )
    .unwrap();
    let out = store.run(&[os("import"), path.as_os_str()]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_inert("the import summary", &out.stdout);
    assert_inert("stderr", &out.stderr);
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("import 99")),
        "a forged line:\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("evil\\e[2K\\rimport 99: applied\\n\\u{202e}vsc.csv"),
        "{}",
        out.stdout
    );
    let id = store.imports()[0]["id"].as_i64().unwrap().to_string();
    for args in [vec!["imports", "list"], vec!["imports", "show", &id]] {
        let out = store.run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_inert(&args.join(" "), &out.stdout);
        assert!(out.stdout.contains("\\e[2K"), "{}", out.stdout);
    }
    // An error naming the file (exit 2) is escaped too.
    let missing = store.path("gone\u{1b}]0;owned\u{7}.csv");
    let out = store.run(&[os("import"), missing.as_os_str()]);
    assert_eq!(out.code, 2);
    assert_inert("the error", &out.stderr);
    assert!(
        out.stderr.contains("gone\\e]0;owned\\u{7}.csv"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Item 13: a preview offers apply only when apply will take it

fn a_failed_preview_does_not_offer_apply(store: &Store) {
    let path = store.file(
        "users.csv",
        "Username,Name,Active\nalice,Alice,yes\nbob,Bob,Maybe\n",
    );
    let out = store.run(&[os("import"), path.as_os_str(), os("--dry-run")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        !out.stdout.contains("imports apply"),
        "offers a plan that apply refuses:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("cannot be applied") && out.stdout.contains("preview again"),
        "{}",
        out.stdout
    );
    let id = store.imports()[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        store.run(&["imports", "apply", &id]).code,
        2,
        "apply refuses it, as the summary said"
    );

    // With --partial the same preview can be applied, and the summary says so.
    let out = store.run(&[
        os("import"),
        path.as_os_str(),
        os("--dry-run"),
        os("--partial"),
    ]);
    let id = store.imports()[0]["id"].as_i64().unwrap().to_string();
    assert!(
        out.stdout.contains(&format!("`muster imports apply {id}`")),
        "{}",
        out.stdout
    );
    let applied = store.run(&["imports", "apply", &id]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
}

// ---------------------------------------------------------------------------------------------
// Item 16: one clause per cause, the real cause at once

#[test]
fn a_missing_file_is_explained_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = muster(&[
        os("--data-dir"),
        data.as_os_str(),
        os("import"),
        os("nosuch.csv"),
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn an_unreachable_postgres_says_connection_refused_once() {
    // Port 1 on the loopback interface: nothing listens there, the kernel refuses at once.
    let out = muster(&[
        os("--database-url"),
        os("postgres://postgres@127.0.0.1:1/muster"),
        os("imports"),
        os("list"),
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.matches("Connection refused").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("pool timed out"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// Item 17: --json always answers; usage errors exit 2 and are not recorded

#[test]
fn json_answers_with_an_error_object_on_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let runs: [&[&str]; 6] = [
        &["import", "nosuch.csv", "--json"],
        &["import", "--json"],
        &["import", "x.csv", "--json", "--entity", "robots"],
        &["imports", "show", "abc", "--json"],
        &["imports", "show", "404", "--json"],
        &["imports", "apply", "404", "--json"],
    ];
    for args in runs {
        let mut all = vec![os("--data-dir"), data.as_os_str()];
        all.extend(args.iter().map(|arg| os(arg)));
        let out = muster(&all);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let json = out.json();
        assert_eq!(json["status"], "error", "{args:?}: {json}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{args:?}: {json}"
        );
    }
}

fn bad_options_are_usage_errors_never_recorded(store: &Store) {
    let path = store.file("users.csv", "Username,Name\nalice,Alice\n");
    for bad in [["--encoding", "latin9x"], ["--delimiter", "::"]] {
        let out = store.run(&[
            os("import"),
            path.as_os_str(),
            os("--json"),
            os(bad[0]),
            os(bad[1]),
        ]);
        assert_eq!(out.code, 2, "{bad:?}: {}", out.stdout);
        assert_eq!(out.json()["status"], "error", "{bad:?}");
        assert!(
            out.stderr.contains(bad[0]),
            "the message names the option: {}",
            out.stderr
        );
    }
    assert_eq!(
        store.imports(),
        Vec::<Value>::new(),
        "a usage error is not an import"
    );
    // A label the reader knows is accepted.
    let out = store.run(&[
        os("import"),
        path.as_os_str(),
        os("--json"),
        os("--encoding"),
        os("latin1"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// Item 18: `-` is stdout, no silent overwrite, no contradictions, no BOM on stdout

fn dash_is_stdout_and_nothing_is_overwritten_silently(store: &Store) {
    let work = store.path("");
    store.import_csv_ok("users.csv", "Username,Name\nalice,Alice\n", &[]);
    let id = store.imports()[0]["id"].as_i64().unwrap().to_string();

    let out = run_with(
        store,
        &work,
        &[],
        &[os("imports"), os("download"), os(&id), os("-o"), os("-")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("alice,Alice"), "{}", out.stdout);
    assert!(!work.join("-").exists(), "`-o -` wrote a file named -");

    // CSV on stdout has no byte-order mark; the same export into a file keeps it for Excel.
    let out = run_with(store, &work, &[], &[os("export"), os("users")]);
    assert!(
        out.raw_stdout.starts_with(b"Username"),
        "{:?}",
        &out.raw_stdout[..8.min(out.raw_stdout.len())]
    );
    let out = run_with(
        store,
        &work,
        &[],
        &[
            os("template"),
            os("users"),
            os("--format"),
            os("csv"),
            os("-o"),
            os("-"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.raw_stdout.starts_with(b"Username"), "{}", out.stdout);
    assert!(!work.join("-").exists());
    let file = work.join("users-export.csv");
    assert_eq!(
        run_with(
            store,
            &work,
            &[],
            &[os("export"), os("users"), os("-o"), file.as_os_str()]
        )
        .code,
        0
    );
    assert!(std::fs::read(&file)
        .unwrap()
        .starts_with("\u{feff}".as_bytes()));

    // A --format that contradicts the file's extension is refused, and nothing is written.
    let xlsx = work.join("out.xlsx");
    let out = run_with(
        store,
        &work,
        &[],
        &[
            os("export"),
            os("users"),
            os("--format"),
            os("csv"),
            os("-o"),
            xlsx.as_os_str(),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!xlsx.exists());
    let out = run_with(
        store,
        &work,
        &[],
        &[
            os("template"),
            os("users"),
            os("--format"),
            os("csv"),
            os("-o"),
            xlsx.as_os_str(),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);

    // Existing files are kept unless --force.
    let precious = work.join("precious.xlsx");
    std::fs::write(&precious, "keep me").unwrap();
    let attempts: [Vec<&OsStr>; 3] = [
        vec![os("template"), os("users"), os("-o"), precious.as_os_str()],
        vec![os("export"), os("users"), os("-o"), precious.as_os_str()],
        vec![
            os("imports"),
            os("download"),
            os(&id),
            os("-o"),
            precious.as_os_str(),
        ],
    ];
    for args in &attempts {
        let out = run_with(store, &work, &[], args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains("--force"), "{}", out.stderr);
        assert_eq!(
            std::fs::read(&precious).unwrap(),
            b"keep me",
            "{args:?} overwrote the file"
        );
    }
    let mut forced = attempts[0].clone();
    forced.push(os("--force"));
    assert_eq!(run_with(store, &work, &[], &forced).code, 0);
    assert_ne!(std::fs::read(&precious).unwrap(), b"keep me");

    // The error workbook: refused over an existing file, and `-` is stdout.
    let bad = store.file("bad.csv", "Username,Name,Active\nbob,Bob,Maybe\n");
    assert_eq!(store.run(&[os("import"), bad.as_os_str()]).code, 1);
    let id = store.imports()[0]["id"].as_i64().unwrap().to_string();
    let errors: Vec<&OsStr> = vec![
        os("imports"),
        os("errors"),
        os(&id),
        os("-o"),
        precious.as_os_str(),
    ];
    let kept = std::fs::read(&precious).unwrap();
    assert_eq!(run_with(store, &work, &[], &errors).code, 2);
    assert_eq!(std::fs::read(&precious).unwrap(), kept);
    let out = run_with(
        store,
        &work,
        &[],
        &[os("imports"), os("errors"), os(&id), os("-o"), os("-")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("bob") && out.stdout.contains("Maybe"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// Item 20: the actor is the account of the process's uid

/// The account name of this (test) process's uid, which the child shares.
fn account_name() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn the_actor_is_the_real_account(store: &Store) {
    let path = store.file("users.csv", "Username,Name\nalice,Alice\n");
    let work = store.path("");
    for env in [
        [("USER", None), ("LOGNAME", None)],
        [("USER", Some("mallory")), ("LOGNAME", Some("mallory"))],
    ] {
        let out = run_with(
            store,
            &work,
            &env,
            &[os("import"), path.as_os_str(), os("--json")],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            store.imports()[0]["actor"],
            format!("cli:{}", account_name()),
            "with {env:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Item 22: the catalog commands speak of their arguments

fn catalog_add_speaks_of_its_arguments(store: &Store) {
    let out = store.run(&["group", "add", "staff", "--permission", "users.read"]);
    assert_eq!(
        out.code, 2,
        "a group has no permissions: clap refuses the flag"
    );
    assert!(out.stderr.contains("--permission"), "{}", out.stderr);
    let help = store.run(&["group", "add", "--help"]);
    assert!(!help.stdout.contains("--permission"), "{}", help.stdout);

    let out = store.run(&["role", "add", "auditor", "--permission", "no.such.code"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--permission: `no.such.code`"),
        "{}",
        out.stderr
    );
    let out = store.run(&["role", "add", "administrator", "--description", "mine now"]);
    assert_eq!(out.code, 2);
    for text in [
        &out.stderr,
        &store
            .run(&["role", "add", "auditor", "--permission", "x"])
            .stderr,
    ] {
        for sheet_talk in ["command line", "row 1", "column", "import"] {
            assert!(
                !text.contains(sheet_talk),
                "speaks of a sheet ({sheet_talk}): {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 23: plain, useful logs

fn debug_logs_are_plain_and_about_muster(store: &Store) {
    let path = store.file("users.csv", "Username,Name\nalice,Alice\n");
    let work = store.path("");
    let out = run_with(
        store,
        &work,
        &[("MUSTER_LOG", Some("debug")), ("NO_COLOR", None)],
        &[os("import"), path.as_os_str()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !out.raw_stderr.contains(&0x1b),
        "colours in a pipe:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("opening the store"),
        "muster's own debug lines: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("PRAGMA") && !out.stderr.contains("sqlx::query"),
        "sqlx noise:\n{}",
        out.stderr
    );
    // Naming sqlx in the filter brings its statements back.
    let out = run_with(
        store,
        &work,
        &[("MUSTER_LOG", Some("debug,sqlx=debug"))],
        &[os("imports"), os("list")],
    );
    assert!(out.stderr.contains("sqlx"), "{}", out.stderr);
}

/// The error workbook takes its upload's format, so a CSV upload's failed rows asked for as
/// `.xlsx` would be CSV bytes in an `.xlsx` file: refused, nothing written, and the `.csv` works.
fn error_workbook_is_never_written_under_another_format(store: &Store) {
    let upload = store.file("bad.csv", "Username,Name,Active\nalice,Alice,Maybe\n");
    let report = store.import(&upload, &[]).json();
    let id = report["import_id"].to_string();
    let xlsx = store.path("errors.xlsx");
    let out = store.run(&[
        os("imports"),
        os("errors"),
        os(&id),
        os("-o"),
        xlsx.as_os_str(),
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("is CSV, like its upload"),
        "{}",
        out.stderr
    );
    assert!(!xlsx.exists(), "nothing is written under the wrong name");
    let csv = store.path("errors.csv");
    let out = store.run(&[
        os("imports"),
        os("errors"),
        os(&id),
        os("-o"),
        csv.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(std::fs::read_to_string(&csv).unwrap().contains("Maybe"));
}

both!(
    error_workbook_is_never_written_under_another_format,
    hostile_names_and_cells_are_escaped,
    a_failed_preview_does_not_offer_apply,
    bad_options_are_usage_errors_never_recorded,
    dash_is_stdout_and_nothing_is_overwritten_silently,
    the_actor_is_the_real_account,
    catalog_add_speaks_of_its_arguments,
    debug_logs_are_plain_and_about_muster,
);

#[test]
fn file_names_are_not_bytes_we_cannot_show() {
    // A name that is not UTF-8 at all is shown lossily, never raw.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let name = OsStr::from_bytes(b"bad\xff\x1b[1m.csv");
    let out = muster(&[os("--data-dir"), data.as_os_str(), os("import"), name]);
    assert_eq!(out.code, 2);
    assert_inert("the error", &out.stderr);
}
