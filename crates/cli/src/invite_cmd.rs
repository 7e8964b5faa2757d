//! `muster invite --import N | --user USERNAME`: mails invitation links to choose a first
//! password, through SMTP (`--smtp-url`) or, without a server, into the data directory's
//! `outbox` as `.eml` files. Prints how many were invited and who was skipped, and why.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use muster_engine::account::mail::MailTransport;
use muster_engine::account::{invite_import, invite_user, InviteReport, Skipped};
use muster_engine::directory::users::find_user;
use muster_store::Store;
use serde::Serialize;

use crate::args::InviteArgs;
use crate::out::{self, say};
use crate::{session, Outcome};

/// The JSON `--json` prints: the report, with where the mails went.
#[derive(Serialize)]
struct Printed<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    import_id: Option<i64>,
    /// Users the import created (with --import).
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<u64>,
    invited: u64,
    skipped: &'a [Skipped],
    /// The outbox directory, when the mails were written there.
    outbox: Option<String>,
}

pub async fn run(store: &Store, data_dir: &Path, args: InviteArgs) -> anyhow::Result<Outcome> {
    let (transport, outbox) = transport(data_dir, &args)?;
    let ctx = session::context(Box::new(muster_engine::NoProgress));
    let report = match (args.import, &args.user) {
        (Some(import_id), _) => {
            invite_import(store, &ctx, transport.as_ref(), &args.public_url, import_id)
                .await
                .with_context(|| format!("cannot invite the users of import {import_id}"))?
        }
        (None, Some(username)) => {
            let user = find_user(store, &ctx, username)
                .await
                .with_context(|| format!("cannot invite `{username}`"))?;
            invite_user(store, &ctx, transport.as_ref(), &args.public_url, &user.id)
                .await
                .with_context(|| format!("cannot invite `{username}`"))?;
            InviteReport {
                invited: 1,
                ..InviteReport::default()
            }
        }
        (None, None) => anyhow::bail!("give --import N or --user USERNAME"),
    };
    let outbox = outbox.map(|dir| dir.display().to_string());
    if args.json {
        out::json(&Printed {
            status: "done",
            import_id: args.import,
            created: args.import.map(|_| report.created),
            invited: report.invited,
            skipped: &report.skipped,
            outbox,
        })?;
    } else {
        summary(&args, &report, outbox.as_deref());
    }
    Ok(Outcome::Done)
}

/// SMTP when a URL is given, else the outbox under the data directory (and its path).
fn transport(
    data_dir: &Path,
    args: &InviteArgs,
) -> anyhow::Result<(Arc<dyn MailTransport>, Option<PathBuf>)> {
    let delivery = muster_mail::delivery(
        args.smtp_url.as_deref(),
        &data_dir.join("outbox"),
        args.mail_from.as_deref(),
        &args.public_url,
    )
    .context("the mail settings are not usable")?;
    Ok((delivery.transport, delivery.outbox))
}

fn summary(args: &InviteArgs, report: &InviteReport, outbox: Option<&str>) {
    match args.import {
        Some(id) => say!(
            "invited {} of the {} users import {id} created",
            report.invited,
            report.created
        ),
        None => say!("invited {}", args.user.as_deref().unwrap_or_default()),
    }
    if !report.skipped.is_empty() {
        say!("skipped {}:", report.skipped.len());
        for skipped in &report.skipped {
            say!("  {}: {}", skipped.username, skipped.reason.describe());
        }
    }
    if let Some(dir) = outbox {
        if report.invited > 0 {
            say!("the mails are in {dir}");
        }
    }
}
