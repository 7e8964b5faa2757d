//! Groups: list, create, and one group's page (description, the roles it gives its members,
//! rename, delete, members added by username and removed by ticking them).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use muster_domain::Permission;
use muster_engine::directory::catalog::{self, CatalogQuery, EntryPatch, GroupView, NewEntry};
use muster_engine::directory::require_for_form;
use muster_engine::directory::users::{self, UserQuery};
use muster_engine::directory::Expected;
use muster_engine::FieldProblem;

use super::entries::{self, ListParams, GROUPS};
use super::expected;
use super::layout::{self, checkbox, Viewer};
use super::paging::{link, Trail};
use crate::errors::{field_problems, html, PageResult};
use crate::security::FormData;
use crate::session::Console;
use crate::AppState;

/// `GET /groups`
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
    let page = catalog::list_groups(&state.store, &console.context(), &query).await?;
    let markup = entries::list_page(
        &GROUPS,
        &console.viewer(),
        &params,
        &trail,
        &page.items,
        page.next.as_deref(),
    );
    Ok(html(markup))
}

/// `GET /groups/new`
pub async fn new(State(state): State<AppState>, console: Console) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::GroupsWrite,
        "group.create",
        "group",
        None,
    )
    .await?;
    Ok(html(entries::new_page(
        &GROUPS,
        &console.viewer(),
        "",
        "",
        html! {},
        &[],
    )))
}

/// `POST /groups/new`
pub async fn create(State(state): State<AppState>, console: Console, form: FormData) -> PageResult {
    console.check(&form)?;
    let new = NewEntry {
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        description: form.text("description"),
    };
    match catalog::create_group(&state.store, &console.context(), &new).await {
        Ok(group) => Ok(Redirect::to(&format!("/groups/{}", group.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let description = new.description.unwrap_or_default();
            Ok(html(entries::new_page(
                &GROUPS,
                &console.viewer(),
                &new.name,
                &description,
                html! {},
                &problems,
            )))
        }
    }
}

/// `GET /groups/{id}`
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let group = catalog::get_group(&state.store, &console.context(), &id).await?;
    render(&state, &console, &group, &group.description, &[]).await
}

async fn render(
    state: &AppState,
    console: &Console,
    group: &GroupView,
    description: &str,
    problems: &[FieldProblem],
) -> PageResult {
    let ctx = console.context();
    let viewer = console.viewer();
    let write = console.actor.holds(Permission::GroupsWrite);
    let role_names = if write && console.actor.holds(Permission::RolesRead) {
        let query = CatalogQuery {
            limit: catalog::MAX_PAGE,
            ..CatalogQuery::default()
        };
        Some(catalog::list_roles(&state.store, &ctx, &query).await?.items)
    } else {
        None
    };
    let members = if console.actor.holds(Permission::UsersRead) {
        let query = UserQuery {
            group: Some(group.name.clone()),
            limit: Some(100),
            ..UserQuery::default()
        };
        Some(users::list_users(&state.store, &ctx, &query).await?)
    } else {
        None
    };
    let roles_box = html! {
        @if let Some(all) = &role_names {
            fieldset {
                legend { "Roles the group gives its members" }
                input type="hidden" name="roles_shown" value="1";
                @for role in all {
                    (checkbox(&role.name, "roles", &role.name, group.roles.iter().any(|r| r.id == role.id)))
                }
            }
        }
    };
    let body = html! {
        h1 { "Group " (group.name) }
        dl.facts {
            dt { "Description" } dd { (group.description) }
            dt { "Roles" } dd { (group.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")) }
            dt { "Members" } dd { (group.members) }
        }
        @if write { (entries::edit_forms(&GROUPS, &viewer, group, description, roles_box, problems)) }
        @if let Some(members) = &members {
            h2 { "Members" }
            (members_forms(&viewer, group, &members.items, write))
            @if members.next.is_some() {
                p { a href=(link("/users", &[("group", group.name.clone())])) { "All members in the users list" } }
            }
        }
    };
    Ok(html(layout::page(
        &format!("Group {}", group.name),
        &viewer,
        body,
    )))
}

fn members_forms(
    viewer: &Viewer,
    group: &GroupView,
    members: &[muster_engine::directory::users::UserView],
    write: bool,
) -> maud::Markup {
    let base = format!("/groups/{}", group.id);
    html! {
        @if members.is_empty() { p.muted { "No members." } }
        @else if write {
            form.stack method="post" action={ (base) "/members/remove" } {
                (layout::csrf(viewer.csrf))
                input type="hidden" name="version" value=(group.version);
                fieldset {
                    legend { "Tick members to remove" }
                    @for user in members {
                        (checkbox(&format!("{} ({})", user.username, user.name), "user", &user.id, false))
                    }
                }
                button.secondary type="submit" { "Remove the ticked members" }
            }
        } @else {
            ul { @for user in members { li { a href={ "/users/" (user.id) } { (user.username) } } } }
        }
        @if write {
            form.stack method="post" action={ (base) "/members" } {
                (layout::csrf(viewer.csrf))
                input type="hidden" name="version" value=(group.version);
                (layout::text_field("Add members (usernames, separated by commas or spaces)", "usernames", None, &[], "text"))
                button type="submit" { "Add" }
            }
        }
    }
}

/// `POST /groups/{id}/edit`: the description, then the roles when they changed.
pub async fn update(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let version = expected(&form)?;
    let description = form
        .get("description")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let patch = EntryPatch {
        description: Some(description.clone()),
    };
    let result = async {
        let mut group = catalog::update_group(&state.store, &ctx, &id, version, &patch).await?;
        if form.checked("roles_shown") {
            let roles = form.all("roles");
            group =
                catalog::set_group_roles(&state.store, &ctx, &id, Expected(group.version), &roles)
                    .await?;
        }
        Ok::<_, muster_engine::Error>(group)
    }
    .await;
    match result {
        Ok(group) => Ok(Redirect::to(&format!("/groups/{}", group.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let group = catalog::get_group(&state.store, &ctx, &id).await?;
            render(&state, &console, &group, &description, &problems).await
        }
    }
}

/// `POST /groups/{id}/rename`
pub async fn rename(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let name = form.get("name").unwrap_or_default().trim().to_owned();
    match catalog::rename_group(&state.store, &ctx, &id, expected(&form)?, &name).await {
        Ok(group) => Ok(Redirect::to(&format!("/groups/{}", group.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let group = catalog::get_group(&state.store, &ctx, &id).await?;
            render(&state, &console, &group, &group.description, &problems).await
        }
    }
}

/// The department, group or role use cases the shared pages call (`entries::CatalogKind`).
pub struct Groups;

impl entries::CatalogKind for Groups {
    type View = GroupView;
    const KIND: &'static entries::Kind = &GROUPS;

    async fn get(
        store: &muster_store::Store,
        ctx: &muster_engine::Context,
        id: &str,
    ) -> Result<GroupView, muster_engine::Error> {
        catalog::get_group(store, ctx, id).await
    }

    async fn delete(
        store: &muster_store::Store,
        ctx: &muster_engine::Context,
        id: &str,
        expected: muster_engine::directory::Expected,
        references: catalog::References,
    ) -> Result<(), muster_engine::Error> {
        catalog::delete_group(store, ctx, id, expected, references).await
    }
}

/// `POST /groups/{id}/members`: usernames become user ids through the engine's lookup.
pub async fn add_members(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let version = expected(&form)?;
    let mut ids = Vec::new();
    let mut problems = Vec::new();
    for username in form
        .get("usernames")
        .unwrap_or_default()
        .split([',', ' ', '\n'])
        .filter(|u| !u.trim().is_empty())
    {
        match users::find_user(&state.store, &ctx, username.trim()).await {
            Ok(user) => ids.push(user.id),
            Err(error) if error.kind() == muster_engine::ErrorKind::NotFound => {
                problems.push(FieldProblem {
                    field: "usernames".into(),
                    message: format!("no user `{}`", username.trim()),
                })
            }
            Err(error) => return Err(error.into()),
        }
    }
    if problems.is_empty() {
        catalog::add_members(&state.store, &ctx, &id, version, &ids).await?;
        return Ok(Redirect::to(&format!("/groups/{id}")).into_response());
    }
    let group = catalog::get_group(&state.store, &ctx, &id).await?;
    render(&state, &console, &group, &group.description, &problems).await
}

/// `POST /groups/{id}/members/remove`
pub async fn remove_members(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ids = form.all("user");
    catalog::remove_members(
        &state.store,
        &console.context(),
        &id,
        expected(&form)?,
        &ids,
    )
    .await?;
    Ok(Redirect::to(&format!("/groups/{id}")).into_response())
}
