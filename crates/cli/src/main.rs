//! The `muster` command line. Flags are parsed in two stages: clap turns argv into raw
//! arguments, then each command checks them into the engine's option types. `main` only maps the
//! outcome to an exit code: 0 done, 1 rows rejected, 2 usage or environment error.

mod args;
mod catalog_cmd;
mod export_cmd;
mod import_cmd;
mod imports_cmd;
mod progress;
mod session;
mod template_cmd;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use muster_store::{DatabaseUrl, Store};

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
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MUSTER_LOG")
                .unwrap_or_else(|_| "warn,sqlx=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::RowsRejected) => ExitCode::from(1),
        Ok(Outcome::Cancelled) => ExitCode::from(130),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let store = open_store(&cli).await?;
    // An import whose process was killed left a `running` record and no data: say so once.
    for id in muster_engine::recover_interrupted(&store, muster_engine::system_now()).await? {
        eprintln!("note: import {id} was interrupted (its process ended mid-run) and is recorded as failed; nothing of it was applied");
    }
    let outcome = match cli.command {
        Command::Import(args) => import_cmd::run(&store, args).await,
        Command::Export(args) => export_cmd::run(&store, args).await,
        Command::Role(args) => catalog_cmd::role(&store, args).await,
        Command::Group(args) => catalog_cmd::group(&store, args).await,
        Command::Department(args) => catalog_cmd::department(&store, args).await,
        Command::Template(args) => template_cmd::run(&store, args).await,
        Command::Imports(args) => imports_cmd::run(&store, args).await,
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
    Store::open(&url)
        .await
        .with_context(|| "while opening the store".to_string())
}
