//! What an import tells its caller: a status, row counts, and every problem as data — a kind and
//! a position (sheet, row as a spreadsheet shows it, column header). The CLI prints it or turns
//! it into JSON; later the console and API will render the same structure.

use serde::Serialize;

use crate::issue::Issue;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Written (in partial mode possibly with some rows failed).
    Applied,
    /// Atomic import with failed rows: nothing written.
    Rejected,
    /// Nothing written by request.
    DryRun,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
}

/// At most this many issues are kept in the report; `failed` and `issue_count` stay exact.
pub const MAX_REPORTED_ISSUES: usize = 10_000;

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub status: ImportStatus,
    pub entity: Option<&'static str>,
    pub file_name: String,
    pub sheet: Option<String>,
    pub format: Option<&'static str>,
    pub encoding: Option<&'static str>,
    #[serde(flatten)]
    pub counts: Counts,
    /// Departments and groups that were (or, for a dry run or a rejected import, would be) created.
    pub departments_created: Vec<String>,
    pub groups_created: Vec<String>,
    pub issue_count: u64,
    pub errors: Vec<Issue>,
}

impl ImportReport {
    pub(crate) fn new(file_name: String) -> ImportReport {
        ImportReport {
            status: ImportStatus::Rejected,
            entity: None,
            file_name,
            sheet: None,
            format: None,
            encoding: None,
            counts: Counts::default(),
            departments_created: Vec::new(),
            groups_created: Vec::new(),
            issue_count: 0,
            errors: Vec::new(),
        }
    }

    pub(crate) fn push_issue(&mut self, issue: Issue) {
        self.issue_count += 1;
        if self.errors.len() < MAX_REPORTED_ISSUES {
            self.errors.push(issue);
        }
    }

    /// True when the caller should exit with "rows rejected".
    pub fn has_failures(&self) -> bool {
        self.issue_count > 0
    }
}
