//! Departments: list, create, and one department's page (description, rename, delete, and its
//! users; a user joins or leaves a department on the user's own edit page).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use muster_domain::Permission;
use muster_engine::directory::catalog::{self, CatalogQuery, DepartmentView, EntryPatch, NewEntry};
use muster_engine::directory::require_for_form;
use muster_engine::directory::users::{self, UserQuery};
use muster_engine::FieldProblem;

use super::entries::{self, ListParams, DEPARTMENTS};
use super::expected;
use super::layout;
use super::paging::{link, Trail};
use crate::errors::{field_problems, html, PageResult};
use crate::security::FormData;
use crate::session::Console;
use crate::AppState;

/// `GET /departments`
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
    let page = catalog::list_departments(&state.store, &console.context(), &query).await?;
    Ok(html(entries::list_page(
        &DEPARTMENTS,
        &console.viewer(),
        &params,
        &trail,
        &page.items,
        page.next.as_deref(),
    )))
}

/// `GET /departments/new`
pub async fn new(State(state): State<AppState>, console: Console) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::DepartmentsWrite,
        "department.create",
        "department",
        None,
    )
    .await?;
    Ok(html(entries::new_page(
        &DEPARTMENTS,
        &console.viewer(),
        "",
        "",
        html! {},
        &[],
    )))
}

/// `POST /departments/new`
pub async fn create(State(state): State<AppState>, console: Console, form: FormData) -> PageResult {
    console.check(&form)?;
    let new = NewEntry {
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        description: form.text("description"),
    };
    match catalog::create_department(&state.store, &console.context(), &new).await {
        Ok(department) => {
            Ok(Redirect::to(&format!("/departments/{}", department.id)).into_response())
        }
        Err(error) => {
            let problems = field_problems(error)?;
            let description = new.description.unwrap_or_default();
            Ok(html(entries::new_page(
                &DEPARTMENTS,
                &console.viewer(),
                &new.name,
                &description,
                html! {},
                &problems,
            )))
        }
    }
}

/// `GET /departments/{id}`
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let department = catalog::get_department(&state.store, &console.context(), &id).await?;
    render(&state, &console, &department, &department.description, &[]).await
}

async fn render(
    state: &AppState,
    console: &Console,
    department: &DepartmentView,
    description: &str,
    problems: &[FieldProblem],
) -> PageResult {
    let viewer = console.viewer();
    let members = if console.actor.holds(Permission::UsersRead) {
        let query = UserQuery {
            department: Some(department.name.clone()),
            limit: Some(100),
            ..UserQuery::default()
        };
        Some(users::list_users(&state.store, &console.context(), &query).await?)
    } else {
        None
    };
    let body = html! {
        h1 { "Department " (department.name) }
        dl.facts {
            dt { "Description" } dd { (department.description) }
            dt { "Users" } dd { (department.users) }
        }
        @if console.actor.holds(Permission::DepartmentsWrite) {
            (entries::edit_forms(&DEPARTMENTS, &viewer, department, description, html! {}, problems))
        }
        @if let Some(members) = &members {
            h2 { "Users" }
            @if members.items.is_empty() { p.muted { "Nobody." } }
            @else { (super::users::user_table(&members.items)) }
            @if members.next.is_some() {
                p { a href=(link("/users", &[("department", department.name.clone())])) { "All of them in the users list" } }
            }
        }
    };
    Ok(html(layout::page(
        &format!("Department {}", department.name),
        &viewer,
        body,
    )))
}

/// `POST /departments/{id}/edit`
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
    let patch = EntryPatch {
        description: Some(description.clone()),
    };
    match catalog::update_department(&state.store, &ctx, &id, expected(&form)?, &patch).await {
        Ok(department) => {
            Ok(Redirect::to(&format!("/departments/{}", department.id)).into_response())
        }
        Err(error) => {
            let problems = field_problems(error)?;
            let department = catalog::get_department(&state.store, &ctx, &id).await?;
            render(&state, &console, &department, &description, &problems).await
        }
    }
}

/// `POST /departments/{id}/rename`
pub async fn rename(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let name = form.get("name").unwrap_or_default().trim().to_owned();
    match catalog::rename_department(&state.store, &ctx, &id, expected(&form)?, &name).await {
        Ok(department) => {
            Ok(Redirect::to(&format!("/departments/{}", department.id)).into_response())
        }
        Err(error) => {
            let problems = field_problems(error)?;
            let department = catalog::get_department(&state.store, &ctx, &id).await?;
            render(
                &state,
                &console,
                &department,
                &department.description,
                &problems,
            )
            .await
        }
    }
}

/// The department, group or role use cases the shared pages call (`entries::CatalogKind`).
pub struct Departments;

impl entries::CatalogKind for Departments {
    type View = DepartmentView;
    const KIND: &'static entries::Kind = &DEPARTMENTS;

    async fn get(
        store: &muster_store::Store,
        ctx: &muster_engine::Context,
        id: &str,
    ) -> Result<DepartmentView, muster_engine::Error> {
        catalog::get_department(store, ctx, id).await
    }

    async fn delete(
        store: &muster_store::Store,
        ctx: &muster_engine::Context,
        id: &str,
        expected: muster_engine::directory::Expected,
        references: catalog::References,
    ) -> Result<(), muster_engine::Error> {
        catalog::delete_department(store, ctx, id, expected, references).await
    }
}
