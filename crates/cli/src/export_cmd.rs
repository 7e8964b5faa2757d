//! `muster export`: picks the format (flag, else the output's extension, else CSV; XLSX for a
//! workbook), opens the output, and runs the export use case. The summary goes to stderr so
//! stdout can be the file.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context as _};
use muster_engine::{export, export_workbook, Entity, ExportFilter, Format};
use muster_store::Store;

use crate::args::{ExportArgs, ExportWhatArg, YesNo};
use crate::out::tell;
use crate::output;
use crate::Outcome;

pub async fn run(store: &Store, args: ExportArgs) -> anyhow::Result<Outcome> {
    // The file this run writes; `None` is stdout.
    let written = args.output.as_deref().filter(|p| !output::is_stdout(p));
    let entity = match args.entity {
        ExportWhatArg::Users => Some(Entity::Users),
        ExportWhatArg::Groups => Some(Entity::Groups),
        ExportWhatArg::Roles => Some(Entity::Roles),
        ExportWhatArg::Departments => Some(Entity::Departments),
        ExportWhatArg::Workbook => None,
    };
    let default_format = if entity.is_some() {
        Format::Csv
    } else {
        Format::Xlsx
    };
    let format = output::choose_format(
        args.format.map(Into::into),
        args.output.as_deref(),
        default_format,
    )?;
    let filtered = args.department.is_some()
        || args.group.is_some()
        || args.role.is_some()
        || args.active.is_some()
        || args.search.is_some();
    // Checked before the output is created, so a refused workbook export leaves no file behind.
    if entity.is_none() && filtered {
        bail!("a workbook export holds every record; the filters apply to single-entity exports");
    }
    if entity.is_none() && format == Format::Csv {
        bail!("a workbook holds several sheets, which CSV cannot: use --format xlsx or ods");
    }
    let out = output::writer(written, args.force)?;
    let Some(entity) = entity else {
        return run_workbook(store, format, out, written).await;
    };
    let filter = ExportFilter {
        department: args.department,
        group: args.group,
        role: args.role,
        active: args.active.map(|a| matches!(a, YesNo::Yes)),
        search: args.search,
    };
    let result = export(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        entity,
        format,
        &filter,
        out,
    )
    .await;
    let summary = output::remove_on_error(result, written).context("cannot export")?;
    if let Some(path) = written {
        tell!("exported {} row(s) to {}", summary.rows, path.display());
    }
    Ok(Outcome::Done)
}

/// `muster export workbook`: the whole instance, unfiltered, because the file is meant to be
/// imported as one plan elsewhere and a filtered copy would silently leave records behind.
async fn run_workbook(
    store: &Store,
    format: Format,
    out: Box<dyn Write + Send>,
    written: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let result = export_workbook(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        format,
        out,
    )
    .await;
    let summary = output::remove_on_error(result, written).context("cannot export")?;
    if let Some(path) = written {
        let sheets: Vec<String> = summary
            .sheets
            .iter()
            .map(|(entity, rows)| format!("{rows} {entity}"))
            .collect();
        tell!("exported {} to {}", sheets.join(", "), path.display());
    }
    Ok(Outcome::Done)
}
