//! The harness: runs the real `muster` binary against a fresh store — SQLite in a temporary data
//! directory, and PostgreSQL in a fresh database when `MUSTER_TEST_POSTGRES_URL` is set — and
//! reads its exit code, stdout and JSON report.

use muster_store::DatabaseUrl;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
    pub raw_stderr: Vec<u8>,
}

impl Out {
    /// The one JSON object `--json` prints on stdout.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<std::process::Output> for Out {
    fn from(output: std::process::Output) -> Out {
        Out::new(
            output.status.code().unwrap_or(-1),
            output.stdout,
            output.stderr,
        )
    }
}

impl Out {
    fn new(code: i32, raw_stdout: Vec<u8>, raw_stderr: Vec<u8>) -> Out {
        Out {
            code,
            stdout: String::from_utf8_lossy(&raw_stdout).into_owned(),
            stderr: String::from_utf8_lossy(&raw_stderr).into_owned(),
            raw_stdout,
            raw_stderr,
        }
    }
}

/// The `muster` binary with none of the caller's store settings and no colours: every test
/// starts from this and adds its own store, arguments and environment.
pub fn muster_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_muster"));
    command
        .env_remove("MUSTER_DATA_DIR")
        .env_remove("MUSTER_DATABASE_URL")
        .env("NO_COLOR", "1");
    command
}

pub fn muster(args: &[&std::ffi::OsStr]) -> Out {
    muster_command()
        .args(args)
        .output()
        .expect("running the muster binary")
        .into()
}

/// Runs a `muster` command and also returns the child's peak resident memory in bytes, read
/// from the kernel's accounting of that one process (`wait4`), so hostile-file tests can bound it.
// The child is reaped by `wait4` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn measured(mut command: Command) -> (Out, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the muster binary");
    // Both pipes are drained on their own threads so a chatty child never blocks on a full pipe.
    let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stdout_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut bytes);
        bytes
    });
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; the pid is our own unreaped child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(
        waited,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    let raw_stdout = stdout_reader.join().unwrap_or_default();
    let raw_stderr = stderr_reader.join().unwrap_or_default();
    let out = Out::new(code, raw_stdout, raw_stderr);
    // Linux reports ru_maxrss in KiB.
    (out, usage.ru_maxrss.max(0) as u64 * 1024)
}

/// The most memory a hostile file may make the muster process take (issue 7: under 300 MiB).
pub const PEAK_LIMIT: u64 = 300 * 1024 * 1024;

#[track_caller]
pub fn assert_peak_bounded(peak: u64) {
    assert!(peak < PEAK_LIMIT, "peak resident memory {} MiB", peak >> 20);
}

/// A refused file ends the process with exit 1 (rows rejected) or 2 (the file is unusable),
/// never with a crash.
#[track_caller]
pub fn assert_refused(out: &Out) {
    assert!(
        out.code == 1 || out.code == 2,
        "exit {}:\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh store plus a scratch directory for fixtures and exports.
pub struct Store {
    pub backend: Backend,
    work: tempfile::TempDir,
    data_dir: PathBuf,
    url: Option<String>,
    _database: Option<PgDatabase>,
}

impl Store {
    fn sqlite() -> Store {
        let work = tempfile::tempdir().expect("tempdir");
        let data_dir = work.path().join("data");
        Store {
            backend: Backend::Sqlite,
            work,
            data_dir,
            url: None,
            _database: None,
        }
    }

    fn postgres(base_url: &str) -> Store {
        let database = PgDatabase::create(base_url);
        let work = tempfile::tempdir().expect("tempdir");
        let data_dir = work.path().join("data");
        Store {
            backend: Backend::Postgres,
            work,
            data_dir,
            url: Some(database.url.clone()),
            _database: Some(database),
        }
    }

    /// A second, empty store on the same backend: another instance, for transfer tests.
    pub fn another(&self) -> Store {
        match self.backend {
            Backend::Sqlite => Store::sqlite(),
            Backend::Postgres => {
                let url = std::env::var("MUSTER_TEST_POSTGRES_URL")
                    .expect("a PostgreSQL store without its URL");
                Store::postgres(url.trim())
            }
        }
    }

    /// The PostgreSQL URL of this store (None for SQLite).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The SQLite data directory (its files are what the sentinel test scans).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `muster` with this store selected, then `args`.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Out {
        self.command()
            .args(args)
            .output()
            .expect("running the muster binary")
            .into()
    }

    /// Like [`Store::run`], also returning the process's peak resident memory in bytes.
    pub fn run_measured<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> (Out, u64) {
        let mut command = self.command();
        command.args(args);
        measured(command)
    }

    /// The history as `imports list --json` gives it, newest first.
    pub fn imports(&self) -> Vec<Value> {
        let out = self.run(&["imports", "list", "--json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json().as_array().expect("a JSON array").clone()
    }

    /// The history entry of import `id`.
    #[track_caller]
    pub fn import_entry(&self, id: &str) -> Value {
        let wanted: u64 = id.parse().expect("an import id is a number");
        self.imports()
            .into_iter()
            .find(|e| e["id"] == wanted)
            .unwrap_or_else(|| panic!("import {id} is listed"))
    }

    /// `muster import FILE --json`, with the process's peak resident memory.
    pub fn import_measured(&self, path: &Path) -> (Out, u64) {
        self.run_measured(&["import".as_ref(), path.as_os_str(), "--json".as_ref()])
    }

    /// [`muster_command`] with this store selected; the caller adds arguments, a working
    /// directory or environment.
    pub fn command(&self) -> Command {
        let mut command = muster_command();
        match &self.url {
            Some(url) => command.args(["--database-url", url]),
            None => command.arg("--data-dir").arg(&self.data_dir),
        };
        command
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// Writes a fixture file and returns its path.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing a fixture");
        path
    }

    /// `muster import FILE --json EXTRA…`, returning the run (check `code` and `json()`).
    pub fn import(&self, file: &Path, extra: &[&str]) -> Out {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["import".as_ref(), file.as_os_str(), "--json".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        self.run(&args)
    }

    /// An import that must be applied cleanly; returns its report.
    pub fn import_ok(&self, file: &Path, extra: &[&str]) -> Value {
        let out = self.import(file, extra);
        assert_eq!(
            out.code,
            0,
            "import of {} should succeed:\n{}\n{}",
            file.display(),
            out.stdout,
            out.stderr
        );
        let report = out.json();
        assert_eq!(report["status"], "applied", "{report}");
        assert_eq!(report["failed"], 0, "{report}");
        report
    }

    /// Writes CSV text to `name` and imports it cleanly.
    pub fn import_csv_ok(&self, name: &str, text: &str, extra: &[&str]) -> Value {
        let path = self.file(name, text);
        self.import_ok(&path, extra)
    }

    /// `muster export ENTITY EXTRA…` to stdout as CSV; must succeed.
    pub fn export(&self, entity: &str, extra: &[&str]) -> String {
        let mut args = vec!["export", entity];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_eq!(
            out.code, 0,
            "export {entity} {extra:?} failed:\n{}",
            out.stderr
        );
        out.stdout
    }

    /// Exports ENTITY as CSV and parses it.
    pub fn table(&self, entity: &str, extra: &[&str]) -> Table {
        Table::parse(&self.export(entity, extra))
    }

    /// Exports ENTITY into a file of the given format and returns its path, replacing a file of
    /// that name (tests export over the fixture they imported, hence `--force`).
    pub fn export_file(&self, entity: &str, format: &str, name: &str) -> PathBuf {
        let path = self.path(name);
        let out = self.run(&[
            "export".as_ref(),
            entity.as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            "-o".as_ref(),
            path.as_os_str(),
            "--force".as_ref(),
        ]);
        assert_eq!(
            out.code, 0,
            "export {entity} as {format} failed:\n{}",
            out.stderr
        );
        path
    }

    /// The users export as CSV text: the snapshot compared before and after a rejected import.
    pub fn snapshot(&self) -> String {
        let mut all = String::new();
        for entity in ["users", "groups", "roles", "departments"] {
            all.push_str(&self.export(entity, &[]));
            all.push('\n');
        }
        all
    }

    pub fn role(&self, name: &str, permissions: &[&str]) {
        let mut args = vec!["role", "add", name];
        for p in permissions {
            args.push("--permission");
            args.push(p);
        }
        let out = self.run(&args);
        assert_eq!(out.code, 0, "role add {name}: {}", out.stderr);
    }

    pub fn group(&self, name: &str) {
        let out = self.run(&["group", "add", name]);
        assert_eq!(out.code, 0, "group add {name}: {}", out.stderr);
    }

    pub fn department(&self, name: &str) {
        let out = self.run(&["department", "add", name]);
        assert_eq!(out.code, 0, "department add {name}: {}", out.stderr);
    }
}

/// Asserts the JSON report's row counts: (created, updated, unchanged, failed).
#[track_caller]
pub fn assert_counts(report: &Value, created: u64, updated: u64, unchanged: u64, failed: u64) {
    let got = (
        report["created"].as_u64().unwrap_or(u64::MAX),
        report["updated"].as_u64().unwrap_or(u64::MAX),
        report["unchanged"].as_u64().unwrap_or(u64::MAX),
        report["failed"].as_u64().unwrap_or(u64::MAX),
    );
    assert_eq!(
        got,
        (created, updated, unchanged, failed),
        "(created, updated, unchanged, failed) in {report:#}"
    );
}

/// The report's errors as (sheet, row, column, message).
pub fn errors(report: &Value) -> Vec<(String, u64, Option<String>, String)> {
    report["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array in {report}"))
        .iter()
        .map(|e| {
            (
                e["sheet"].as_str().unwrap_or_default().to_owned(),
                e["row"].as_u64().unwrap_or(u64::MAX),
                e["column"].as_str().map(str::to_owned),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Finds the error at (row, column) whose message contains `needle`; panics listing all errors.
#[track_caller]
pub fn assert_error(report: &Value, sheet: &str, row: u64, column: Option<&str>, needle: &str) {
    let all = errors(report);
    let found = all.iter().any(|(s, r, c, m)| {
        s == sheet && *r == row && c.as_deref() == column && m.contains(needle)
    });
    assert!(found, "expected an error at {sheet}, row {row}, column {column:?} containing {needle:?}; got {all:#?}");
}

/// A parsed CSV export (UTF-8 with BOM, RFC 4180).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn parse(text: &str) -> Table {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = parse_csv(text).into_iter();
        let headers = records.next().unwrap_or_default();
        Table {
            headers,
            rows: records.collect(),
        }
    }

    pub fn column(&self, header: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == header)
            .unwrap_or_else(|| panic!("no column {header} in {:?}", self.headers))
    }

    /// The value of `header` on the row whose first column is `key`.
    #[track_caller]
    pub fn get(&self, key: &str, header: &str) -> String {
        let col = self.column(header);
        let row = self
            .rows
            .iter()
            .find(|r| r[0] == key)
            .unwrap_or_else(|| panic!("no row {key} in {self:#?}"));
        row[col].clone()
    }

    /// The first column of every row, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.rows.iter().map(|r| r[0].clone()).collect();
        keys.sort();
        keys
    }

    /// The table without the columns whose values depend on the clock.
    pub fn without_timestamps(&self) -> Table {
        let keep: Vec<usize> = (0..self.headers.len())
            .filter(|&i| {
                !["Created at", "Updated at", "Last login"].contains(&self.headers[i].as_str())
            })
            .collect();
        Table {
            headers: keep.iter().map(|&i| self.headers[i].clone()).collect(),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    keep.iter()
                        .map(|&i| r.get(i).cloned().unwrap_or_default())
                        .collect()
                })
                .collect(),
        }
    }
}

/// A small strict RFC 4180 reader for the exports (comma, double quotes, CRLF or LF).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            _ => field.push(c),
        }
    }
    if any {
        record.push(field);
        records.push(record);
    }
    records
}

// ---------------------------------------------------------------------------------------------
// Backends

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A PostgreSQL database made for one test and dropped (forcibly) when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

impl PgDatabase {
    fn create(base_url: &str) -> PgDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "muster_it_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        let server = DatabaseUrl::new(base_url);
        let url =
            block_on(muster_store::create_postgres_database(&server, &name)).unwrap_or_else(|e| {
                panic!("MUSTER_TEST_POSTGRES_URL is set but the server cannot be reached: {e}")
            });
        PgDatabase {
            admin_url: base_url.to_owned(),
            name,
            url: url.expose().to_owned(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = DatabaseUrl::new(self.admin_url.clone());
        if let Err(e) = block_on(muster_store::drop_postgres_database(&server, &self.name)) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

pub fn run_sqlite(scenario: fn(&Store)) {
    scenario(&Store::sqlite());
}

/// Runs a PostgreSQL test. Only reached when the crate was built with `MUSTER_TEST_POSTGRES_URL`
/// set (otherwise the test is ignored, see `build.rs`), so an unset variable now is a mistake,
/// not a reason to pass without running.
pub fn run_postgres(scenario: fn(&Store)) {
    match std::env::var("MUSTER_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => scenario(&Store::postgres(url.trim())),
        _ => panic!("MUSTER_TEST_POSTGRES_URL was set when the tests were built but is unset now"),
    }
}

/// Under CI the PostgreSQL tests must run: ignoring them there would hide a backend.
#[test]
fn postgres_runs_under_ci() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci || cfg!(muster_postgres),
        "CI=true but MUSTER_TEST_POSTGRES_URL is unset: the PostgreSQL tests would be ignored"
    );
}

/// `both!(scenario);` turns `fn scenario(&Store)` into the tests `scenario::sqlite` and
/// `scenario::postgres`.
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                $crate::support::run_sqlite(super::$name);
            }
            #[test]
            #[cfg_attr(not(muster_postgres), ignore = "set MUSTER_TEST_POSTGRES_URL to run on PostgreSQL")]
            fn postgres() {
                $crate::support::run_postgres(super::$name);
            }
        }
    )+};
}
pub(crate) use both;

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Text as UTF-16 little-endian with a byte-order mark.
pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// Text as UTF-16 big-endian with a byte-order mark.
pub fn utf16be_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    bytes
}

/// Text as Windows-1252, by hand: ASCII plus the Latin-1 letters the fixtures use.
pub fn windows1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            c if (c as u32) < 0x80 => c as u8,
            c if (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            '€' => 0x80,
            other => panic!("{other:?} is not in the fixture's Windows-1252 table"),
        })
        .collect()
}
