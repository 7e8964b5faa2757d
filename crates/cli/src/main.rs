//! The `muster` command line. Flags are parsed in two stages: clap turns argv into raw
//! arguments, then each command checks them into the engine's option types. `main` only maps the
//! outcome to an exit code: 0 done, 1 rows rejected, 2 usage or environment error, 75 busy (the
//! database is held by another running job: temporary, try again; sysexits' EX_TEMPFAIL). Every
//! human-readable line goes through `out` (escaped); with `--json`, stdout always carries exactly
//! one JSON value, an error object included.

// Printing past `out` would let a hostile file name or cell reach the terminal raw.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod audit_cmd;
mod catalog_cmd;
mod export_cmd;
mod import_cmd;
mod imports_cmd;
mod invite_cmd;
mod logging;
mod out;
mod output;
mod progress;
mod serve_cmd;
mod session;
mod template_cmd;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use muster_store::{DatabaseUrl, Store};

use muster_engine::{ErrorKind, Invalid};

use crate::args::{Cli, Command};

// glibc's allocator spent about a fifth of a large import in malloc/free contention between the
// reader, planner and SQLite threads; mimalloc's thread-local heaps remove most of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How a command ended, beyond "it failed" (which is an error, exit 2).
pub enum Outcome {
    Done,
    RowsRejected,
    /// Stopped by Ctrl-C (exit 130, the shell's convention for SIGINT).
    Cancelled,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    logging::init();
    let json = cli.command.json();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(
                json,
                &anyhow::Error::new(error).context("cannot start the runtime"),
            )
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::RowsRejected) => ExitCode::from(1),
        Ok(Outcome::Cancelled) => ExitCode::from(130),
        Err(error) => fail(json, &error),
    }
}

/// The exit code of a command that found the database busy with another job: a temporary
/// condition (sysexits' EX_TEMPFAIL), so a script can tell "try again" from "fix something".
const EXIT_BUSY: u8 = 75;

/// A command that could not run (exit 2, or 75 when the database was busy): the error on
/// stderr, and with `--json` also as the one JSON object on stdout, so a script reading stdout
/// always gets something to parse.
fn fail(json: bool, error: &anyhow::Error) -> ExitCode {
    let message = describe(error);
    out::tell!("error: {message}");
    if let Some(hint) = hint(error) {
        out::tell!("hint: {hint}");
    }
    // A busy store is the one unavailable condition with a status of its own in JSON.
    let busy = error.chain().any(muster_engine::is_busy);
    let kind = if busy {
        Some(ErrorKind::Unavailable)
    } else {
        kind_of(error)
    };
    if json {
        let status = if busy { "busy" } else { "error" };
        let _ =
            out::json(&serde_json::json!({ "status": status, "kind": kind, "message": message }));
    }
    match kind {
        // sysexits.h: EX_NOPERM and EX_TEMPFAIL, so a script can tell "not allowed" and "try
        // again later" from a mistake of its own.
        Some(ErrorKind::Forbidden) => ExitCode::from(77),
        Some(ErrorKind::Unavailable) => ExitCode::from(EXIT_BUSY),
        _ => ExitCode::from(2),
    }
}

/// What to type next, for the engine errors that one of the CLI's flags or commands fixes (the
/// engine's messages name no flags).
fn hint(error: &anyhow::Error) -> Option<&'static str> {
    error.chain().find_map(|cause| match engine_error(cause)? {
        muster_engine::Error::Invalid(Invalid::HasFailures { .. }) => {
            Some("preview it with `muster import FILE --dry-run --partial` to apply the valid rows")
        }
        _ => None,
    })
}

/// The engine's kind of the first engine error in the chain, if any.
fn kind_of(error: &anyhow::Error) -> Option<ErrorKind> {
    error
        .chain()
        .find_map(engine_error)
        .map(muster_engine::Error::kind)
}

/// A cause of the chain as the engine's error, when it is one (the CLI's own errors and those of
/// opening the store are not).
fn engine_error<'a>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a muster_engine::Error> {
    cause.downcast_ref()
}

/// clap's own message for help and version (exit 0) and for usage errors (exit 2); a usage error
/// of a command line that asked for `--json` also gets its JSON object. clap cannot tell us which
/// flags it parsed before failing, so `--json` is looked for among the raw arguments.
fn usage_error(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    if !error.use_stderr() {
        return ExitCode::SUCCESS;
    }
    if std::env::args_os().skip(1).any(|arg| arg == "--json") {
        let rendered = error.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let _ = out::json(&serde_json::json!({ "status": "error", "message": message }));
    }
    ExitCode::from(2)
}

/// The error and its causes, one clause each, joined by `: `. A cause whose text the message
/// before it already ends with is left out: some error types (sqlx's among them) both display
/// their cause and return it as `source()`, and a reader should not see the same clause twice.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let clause = cause.to_string();
        if clause.is_empty() || text.ends_with(&clause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&clause);
    }
    text
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let store = open_store(&cli).await?;
    session::choose_actor(&store, cli.as_user.as_deref()).await?;
    // A job whose holder died (its process is gone, or its lease expired wherever it ran) left
    // a `running` record and no data: say so once.
    for id in muster_engine::recover_interrupted(&store, muster_engine::system_now()).await? {
        out::tell!("note: job {id} was interrupted (its process ended or its lease expired mid-run) and is recorded as failed; nothing of it was applied");
    }
    let outcome = match cli.command {
        Command::Import(args) => import_cmd::run(&store, args).await,
        Command::Export(args) => export_cmd::run(&store, args).await,
        Command::Role(args) => catalog_cmd::role(&store, args).await,
        Command::Group(args) => catalog_cmd::group(&store, args).await,
        Command::Department(args) => catalog_cmd::department(&store, args).await,
        Command::Template(args) => template_cmd::run(&store, args).await,
        Command::Imports(args) => imports_cmd::run(&store, args).await,
        Command::Audit(args) => audit_cmd::run(&store, args).await,
        Command::Serve(args) => serve_cmd::run(&store, &cli.data_dir, args).await,
        Command::Invite(args) => invite_cmd::run(&store, &cli.data_dir, args).await,
    };
    store.close().await;
    outcome
}

/// `--database-url` wins; otherwise the SQLite file in the data directory, created on first use.
async fn open_store(cli: &Cli) -> anyhow::Result<Store> {
    let url = match &cli.database_url {
        Some(url) => DatabaseUrl::new(url.clone()),
        None => {
            std::fs::create_dir_all(&cli.data_dir).with_context(|| {
                format!(
                    "while creating the data directory {}",
                    cli.data_dir.display()
                )
            })?;
            let dir = cli
                .data_dir
                .canonicalize()
                .with_context(|| format!("while resolving {}", cli.data_dir.display()))?;
            DatabaseUrl::sqlite_in(&dir)
        }
    };
    tracing::debug!("opening the store at {url}");
    Store::open(&url)
        .await
        .with_context(|| "while opening the store".to_string())
}
