//! The frame of every page: the document head (the one stylesheet, no script, no inline style),
//! the navigation bar showing only the sections the viewer may reach, the signed-in user with a
//! sign-out button, and small helpers the pages share (form fields with their labels and
//! problems, the hidden CSRF field, paging links).

use maud::{html, Markup, DOCTYPE};
use muster_domain::Permission;
use muster_engine::{Actor, FieldProblem};

use crate::assets;
use crate::security::CSRF_FIELD;

/// Who is looking at a page, for the navigation bar and the forms' tokens.
pub struct Viewer<'a> {
    pub actor: &'a Actor,
    pub csrf: &'a str,
}

/// The sections of the console, each behind the permission that reads it.
const SECTIONS: &[(&str, &str, Permission)] = &[
    ("/users", "Users", Permission::UsersRead),
    ("/groups", "Groups", Permission::GroupsRead),
    ("/roles", "Roles", Permission::RolesRead),
    ("/departments", "Departments", Permission::DepartmentsRead),
    ("/audit", "Audit log", Permission::AuditRead),
];

/// The first section the actor may read (where `/` leads), or their own account.
pub fn home(actor: &Actor) -> &'static str {
    SECTIONS
        .iter()
        .find(|(_, _, permission)| actor.holds(*permission))
        .map(|(path, _, _)| *path)
        .unwrap_or("/account")
}

/// A page of a signed-in viewer.
pub fn page(title: &str, viewer: &Viewer, body: Markup) -> Markup {
    document(
        title,
        html! {
            header.bar {
                a.brand href="/" { "muster" }
                nav aria-label="Sections" {
                    ul {
                        @for (path, label, permission) in SECTIONS {
                            @if viewer.actor.holds(*permission) {
                                li { a href=(path) { (label) } }
                            }
                        }
                    }
                }
                div.who {
                    a href="/account" { (viewer.actor.name()) }
                    form method="post" action="/sign-out" {
                        (csrf(viewer.csrf))
                        button.link type="submit" { "Sign out" }
                    }
                }
            }
            main id="main" { (body) }
        },
    )
}

/// A page without navigation: sign-in, its later steps, and errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    document(
        title,
        html! {
            header.bar { a.brand href="/" { "muster" } }
            main id="main" .narrow { (body) }
        },
    )
}

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · muster" }
                link rel="stylesheet" href=(assets::path("console.css"));
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (body)
            }
        }
    }
}

/// The hidden field every state-changing form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// The problems about `field`, shown under its input.
pub fn problems_of(problems: &[FieldProblem], field: &str) -> Markup {
    html! {
        @for problem in problems.iter().filter(|p| p.field == field) {
            p.problem id={ (field) "-problem" } { (problem.message) }
        }
    }
}

/// The problems no field of the form shows, above the form.
pub fn other_problems(problems: &[FieldProblem], shown: &[&str]) -> Markup {
    html! {
        @let rest: Vec<&FieldProblem> = problems.iter().filter(|p| !shown.contains(&p.field.as_str())).collect();
        @if !rest.is_empty() {
            div.problems role="alert" {
                p { "Please correct the following:" }
                ul { @for problem in rest { li { (problem) } } }
            }
        }
    }
}

/// A labelled text input with its problems.
pub fn text_field(
    label: &str,
    name: &str,
    value: Option<&str>,
    problems: &[FieldProblem],
    kind: &str,
) -> Markup {
    let invalid = problems.iter().any(|p| p.field == name);
    html! {
        div.field {
            label for=(name) { (label) }
            input type=(kind) id=(name) name=(name) value=[value]
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("{name}-problem"))];
            (problems_of(problems, name))
        }
    }
}

/// A labelled checkbox.
pub fn checkbox(label: &str, name: &str, value: &str, checked: bool) -> Markup {
    let id = format!("{name}-{value}");
    html! {
        div.check {
            input type="checkbox" id=(id) name=(name) value=(value) checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// A short notice at the top of a page after a change ("Saved.").
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice role="status" { (text) } } }
}
