//! The audit log: every change and refusal, newest first, filtered by actor, target, source,
//! action and time, in pages of entries older than the last one shown.

use axum::extract::{Query, State};
use maud::{html, Markup};
use muster_engine::{list_audit, parse_utc, AuditQuery, AuditRecord, FieldProblem};
use serde::Deserialize;

use super::layout::{self, other_problems, problems_of};
use super::paging::Trail;
use crate::errors::{html, PageResult};
use crate::session::Console;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    actor: Option<String>,
    target: Option<String>,
    source: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after: Option<String>,
    trail: Option<String>,
}

const PAGE_SIZE: usize = 50;

fn blank(value: &Option<String>) -> Option<String> {
    value
        .clone()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A time filter: a date or a UTC time; a problem beside its field otherwise.
fn time_filter(
    name: &str,
    value: &Option<String>,
    problems: &mut Vec<FieldProblem>,
) -> Option<i64> {
    let text = blank(value)?;
    let parsed = parse_utc(&text);
    if parsed.is_none() {
        problems.push(FieldProblem {
            field: name.to_owned(),
            message: "a date (2026-01-31) or a UTC time (2026-01-31T09:30:00Z)".to_owned(),
        });
    }
    parsed
}

/// `GET /audit`
pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(params): Query<Params>,
) -> PageResult {
    let trail = Trail::from_query(params.after.clone(), params.trail.clone());
    let mut problems = Vec::new();
    let query = AuditQuery {
        actor: blank(&params.actor),
        target: blank(&params.target),
        source: blank(&params.source),
        action: blank(&params.action),
        since: time_filter("since", &params.since, &mut problems),
        until: time_filter("until", &params.until, &mut problems),
        before_id: trail.cursor().and_then(|c| c.parse().ok()),
        // One more than shown tells whether there is a next page.
        limit: PAGE_SIZE as i64 + 1,
    };
    let mut entries = if problems.is_empty() {
        list_audit(&state.store, &console.context(), &query).await?
    } else {
        // Checked here too so a refusal is a 403 even when the filters are wrong.
        console
            .actor
            .require(muster_domain::Permission::AuditRead)?;
        Vec::new()
    };
    let next = if entries.len() > PAGE_SIZE {
        entries.truncate(PAGE_SIZE);
        entries.last().map(|e| e.id.to_string())
    } else {
        None
    };
    let filters: Vec<(&str, String)> = [
        ("actor", &params.actor),
        ("target", &params.target),
        ("source", &params.source),
        ("action", &params.action),
        ("since", &params.since),
        ("until", &params.until),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.clone().unwrap_or_default()))
    .collect();
    let body = html! {
        h1 { "Audit log" }
        (other_problems(&problems, &["since", "until"]))
        (filter_form(&params, &problems))
        @if entries.is_empty() { p.muted { "No entry matches." } }
        @else { (entries_table(&entries)) }
        (trail.links("/audit", &filters, next.as_deref()))
    };
    Ok(html(layout::page("Audit log", &console.viewer(), body)))
}

fn filter_form(params: &Params, problems: &[FieldProblem]) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let source = params.source.as_deref().unwrap_or("");
    html! {
        form.filters method="get" action="/audit" role="search" {
            div.field { label for="actor" { "Actor" } input type="text" id="actor" name="actor" value=(value(&params.actor)); }
            div.field { label for="target" { "Target (name or id)" } input type="text" id="target" name="target" value=(value(&params.target)); }
            div.field {
                label for="source" { "Source" }
                select id="source" name="source" {
                    option value="" selected[source.is_empty()] { "Any" }
                    @for s in ["console", "cli", "api", "scim"] {
                        option value=(s) selected[source == s] { (s) }
                    }
                }
            }
            div.field { label for="action" { "Action (user.update, or user. for all)" } input type="text" id="action" name="action" value=(value(&params.action)); }
            div.field {
                label for="since" { "Since (UTC)" }
                input type="text" id="since" name="since" value=(value(&params.since)) placeholder="2026-01-31";
                (problems_of(problems, "since"))
            }
            div.field {
                label for="until" { "Until (UTC)" }
                input type="text" id="until" name="until" value=(value(&params.until)) placeholder="2026-02-01";
                (problems_of(problems, "until"))
            }
            div.field { button type="submit" { "Filter" } }
        }
    }
}

/// Audit entries as a table (the log page and a user's history).
pub fn entries_table(entries: &[AuditRecord]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { th { "When (UTC)" } th { "Actor" } th { "Source" } th { "Action" } th { "Target" } th { "Outcome" } th { "Changes" } } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { (entry.at) }
                            td { (entry.actor) }
                            td { (entry.source) }
                            td { code { (entry.action) } }
                            td { (entry.target_kind) " " (entry.target_name) }
                            td { (entry.outcome) }
                            td {
                                @for change in &entry.changes {
                                    div {
                                        (change.field) ": "
                                        (change.before.as_deref().unwrap_or("—")) " → "
                                        (change.after.as_deref().unwrap_or("—"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
