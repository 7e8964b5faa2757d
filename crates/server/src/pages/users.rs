//! Users: the list (search, filters, keyset pages) and one user's page (fields, memberships,
//! sign-in facts, history of changes) with its actions. The forms that change a user live in
//! `user_forms`.

use axum::extract::{Path, Query, State};
use maud::{html, Markup};
use muster_domain::Permission;
use muster_engine::directory::users::{self, UserQuery, UserView};
use muster_engine::{list_audit, AuditQuery, ErrorKind, FieldProblem};
use serde::Deserialize;

use super::layout::{self, Viewer};
use super::paging::{link, Trail};
use crate::errors::{html, PageResult};
use crate::session::Console;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    department: Option<String>,
    group: Option<String>,
    role: Option<String>,
    /// `yes`, `no`, or empty for both.
    active: Option<String>,
    after: Option<String>,
    trail: Option<String>,
}

const PAGE_SIZE: usize = 50;

/// `GET /users`
pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(params): Query<ListParams>,
) -> PageResult {
    let trail = Trail::from_query(params.after.clone(), params.trail.clone());
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let query = UserQuery {
        department: blank(&params.department),
        group: blank(&params.group),
        role: blank(&params.role),
        active: match params.active.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        search: blank(&params.q),
        cursor: trail.cursor(),
        limit: Some(PAGE_SIZE),
    };
    let ctx = console.context();
    let page = users::list_users(&state.store, &ctx, &query).await?;
    // A search reads a bounded number of users per page, so in a large directory the user
    // whose username was typed may be pages away: the exact username is looked up directly.
    let exact = match (&query.search, &query.cursor) {
        (Some(text), None) => match users::find_user(&state.store, &ctx, text.trim()).await {
            Ok(user) => Some(user),
            Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::Invalid) => None,
            Err(error) => return Err(error.into()),
        },
        _ => None,
    };
    let filters: Vec<(&str, String)> = [
        ("q", &params.q),
        ("department", &params.department),
        ("group", &params.group),
        ("role", &params.role),
        ("active", &params.active),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.clone().unwrap_or_default()))
    .collect();
    let body = html! {
        h1 { "Users" }
        @if console.actor.holds(Permission::UsersWrite) {
            p.actions { a.button href="/users/new" { "New user" } }
        }
        (filter_form(&params))
        @if let Some(user) = &exact {
            p.notice { "Username " a href={ "/users/" (user.id) } { (user.username) } " — " (user.name) }
        }
        @if page.items.is_empty() && page.next.is_some() {
            p.muted { "No match among the users read so far; “Next” searches further." }
        } @else if page.items.is_empty() {
            p.muted { "No user matches." }
        } @else {
            (user_table(&page.items))
        }
        (trail.links("/users", &filters, page.next.as_deref()))
    };
    Ok(html(layout::page("Users", &console.viewer(), body)))
}

fn filter_form(params: &ListParams) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let active = params.active.as_deref().unwrap_or("");
    html! {
        form.filters method="get" action="/users" role="search" {
            div.field {
                label for="q" { "Search" }
                input type="search" id="q" name="q" value=(value(&params.q))
                    placeholder="username, name or e-mail";
            }
            div.field {
                label for="department" { "Department" }
                input type="text" id="department" name="department" value=(value(&params.department));
            }
            div.field {
                label for="group" { "Group" }
                input type="text" id="group" name="group" value=(value(&params.group));
            }
            div.field {
                label for="role" { "Role" }
                input type="text" id="role" name="role" value=(value(&params.role));
            }
            div.field {
                label for="active" { "Status" }
                select id="active" name="active" {
                    option value="" selected[active.is_empty()] { "Active and inactive" }
                    option value="yes" selected[active == "yes"] { "Active only" }
                    option value="no" selected[active == "no"] { "Inactive only" }
                }
            }
            div.field { button type="submit" { "Find" } }
        }
    }
}

pub fn user_table(users: &[UserView]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { th { "Username" } th { "Name" } th { "E-mail" } th { "Department" } th { "Status" } } }
                tbody {
                    @for user in users {
                        tr {
                            td { a href={ "/users/" (user.id) } { (user.username) } }
                            td { (user.name) }
                            td { (user.email.as_deref().unwrap_or("")) }
                            td { (user.department.as_ref().map(|d| d.name.as_str()).unwrap_or("")) }
                            td { (if user.active { "active" } else { "inactive" }) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    done: Option<String>,
}

/// What a `?done=` after a change says.
fn notice_text(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("User created."),
        "saved" => Some("Changes saved."),
        "renamed" => Some("Username changed."),
        "activated" => Some("User activated."),
        "deactivated" => Some("User deactivated."),
        "password" => Some("Password set."),
        "mfa" => Some("MFA reset: the user enrols again at the next sign-in."),
        "invited" => Some("Invitation sent: the link to choose a password is valid seven days."),
        _ => None,
    }
}

/// `GET /users/{id}`
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> PageResult {
    user_page(
        &state,
        &console,
        &id,
        notice_text(notice.done.as_deref()),
        &[],
    )
    .await
}

/// The user's page, with a notice after a change or the problems of an action it refused
/// (an invitation to a user without an e-mail address, say).
pub async fn user_page(
    state: &AppState,
    console: &Console,
    id: &str,
    notice: Option<&str>,
    problems: &[FieldProblem],
) -> PageResult {
    let ctx = console.context();
    let user = users::get_user(&state.store, &ctx, id).await?;
    let sign_in = muster_engine::account::sign_in_info(&state.store, &user.id).await?;
    let history = if console.actor.holds(Permission::AuditRead) {
        let query = AuditQuery {
            target: Some(user.id.clone()),
            limit: 20,
            ..AuditQuery::default()
        };
        Some(list_audit(&state.store, &console.context(), &query).await?)
    } else {
        None
    };
    let viewer = console.viewer();
    let body = html! {
        h1 { (user.username) }
        (layout::notice(notice))
        (layout::other_problems(problems, &[]))
        dl.facts {
            dt { "Name" } dd { (user.name) }
            dt { "E-mail" } dd { (user.email.as_deref().unwrap_or("—")) }
            dt { "Phone" } dd { (user.phone.as_deref().unwrap_or("—")) }
            dt { "Department" } dd { (user.department.as_ref().map(|d| d.name.as_str()).unwrap_or("—")) }
            dt { "Roles" } dd { (names(&user.roles)) }
            dt { "Groups" } dd { (names(&user.groups)) }
            dt { "Status" } dd { (if user.active { "active" } else { "inactive" }) }
            dt { "Locale" } dd { (user.locale.as_deref().unwrap_or("—")) }
            dt { "Time zone" } dd { (user.timezone.as_deref().unwrap_or("—")) }
            dt { "Password" } dd { (if user.has_password { "set" } else { "provisional (not set yet)" }) }
            dt { "MFA" } dd {
                (if sign_in.mfa_enrolled { "enrolled" } else { "not enrolled" })
                @if user.ignore_mfa { " (Ignore MFA is set)" }
            }
            dt { "Last sign-in" } dd { (sign_in.last_sign_in_at.map(crate::pages::time_text).unwrap_or_else(|| "never".into())) }
            dt { "Created" } dd { (user.created_at) }
            dt { "Changed" } dd { (user.updated_at) }
        }
        (actions(&viewer, &user, sign_in.mfa_enrolled))
        @if let Some(history) = history {
            h2 { "History of changes" }
            (super::audit::entries_table(&history))
            p { a href=(link("/audit", &[("target", user.id.clone())])) { "The whole history in the audit log" } }
        }
    };
    Ok(html(layout::page(&user.username, &viewer, body)))
}

fn names(refs: &[muster_engine::directory::NameRef]) -> String {
    if refs.is_empty() {
        "—".to_owned()
    } else {
        refs.iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn actions(viewer: &Viewer, user: &UserView, mfa_enrolled: bool) -> Markup {
    let write = viewer.actor.holds(Permission::UsersWrite);
    let credentials = viewer.actor.holds(Permission::UsersCredentials);
    let base = format!("/users/{}", user.id);
    html! {
        div.actions {
            @if write {
                a.button href={ (base) "/edit" } { "Edit" }
                form method="post" action={ (base) "/active" } {
                    (layout::csrf(viewer.csrf))
                    input type="hidden" name="version" value=(user.version);
                    @if user.active {
                        input type="hidden" name="active" value="no";
                        button.secondary type="submit" { "Deactivate" }
                    } @else {
                        input type="hidden" name="active" value="yes";
                        button.secondary type="submit" { "Activate" }
                    }
                }
            }
            @if credentials {
                a.button.secondary href={ (base) "/password" } { "Set password" }
                form method="post" action={ (base) "/invite" } {
                    (layout::csrf(viewer.csrf))
                    button.secondary type="submit" { "Send invitation" }
                }
                @if mfa_enrolled {
                    form method="post" action={ (base) "/mfa-reset" } {
                        (layout::csrf(viewer.csrf))
                        input type="hidden" name="version" value=(user.version);
                        button.secondary type="submit" { "Reset MFA" }
                    }
                }
            }
            @if write {
                a.button.secondary href={ (base) "/delete" } { "Delete…" }
            }
        }
    }
}
