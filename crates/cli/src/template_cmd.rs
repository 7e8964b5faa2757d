//! `muster template`: picks the format (flag, else the output's extension, else XLSX) and the
//! file name (`import_<kind>.<ext>` in the current directory when -o is absent), then runs the
//! template use case and says what it wrote.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use muster_engine::{write_template, Entity, Format, TemplateKind};
use muster_store::Store;

use crate::args::{TemplateArgs, TemplateFormatArg, TemplateKindArg};
use crate::Outcome;

pub async fn run(store: &Store, args: TemplateArgs) -> anyhow::Result<Outcome> {
    let kind = kind(args.kind);
    let format = choose_format(args.format, args.output.as_deref());
    if kind == TemplateKind::Workbook && format == Format::Csv {
        bail!(
            "the workbook template has several sheets, which a CSV file cannot hold: \
             drop --format csv (or name the file .xlsx), or ask for one sheet's template, e.g. `muster template users --format csv`"
        );
    }
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(kind.default_file_name(format)));
    write_template(store, kind, format, &path)
        .await
        .with_context(|| format!("while writing the {kind} template"))?;
    println!(
        "wrote the {kind} template ({}) to {}",
        format.extension().to_uppercase(),
        path.display()
    );
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

/// `--format` wins; otherwise a `.csv` or `.xlsx` (or `.ods`, which the engine refuses with a
/// clear message) output name decides; otherwise XLSX, the format that carries notes and dropdowns.
fn choose_format(flag: Option<TemplateFormatArg>, output: Option<&Path>) -> Format {
    match flag {
        Some(TemplateFormatArg::Xlsx) => Format::Xlsx,
        Some(TemplateFormatArg::Csv) => Format::Csv,
        None => output
            .and_then(Path::extension)
            .and_then(|e| Format::from_extension(&e.to_string_lossy()))
            .unwrap_or(Format::Xlsx),
    }
}
