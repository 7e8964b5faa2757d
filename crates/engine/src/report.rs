//! What an import tells its caller: its id in the history, a status, row counts (in total and
//! per sheet), warnings, and every problem as data — a kind and a position (sheet, row as a
//! spreadsheet shows it, column header). The CLI prints it or turns it into JSON; the console
//! and API will render the same structure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::issue::Issue;
use crate::journal::{Change, FailedRowLog, LoggedIssue};
use crate::warnings::Warning;

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
}

impl ImportStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Applied => "applied",
            ImportStatus::Rejected => "rejected",
            ImportStatus::DryRun => "dry_run",
            ImportStatus::Cancelled => "cancelled",
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

    pub(crate) fn push_warning(&mut self, warning: Warning) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_REPORTED_ISSUES {
            self.warnings.push(warning);
        }
    }

    /// A row that failed: counted, its issues reported and logged for the history.
    pub(crate) fn fail_row(&mut self, row: u64, secret: bool, issues: Vec<Issue>) {
        self.counts.failed += 1;
        let logged = issues
            .iter()
            .map(|i| LoggedIssue {
                column: i.position.column.clone(),
                message: i.kind.to_string(),
            })
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
        self.status = ImportStatus::Cancelled;
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
