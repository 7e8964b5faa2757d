//! The forms that create and change a user. Each POST checks the session's CSRF token, parses
//! the form into the engine's input, calls the use case with the version the form was read at
//! (a stale one is the engine's conflict: "someone changed this meanwhile"), and either
//! redirects to the user's page or shows the form again with each problem beside its field.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};
use muster_credentials::PlainPassword;
use muster_domain::Permission;
use muster_engine::directory::catalog::{self, CatalogQuery};
use muster_engine::directory::users::{self, NewUser, UserEdit, UserPatch, UserView};
use muster_engine::directory::{require_for_form, Expected};
use muster_engine::{Context, Error, FieldProblem, Invalid};
use muster_store::Store;

use super::expected;
use super::layout::{self, checkbox, other_problems, problems_of, text_field, Viewer};
use crate::errors::{field_problems, html, PageError, PageResult};
use crate::security::FormData;
use crate::session::Console;
use crate::AppState;

/// The values a user form shows: from the record, or as just submitted.
#[derive(Default)]
struct Fields {
    username: String,
    name: String,
    email: String,
    phone: String,
    department: String,
    locale: String,
    timezone: String,
    active: bool,
    ignore_mfa: bool,
    roles: Vec<String>,
    groups: Vec<String>,
}

impl Fields {
    fn of(user: &UserView) -> Fields {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Fields {
            username: user.username.clone(),
            name: user.name.clone(),
            email: text(&user.email),
            phone: text(&user.phone),
            department: user
                .department
                .as_ref()
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            locale: text(&user.locale),
            timezone: text(&user.timezone),
            active: user.active,
            ignore_mfa: user.ignore_mfa,
            roles: user.roles.iter().map(|r| r.name.clone()).collect(),
            groups: user.groups.iter().map(|g| g.name.clone()).collect(),
        }
    }

    fn from_form(form: &FormData) -> Fields {
        let text = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
        Fields {
            username: text("username"),
            name: text("name"),
            email: text("email"),
            phone: text("phone"),
            department: text("department"),
            locale: text("locale"),
            timezone: text("timezone"),
            active: form.checked("active"),
            ignore_mfa: form.checked("ignore_mfa"),
            roles: form.all("roles"),
            groups: form.all("groups"),
        }
    }
}

fn optional(text: &str) -> Option<String> {
    Some(text.to_owned()).filter(|t| !t.is_empty())
}

/// The role and group names the viewer may pick from (empty without the read permission, in
/// which case the form does not offer memberships).
struct Choices {
    roles: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

async fn choices(store: &Store, ctx: &Context) -> Result<Choices, Error> {
    let query = CatalogQuery {
        limit: catalog::MAX_PAGE,
        ..CatalogQuery::default()
    };
    let roles = if ctx.actor.holds(Permission::RolesRead) {
        let page = catalog::list_roles(store, ctx, &query).await?;
        Some(page.items.into_iter().map(|r| r.name).collect())
    } else {
        None
    };
    let groups = if ctx.actor.holds(Permission::GroupsRead) {
        let page = catalog::list_groups(store, ctx, &query).await?;
        Some(page.items.into_iter().map(|g| g.name).collect())
    } else {
        None
    };
    Ok(Choices { roles, groups })
}

fn membership_boxes(name: &str, legend: &str, all: &[String], chosen: &[String]) -> Markup {
    html! {
        fieldset {
            legend { (legend) }
            input type="hidden" name={ (name) "_shown" } value="1";
            @if all.is_empty() { p.muted { "None exist yet." } }
            @for entry in all {
                (checkbox(entry, name, entry, chosen.iter().any(|c| c.eq_ignore_ascii_case(entry))))
            }
        }
    }
}

/// The fields shared by the create and edit forms.
fn user_fields(
    viewer: &Viewer,
    fields: &Fields,
    choices: &Choices,
    problems: &[FieldProblem],
    creating: bool,
) -> Markup {
    let credentials = viewer.actor.holds(Permission::UsersCredentials);
    html! {
        @if creating {
            (text_field("Username", "username", Some(&fields.username), problems, "text"))
        }
        (text_field("Full name", "name", Some(&fields.name), problems, "text"))
        (text_field("E-mail", "email", Some(&fields.email), problems, "email"))
        (text_field("Phone", "phone", Some(&fields.phone), problems, "tel"))
        (text_field("Department", "department", Some(&fields.department), problems, "text"))
        (text_field("Locale (e.g. en-GB)", "locale", Some(&fields.locale), problems, "text"))
        (text_field("Time zone (e.g. Europe/Berlin)", "timezone", Some(&fields.timezone), problems, "text"))
        @if let Some(all) = &choices.roles {
            (membership_boxes("roles", "Roles", all, &fields.roles))
            (problems_of(problems, "roles"))
        }
        @if let Some(all) = &choices.groups {
            (membership_boxes("groups", "Groups", all, &fields.groups))
            (problems_of(problems, "groups"))
        }
        @if creating {
            (checkbox("Active", "active", "yes", fields.active))
        }
        @if credentials {
            (checkbox("Ignore MFA (never asked for a second factor)", "ignore_mfa", "yes", fields.ignore_mfa))
            @if creating {
                (text_field("Password (leave empty to invite the user later)", "password", None, problems, "password"))
            }
        }
    }
}

const FIELD_NAMES: &[&str] = &[
    "username",
    "name",
    "email",
    "phone",
    "department",
    "locale",
    "timezone",
    "roles",
    "groups",
    "password",
];

fn new_form(
    viewer: &Viewer,
    fields: &Fields,
    choices: &Choices,
    problems: &[FieldProblem],
) -> Markup {
    let body = html! {
        h1 { "New user" }
        (other_problems(problems, FIELD_NAMES))
        form.stack method="post" action="/users/new" {
            (layout::csrf(viewer.csrf))
            (user_fields(viewer, fields, choices, problems, true))
            div.actions { button type="submit" { "Create user" } a href="/users" { "Cancel" } }
        }
    };
    layout::page("New user", viewer, body)
}

/// `GET /users/new`
pub async fn new(State(state): State<AppState>, console: Console) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::UsersWrite,
        "user.create",
        "user",
        None,
    )
    .await?;
    let choices = choices(&state.store, &ctx).await?;
    let fields = Fields {
        active: true,
        ..Fields::default()
    };
    Ok(html(new_form(&console.viewer(), &fields, &choices, &[])))
}

/// `POST /users/new`
pub async fn create(State(state): State<AppState>, console: Console, form: FormData) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let fields = Fields::from_form(&form);
    let new = NewUser {
        username: fields.username.clone(),
        name: fields.name.clone(),
        email: optional(&fields.email),
        phone: optional(&fields.phone),
        department: optional(&fields.department),
        locale: optional(&fields.locale),
        timezone: optional(&fields.timezone),
        active: Some(fields.active),
        ignore_mfa: fields.ignore_mfa,
        roles: fields.roles.clone(),
        groups: fields.groups.clone(),
        password: form
            .get("password")
            .filter(|p| !p.is_empty())
            .map(|p| PlainPassword::new(p.to_owned())),
    };
    match users::create_user(&state.store, &ctx, new).await {
        Ok(user) => Ok(Redirect::to(&format!("/users/{}?done=created", user.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let choices = choices(&state.store, &ctx).await?;
            Ok(html(new_form(
                &console.viewer(),
                &fields,
                &choices,
                &problems,
            )))
        }
    }
}

fn edit_form(
    viewer: &Viewer,
    user: &UserView,
    version: i64,
    fields: &Fields,
    choices: &Choices,
    problems: &[FieldProblem],
) -> Markup {
    let base = format!("/users/{}", user.id);
    let body = html! {
        h1 { "Edit " (user.username) }
        (other_problems(problems, FIELD_NAMES))
        form.stack method="post" action={ (base) "/edit" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(version);
            (user_fields(viewer, fields, choices, problems, false))
            div.actions { button type="submit" { "Save changes" } a href=(base) { "Cancel" } }
        }
        h2 { "Change the username" }
        form.stack method="post" action={ (base) "/rename" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(user.version);
            (text_field("New username", "username", Some(&user.username), problems, "text"))
            button.secondary type="submit" { "Rename" }
        }
    };
    layout::page(&format!("Edit {}", user.username), viewer, body)
}

/// `GET /users/{id}/edit`
pub async fn edit(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::UsersWrite,
        "user.update",
        "user",
        Some(&id),
    )
    .await?;
    let user = users::get_user(&state.store, &ctx, &id).await?;
    let choices = choices(&state.store, &ctx).await?;
    Ok(html(edit_form(
        &console.viewer(),
        &user,
        user.version,
        &Fields::of(&user),
        &choices,
        &[],
    )))
}

/// `POST /users/{id}/edit`: the fields, then the department, roles and groups when they
/// changed, each at the version the step before left.
pub async fn update(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let version = expected(&form)?;
    let fields = Fields::from_form(&form);
    match apply_edit(&state.store, &ctx, &id, version, &fields, &form).await {
        Ok(user) => Ok(Redirect::to(&format!("/users/{}?done=saved", user.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let user = users::get_user(&state.store, &ctx, &id).await?;
            let choices = choices(&state.store, &ctx).await?;
            let page = edit_form(
                &console.viewer(),
                &user,
                version.0,
                &fields,
                &choices,
                &problems,
            );
            Ok(html(page))
        }
    }
}

async fn apply_edit(
    store: &Store,
    ctx: &Context,
    id: &str,
    version: Expected,
    fields: &Fields,
    form: &FormData,
) -> Result<UserView, Error> {
    let patch = UserPatch {
        name: Some(fields.name.clone()),
        email: Some(optional(&fields.email)),
        phone: Some(optional(&fields.phone)),
        locale: Some(optional(&fields.locale)),
        timezone: Some(optional(&fields.timezone)),
        active: None,
        ignore_mfa: ctx
            .actor
            .holds(Permission::UsersCredentials)
            .then_some(fields.ignore_mfa),
    };
    // One use case for the whole form: a refusal or a problem in any part saves none of it.
    let edit = UserEdit {
        patch,
        department: Some(optional(&fields.department)),
        roles: form.checked("roles_shown").then(|| fields.roles.clone()),
        groups: form.checked("groups_shown").then(|| fields.groups.clone()),
    };
    users::edit_user(store, ctx, id, version, edit).await
}

/// `POST /users/{id}/rename`
pub async fn rename(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let version = expected(&form)?;
    let username = form.get("username").unwrap_or_default().trim().to_owned();
    match users::rename_user(&state.store, &ctx, &id, version, &username).await {
        Ok(user) => Ok(Redirect::to(&format!("/users/{}?done=renamed", user.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let user = users::get_user(&state.store, &ctx, &id).await?;
            let choices = choices(&state.store, &ctx).await?;
            let page = edit_form(
                &console.viewer(),
                &user,
                user.version,
                &Fields::of(&user),
                &choices,
                &problems,
            );
            Ok(html(page))
        }
    }
}

/// `POST /users/{id}/active`
pub async fn set_active(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let version = expected(&form)?;
    let (user, done) = match form.get("active") {
        Some("yes") => (
            users::activate_user(&state.store, &ctx, &id, version).await?,
            "activated",
        ),
        Some("no") => (
            users::deactivate_user(&state.store, &ctx, &id, version).await?,
            "deactivated",
        ),
        _ => return Err(PageError::BadForm),
    };
    Ok(Redirect::to(&format!("/users/{}?done={done}", user.id)).into_response())
}

/// `GET /users/{id}/delete`: what deleting means, and the button.
pub async fn confirm_delete(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::UsersWrite,
        "user.delete",
        "user",
        Some(&id),
    )
    .await?;
    let user = users::get_user(&state.store, &ctx, &id).await?;
    let viewer = console.viewer();
    let body = html! {
        h1 { "Delete " (user.username) "?" }
        p { "The user " strong { (user.username) } " (" (user.name) ") is removed with their memberships and MFA enrolment. The audit log keeps the history. This cannot be undone; deactivating keeps the record instead." }
        form method="post" action={ "/users/" (user.id) "/delete" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(user.version);
            div.actions {
                button.danger type="submit" { "Delete " (user.username) }
                a href={ "/users/" (user.id) } { "Keep the user" }
            }
        }
    };
    Ok(html(layout::page("Delete user", &viewer, body)))
}

/// `POST /users/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let version = expected(&form)?;
    users::delete_user(&state.store, &console.context(), &id, version).await?;
    Ok(Redirect::to("/users").into_response())
}

/// `POST /users/{id}/mfa-reset`
pub async fn reset_mfa(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let version = expected(&form)?;
    let user = users::reset_mfa(&state.store, &console.context(), &id, version).await?;
    Ok(Redirect::to(&format!("/users/{}?done=mfa", user.id)).into_response())
}

/// `POST /users/{id}/invite`: mails the user a link to choose a password. A user the engine
/// will not invite (no e-mail address, deactivated) gets the reason on their page.
pub async fn invite(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let result = muster_engine::account::invite_user(
        &state.store,
        &console.context(),
        state.config.mail.as_ref(),
        &state.config.link_base(),
        &id,
    )
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/users/{id}?done=invited")).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            super::users::user_page(&state, &console, &id, None, &problems).await
        }
    }
}

fn password_form(viewer: &Viewer, user: &UserView, problems: &[FieldProblem]) -> Markup {
    let body = html! {
        h1 { "Set the password of " (user.username) }
        (other_problems(problems, &["password", "confirm"]))
        form.stack method="post" action={ "/users/" (user.id) "/password" } {
            (layout::csrf(viewer.csrf))
            input type="hidden" name="version" value=(user.version);
            (text_field("New password", "password", None, problems, "password"))
            (text_field("The same password again", "confirm", None, problems, "password"))
            div.actions { button type="submit" { "Set password" } a href={ "/users/" (user.id) } { "Cancel" } }
        }
    };
    layout::page("Set password", viewer, body)
}

/// `GET /users/{id}/password`
pub async fn password(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let ctx = console.context();
    require_for_form(
        &state.store,
        &ctx,
        Permission::UsersCredentials,
        "user.password",
        "user",
        Some(&id),
    )
    .await?;
    let user = users::get_user(&state.store, &ctx, &id).await?;
    Ok(html(password_form(&console.viewer(), &user, &[])))
}

/// `POST /users/{id}/password`
pub async fn set_password(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    form: FormData,
) -> PageResult {
    console.check(&form)?;
    let ctx = console.context();
    let version = expected(&form)?;
    let password = form.get("password").unwrap_or_default();
    let result = if password.is_empty() || Some(password) != form.get("confirm") {
        Err(Error::Invalid(Invalid::Fields(vec![FieldProblem {
            field: "confirm".into(),
            message: "the two passwords differ (or are empty)".into(),
        }])))
    } else {
        let plain = PlainPassword::new(password.to_owned());
        users::set_password(&state.store, &ctx, &id, version, Some(plain)).await
    };
    match result {
        Ok(user) => Ok(Redirect::to(&format!("/users/{}?done=password", user.id)).into_response()),
        Err(error) => {
            let problems = field_problems(error)?;
            let user = users::get_user(&state.store, &ctx, &id).await?;
            Ok(html(password_form(&console.viewer(), &user, &problems)))
        }
    }
}
