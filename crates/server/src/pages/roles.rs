//! Roles: list, create, and one role's page: its permissions as checkboxes, each code with its
//! meaning in words, rename, delete and who holds it. The engine refuses any permission the
//! viewer does not hold themselves (no escalation); the form says which those are.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};
use muster_domain::Permission;
use muster_engine::directory::catalog::{self, CatalogQuery, NewRole, RolePatch, RoleView};
use muster_engine::directory::require_for_form;
use muster_engine::directory::users::{self, UserQuery};
use muster_engine::{Actor, FieldProblem};

use super::entries::{self, ListParams, ROLES};
use super::expected;
use super::layout::{self, problems_of};
use super::paging::{link, Trail};
use crate::errors::{field_problems, html, PageResult};
use crate::security::FormData;
use crate::session::Console;
use crate::AppState;

/// The whole catalog as checkboxes, `held` ticked; the ones the actor lacks say so.
fn permission_boxes(actor: &Actor, held: &[String], problems: &[FieldProblem]) -> Markup {
    html! {
        fieldset {
            legend { "Permissions" }
            @for permission in Permission::ALL {
                @let code = permission.code();
                @let id = format!("permission-{code}");
                div.check {
                    input type="checkbox" id=(id) name="permissions" value=(code)
                        checked[held.iter().any(|h| h == code)];
                    label for=(id) {
                        code { (code) }
                        small {
                            (permission.description())
                            @if !actor.holds(permission) { " — you do not hold this, so you cannot grant it" }
                        }
                    }
                }
            }
            (problems_of(problems, "permissions"))
        }
    }
}

/// `GET /roles`
pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(params): Query<ListParams>,
) -> PageResult {
    let trail = Trail::from_query(params.after.clone(), params.trail.clone());
    let query = CatalogQuery {
        search: params.q.clone(),
        cursor: trail.cursor(),
        limit: entries::PAGE_SIZE,
    };
    let page = catalog::list_roles(&state.store, &console.context(), &query).await?;
    Ok(html(entries::list_page(
        &ROLES,
        &console.viewer(),
        &params,
        &trail,
        &page.items,
        page.next.as_deref(),
    )))
}

/// `GET /roles/new`
pub async fn new(State(state): State<AppState>, console: Console) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::RolesWrite,
        "role.create",
        "role",
        None,
    )
    .await?;
    let boxes = permission_boxes(&console.actor, &[], &[]);
    Ok(html(entries::new_page(
        &ROLES,
        &console.viewer(),
        "",
        "",
        boxes,
        &[],
    )))
}

/// `POST /roles/new`
pub async fn create(State(state): State<AppState>, console: Console, form: FormData) -> PageResult {
    console.check(&form)?;
    let new = NewRole {
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        description: form.text("description"),
        permissions: form.all("permissions"),
    };
    match catalog::create_role(&state.store, &console.context(), &new).await {
        Ok(role) => Ok(Redirect::to(&format!("/roles/{}", role.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let boxes = permission_boxes(&console.actor, &new.permissions, &problems);
            let description = new.description.unwrap_or_default();
            Ok(html(entries::new_page(
                &ROLES,
                &console.viewer(),
                &new.name,
                &description,
                boxes,
                &problems,
            )))
        }
    }
}

/// `GET /roles/{id}`
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let role = catalog::get_role(&state.store, &console.context(), &id).await?;
    let held: Vec<String> = role.permissions.iter().map(|p| p.code.to_owned()).collect();
    render(&state, &console, &role, &role.description, &held, &[]).await
}

async fn render(
    state: &AppState,
    console: &Console,
    role: &RoleView,
    description: &str,
    held: &[String],
    problems: &[FieldProblem],
) -> PageResult {
    let viewer = console.viewer();
    let write = console.actor.holds(Permission::RolesWrite);
    let holders = if console.actor.holds(Permission::UsersRead) {
        let query = UserQuery {
            role: Some(role.name.clone()),
            limit: Some(100),
            ..UserQuery::default()
        };
        Some(users::list_users(&state.store, &console.context(), &query).await?)
    } else {
        None
    };
    let body = html! {
        h1 { "Role " (role.name) }
        dl.facts {
            dt { "Description" } dd { (role.description) }
            dt { "Built in" } dd { (if role.builtin { "yes" } else { "no" }) }
            dt { "Held by" } dd { (role.users) " users, " (role.groups) " groups" }
        }
        h2 { "Permissions" }
        ul {
            @for permission in &role.permissions {
                li { code { (permission.code) } " — " (permission.description) }
            }
        }
        @if write {
            (entries::edit_forms(&ROLES, &viewer, role, description, permission_boxes(&console.actor, held, problems), problems))
        }
        @if let Some(holders) = &holders {
            h2 { "Users holding it (directly or through a group)" }
            @if holders.items.is_empty() { p.muted { "Nobody." } }
            @else { (super::users::user_table(&holders.items)) }
            @if holders.next.is_some() {
                p { a href=(link("/users", &[("role", role.name.clone())])) { "All of them in the users list" } }
            }
        }
    };
    Ok(html(layout::page(
        &format!("Role {}", role.name),
        &viewer,
        body,
    )))
}

/// `POST /roles/{id}/edit`
pub async fn update(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let description = form
        .get("description")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let permissions = form.all("permissions");
    let patch = RolePatch {
        description: Some(description.clone()),
        permissions: Some(permissions.clone()),
    };
    match catalog::update_role(&state.store, &ctx, &id, expected(&form)?, &patch).await {
        Ok(role) => Ok(Redirect::to(&format!("/roles/{}", role.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let role = catalog::get_role(&state.store, &ctx, &id).await?;
            render(
                &state,
                &console,
                &role,
                &description,
                &permissions,
                &problems,
            )
            .await
        }
    }
}

/// `POST /roles/{id}/rename`
pub async fn rename(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let name = form.get("name").unwrap_or_default().trim().to_owned();
    match catalog::rename_role(&state.store, &ctx, &id, expected(&form)?, &name).await {
        Ok(role) => Ok(Redirect::to(&format!("/roles/{}", role.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let role = catalog::get_role(&state.store, &ctx, &id).await?;
            let held: Vec<String> = role.permissions.iter().map(|p| p.code.to_owned()).collect();
            render(&state, &console, &role, &role.description, &held, &problems).await
        }
    }
}

/// The department, group or role use cases the shared pages call (`entries::CatalogKind`).
pub struct Roles;

impl entries::CatalogKind for Roles {
    type View = RoleView;
    const KIND: &'static entries::Kind = &ROLES;

    async fn get(
        store: &muster_store::Store,
        ctx: &muster_engine::Context,
        id: &str,
    ) -> Result<RoleView, muster_engine::Error> {
        catalog::get_role(store, ctx, id).await
    }

    async fn delete(
        store: &muster_store::Store,
        ctx: &muster_engine::Context,
        id: &str,
        expected: muster_engine::directory::Expected,
        references: catalog::References,
    ) -> Result<(), muster_engine::Error> {
        catalog::delete_role(store, ctx, id, expected, references).await
    }
}
