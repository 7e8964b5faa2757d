//! `muster imports list|show|download|errors|apply|revert`: the import history from the command
//! line. Each prints a readable summary, or with `--json` one JSON value for scripts.
//! `download` and `errors` write to `-o FILE` (never over an existing one without `--force`) or,
//! with `-o -`, to stdout, their message then going to stderr.

use std::io::Write as _;

use anyhow::{bail, Context as _};
use muster_engine::{
    apply_plan, download_archive, list_imports, prepare_error_workbook, revert_import, show_import,
    ImportDetails, ImportEntry, ImportStatus, NoProgress, RevertReport,
};
use muster_store::Store;

use crate::args::{ImportsAction, ImportsArgs};
use crate::out::{self, say, tell};
use crate::output;
use crate::session;
use crate::Outcome;

pub async fn run(store: &Store, args: ImportsArgs) -> anyhow::Result<Outcome> {
    match args.action {
        ImportsAction::List { limit, json } => list(store, limit, json).await,
        ImportsAction::Show { id, limit, json } => show(store, id, limit, json).await,
        ImportsAction::Download { id, output, force } => download(store, id, &output, force).await,
        ImportsAction::Errors { id, output, force } => errors(store, id, &output, force).await,
        ImportsAction::Apply { id, json } => apply(store, id, json).await,
        ImportsAction::Revert { id, force, json } => revert(store, id, force, json).await,
    }
}

async fn download(
    store: &Store,
    id: i64,
    path: &std::path::Path,
    force: bool,
) -> anyhow::Result<Outcome> {
    if output::is_stdout(path) {
        // The archived upload byte for byte (its own byte-order mark included): it is the file.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let bytes = download_archive(
            store,
            &crate::session::context(Box::new(muster_engine::NoProgress)),
            id,
            &mut out,
        )
        .await?;
        out.flush().context("cannot write to stdout")?;
        tell!("wrote {bytes} bytes to stdout: the file of import {id} as archived, password cells blanked");
        return Ok(Outcome::Done);
    }
    let mut file = std::io::BufWriter::new(output::create(path, force)?);
    let result = download_archive(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        id,
        &mut file,
    )
    .await;
    drop(file);
    let bytes = output::remove_on_error(result, Some(path))?;
    say!(
        "wrote {} ({bytes} bytes): the file of import {id} as archived, password cells blanked",
        path.display()
    );
    Ok(Outcome::Done)
}

async fn errors(
    store: &Store,
    id: i64,
    path: &std::path::Path,
    force: bool,
) -> anyhow::Result<Outcome> {
    let written = Some(path).filter(|p| !output::is_stdout(p));
    if let Some(path) = written {
        output::refuse_existing(path, force)?;
    }
    let prepared = prepare_error_workbook(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        id,
    )
    .await?;
    // The workbook takes its upload's format: a file named for another format is refused before
    // anything is written there.
    let format = prepared.format();
    if let Some(named) = written.and_then(output::format_of).filter(|&f| f != format) {
        bail!(
            "the error workbook of import {id} is {}, like its upload, not {}: name the file .{}",
            format.extension().to_uppercase(),
            named.extension().to_uppercase(),
            format.extension()
        );
    }
    let out = output::writer(written, force)?;
    let result = prepared.write(out).await;
    let written_rows = output::remove_on_error(result, written)?;
    let what = format!(
        "{} failed row(s) of import {id} with an Errors column; fix them and import the file",
        written_rows.rows
    );
    match written {
        None => tell!(
            "wrote {} to stdout: {what}",
            written_rows.format.to_uppercase()
        ),
        Some(path) => say!("wrote {}: {what}", path.display()),
    }
    if let Some(note) = written_rows.note {
        tell!("note: {note}");
    }
    Ok(Outcome::Done)
}

async fn list(store: &Store, limit: i64, json: bool) -> anyhow::Result<Outcome> {
    let entries = list_imports(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        limit,
    )
    .await?;
    if json {
        out::json(&entries)?;
        return Ok(Outcome::Done);
    }
    say!(
        "{:>5}  {:<8}  {:<15}  {:<20}  {:>8} {:>8} {:>9} {:>7}  file",
        "id",
        "kind",
        "status",
        "started (UTC)",
        "created",
        "updated",
        "unchanged",
        "failed"
    );
    for e in &entries {
        say!(
            "{:>5}  {:<8}  {:<15}  {:<20}  {:>8} {:>8} {:>9} {:>7}  {}{}",
            e.id,
            e.kind,
            e.status,
            e.started_at.trim_end_matches('Z').replace('T', " "),
            e.created,
            e.updated,
            e.unchanged,
            e.failed,
            e.file_name,
            links(e)
        );
    }
    Ok(Outcome::Done)
}

fn links(e: &ImportEntry) -> String {
    let mut notes = Vec::new();
    if let Some(id) = e.fixes_import_id {
        notes.push(format!("fixes {id}"));
    }
    if let Some(id) = e.revert_of {
        notes.push(format!("reverts {id}"));
    }
    if let Some(id) = e.reverted_by {
        notes.push(format!("reverted by {id}"));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", notes.join(", "))
    }
}

async fn show(store: &Store, id: i64, limit: usize, json: bool) -> anyhow::Result<Outcome> {
    let details = show_import(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        id,
        limit,
    )
    .await?;
    if json {
        out::json(&details)?;
    } else {
        print_details(&details);
    }
    Ok(Outcome::Done)
}

fn print_details(d: &ImportDetails) {
    let e = &d.entry;
    say!(
        "import {} ({}): {} — {} by {}, {}",
        e.id,
        e.kind,
        e.status,
        e.file_name,
        e.actor,
        e.started_at
    );
    say!("  sha256 {}  size {} bytes", e.sha256, e.file_size);
    say!(
        "  created {}, updated {}, unchanged {}, failed {}{}",
        e.created,
        e.updated,
        e.unchanged,
        e.failed,
        links(e)
    );
    if !d.fixed_by.is_empty() {
        say!(
            "  fixed by import(s) {}",
            d.fixed_by
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(warnings) = d.summary.report.get("warnings").and_then(|w| w.as_array()) {
        for w in warnings {
            let rows = match w["count"].as_u64() {
                Some(count) if count > 1 => format!(" ({count} rows, the first row {})", w["row"]),
                _ => String::new(),
            };
            say!(
                "  warning: {}, row {}: {}{rows}",
                w["sheet"].as_str().unwrap_or(""),
                w["row"],
                w["message"].as_str().unwrap_or("")
            );
        }
    }
    for row in &d.rows {
        let what = match (&row.entity, &row.key) {
            (Some(entity), Some(key)) => format!("{entity} `{key}`"),
            _ => String::new(),
        };
        say!("  {} row {}: {} {}", row.sheet, row.row, row.outcome, what);
        for c in &row.changes {
            say!("      {}: {:?} → {:?}", c.field, c.before, c.after);
        }
        for issue in &row.errors {
            say!(
                "      {}{}",
                issue
                    .column
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                issue.message()
            );
        }
    }
    if d.rows_truncated {
        say!("  … more rows (use --limit)");
    }
}

async fn apply(store: &Store, id: i64, json: bool) -> anyhow::Result<Outcome> {
    let ctx = session::context(Box::new(NoProgress));
    session::cancel_on_ctrl_c(&ctx);
    let report = apply_plan(store, id, &ctx).await?;
    if json {
        out::json(&report)?;
    }
    match report.status {
        ImportStatus::Stale => {
            if !json {
                // One line per conflict, each escaped on its own.
                say!(
                    "{} record(s) changed since the preview of import {id}; preview again:",
                    report.conflict_count
                );
                for conflict in &report.conflicts {
                    say!("  {conflict}");
                }
            }
            Ok(Outcome::RowsRejected)
        }
        ImportStatus::Cancelled => Ok(Outcome::Cancelled),
        _ => {
            if !json {
                say!(
                    "import {id}: applied the previewed plan (created {}, updated {})",
                    report.created,
                    report.updated
                );
            }
            Ok(Outcome::Done)
        }
    }
}

async fn revert(store: &Store, id: i64, force: bool, json: bool) -> anyhow::Result<Outcome> {
    let ctx = session::context(Box::new(NoProgress));
    session::cancel_on_ctrl_c(&ctx);
    let report = revert_import(store, id, force, &ctx).await?;
    if report.status == ImportStatus::Cancelled {
        return Ok(Outcome::Cancelled);
    }
    if json {
        out::json(&report)?;
    } else {
        print_revert(id, &report);
    }
    Ok(if report.left > 0 {
        Outcome::RowsRejected
    } else {
        Outcome::Done
    })
}

/// The revert's summary. `--force` is suggested only when forcing would undo something: entries
/// still in use and users whose earlier references are gone are refused even when forced.
fn print_revert(id: i64, report: &RevertReport) {
    let done = if report.left > 0 {
        "partly reverted"
    } else {
        "reverted"
    };
    say!(
        "import {id} {done} (entry {}): {} removed, {} restored, {} already gone",
        report.revert_id,
        report.removed,
        report.restored,
        report.already_gone
    );
    if report.conflict_count > 0 {
        say!("{} conflict(s):", report.conflict_count);
        for conflict in &report.conflicts {
            say!("  {conflict}");
        }
    }
    if report.forceable > 0 {
        say!(
            "  {} record(s) changed since the import were left alone: `muster imports revert {id} --force` reverts them anyway",
            report.forceable
        );
    }
    let refused = report.left - report.forceable;
    if refused > 0 {
        say!("  {refused} record(s) cannot be reverted while they are in use or their earlier references are gone; `muster imports revert {id}` takes them up again later");
    }
}
