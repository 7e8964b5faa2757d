//! What the pages of groups, roles and departments share: the list with its search and pages,
//! the name-and-description form, the rename form, and the delete confirmation and delete
//! handlers (through `CatalogKind`). Each section's
//! module calls its own use cases and adds what only it has (a group's roles and members, a
//! role's permissions, a department's users).

use std::future::Future;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};
use muster_domain::Permission;
use muster_engine::directory::catalog::{DepartmentView, GroupView, References, RoleView};
use muster_engine::directory::{require_for_form, Expected};
use muster_engine::{Context, Error, FieldProblem};
use muster_store::Store;
use serde::Deserialize;

use super::layout::{self, other_problems, text_field, Viewer};
use super::paging::Trail;
use super::{expected, references};
use crate::errors::{html, PageResult};
use crate::security::FormData;
use crate::session::Console;
use crate::AppState;

/// A section of the catalog.
pub struct Kind {
    pub path: &'static str,
    pub title: &'static str,
    pub singular: &'static str,
    pub write: Permission,
}

pub const GROUPS: Kind = Kind {
    path: "/groups",
    title: "Groups",
    singular: "group",
    write: Permission::GroupsWrite,
};
pub const ROLES: Kind = Kind {
    path: "/roles",
    title: "Roles",
    singular: "role",
    write: Permission::RolesWrite,
};
pub const DEPARTMENTS: Kind = Kind {
    path: "/departments",
    title: "Departments",
    singular: "department",
    write: Permission::DepartmentsWrite,
};

/// What every entry view shows in a list.
pub trait Entry {
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn description(&self) -> &str;
    fn version(&self) -> i64;
    /// "12 members", "3 users"…
    fn count(&self) -> String;
}

impl Entry for GroupView {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn count(&self) -> String {
        format!("{} members", self.members)
    }
}

impl Entry for RoleView {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn count(&self) -> String {
        format!("{} users, {} groups", self.users, self.groups)
    }
}

impl Entry for DepartmentView {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn count(&self) -> String {
        format!("{} users", self.users)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub q: Option<String>,
    pub after: Option<String>,
    pub trail: Option<String>,
    pub done: Option<String>,
}

pub const PAGE_SIZE: usize = 50;

/// The list page of a section.
pub fn list_page<E: Entry>(
    kind: &Kind,
    viewer: &Viewer,
    params: &ListParams,
    trail: &Trail,
    items: &[E],
    next: Option<&str>,
) -> Markup {
    let q = params.q.clone().unwrap_or_default();
    let body = html! {
        h1 { (kind.title) }
        (layout::notice((params.done.as_deref() == Some("deleted")).then_some("Deleted.")))
        @if viewer.actor.holds(kind.write) {
            p.actions { a.button href={ (kind.path) "/new" } { "New " (kind.singular) } }
        }
        form.filters method="get" action=(kind.path) role="search" {
            div.field {
                label for="q" { "Search by name" }
                input type="search" id="q" name="q" value=(q);
            }
            div.field { button type="submit" { "Find" } }
        }
        @if items.is_empty() {
            p.muted { "Nothing here yet." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Name" } th { "Description" } th { "In use" } } }
                    tbody {
                        @for item in items {
                            tr {
                                td { a href={ (kind.path) "/" (item.id()) } { (item.name()) } }
                                td { (item.description()) }
                                td { (item.count()) }
                            }
                        }
                    }
                }
            }
        }
        (trail.links(kind.path, &[("q", q.clone())], next))
    };
    layout::page(kind.title, viewer, body)
}

/// The create form: a name, a description, and what the section adds (`extra`).
pub fn new_page(
    kind: &Kind,
    viewer: &Viewer,
    name: &str,
    description: &str,
    extra: Markup,
    problems: &[FieldProblem],
) -> Markup {
    let title = format!("New {}", kind.singular);
    let body = html! {
        h1 { (title) }
        (other_problems(problems, &["name", "description", "permissions"]))
        form.stack method="post" action={ (kind.path) "/new" } {
            (layout::csrf(viewer.csrf))
            (text_field("Name", "name", Some(name), problems, "text"))
            (text_field("Description", "description", Some(description), problems, "text"))
            (extra)
            div.actions { button type="submit" { "Create " (kind.singular) } a href=(kind.path) { "Cancel" } }
        }
    };
    layout::page(&title, viewer, body)
}

/// The edit form of an entry (description and `extra`) and its rename form.
pub fn edit_forms<E: Entry>(
    kind: &Kind,
    viewer: &Viewer,
    entry: &E,
    description: &str,
    extra: Markup,
    problems: &[FieldProblem],
) -> Markup {
    let base = format!("{}/{}", kind.path, entry.id());
    html! {
        h2 { "Edit" }
        (other_problems(problems, &["name", "description", "permissions", "roles"]))
        form.stack method="post" action={ (base) "/edit" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(entry.version());
            (text_field("Description", "description", Some(description), problems, "text"))
            (extra)
            button type="submit" { "Save changes" }
        }
        h2 { "Rename" }
        form.stack method="post" action={ (base) "/rename" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(entry.version());
            (text_field("New name", "name", Some(entry.name()), problems, "text"))
            button.secondary type="submit" { "Rename" }
        }
        p { a.button.secondary href={ (base) "/delete" } { "Delete…" } }
    }
}

/// The delete confirmation: deleting an entry in use either fails or removes its uses.
pub fn delete_page<E: Entry>(kind: &Kind, viewer: &Viewer, entry: &E) -> Markup {
    let base = format!("{}/{}", kind.path, entry.id());
    let title = format!("Delete the {} {}?", kind.singular, entry.name());
    let body = html! {
        h1 { (title) }
        p { "It is in use by " (entry.count()) ". This cannot be undone." }
        form.stack method="post" action={ (base) "/delete" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(entry.version());
            (layout::checkbox(
                "Also take it from everyone who has it (otherwise deleting what is in use is refused)",
                "references",
                "remove",
                false,
            ))
            div.actions {
                button.danger type="submit" { "Delete " (entry.name()) }
                a href=(base) { "Keep it" }
            }
        }
    };
    layout::page(&title, viewer, body)
}

/// The engine's use cases that the pages every catalog kind has in common call: with them, the
/// delete confirmation and the delete itself are written once (`confirm_delete`, `delete`).
pub trait CatalogKind {
    type View: Entry + Send;
    const KIND: &'static Kind;

    fn get(
        store: &Store,
        ctx: &Context,
        id: &str,
    ) -> impl Future<Output = Result<Self::View, Error>> + Send;

    fn delete(
        store: &Store,
        ctx: &Context,
        id: &str,
        expected: Expected,
        references: References,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// `GET /{kind}/{id}/delete`
pub async fn confirm_delete<C: CatalogKind>(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let ctx = console.context();
    let kind = C::KIND;
    let action = format!("{}.delete", kind.singular);
    require_for_form(
        &state.store,
        &ctx,
        kind.write,
        &action,
        kind.singular,
        Some(&id),
    )
    .await?;
    let entry = C::get(&state.store, &ctx, &id).await?;
    Ok(html(delete_page(kind, &console.viewer(), &entry)))
}

/// `POST /{kind}/{id}/delete`
pub async fn delete<C: CatalogKind>(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let version = expected(&form)?;
    C::delete(
        &state.store,
        &console.context(),
        &id,
        version,
        references(&form),
    )
    .await?;
    Ok(Redirect::to(&format!("{}?done=deleted", C::KIND.path)).into_response())
}
