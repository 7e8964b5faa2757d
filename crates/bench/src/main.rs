//! `muster-bench`: generates a deterministic N-row users CSV and runs the release `muster`
//! binary on it, printing rows per second and each run's peak memory (the child's own maximum
//! resident set, from `wait4`). It measures the real command an administrator runs, start-up and
//! all. Usage: `muster-bench [--rows N] [--postgres URL] [--keep DIR] [--console]`; with
//! `--console` it measures the console's latency during an import instead (`console.rs`).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

mod console;

const DEPARTMENTS: usize = 50;
const ROLES: &[&str] = &["viewer", "editor", "auditor", "operator"];
const GROUPS: &[&str] = &["emea", "amer", "apac", "contractors", "staff"];

struct Settings {
    rows: u64,
    postgres: Option<String>,
    dir: PathBuf,
    console: bool,
}

fn main() -> anyhow::Result<()> {
    let settings = parse_args()?;
    let muster = muster_binary()?;
    std::fs::create_dir_all(&settings.dir)?;
    let file = settings.dir.join("users.csv");
    let started = Instant::now();
    write_users(&file, settings.rows)?;
    println!(
        "generated {} rows ({:.1} MB) in {:.2} s",
        settings.rows,
        std::fs::metadata(&file)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    if settings.console {
        return run_console(&muster, &file, &settings);
    }
    println!(
        "{:<10} {:<26} {:>10} {:>14} {:>14}",
        "backend", "phase", "seconds", "rows/s", "peak MB"
    );
    let sqlite_dir = settings.dir.join("sqlite-data");
    let _ = std::fs::remove_dir_all(&sqlite_dir);
    let sqlite = vec!["--data-dir".to_owned(), sqlite_dir.display().to_string()];
    run_phases("sqlite", &muster, &sqlite, &file, &settings)?;
    run_password_phase("sqlite", &muster, &settings)?;
    if let Some(url) = &settings.postgres {
        let db_url = fresh_postgres_database(url)?;
        let store = ["--database-url".to_owned(), db_url];
        run_phases("postgres", &muster, &store, &file, &settings)?;
    }
    Ok(())
}

/// The console's latency during an import, on SQLite and, when given, PostgreSQL.
fn run_console(muster: &Path, file: &Path, settings: &Settings) -> anyhow::Result<()> {
    let sqlite_dir = settings.dir.join("console-data");
    let _ = std::fs::remove_dir_all(&sqlite_dir);
    let sqlite = vec!["--data-dir".to_owned(), sqlite_dir.display().to_string()];
    println!("sqlite:");
    console::run(muster, &sqlite, file, &settings.dir)?;
    if let Some(url) = &settings.postgres {
        let store = ["--database-url".to_owned(), fresh_postgres_database(url)?];
        println!("postgres:");
        console::run(muster, &store, file, &settings.dir)?;
    }
    Ok(())
}

fn parse_args() -> anyhow::Result<Settings> {
    let mut settings = Settings {
        rows: 1_000_000,
        postgres: None,
        dir: std::env::temp_dir().join("muster-bench"),
        console: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--rows" => settings.rows = value()?.replace('_', "").parse()?,
            "--postgres" => settings.postgres = Some(value()?),
            "--keep" => settings.dir = PathBuf::from(value()?),
            "--console" => settings.console = true,
            other => bail!("unknown argument {other}; usage: muster-bench [--rows N] [--postgres URL] [--keep DIR] [--console]"),
        }
    }
    Ok(settings)
}

/// The `muster` binary built beside this one (`cargo build --release` puts both in target/release).
fn muster_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name("muster");
    if !path.exists() {
        bail!(
            "{} not found: run `cargo build --release -p muster-cli` first",
            path.display()
        );
    }
    Ok(path)
}

/// A deterministic users file: the same N gives the same bytes on every machine.
fn write_users(path: &Path, rows: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "Username,Name,Department,E-mail,Phone,Active,Ignore MFA,Roles,User group,Locale,Timezone"
    )?;
    let mut line = String::with_capacity(256);
    for i in 0..rows {
        line.clear();
        let dept = i as usize % DEPARTMENTS;
        let role = ROLES[i as usize % ROLES.len()];
        let group = GROUPS[i as usize % GROUPS.len()];
        let active = if i % 17 == 0 { "No" } else { "Yes" };
        let _ = writeln!(
            line,
            "user{i:07},User Number {i},Department {dept:02},user{i:07}@example.com,+44 20 7946 {:04},{active},No,{role},\"{group}, staff\",en-GB,Europe/London",
            i % 10_000
        );
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

fn run_phases(
    backend: &str,
    muster: &Path,
    store: &[String],
    file: &Path,
    settings: &Settings,
) -> anyhow::Result<()> {
    add_catalog(muster, store)?;
    let file = file.display().to_string();
    let csv_out = settings.dir.join("export.csv").display().to_string();
    let xlsx_out = settings.dir.join("export.xlsx").display().to_string();
    // The store is fresh, so the first import is entry 1 of its history; the revert undoes it
    // after the unchanged re-import (which changed nothing, so nothing conflicts).
    let phases: [(&str, Vec<&str>); 5] = [
        ("import into empty store", vec!["import", &file, "--json"]),
        ("re-import unchanged", vec!["import", &file, "--json"]),
        (
            "export CSV",
            vec!["export", "users", "--force", "-o", &csv_out],
        ),
        (
            "export XLSX",
            vec!["export", "users", "--force", "-o", &xlsx_out],
        ),
        (
            "revert the first import",
            vec!["imports", "revert", "1", "--json"],
        ),
    ];
    for (name, args) in phases {
        let (seconds, peak_kb) = run(muster, store, &args)?;
        println!(
            "{backend:<10} {name:<26} {seconds:>10.2} {:>14.0} {:>14.1}",
            settings.rows as f64 / seconds,
            peak_kb as f64 / 1024.0
        );
    }
    Ok(())
}

/// The roles and groups the generated users file names.
fn add_catalog(muster: &Path, store: &[String]) -> anyhow::Result<()> {
    for role in ROLES {
        run(
            muster,
            store,
            &["role", "add", role, "--permission", "users.read"],
        )?;
    }
    for group in GROUPS {
        run(muster, store, &["group", "add", group])?;
    }
    Ok(())
}

/// Passwords are hashed with argon2id at OWASP's cost (19 MiB, two passes), tens of milliseconds
/// each by design, so they get their own, smaller file: the figure shows hashing on every core.
const PASSWORD_ROWS: u64 = 2_000;

fn run_password_phase(backend: &str, muster: &Path, settings: &Settings) -> anyhow::Result<()> {
    let file = settings.dir.join("passwords.csv");
    let mut out = BufWriter::new(std::fs::File::create(&file)?);
    writeln!(out, "Username,Name,Password")?;
    for i in 0..PASSWORD_ROWS {
        writeln!(
            out,
            "pw{i:05},Password User {i},Correct-Horse-{i:05}-Battery"
        )?;
    }
    out.flush()?;
    let dir = settings.dir.join("password-data");
    let _ = std::fs::remove_dir_all(&dir);
    let store = ["--data-dir".to_owned(), dir.display().to_string()];
    let (seconds, peak_kb) = run(
        muster,
        &store,
        &["import", &file.display().to_string(), "--json"],
    )?;
    let name = format!("{PASSWORD_ROWS} users with passwords");
    println!(
        "{backend:<10} {name:<26} {seconds:>10.2} {:>14.0} {:>14.1}",
        PASSWORD_ROWS as f64 / seconds,
        peak_kb as f64 / 1024.0
    );
    Ok(())
}

/// Runs muster to completion; returns wall seconds and the child's peak resident set in KiB.
fn run(muster: &Path, store: &[String], args: &[&str]) -> anyhow::Result<(f64, i64)> {
    // stderr goes to a file: a pipe nobody reads could fill and stall the child.
    let log = std::env::temp_dir().join("muster-bench-stderr.txt");
    let started = Instant::now();
    let child = Command::new(muster)
        .args(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data, and wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if waited != pid {
        bail!("wait4 failed for muster {args:?}");
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!(
            "muster {args:?} failed with status {status}; its stderr is in {}",
            log.display()
        );
    }
    Ok((seconds, usage.ru_maxrss))
}

fn fresh_postgres_database(url: &str) -> anyhow::Result<String> {
    let name = format!("muster_bench_{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = muster_store::DatabaseUrl::new(url);
    let created = runtime.block_on(muster_store::create_postgres_database(&server, &name))?;
    Ok(created.expose().to_owned())
}
