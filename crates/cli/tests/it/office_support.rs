//! LibreOffice for the office-suite tests: finds `soffice`, runs it headless with a profile of its
//! own per run (two runs sharing a profile block each other), and reads back what it wrote.
//!
//! The tests run when `soffice` is on the `PATH`. Without it they print a skip line and pass,
//! unless `CI=true` or `MUSTER_TEST_OFFICE=1` (set by `.ci/run`), where a missing office suite is a
//! failure; `MUSTER_TEST_OFFICE=0` skips them on purpose.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use muster_sheets::{ReadOptions, Workbook};

/// LibreOffice's CSV filter writing every sheet (token 12 = -1, one `NAME-SHEET.csv` per sheet):
/// `,` separator, `"` text delimiter, UTF-8 (76), values as stored rather than as formatted
/// (token 9 false), no formulas (token 10 false), spaces kept (token 11 false).
pub const CSV_ALL_SHEETS: &str =
    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1";

/// A soffice run never takes this long; a hung one is killed so the test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(180);

static RUNS: AtomicU64 = AtomicU64::new(0);

/// The office suite, when the tests should use it.
pub struct Office {
    program: PathBuf,
}

fn flag(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned())
}

/// `Some` when `soffice` is available; otherwise prints why `test` is skipped and returns `None`,
/// or panics where the office suite is required.
pub fn office(test: &str) -> Option<Office> {
    let switch = flag("MUSTER_TEST_OFFICE");
    if switch.as_deref() == Some("0") {
        skip(test, "MUSTER_TEST_OFFICE=0");
        return None;
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("soffice"))
            .find(|p| p.is_file())
    });
    match found {
        Some(program) => Some(Office { program }),
        None if flag("CI").as_deref() == Some("true") || switch.as_deref() == Some("1") => panic!(
            "{test}: soffice is not on the PATH, and the office-suite tests are required here \
             (CI=true or MUSTER_TEST_OFFICE=1); `.ci/run` installs libreoffice-calc-nogui"
        ),
        None => {
            skip(test, "soffice is not on the PATH");
            None
        }
    }
}

/// Written straight to stderr so the harness does not capture it: a skip must be seen.
fn skip(test: &str, why: &str) {
    let line = format!("SKIPPED office-suite test {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

impl Office {
    /// Converts `files` into `outdir` in one soffice run (starting it costs seconds), reading them
    /// with `infilter` when given. Panics with soffice's output when any file gives no result.
    pub fn convert(&self, files: &[&Path], to: &str, infilter: Option<&str>, outdir: &Path) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let profile = std::env::temp_dir().join(format!(
            "muster-lo-{}-{}-{nanos}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(outdir).expect("the conversion's output directory");
        let mut command = Command::new(&self.program);
        command
            .arg(format!(
                "-env:UserInstallation=file://{}",
                profile.display()
            ))
            .args(["--headless", "--norestore", "--nolockcheck"]);
        if let Some(filter) = infilter {
            command.arg(format!("--infilter={filter}"));
        }
        command
            .args(["--convert-to", to, "--outdir"])
            .arg(outdir)
            .args(files)
            .stdin(Stdio::null());
        let (code, output) = run_with_timeout(command);
        let _ = std::fs::remove_dir_all(&profile);
        for file in files {
            let stem = stem(file);
            let made = std::fs::read_dir(outdir)
                .expect("listing the conversion's output")
                .filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with(&stem));
            assert!(
                made,
                "LibreOffice could not convert {} to {to} (exit {code:?}):\n{output}",
                file.display()
            );
        }
    }

    /// Every sheet of each file as LibreOffice sees it, converted to CSV in one run: for each
    /// file, sheet name → rows (trailing empty cells and rows dropped).
    pub fn sheets(
        &self,
        files: &[&Path],
        outdir: &Path,
    ) -> Vec<BTreeMap<String, Vec<Vec<String>>>> {
        self.convert(files, CSV_ALL_SHEETS, None, outdir);
        files
            .iter()
            .map(|file| {
                let prefix = format!("{}-", stem(file));
                let mut sheets = BTreeMap::new();
                for entry in std::fs::read_dir(outdir)
                    .expect("listing")
                    .filter_map(Result::ok)
                {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let Some(sheet) = name
                        .strip_prefix(&prefix)
                        .and_then(|s| s.strip_suffix(".csv"))
                    else {
                        continue;
                    };
                    let text = std::fs::read_to_string(entry.path()).expect("LibreOffice's CSV");
                    sheets.insert(sheet.to_owned(), trimmed(crate::support::parse_csv(&text)));
                }
                sheets
            })
            .collect()
    }
}

/// Runs soffice, killing it (only this child) if it outlives [`TIMEOUT`].
fn run_with_timeout(mut command: Command) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("soffice.log");
    let file = std::fs::File::create(&log).expect("soffice log");
    let mut child = command
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .expect("starting soffice");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for soffice") {
            break status.code();
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

/// The file name without its extension: what LibreOffice names its output after.
fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Rows without trailing empty cells, and without trailing empty rows: LibreOffice pads every
/// row to the sheet's width, muster's reader does not.
pub fn trimmed(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|mut row| {
            while row.last().is_some_and(String::is_empty) {
                row.pop();
            }
            row
        })
        .collect();
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    rows
}

/// Every sheet of an XLSX or ODS as muster's own reader sees it, in the shape of [`Office::sheets`].
pub fn muster_sheets(file: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut book = Workbook::open(file, &ReadOptions::default())
        .unwrap_or_else(|e| panic!("muster cannot read {}: {e}", file.display()));
    let mut sheets = BTreeMap::new();
    for name in book.sheet_names() {
        let mut rows: Vec<Vec<String>> = Vec::new();
        for row in book.rows(Some(&name)).expect("the sheet") {
            let row = row.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            // Blank rows may be skipped by the reader: place each row at its number.
            let index = row.number as usize - 1;
            if rows.len() <= index {
                rows.resize(index + 1, Vec::new());
            }
            rows[index] = row.cells.iter().map(|c| c.as_str().to_owned()).collect();
        }
        sheets.insert(name, trimmed(rows));
    }
    sheets
}

/// Checks what office suites need of a zip that `muster` wrote: every local header carries its
/// real sizes and no Zip64 block (LibreOffice refuses an ODS whose small `content.xml` is marked
/// Zip64), and an ODS starts with its `mimetype` entry, stored. Runs without LibreOffice.
pub fn assert_plain_zip(path: &Path) {
    let bytes = std::fs::read(path).expect("the written file");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let shown = path.display();
    let mut at = 0;
    let mut names = Vec::new();
    while at + 30 <= bytes.len() && u32_at(at) == 0x0403_4b50 {
        let (method, compressed, size) = (u16_at(at + 8), u32_at(at + 18), u32_at(at + 22));
        let (name_len, extra_len) = (u16_at(at + 26) as usize, u16_at(at + 28) as usize);
        let name = String::from_utf8_lossy(&bytes[at + 30..at + 30 + name_len]).into_owned();
        assert!(
            compressed != u32::MAX && size != u32::MAX,
            "{shown}: {name} is marked Zip64 (sizes 0xFFFFFFFF in its local header)"
        );
        let mut extra = &bytes[at + 30 + name_len..at + 30 + name_len + extra_len];
        while extra.len() >= 4 {
            assert_ne!(
                u16::from_le_bytes([extra[0], extra[1]]),
                1,
                "{shown}: {name} has a Zip64 block"
            );
            let len = u16::from_le_bytes([extra[2], extra[3]]) as usize;
            extra = &extra[(4 + len).min(extra.len())..];
        }
        if names.is_empty() && path.extension().is_some_and(|e| e == "ods") {
            assert_eq!(
                (name.as_str(), method),
                ("mimetype", 0),
                "{shown}: the first entry"
            );
        }
        names.push(name);
        at += 30 + name_len + extra_len + compressed as usize;
    }
    let entries = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .expect("a zip")
        .len();
    assert_eq!(
        names.len(),
        entries,
        "{shown}: every entry follows the one before: {names:?}"
    );
}
