//! `muster import`: checks the flags, runs the import use case with a progress bar, and prints
//! either one JSON object (for scripts) or a readable summary with the first problems. Every
//! flag is checked before the engine records the import, so a mistyped option is a usage error
//! (exit 2) and never an entry in the history.

use std::io::IsTerminal;

use anyhow::{bail, Context as _};
use muster_engine::{
    import_file, ImportOptions, ImportReport, ImportSource, ImportStatus, IssueKind,
};
use muster_store::Store;

use crate::args::ImportArgs;
use crate::out::{self, say};
use crate::progress::ImportProgress;
use crate::session;
use crate::Outcome;

/// How many problems the readable summary lists; `--json` carries them all (up to the report cap).
const ERRORS_SHOWN: usize = 20;

pub async fn run(store: &Store, args: ImportArgs) -> anyhow::Result<Outcome> {
    let options = ImportOptions {
        entity: args.entity.map(Into::into),
        dry_run: args.dry_run,
        partial: args.partial,
        create_only: args.create_only,
        create_groups: args.create_groups,
        sheet: args.sheet.clone(),
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        encoding: args.encoding.as_deref().map(check_encoding).transpose()?,
        ..ImportOptions::default()
    };
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let progress = ImportProgress::new(show_progress);
    let ctx = session::context(Box::new(progress.clone()));
    session::cancel_on_ctrl_c(&ctx);
    let report = import_file(store, &ImportSource::file(&args.file), &options, &ctx)
        .await
        .with_context(|| format!("while importing {}", args.file.display()))?;
    progress.finish();
    if args.json {
        out::json(&report)?;
    } else {
        print_summary(&report, args.partial);
    }
    Ok(if report.status == ImportStatus::Cancelled {
        Outcome::Cancelled
    } else if report.has_failures() {
        Outcome::RowsRejected
    } else {
        Outcome::Done
    })
}

fn parse_delimiter(raw: &str) -> anyhow::Result<u8> {
    match raw {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if raw.len() == 1 && raw.is_ascii() => Ok(raw.as_bytes()[0]),
        _ => bail!("--delimiter takes one ASCII character or `tab`, not {raw:?}"),
    }
}

/// The label as given, once the CSV reader's own lookup knows it.
fn check_encoding(label: &str) -> anyhow::Result<String> {
    match muster_sheets::encoding_for_label(label) {
        Some(_) => Ok(label.to_owned()),
        None => bail!("--encoding: unknown encoding label {label:?} (for example utf-8, utf-16le, windows-1252)"),
    }
}

fn print_summary(report: &ImportReport, partial: bool) {
    let verdict = match report.status {
        ImportStatus::Applied if report.has_failures() => "applied the valid rows (partial)",
        ImportStatus::Applied => "applied",
        ImportStatus::Rejected => "rejected: nothing was changed",
        ImportStatus::DryRun => "dry run: nothing was changed",
        ImportStatus::Cancelled => "cancelled",
        // An import's report is never stale or conflicted; those are outcomes of applying a
        // preview and of a revert, which share the status type.
        ImportStatus::Stale => "stale: nothing was changed",
        ImportStatus::Conflicted => "applied, with conflicts left alone",
    };
    let what = report.entity.unwrap_or("rows");
    let id = report
        .import_id
        .map(|id| format!("import {id}: "))
        .unwrap_or_default();
    say!("{id}{} ({what}): {verdict}", report.file_name);
    if report.status == ImportStatus::Cancelled {
        // Its counts were what it would have done; nothing of it was.
        let checked = thousands(report.rows_checked.unwrap_or(0));
        say!("  {checked} row(s) checked before Ctrl-C; nothing was applied");
        return;
    }
    let c = &report.counts;
    say!(
        "  created {}, updated {}, unchanged {}, failed {}",
        c.created,
        c.updated,
        c.unchanged,
        c.failed
    );
    if report.sheets.len() > 1 {
        for (sheet, c) in &report.sheets {
            say!(
                "    {sheet}: created {}, updated {}, unchanged {}, failed {}",
                c.created,
                c.updated,
                c.unchanged,
                c.failed
            );
        }
    }
    if let Some(previous) = report.fixes_import_id {
        say!("  fixes the failed rows of import {previous}");
    }
    // What was created is said once, in the tense of what happened; the per-name warnings
    // about it (with their row counts) are in `--json` and the history.
    let would = match report.status {
        ImportStatus::Applied | ImportStatus::Conflicted => "",
        ImportStatus::DryRun => "to be ",
        ImportStatus::Rejected | ImportStatus::Cancelled | ImportStatus::Stale => {
            "that would have been "
        }
    };
    if !report.departments_created.is_empty() {
        say!(
            "  departments {would}created: {}",
            report.departments_created.join(", ")
        );
    }
    if !report.groups_created.is_empty() {
        say!(
            "  groups {would}created: {}",
            report.groups_created.join(", ")
        );
    }
    let others: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| !w.is_creation())
        .collect();
    // Warnings past the report's cap are counted but not listed; they are not creations only.
    let unlisted = report.warning_count - report.warnings.len() as u64;
    let count = others.len() as u64 + unlisted;
    if count > 0 {
        let shown = others.len().min(ERRORS_SHOWN);
        say!(
            "{count} warning(s){}:",
            if (shown as u64) < count {
                format!(", the first {shown}")
            } else {
                String::new()
            }
        );
        for warning in others.iter().take(shown) {
            say!("  {warning}");
        }
    }
    if let (ImportStatus::DryRun, Some(id)) = (report.status, report.import_id) {
        if report.preview_applies(partial) {
            say!("  the plan is stored: `muster imports apply {id}` applies exactly this");
        } else {
            say!("  this preview cannot be applied: fix the rows below and preview again (or preview with --partial to apply only the valid rows)");
        }
    }
    if let (ImportStatus::Applied, Some(id)) = (report.status, report.import_id) {
        if report.changed_anything() {
            say!("  `muster imports revert {id}` undoes it");
        } else {
            say!("  nothing changed, so there is nothing to revert");
        }
    }
    if report.issue_count > 0 {
        let shown = report.errors.len().min(ERRORS_SHOWN);
        say!(
            "{} problem(s){}:",
            report.issue_count,
            if (shown as u64) < report.issue_count {
                format!(", the first {shown}")
            } else {
                String::new()
            }
        );
        for issue in report.errors.iter().take(shown) {
            say!("  {issue}{}", hint(&issue.kind));
        }
    }
}

/// The flag that fixes a problem, where one does: the engine says what is wrong in the words of
/// the domain; only the CLI knows its own flags.
pub fn hint(kind: &IssueKind) -> &'static str {
    match kind {
        IssueKind::UnknownEntity { .. } => " (pass --entity)",
        IssueKind::UnknownGroup { .. } => " (pass --create-groups to create it)",
        _ => "",
    }
}

/// 118000 → `118,000`: counts a person reads at a glance.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(118_000), "118,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
