//! `muster export`: picks the format (flag, else the output's extension, else CSV), opens the
//! output, and runs the export use case. The summary goes to stderr so stdout can be the file.

use std::io::{BufWriter, Write};

use anyhow::Context as _;
use muster_engine::{export, ExportFilter, Format};
use muster_store::Store;

use crate::args::{ExportArgs, YesNo};
use crate::out::tell;
use crate::output::{self, NoBom};
use crate::Outcome;

pub async fn run(store: &Store, args: ExportArgs) -> anyhow::Result<Outcome> {
    let to_stdout = args.output.as_deref().is_none_or(output::is_stdout);
    let format = output::choose_format(
        args.format.map(Into::into),
        args.output.as_deref(),
        Format::Csv,
    )?;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) if !to_stdout => Box::new(BufWriter::new(output::create(path, args.force)?)),
        _ => Box::new(NoBom::new(BufWriter::new(std::io::stdout()))),
    };
    let filter = ExportFilter {
        department: args.department,
        group: args.group,
        role: args.role,
        active: args.active.map(|a| matches!(a, YesNo::Yes)),
        search: args.search,
    };
    let result = export(store, args.entity.into(), format, &filter, out).await;
    if let (Err(_), Some(path)) = (&result, args.output.as_deref().filter(|_| !to_stdout)) {
        // A file this run created and could not finish is no export: leave no half of one.
        let _ = std::fs::remove_file(path);
    }
    let summary = result.context("cannot export")?;
    if !to_stdout {
        tell!(
            "exported {} row(s) to {}",
            summary.rows,
            args.output.unwrap_or_default().display()
        );
    }
    Ok(Outcome::Done)
}
