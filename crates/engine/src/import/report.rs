//! What an import tells its caller: its id in the history, a status, row counts (in total and
//! per sheet), warnings, and every problem as data — a kind and a position (sheet, row as a
//! spreadsheet shows it, column header). The CLI prints it or turns it into JSON; the console
//! and API will render the same structure.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};

use serde::Serialize;

use crate::history::journal::{Change, FailedRowLog, LoggedIssue};
use crate::import::issue::Issue;
use crate::import::warnings::{Tense, Warning};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Written (in partial mode possibly with some rows failed).
    Applied,
    /// Atomic import with failed rows: nothing written.
    Rejected,
    /// Nothing written by request; the plan is stored and can be applied.
    DryRun,
    /// Stopped by the operator (Ctrl-C): nothing written.
    Cancelled,
    /// A stored preview whose records changed since it was made: nothing written; the
    /// report names each record (`conflicts`), and a new preview is needed.
    Stale,
    /// A revert that undid what it could and left records changed since the import alone
    /// (reported as conflicts); reverting again takes up what was left.
    Conflicted,
}

impl ImportStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Applied => "applied",
            ImportStatus::Rejected => "rejected",
            ImportStatus::DryRun => "dry_run",
            ImportStatus::Cancelled => "cancelled",
            ImportStatus::Stale => "stale",
            ImportStatus::Conflicted => "conflicted",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}

impl Counts {
    fn minus(self, earlier: Counts) -> Counts {
        Counts {
            created: self.created - earlier.created,
            updated: self.updated - earlier.updated,
            unchanged: self.unchanged - earlier.unchanged,
            failed: self.failed - earlier.failed,
        }
    }
}

/// At most this many issues (and warnings) are kept in the report; the counts stay exact and
/// the history keeps every failed row.
pub const MAX_REPORTED_ISSUES: usize = 10_000;

#[derive(Debug, Serialize)]
pub struct ImportReport {
    /// The import's number in the history (absent only if it could not be recorded).
    pub import_id: Option<i64>,
    pub status: ImportStatus,
    pub entity: Option<&'static str>,
    pub file_name: String,
    pub sheet: Option<String>,
    pub format: Option<&'static str>,
    pub encoding: Option<&'static str>,
    #[serde(flatten)]
    pub counts: Counts,
    /// Counts per sheet, for workbooks of several sheets (and the one sheet otherwise).
    pub sheets: BTreeMap<String, Counts>,
    /// Departments and groups that were (or, for a dry run or a rejected import, would be) created.
    pub departments_created: Vec<String>,
    pub groups_created: Vec<String>,
    /// The import whose error workbook this file was made from.
    pub fixes_import_id: Option<i64>,
    /// Distinct warnings; each carries the number of rows that gave it (`count`).
    pub warning_count: u64,
    pub warnings: Vec<Warning>,
    pub issue_count: u64,
    pub errors: Vec<Issue>,
    /// For a cancelled import only: how many rows were checked before it stopped (its counts
    /// are then all zero, since nothing of it was applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_checked: Option<u64>,
    /// What the current batch produced for the history; drained after every batch.
    #[serde(skip)]
    pub(crate) log: BatchLog,
    #[serde(skip)]
    sheet_start: Option<(String, Counts)>,
    /// Where each distinct warning is in `warnings`, by the hash of `Warning::identity` (a list,
    /// in case two identities share a hash).
    #[serde(skip)]
    warning_index: HashMap<u64, Vec<usize>>,
    #[serde(skip)]
    warning_hasher: RandomState,
}

/// The history rows of one batch: the changes it plans and the rows that failed.
#[derive(Debug, Default)]
pub(crate) struct BatchLog {
    pub changes: Vec<Change>,
    /// (row, key) of each row that changed nothing.
    pub unchanged: Vec<(u64, String)>,
    pub failures: Vec<FailedRowLog>,
}

impl ImportReport {
    pub(crate) fn new(file_name: String) -> ImportReport {
        ImportReport {
            import_id: None,
            status: ImportStatus::Rejected,
            entity: None,
            file_name,
            sheet: None,
            format: None,
            encoding: None,
            counts: Counts::default(),
            sheets: BTreeMap::new(),
            departments_created: Vec::new(),
            groups_created: Vec::new(),
            fixes_import_id: None,
            warning_count: 0,
            warnings: Vec::new(),
            issue_count: 0,
            errors: Vec::new(),
            rows_checked: None,
            log: BatchLog::default(),
            sheet_start: None,
            warning_index: HashMap::new(),
            warning_hasher: RandomState::new(),
        }
    }

    pub(crate) fn push_issue(&mut self, issue: Issue) {
        self.issue_count += 1;
        if self.errors.len() < MAX_REPORTED_ISSUES {
            self.errors.push(issue);
        }
    }

    /// A row that changes nothing: counted, and logged (row and key) so the history can say so.
    pub(crate) fn unchanged_row(&mut self, row: u64, key: &str) {
        self.counts.unchanged += 1;
        self.log.unchanged.push((row, key.to_owned()));
    }

    /// Adds a warning, or counts one more row for the same warning already given (same sheet,
    /// column and message): one line per name or role, however many rows repeat it.
    pub(crate) fn push_warning(&mut self, warning: Warning) {
        let identity = warning.identity();
        let hash = self.warning_hasher.hash_one(identity);
        let seen = self.warning_index.get(&hash).and_then(|slots| {
            slots
                .iter()
                .copied()
                .find(|&i| self.warnings[i].identity() == identity)
        });
        if let Some(i) = seen {
            self.warnings[i].count += 1;
            return;
        }
        self.warning_count += 1;
        // Past the cap warnings are only counted (the index stays bounded with the list), so a
        // file with a million distinct warnings costs no more memory than one with ten thousand;
        // `warning_count` may then count a repeated one twice.
        if self.warnings.len() < MAX_REPORTED_ISSUES {
            self.warning_index
                .entry(hash)
                .or_default()
                .push(self.warnings.len());
            self.warnings.push(warning);
        }
    }

    /// Sets the final status and tells every warning in its tense: a preview's departments
    /// "will be" created, an applied import's were, a rejected one's would have been.
    pub(crate) fn settle(&mut self, status: ImportStatus) {
        self.status = status;
        let tense = Tense::of(status);
        for warning in &mut self.warnings {
            warning.kind.set_tense(tense);
        }
    }

    /// Whether the import changed anything (rows, or departments and groups it created): an
    /// import that did not leaves nothing to revert.
    pub fn changed_anything(&self) -> bool {
        self.counts.created + self.counts.updated > 0
            || !self.departments_created.is_empty()
            || !self.groups_created.is_empty()
    }

    /// A row that failed: counted, its issues reported and logged for the history.
    pub(crate) fn fail_row(&mut self, row: u64, secret: bool, issues: Vec<Issue>) {
        self.counts.failed += 1;
        let logged = issues
            .iter()
            .map(|i| LoggedIssue::new(i.position.column.clone(), i.kind.clone()))
            .collect();
        self.log.failures.push(FailedRowLog {
            row,
            secret,
            issues: logged,
        });
        for issue in issues {
            self.push_issue(issue);
        }
    }

    /// Starts counting a new sheet (closing the one before).
    pub(crate) fn start_sheet(&mut self, sheet: &str) {
        self.close_sheet();
        self.sheet_start = Some((sheet.to_owned(), self.counts));
    }

    /// Files the counts since `start_sheet` under that sheet's name.
    pub(crate) fn close_sheet(&mut self) {
        if let Some((sheet, start)) = self.sheet_start.take() {
            self.sheets.insert(sheet, self.counts.minus(start));
        }
    }

    /// Marks the import cancelled. Its counts described what it would have done, and would read
    /// as done: they become `rows_checked`, and the created/updated figures, the per-sheet counts
    /// and the departments and groups to create are cleared, because nothing was applied.
    pub(crate) fn cancel(&mut self) {
        let c = self.counts;
        self.settle(ImportStatus::Cancelled);
        self.rows_checked = Some(c.created + c.updated + c.unchanged + c.failed);
        self.counts = Counts::default();
        self.sheets.clear();
        self.departments_created.clear();
        self.groups_created.clear();
    }

    /// Whether `imports apply` will take the plan this preview stored: the rule of
    /// `plan_apply::apply_plan` (no failed row, or a partial preview), and no problem with the
    /// file as a whole (row 0), which leaves no plan worth applying.
    pub fn preview_applies(&self, partial: bool) -> bool {
        if self.status != ImportStatus::DryRun {
            return false;
        }
        let file_failed = self.errors.iter().any(|issue| issue.position.row == 0);
        !file_failed && (partial || !self.has_failures())
    }

    /// True when the caller should exit with "rows rejected".
    pub fn has_failures(&self) -> bool {
        self.issue_count > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::issue::Position;
    use crate::import::warnings::WarningKind;

    fn new_department(row: u64, name: &str) -> Warning {
        let position = Position {
            sheet: "users.csv".into(),
            row,
            column: Some("Department".into()),
        };
        Warning::new(
            position,
            WarningKind::NewDepartment {
                name: name.into(),
                tense: Tense::Planned,
            },
        )
    }

    /// Issue 7, item 15: one warning per name with its rows, in the tense of the outcome.
    #[test]
    fn repeated_warnings_are_one_with_a_count_told_in_the_outcomes_tense() {
        let mut report = ImportReport::new("users.csv".into());
        for row in 2..12 {
            report.push_warning(new_department(
                row,
                if row % 2 == 0 { "Sales" } else { "Ops" },
            ));
        }
        assert_eq!(report.warning_count, 2);
        let counted: Vec<(u64, u64)> = report
            .warnings
            .iter()
            .map(|w| (w.position.row, w.count))
            .collect();
        assert_eq!(counted, [(2, 5), (3, 5)]);
        report.settle(ImportStatus::Applied);
        assert_eq!(
            report.warnings[0].kind.to_string(),
            "department `Sales` did not exist: the import created it"
        );
    }
}
