//! `muster template`: picks the format (flag, else the output's extension, else XLSX) and the
//! file name (`import_<kind>.<ext>` in the current directory when -o is absent), then runs the
//! template use case and says what it wrote. `-o -` writes to stdout; an existing file is
//! replaced only with `--force`, and a file this run could not finish is removed.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use muster_engine::{write_template, Entity, Format, TemplateKind};
use muster_store::Store;

use crate::args::{TemplateArgs, TemplateKindArg};
use crate::out::{say, tell};
use crate::output;
use crate::Outcome;

pub async fn run(store: &Store, args: TemplateArgs) -> anyhow::Result<Outcome> {
    let kind = kind(args.kind);
    // XLSX unless said otherwise: the format that carries notes and dropdowns. A `.ods` name
    // gets the engine's own clear refusal.
    let format = output::choose_format(
        args.format.map(Into::into),
        args.output.as_deref(),
        Format::Xlsx,
    )?;
    if kind == TemplateKind::Workbook && format == Format::Csv {
        bail!(
            "the workbook template has several sheets, which a CSV file cannot hold: \
             drop --format csv (or name the file .xlsx), or ask for one sheet's template, e.g. `muster template users --format csv`"
        );
    }
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(kind.default_file_name(format)));
    let context = || format!("cannot write the {kind} template");
    // An ODS template is refused before any file is created (or an existing one replaced).
    kind.check_format(format).with_context(context)?;
    let written = Some(path.as_path()).filter(|p| !output::is_stdout(p));
    let out = output::writer(written, args.force)?;
    let result = write_template(
        store,
        &crate::session::context(Box::new(muster_engine::NoProgress)),
        kind,
        format,
        out,
    )
    .await;
    output::remove_on_error(result, written).with_context(context)?;
    let what = format.extension().to_uppercase();
    match written {
        None => tell!("wrote the {kind} template ({what}) to stdout"),
        Some(path) => say!("wrote the {kind} template ({what}) to {}", path.display()),
    }
    Ok(Outcome::Done)
}

fn kind(arg: TemplateKindArg) -> TemplateKind {
    match arg {
        TemplateKindArg::Users => TemplateKind::Entity(Entity::Users),
        TemplateKindArg::Groups => TemplateKind::Entity(Entity::Groups),
        TemplateKindArg::Roles => TemplateKind::Entity(Entity::Roles),
        TemplateKindArg::Departments => TemplateKind::Entity(Entity::Departments),
        TemplateKindArg::Workbook => TemplateKind::Workbook,
    }
}
