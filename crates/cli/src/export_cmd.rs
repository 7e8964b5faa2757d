//! `muster export`: picks the format (flag, else the output's extension, else CSV), opens the
//! output, and runs the export use case. The summary goes to stderr so stdout can be the file.

use std::io::{BufWriter, Write};

use anyhow::Context as _;
use muster_engine::{export, ExportFilter, Format};
use muster_store::Store;

use crate::args::{ExportArgs, YesNo};
use crate::Outcome;

pub async fn run(store: &Store, args: ExportArgs) -> anyhow::Result<Outcome> {
    let to_stdout = args.output.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let format: Format = match args.format {
        Some(format) => format.into(),
        None => args
            .output
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| Format::from_extension(&e.to_string_lossy()))
            .unwrap_or(Format::Csv),
    };
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) if !to_stdout => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("while creating {}", path.display()))?,
        )),
        _ => Box::new(BufWriter::new(std::io::stdout())),
    };
    let filter = ExportFilter {
        department: args.department,
        group: args.group,
        role: args.role,
        active: args.active.map(|a| matches!(a, YesNo::Yes)),
        search: args.search,
    };
    let summary = export(store, args.entity.into(), format, &filter, out)
        .await
        .context("while exporting")?;
    if !to_stdout {
        eprintln!(
            "exported {} row(s) to {}",
            summary.rows,
            args.output.unwrap_or_default().display()
        );
    }
    Ok(Outcome::Done)
}
