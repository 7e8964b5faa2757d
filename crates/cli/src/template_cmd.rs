//! `muster template`: picks the format (flag, else the output's extension, else XLSX) and the
//! file name (`import_<kind>.<ext>` in the current directory when -o is absent), then runs the
//! template use case and says what it wrote. `-o -` writes to stdout; an existing file is
//! replaced only with `--force`.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use muster_engine::{write_template, Entity, Format, TemplateKind};
use muster_store::Store;

use crate::args::{TemplateArgs, TemplateFormatArg, TemplateKindArg};
use crate::out::{say, tell};
use crate::output::{self, Scratch};
use crate::Outcome;

pub async fn run(store: &Store, args: TemplateArgs) -> anyhow::Result<Outcome> {
    let kind = kind(args.kind);
    // XLSX unless said otherwise: the format that carries notes and dropdowns. A `.ods` name
    // gets the engine's own clear refusal.
    let flag = args.format.map(|f| match f {
        TemplateFormatArg::Xlsx => Format::Xlsx,
        TemplateFormatArg::Csv => Format::Csv,
    });
    let format = output::choose_format(flag, args.output.as_deref(), Format::Xlsx)?;
    if kind == TemplateKind::Workbook && format == Format::Csv {
        bail!(
            "the workbook template has several sheets, which a CSV file cannot hold: \
             drop --format csv (or name the file .xlsx), or ask for one sheet's template, e.g. `muster template users --format csv`"
        );
    }
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(kind.default_file_name(format)));
    if output::is_stdout(&path) {
        let scratch = Scratch::new(format.extension());
        write_template(store, kind, format, scratch.path())
            .await
            .with_context(|| format!("cannot write the {kind} template"))?;
        scratch.to_stdout()?;
        tell!(
            "wrote the {kind} template ({}) to stdout",
            format.extension().to_uppercase()
        );
        return Ok(Outcome::Done);
    }
    output::refuse_existing(&path, args.force)?;
    write_template(store, kind, format, &path)
        .await
        .with_context(|| format!("cannot write the {kind} template"))?;
    say!(
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
