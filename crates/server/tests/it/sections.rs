//! An administrator walks every section of the console over HTTP: the lists, the create forms
//! of groups, roles and departments, each record's page, a group's members, the audit log with
//! its filters, the own account. Every page is a 200 with the security headers, no inline
//! script or style, and a label for every input.

use muster_store::Store;
use reqwest::Client;

use crate::console::{post, sign_in, ADMIN_PASSWORD};
use crate::scenarios;
use crate::support::{client, field_value, operator, start, TestServer};

/// GETs a page as the signed-in client and checks what every page must be.
async fn page(http: &Client, server: &TestServer, path: &str) -> String {
    let response = http.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    assert!(
        response.headers().contains_key("content-security-policy"),
        "{path}"
    );
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "{path}: inline script or style"
    );
    assert_every_input_labelled(path, &html);
    html
}

/// Every visible input, select and textarea has a `<label for=…>` naming its id.
fn assert_every_input_labelled(path: &str, html: &str) {
    for tag in ["<input ", "<select ", "<textarea "] {
        for (at, _) in html.match_indices(tag) {
            let element = &html[at..at + html[at..].find('>').unwrap()];
            if element.contains(r#"type="hidden""#) {
                continue;
            }
            let id = field(element, "id")
                .unwrap_or_else(|| panic!("{path}: an input without id: {element}"));
            assert!(
                html.contains(&format!(r#"for="{id}""#)),
                "{path}: no label for #{id}"
            );
        }
    }
}

fn field(element: &str, name: &str) -> Option<String> {
    let marker = format!(r#"{name}=""#);
    let start = element.find(&marker)? + marker.len();
    Some(element[start..start + element[start..].find('"')?].to_owned())
}

/// Where a POST redirected to.
async fn posted(http: &Client, server: &TestServer, path: &str, fields: &[(&str, &str)]) -> String {
    let response = post(http, server, path, fields).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        status,
        303,
        "{path}: {}",
        response.text().await.unwrap_or_default()
    );
    location.unwrap()
}

async fn an_administrator_walks_every_section(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let server = start(store).await;
    let http = client();
    assert_eq!(sign_in(&http, &server, "admin", ADMIN_PASSWORD).await, "/");
    let home = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/users");

    let users = page(&http, &server, "/users").await;
    for section in ["/users", "/groups", "/roles", "/departments", "/audit"] {
        assert!(
            users.contains(&format!(r#"href="{section}""#)),
            "the navigation lists {section}"
        );
    }
    let csrf = field_value(&users, "csrf").unwrap();

    page(&http, &server, "/departments/new").await;
    let department = posted(
        &http,
        &server,
        "/departments/new",
        &[
            ("csrf", &csrf),
            ("name", "Sales"),
            ("description", "Selling"),
        ],
    )
    .await;
    let sales = page(&http, &server, &department).await;
    assert!(sales.contains("Department Sales") && sales.contains("Selling"));

    page(&http, &server, "/roles/new").await;
    let role = posted(
        &http,
        &server,
        "/roles/new",
        &[
            ("csrf", &csrf),
            ("name", "auditor"),
            ("permissions", "audit.read"),
        ],
    )
    .await;
    let auditor = page(&http, &server, &role).await;
    assert!(
        auditor.contains("Read the audit log"),
        "each permission in words"
    );

    page(&http, &server, "/groups/new").await;
    let group = posted(
        &http,
        &server,
        "/groups/new",
        &[("csrf", &csrf), ("name", "staff")],
    )
    .await;
    page(&http, &server, &group).await;

    page(&http, &server, "/users/new").await;
    let user = posted(
        &http,
        &server,
        "/users/new",
        &[
            ("csrf", &csrf),
            ("username", "bea"),
            ("name", "Bea Ortiz"),
            ("email", "bea@example.org"),
            ("department", "Sales"),
            ("active", "yes"),
            ("roles_shown", "1"),
            ("roles", "auditor"),
        ],
    )
    .await;
    let bea = page(&http, &server, &user).await;
    assert!(
        bea.contains("User created.") && bea.contains("Sales") && bea.contains("auditor"),
        "{bea}"
    );
    assert!(
        bea.contains("History of changes") && bea.contains("user.create"),
        "{bea}"
    );
    let bea_id = user
        .trim_start_matches("/users/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    let version = field_value(&page(&http, &server, &group).await, "version").unwrap();
    let members = format!("{group}/members");
    posted(
        &http,
        &server,
        &members,
        &[("csrf", &csrf), ("version", &version), ("usernames", "bea")],
    )
    .await;
    let staff = page(&http, &server, &group).await;
    assert!(
        staff.contains(&format!(r#"value="{bea_id}""#)),
        "bea is listed among the members"
    );

    let filtered = page(
        &http,
        &server,
        "/users?q=bea&department=Sales&group=staff&role=auditor&active=yes",
    )
    .await;
    assert!(filtered.contains("Bea Ortiz"));
    let confirm = page(&http, &server, &format!("/users/{bea_id}/delete")).await;
    assert!(confirm.contains("Delete bea"));
    page(&http, &server, &format!("/users/{bea_id}/password")).await;
    page(&http, &server, &format!("{department}/delete")).await;

    let audit = page(
        &http,
        &server,
        "/audit?source=console&action=user.&since=2020-01-01",
    )
    .await;
    assert!(
        audit.contains("user.create") && !audit.contains("role.create"),
        "{audit}"
    );
    let bad = page(&http, &server, "/audit?since=yesterday").await;
    assert!(
        bad.contains(r#"id="since-problem""#),
        "a bad date is shown beside its field"
    );

    let account = page(&http, &server, "/account").await;
    assert!(account.contains("this session") && account.contains("Sign out everywhere else"));
    page(&http, &server, "/sign-in/mfa-enrol").await;
}

scenarios!(an_administrator_walks_every_section);
