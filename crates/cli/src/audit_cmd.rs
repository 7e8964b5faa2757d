//! `muster audit`: the audit log, newest first, with filters. Each entry is one line, escaped
//! like every line muster prints, so a value holding a newline or a control character shows as
//! an escape inside its entry and can never look like another entry.

use anyhow::{bail, Context as _};
use muster_engine::{list_audit, parse_utc, AuditQuery, AuditRecord, Source};
use muster_store::Store;

use crate::args::AuditArgs;
use crate::out::{self, say};
use crate::{session, Outcome};

/// At most this many entries per page, so a typo cannot dump a million entries at once.
const MAX_LIMIT: i64 = 10_000;

pub async fn run(store: &Store, args: AuditArgs) -> anyhow::Result<Outcome> {
    let query = query(&args)?;
    let entries = list_audit(
        store,
        &session::context(Box::new(muster_engine::NoProgress)),
        &query,
    )
    .await
    .context("cannot read the audit log")?;
    if args.json {
        out::json(&entries)?;
        return Ok(Outcome::Done);
    }
    if entries.is_empty() {
        say!("no audit entries match");
        return Ok(Outcome::Done);
    }
    for entry in &entries {
        say!("{}", line(entry));
    }
    if entries.len() as i64 == query.limit {
        if let Some(last) = entries.last() {
            say!("… more entries: add --before {}", last.id);
        }
    }
    Ok(Outcome::Done)
}

fn query(args: &AuditArgs) -> anyhow::Result<AuditQuery> {
    if let Some(source) = &args.source {
        if Source::parse(source).is_none() {
            bail!("--source {source:?} is not one of cli, console, api, scim");
        }
    }
    let time = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<i64>> {
        text.as_deref()
            .map(|t| {
                parse_utc(t).with_context(|| {
                    format!("{flag} {t:?} is not a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
                })
            })
            .transpose()
    };
    if !(1..=MAX_LIMIT).contains(&args.limit) {
        bail!("--limit must be between 1 and {MAX_LIMIT}");
    }
    Ok(AuditQuery {
        actor: args.actor.clone(),
        target: args.target.clone(),
        source: args.source.clone(),
        action: args.action.clone(),
        since: time("--since", &args.since)?,
        until: time("--until", &args.until)?,
        before_id: args.before,
        limit: args.limit,
    })
}

/// `#12 2026-11-28T10:00:00Z cli operator (root) user.update user `alice` (…id…): name: "A" → "B"`.
fn line(e: &AuditRecord) -> String {
    let target = match &e.target_id {
        Some(id) => format!("{} `{}` ({id})", e.target_kind, e.target_name),
        None => format!("{} `{}`", e.target_kind, e.target_name),
    };
    let outcome = if e.outcome == "done" {
        String::new()
    } else {
        format!(" [{}]", e.outcome)
    };
    let changes: Vec<String> = e
        .changes
        .iter()
        .map(|c| match (&c.before, &c.after) {
            (None, Some(after)) => format!("{}: {after:?}", c.field),
            (before, after) => format!(
                "{}: {} → {}",
                c.field,
                shown(before.as_deref()),
                shown(after.as_deref())
            ),
        })
        .collect();
    let changes = if changes.is_empty() {
        String::new()
    } else {
        format!(": {}", changes.join("; "))
    };
    format!(
        "#{} {} {} {} {} {target}{outcome}{changes}",
        e.id, e.at, e.source, e.actor, e.action
    )
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}"))
}
