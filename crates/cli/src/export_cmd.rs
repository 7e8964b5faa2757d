//! `muster export`: picks the format (flag, else the output's extension, else CSV; XLSX for a
//! workbook), opens the output, and runs the export use case. The summary goes to stderr so stdout can be the file.

use std::io::{BufWriter, Write};

use anyhow::{bail, Context as _};
use muster_engine::{export, export_workbook, Entity, ExportFilter, Format};
use muster_store::Store;

use crate::args::{ExportArgs, ExportWhatArg, YesNo};
use crate::Outcome;

pub async fn run(store: &Store, args: ExportArgs) -> anyhow::Result<Outcome> {
    let to_stdout = args.output.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let workbook = matches!(args.entity, ExportWhatArg::Workbook);
    let format: Format = match args.format {
        Some(format) => format.into(),
        None => args
            .output
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| Format::from_extension(&e.to_string_lossy()))
            .unwrap_or(if workbook { Format::Xlsx } else { Format::Csv }),
    };
    let filtered = args.department.is_some()
        || args.group.is_some()
        || args.role.is_some()
        || args.active.is_some()
        || args.search.is_some();
    if workbook && filtered {
        bail!("a workbook export holds every record; the filters apply to single-entity exports");
    }
    if workbook && format == Format::Csv {
        bail!("a workbook holds several sheets, which CSV cannot: use --format xlsx or ods");
    }
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
    let entity = match args.entity {
        ExportWhatArg::Users => Entity::Users,
        ExportWhatArg::Groups => Entity::Groups,
        ExportWhatArg::Roles => Entity::Roles,
        ExportWhatArg::Departments => Entity::Departments,
        ExportWhatArg::Workbook => {
            return run_workbook(store, format, out, to_stdout, args.output).await
        }
    };
    let summary = export(store, entity, format, &filter, out)
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

/// `muster export workbook`: the whole instance, unfiltered, because the file is meant to be
/// imported as one plan elsewhere and a filtered copy would silently leave records behind.
async fn run_workbook(
    store: &Store,
    format: Format,
    out: Box<dyn Write + Send>,
    to_stdout: bool,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<Outcome> {
    let summary = export_workbook(store, format, out)
        .await
        .context("while exporting")?;
    if !to_stdout {
        let sheets: Vec<String> = summary
            .sheets
            .iter()
            .map(|(entity, rows)| format!("{rows} {entity}"))
            .collect();
        eprintln!(
            "exported {} to {}",
            sheets.join(", "),
            output.unwrap_or_default().display()
        );
    }
    Ok(Outcome::Done)
}
