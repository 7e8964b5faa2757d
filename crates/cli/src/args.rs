//! The raw command-line surface, as clap sees it. Checking (entity names, delimiters, yes/no)
//! happens in the command modules, which turn these into the engine's types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "muster",
    version,
    about = "Bulk user management through spreadsheets"
)]
pub struct Cli {
    /// Directory of the embedded SQLite store.
    #[arg(
        long,
        global = true,
        env = "MUSTER_DATA_DIR",
        default_value = "muster-data"
    )]
    pub data_dir: PathBuf,
    /// sqlite:PATH or postgres://…; overrides --data-dir's store.
    #[arg(
        long,
        global = true,
        env = "MUSTER_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Run the command as this user, with exactly that user's permissions (by default the CLI
    /// is the local operator, who holds every permission).
    #[arg(long = "as", global = true, value_name = "USERNAME")]
    pub as_user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import users, groups, roles or departments from a CSV, XLSX or ODS file.
    Import(ImportArgs),
    /// Export users, groups, roles or departments as CSV, XLSX or ODS, or all four as one workbook.
    Export(ExportArgs),
    /// Manage roles.
    Role(RoleArgs),
    /// Manage user groups.
    Group(CatalogArgs),
    /// Manage departments.
    Department(CatalogArgs),
    /// Write an import template: the headers, a sample row, column notes and dropdowns.
    Template(TemplateArgs),
    /// The import history: list, show, download, error workbooks, apply a preview, revert.
    Imports(ImportsArgs),
    /// The audit log: every change, who made it, from where and when, newest first.
    Audit(AuditArgs),
    /// Serve the web console (prints its address, and admin's one-time password on an empty
    /// store).
    Serve(ServeArgs),
    /// Mail invitation links to choose a first password: to the users an import created
    /// without a password, or to one user.
    Invite(InviteArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["import", "user"])))]
pub struct InviteArgs {
    /// Invite every user this import created whose password is still provisional.
    #[arg(long, value_name = "N")]
    pub import: Option<i64>,
    /// Invite this user.
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// The address the console is reached at; the links point under it.
    #[arg(long, env = "MUSTER_PUBLIC_URL", value_name = "URL")]
    pub public_url: String,
    /// The SMTP server: smtp://HOST:PORT, smtp://HOST:PORT?tls=required (STARTTLS) or
    /// smtps://USER:PASSWORD@HOST:PORT. Without it the mails are written as .eml files into
    /// the data directory's `outbox`.
    #[arg(
        long,
        env = "MUSTER_SMTP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub smtp_url: Option<String>,
    /// The sender address (default: muster@ the public URL's host).
    #[arg(long, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Print JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Whether users without `Ignore MFA` must enrol a second factor at sign-in.
    #[arg(long, value_enum, default_value_t = MfaArg::Optional)]
    pub mfa: MfaArg,
    /// Send mail through this server (smtp://… or smtps://…); without it mail goes to
    /// DATA_DIR/outbox/.
    #[arg(long, env = "MUSTER_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The URL people reach the console at; with https:// cookies are Secure and `__Host-`.
    /// Mailed links point under it (default: http:// the listening address).
    #[arg(long, env = "MUSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The sender address of mail (default: muster@ the public URL's host).
    #[arg(long, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaArg {
    Required,
    Optional,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only entries by this actor (a username, a user id, or `operator (ACCOUNT)`).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only entries about this target (an id or a name; an import by its number).
    #[arg(long)]
    pub target: Option<String>,
    /// Only entries from this source: cli, console, api or scim.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this action (user.update), or every action of a kind (user.).
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries at or after this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Entries older than this entry id (the next page after the last id shown).
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
    /// How many entries to show.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EntityArg {
    Users,
    Groups,
    Roles,
    Departments,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Csv,
    Xlsx,
    Ods,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum YesNo {
    Yes,
    No,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The CSV, XLSX or ODS file to import.
    pub file: PathBuf,
    /// What the sheet holds; recognised from the sheet name or headers when absent.
    #[arg(long, value_enum)]
    pub entity: Option<EntityArg>,
    /// Validate and show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the valid rows even if others fail (default: all or nothing).
    #[arg(long)]
    pub partial: bool,
    /// Refuse rows whose key already exists instead of updating them.
    #[arg(long)]
    pub create_only: bool,
    /// Create groups named in a users sheet that do not exist yet.
    #[arg(long)]
    pub create_groups: bool,
    /// The sheet to read in an XLSX/ODS workbook.
    #[arg(long)]
    pub sheet: Option<String>,
    /// CSV delimiter: `,` `;` `tab` or any single character (sniffed when absent).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// CSV encoding label such as utf-8, utf-16le, windows-1252 (detected when absent).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Print one JSON object on stdout instead of the readable summary.
    #[arg(long)]
    pub json: bool,
}

/// What `muster export` writes: one entity's sheet, or every entity in one workbook.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportWhatArg {
    Users,
    Groups,
    Roles,
    Departments,
    /// Departments, groups, roles (with the permission matrix) and users in one XLSX or ODS file,
    /// which `muster import` applies as one plan on another instance.
    Workbook,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// What to export: one entity, or `workbook` for all four in one XLSX/ODS file.
    #[arg(value_enum)]
    pub entity: ExportWhatArg,
    /// Output format; taken from the -o file's extension when absent, else CSV (XLSX for a workbook).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Output file, or - for stdout (the default).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Only users of this department.
    #[arg(long)]
    pub department: Option<String>,
    /// Only members of this group.
    #[arg(long)]
    pub group: Option<String>,
    /// Only users holding this role.
    #[arg(long)]
    pub role: Option<String>,
    /// Only active (yes) or inactive (no) users.
    #[arg(long, value_enum)]
    pub active: Option<YesNo>,
    /// Case-insensitive text in username, name or e-mail.
    #[arg(long)]
    pub search: Option<String>,
}

/// What `muster template` writes: one entity's sheet, or the four sheets in one workbook.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TemplateKindArg {
    Users,
    Groups,
    Roles,
    Departments,
    Workbook,
}

/// Templates carry notes and dropdowns in XLSX; CSV gets the header and sample row only.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TemplateFormatArg {
    Xlsx,
    Csv,
}

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// Which template: one entity's sheet, or all four sheets in one workbook.
    #[arg(value_enum)]
    pub kind: TemplateKindArg,
    /// Output format; taken from the -o file's extension when absent, else XLSX.
    #[arg(long, value_enum)]
    pub format: Option<TemplateFormatArg>,
    /// Output file, or - for stdout; import_<kind>.<format> in the current directory when absent.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `muster role …`: roles carry permissions, so their `add` takes `--permission`.
#[derive(Args, Debug)]
pub struct RoleArgs {
    #[command(subcommand)]
    pub action: RoleAction,
}

#[derive(Subcommand, Debug)]
pub enum RoleAction {
    /// Create the role, or update its description and permissions if it exists.
    Add {
        #[command(flatten)]
        entry: NameArgs,
        /// Permission codes, e.g. users.read; repeat or separate with commas.
        #[arg(long = "permission", value_delimiter = ',')]
        permissions: Vec<String>,
    },
}

/// `muster group …` and `muster department …`: a name and a description, no permissions.
#[derive(Args, Debug)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub action: CatalogAction,
}

#[derive(Subcommand, Debug)]
pub enum CatalogAction {
    /// Create the entry, or update its description if it exists.
    Add {
        #[command(flatten)]
        entry: NameArgs,
    },
}

/// What every catalog entry has.
#[derive(Args, Debug)]
pub struct NameArgs {
    /// The name, unique regardless of case.
    pub name: String,
    /// A description; an existing entry keeps its own when absent.
    #[arg(long)]
    pub description: Option<String>,
}

impl Command {
    /// Whether the command was asked for JSON output, which then carries errors too.
    pub fn json(&self) -> bool {
        match self {
            Command::Import(args) => args.json,
            Command::Imports(ImportsArgs { action }) => match action {
                ImportsAction::List { json, .. }
                | ImportsAction::Show { json, .. }
                | ImportsAction::Apply { json, .. }
                | ImportsAction::Revert { json, .. } => *json,
                ImportsAction::Download { .. } | ImportsAction::Errors { .. } => false,
            },
            Command::Audit(args) => args.json,
            Command::Invite(args) => args.json,
            _ => false,
        }
    }
}

impl From<EntityArg> for muster_engine::Entity {
    fn from(arg: EntityArg) -> Self {
        match arg {
            EntityArg::Users => muster_engine::Entity::Users,
            EntityArg::Groups => muster_engine::Entity::Groups,
            EntityArg::Roles => muster_engine::Entity::Roles,
            EntityArg::Departments => muster_engine::Entity::Departments,
        }
    }
}

impl From<TemplateFormatArg> for muster_engine::Format {
    fn from(arg: TemplateFormatArg) -> Self {
        match arg {
            TemplateFormatArg::Xlsx => muster_engine::Format::Xlsx,
            TemplateFormatArg::Csv => muster_engine::Format::Csv,
        }
    }
}

impl From<FormatArg> for muster_engine::Format {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Csv => muster_engine::Format::Csv,
            FormatArg::Xlsx => muster_engine::Format::Xlsx,
            FormatArg::Ods => muster_engine::Format::Ods,
        }
    }
}

#[derive(Args, Debug)]
pub struct ImportsArgs {
    #[command(subcommand)]
    pub action: ImportsAction,
}

#[derive(Subcommand, Debug)]
pub enum ImportsAction {
    /// The newest imports, previews and reverts.
    List {
        /// How many entries to list, newest first.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One import: its record, warnings, and each created, updated or failed row.
    Show {
        /// The import's number, as `imports list` shows it.
        id: i64,
        /// How many rows to list.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
    },
    /// The uploaded file as archived (password cells blanked).
    Download {
        /// The import's number, as `imports list` shows it.
        id: i64,
        /// Output file, or - for stdout.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Overwrite the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// The failed rows as a workbook to fix and import again (CSV or XLSX, like the upload).
    Errors {
        /// The import's number, as `imports list` shows it.
        id: i64,
        /// Output file, or - for stdout (its format is the upload's: CSV or XLSX).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Overwrite the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Applies the plan a `--dry-run` stored, exactly; refused if any of its records changed since.
    Apply {
        /// The number of the dry run, as `imports list` shows it.
        id: i64,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Undoes an applied import in one transaction.
    Revert {
        /// The import's number, as `imports list` shows it.
        id: i64,
        /// Revert records that changed after the import too (overwriting those changes).
        #[arg(long)]
        force: bool,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Every argument of every (sub)command, by its path, that `--help` shows without a word.
    fn undescribed(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                found.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            if sub.get_about().is_none() && sub.get_name() != "help" {
                found.push(format!("{path} {} (the subcommand)", sub.get_name()));
            }
            undescribed(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_argument_of_every_subcommand_has_help() {
        let mut command = Cli::command();
        command.build();
        let mut found = Vec::new();
        undescribed(&command, "muster", &mut found);
        assert!(found.is_empty(), "arguments without help text: {found:#?}");
    }

    #[test]
    fn permissions_are_offered_to_roles_only() {
        assert!(Cli::try_parse_from([
            "muster",
            "role",
            "add",
            "auditor",
            "--permission",
            "users.read"
        ])
        .is_ok());
        for entity in ["group", "department"] {
            let error =
                Cli::try_parse_from(["muster", entity, "add", "x", "--permission", "users.read"])
                    .unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{entity}"
            );
        }
    }
}
