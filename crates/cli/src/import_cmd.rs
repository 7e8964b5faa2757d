//! `muster import`: checks the flags, runs the import use case with a progress bar, and prints
//! either one JSON object (for scripts) or a readable summary with the first problems.

use std::io::IsTerminal;

use anyhow::{bail, Context as _};
use muster_engine::{import_file, ImportOptions, ImportReport, ImportStatus};
use muster_store::Store;

use crate::args::ImportArgs;
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
        encoding: args.encoding.clone(),
        ..ImportOptions::default()
    };
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let progress = ImportProgress::new(show_progress);
    let ctx = session::context(Box::new(progress.clone()));
    session::cancel_on_ctrl_c(&ctx);
    let report = import_file(store, &args.file, &options, &ctx)
        .await
        .with_context(|| format!("while importing {}", args.file.display()))?;
    progress.finish();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report);
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

fn print_summary(report: &ImportReport) {
    let verdict = match report.status {
        ImportStatus::Applied if report.has_failures() => "applied the valid rows (partial)",
        ImportStatus::Applied => "applied",
        ImportStatus::Rejected => "rejected: nothing was changed",
        ImportStatus::DryRun => "dry run: nothing was changed",
        ImportStatus::Cancelled => "cancelled: nothing was changed",
    };
    let what = report.entity.unwrap_or("rows");
    let id = report
        .import_id
        .map(|id| format!("import {id}: "))
        .unwrap_or_default();
    println!("{id}{} ({what}): {verdict}", report.file_name);
    let c = &report.counts;
    println!(
        "  created {}, updated {}, unchanged {}, failed {}",
        c.created, c.updated, c.unchanged, c.failed
    );
    if report.sheets.len() > 1 {
        for (sheet, c) in &report.sheets {
            println!(
                "    {sheet}: created {}, updated {}, unchanged {}, failed {}",
                c.created, c.updated, c.unchanged, c.failed
            );
        }
    }
    if let Some(previous) = report.fixes_import_id {
        println!("  fixes the failed rows of import {previous}");
    }
    // What was created is said once, in the tense of what happened; the per-name warnings
    // about it (with their row counts) are in `--json` and the history.
    let would = match report.status {
        ImportStatus::Applied => "",
        ImportStatus::DryRun => "to be ",
        ImportStatus::Rejected | ImportStatus::Cancelled => "that would have been ",
    };
    if !report.departments_created.is_empty() {
        println!(
            "  departments {would}created: {}",
            report.departments_created.join(", ")
        );
    }
    if !report.groups_created.is_empty() {
        println!(
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
        println!(
            "{count} warning(s){}:",
            if (shown as u64) < count {
                format!(", the first {shown}")
            } else {
                String::new()
            }
        );
        for warning in others.iter().take(shown) {
            println!("  {warning}");
        }
    }
    if let (ImportStatus::DryRun, Some(id)) = (report.status, report.import_id) {
        println!("  the plan is stored: `muster imports apply {id}` applies exactly this");
    }
    if let (ImportStatus::Applied, Some(id)) = (report.status, report.import_id) {
        if report.changed_anything() {
            println!("  `muster imports revert {id}` undoes it");
        } else {
            println!("  nothing changed, so there is nothing to revert");
        }
    }
    if report.issue_count > 0 {
        let shown = report.errors.len().min(ERRORS_SHOWN);
        println!(
            "{} problem(s){}:",
            report.issue_count,
            if (shown as u64) < report.issue_count {
                format!(", the first {shown}")
            } else {
                String::new()
            }
        );
        for issue in report.errors.iter().take(shown) {
            println!("  {issue}");
        }
    }
}
