//! The console over HTTP: sessions and their cookies, the sign-in form's token and its one
//! answer for every refusal, redirects without a session, permission refusals (403) on forms
//! and their posts, an escalation through the role form, a stale edit, a form's problems
//! beside their fields.

use muster_credentials::PlainPassword;
use muster_engine::directory::catalog::{self, NewRole};
use muster_engine::directory::users::{self, NewUser, UserPatch};
use muster_engine::directory::Expected;
use muster_store::Store;
use reqwest::{Client, Response};

use crate::scenarios;
use crate::support::{client, field_value, operator, start, start_with, TestServer};

pub const ADMIN_PASSWORD: &str = "bootstrap-password-for-tests";
pub const USER_PASSWORD: &str = "a long enough password 1";
pub const NEW_PASSWORD: &str = "another long password 2";

/// A user holding a role of exactly these permissions, with a password; returns the user's id.
pub async fn add_user_with_role(store: &Store, username: &str, permissions: &[&str]) -> String {
    let ctx = operator();
    let role = NewRole {
        name: format!("{username}-role"),
        description: None,
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    };
    catalog::create_role(store, &ctx, &role)
        .await
        .expect("the role");
    let user = NewUser {
        username: username.into(),
        name: format!("{username} tester"),
        roles: vec![role.name.clone()],
        password: Some(PlainPassword::new(USER_PASSWORD.into())),
        ..NewUser::default()
    };
    users::create_user(store, &ctx, user)
        .await
        .expect("the user")
        .id
}

/// POSTs a form as a browser on the console's own page would (with its Origin).
pub async fn post(
    http: &Client,
    server: &TestServer,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    http.post(server.url(path))
        .header("origin", server.base.clone())
        .form(fields)
        .send()
        .await
        .expect("posting")
}

pub async fn get_text(http: &Client, server: &TestServer, path: &str) -> (u16, String) {
    let response = http.get(server.url(path)).send().await.expect("getting");
    (
        response.status().as_u16(),
        response.text().await.expect("a body"),
    )
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Signs in through the form (changing the password when asked); returns the page it lands on.
pub async fn sign_in(http: &Client, server: &TestServer, username: &str, password: &str) -> String {
    let (_, form) = get_text(http, server, "/sign-in").await;
    let csrf = field_value(&form, "csrf").expect("the sign-in form's token");
    let response = post(
        http,
        server,
        "/sign-in",
        &[
            ("csrf", &csrf),
            ("identifier", username),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(response.status().as_u16(), 303, "signing in as {username}");
    let mut next = location(&response);
    if next == "/sign-in/password" {
        let (_, page) = get_text(http, server, &next).await;
        let csrf = field_value(&page, "csrf").expect("the session's token");
        let fields = [
            ("csrf", csrf.as_str()),
            ("current", password),
            ("new", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ];
        let changed = post(http, server, "/sign-in/password", &fields).await;
        assert_eq!(changed.status().as_u16(), 303);
        next = location(&changed);
    }
    next
}

async fn pages_without_a_session_lead_to_sign_in(store: &Store) {
    let server = start(store).await;
    let http = client();
    for path in ["/", "/users", "/roles/new", "/audit", "/account"] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 303, "{path}");
        assert_eq!(location(&response), "/sign-in", "{path}");
    }
    let (status, page) = get_text(&http, &server, "/sign-in").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"href="/forgot""#),
        "the forgot-password link"
    );
    assert!(
        !page.contains("<script") && !page.contains("style="),
        "no inline script or style"
    );
}

async fn sign_in_needs_the_form_token(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let server = start(store).await;
    let http = client();
    let missing = post(
        &http,
        &server,
        "/sign-in",
        &[("identifier", "admin"), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(
        missing.status().as_u16(),
        403,
        "no pre-session cookie, no token"
    );
    let (_, form) = get_text(&http, &server, "/sign-in").await;
    assert!(field_value(&form, "csrf").is_some());
    let wrong = post(
        &http,
        &server,
        "/sign-in",
        &[
            ("csrf", "not-the-token"),
            ("identifier", "admin"),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 403);
    assert!(wrong.text().await.unwrap().contains("Reload the page"));
}

async fn session_cookies_are_http_only_and_lax(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let server = start(store).await;
    let http = client();
    let (_, form) = get_text(&http, &server, "/sign-in").await;
    let csrf = field_value(&form, "csrf").unwrap();
    let response = post(
        &http,
        &server,
        "/sign-in",
        &[
            ("csrf", &csrf),
            ("identifier", "admin"),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("muster_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
}

async fn behind_https_cookies_are_secure_and_host_prefixed(store: &Store) {
    let server = start_with(store, |config| {
        config.public_url =
            Some(muster_server::PublicUrl::parse("https://muster.example").unwrap());
    })
    .await;
    let response = client().get(server.url("/sign-in")).send().await.unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-muster_presession="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
}

async fn unknown_user_and_wrong_password_get_the_same_answer(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let server = start(store).await;
    let http = client();
    let (_, form) = get_text(&http, &server, "/sign-in").await;
    let csrf = field_value(&form, "csrf").unwrap();
    let unknown = post(
        &http,
        &server,
        "/sign-in",
        &[
            ("csrf", &csrf),
            ("identifier", "nobody"),
            ("password", "whatever it is"),
        ],
    )
    .await;
    let wrong = post(
        &http,
        &server,
        "/sign-in",
        &[
            ("csrf", &csrf),
            ("identifier", "admin"),
            ("password", "whatever it is"),
        ],
    )
    .await;
    assert_eq!(unknown.status(), wrong.status());
    assert!(
        unknown.headers().get("set-cookie").is_none()
            && wrong.headers().get("set-cookie").is_none()
    );
    let (unknown, wrong) = (unknown.text().await.unwrap(), wrong.text().await.unwrap());
    assert_eq!(unknown, wrong);
    assert!(unknown.contains("not right"), "{unknown}");
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"muster_sign_ins_total{outcome="failed"} 2"#),
        "{metrics}"
    );
}

async fn a_user_without_users_write_gets_403_on_the_edit_form_and_its_post(store: &Store) {
    let ivy = add_user_with_role(store, "ivy", &["users.read"]).await;
    let server = start(store).await;
    let http = client();
    assert_eq!(sign_in(&http, &server, "ivy", USER_PASSWORD).await, "/");
    let (status, page) = get_text(&http, &server, &format!("/users/{ivy}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("/edit\""), "no edit link: {page}");
    assert!(
        page.contains(r#"href="/users""#) && !page.contains(r#"href="/roles""#),
        "the navigation shows what ivy may read: {page}"
    );
    let (status, page) = get_text(&http, &server, &format!("/users/{ivy}/edit")).await;
    assert_eq!(status, 403, "{page}");
    let csrf = field_value(&page, "csrf").unwrap_or_default();
    let (_, user_page) = get_text(&http, &server, &format!("/users/{ivy}")).await;
    let csrf = field_value(&user_page, "csrf").unwrap_or(csrf);
    let response = post(
        &http,
        &server,
        &format!("/users/{ivy}/edit"),
        &[("csrf", &csrf), ("version", "1"), ("name", "Changed")],
    )
    .await;
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.unwrap().contains("users.write"));
    let unchanged = users::get_user(store, &operator(), &ivy).await.unwrap();
    assert_eq!(unchanged.name, "ivy tester");
    // Both refusals, the form's and its post's, are in the audit log.
    let query = muster_engine::AuditQuery {
        action: Some("user.update".into()),
        limit: 10,
        ..muster_engine::AuditQuery::default()
    };
    let entries = muster_engine::list_audit(store, &operator(), &query)
        .await
        .unwrap();
    let refused = entries
        .iter()
        .filter(|e| e.outcome == "refused" && e.actor == "ivy")
        .count();
    assert_eq!(refused, 2, "{entries:?}");
}

async fn the_role_form_refuses_an_escalation(store: &Store) {
    add_user_with_role(store, "rita", &["roles.read", "roles.write"]).await;
    let server = start(store).await;
    let http = client();
    sign_in(&http, &server, "rita", USER_PASSWORD).await;
    let (status, page) = get_text(&http, &server, "/roles/new").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("users.credentials") && page.contains("you cannot grant it"),
        "{page}"
    );
    let csrf = field_value(&page, "csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "keymaster"),
        ("permissions", "roles.read"),
        ("permissions", "users.credentials"),
    ];
    let response = post(&http, &server, "/roles/new", &fields).await;
    assert_eq!(response.status().as_u16(), 403);
    assert!(
        catalog::find_role(store, &operator(), "keymaster")
            .await
            .is_err(),
        "no role was created"
    );
    let allowed = [
        ("csrf", csrf.as_str()),
        ("name", "reader"),
        ("permissions", "roles.read"),
    ];
    let response = post(&http, &server, "/roles/new", &allowed).await;
    assert_eq!(response.status().as_u16(), 303);
}

async fn a_stale_edit_is_a_conflict_and_bad_fields_are_shown_beside_them(store: &Store) {
    add_user_with_role(store, "ann", &["users.read", "users.write"]).await;
    let target = add_user_with_role(store, "tom", &[]).await;
    let server = start(store).await;
    let http = client();
    sign_in(&http, &server, "ann", USER_PASSWORD).await;
    let (_, form) = get_text(&http, &server, &format!("/users/{target}/edit")).await;
    let csrf = field_value(&form, "csrf").unwrap();
    let version = field_value(&form, "version").unwrap();
    let bad = post(
        &http,
        &server,
        &format!("/users/{target}/edit"),
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("name", "Tom"),
            ("email", "not an address"),
        ],
    )
    .await;
    assert_eq!(bad.status().as_u16(), 200);
    let page = bad.text().await.unwrap();
    assert!(page.contains(r#"id="email-problem""#), "{page}");
    let patch = UserPatch {
        name: Some("Changed elsewhere".into()),
        ..UserPatch::default()
    };
    let current: i64 = version.parse().unwrap();
    users::update_user(store, &operator(), &target, Expected(current), patch)
        .await
        .unwrap();
    let stale = post(
        &http,
        &server,
        &format!("/users/{target}/edit"),
        &[("csrf", &csrf), ("version", &version), ("name", "Tom")],
    )
    .await;
    assert_eq!(stale.status().as_u16(), 409);
    assert!(stale
        .text()
        .await
        .unwrap()
        .contains("changed this meanwhile"));
}

async fn signing_out_ends_the_session(store: &Store) {
    add_user_with_role(store, "sam", &["users.read"]).await;
    let server = start(store).await;
    let http = client();
    sign_in(&http, &server, "sam", USER_PASSWORD).await;
    let (status, page) = get_text(&http, &server, "/users").await;
    assert_eq!(status, 200);
    let csrf = field_value(&page, "csrf").unwrap();
    let out = post(&http, &server, "/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status().as_u16(), 303);
    let after = http.get(server.url("/users")).send().await.unwrap();
    assert_eq!(location(&after), "/sign-in");
}

async fn repeated_failures_are_throttled_with_a_clear_wait(store: &Store) {
    add_user_with_role(store, "tess", &["users.read"]).await;
    let server = start(store).await;
    let http = client();
    let (_, form) = get_text(&http, &server, "/sign-in").await;
    let csrf = field_value(&form, "csrf").unwrap();
    let attempt = [
        ("csrf", csrf.as_str()),
        ("identifier", "tess"),
        ("password", "wrong guess"),
    ];
    let mut last = None;
    for _ in 0..6 {
        last = Some(post(&http, &server, "/sign-in", &attempt).await);
    }
    let throttled = last.unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    let page = throttled.text().await.unwrap();
    assert!(page.contains(&format!("try again in {wait} s")), "{page}");
    // Even the right password waits.
    let right = [
        ("csrf", csrf.as_str()),
        ("identifier", "tess"),
        ("password", USER_PASSWORD),
    ];
    assert_eq!(
        post(&http, &server, "/sign-in", &right)
            .await
            .status()
            .as_u16(),
        429
    );
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"muster_sign_ins_total{outcome="throttled"} 2"#),
        "{metrics}"
    );
}

async fn a_signed_in_post_needs_the_session_token_and_the_origin(store: &Store) {
    add_user_with_role(store, "wes", &["users.read", "users.write"]).await;
    let server = start(store).await;
    let http = client();
    sign_in(&http, &server, "wes", USER_PASSWORD).await;
    let (_, form) = get_text(&http, &server, "/users/new").await;
    let csrf = field_value(&form, "csrf").unwrap();
    let fields = [("username", "nina"), ("name", "Nina")];
    let tokenless = post(&http, &server, "/users/new", &fields).await;
    assert_eq!(tokenless.status().as_u16(), 403);
    let with_token = [
        ("csrf", csrf.as_str()),
        ("username", "nina"),
        ("name", "Nina"),
    ];
    let foreign = http
        .post(server.url("/users/new"))
        .header("origin", "http://evil.example")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    assert!(
        users::find_user(store, &operator(), "nina").await.is_err(),
        "nobody was created"
    );
    assert_eq!(
        post(&http, &server, "/users/new", &with_token)
            .await
            .status()
            .as_u16(),
        303
    );
}

/// The session cookie's value in a response's Set-Cookie.
fn session_cookie(response: &Response) -> String {
    let header = response
        .headers()
        .get("set-cookie")
        .expect("a Set-Cookie")
        .to_str()
        .unwrap();
    let pair = header.split(';').next().unwrap();
    pair.strip_prefix("muster_session=")
        .expect("the session cookie")
        .to_owned()
}

/// GETs `path` sending only this session cookie; where it redirects (empty for a page).
async fn with_token(server: &TestServer, token: &str, path: &str) -> String {
    let response = client()
        .get(server.url(path))
        .header("cookie", format!("muster_session={token}"))
        .send()
        .await
        .unwrap();
    location(&response)
}

async fn the_session_token_rotates_at_each_step_and_expires_when_idle(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let server = start_with(store, |config| config.session.idle_ms = 1_500).await;
    let http = client();
    let (_, form) = get_text(&http, &server, "/sign-in").await;
    let csrf = field_value(&form, "csrf").unwrap();
    let signed_in = post(
        &http,
        &server,
        "/sign-in",
        &[
            ("csrf", &csrf),
            ("identifier", "admin"),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    let first = session_cookie(&signed_in);
    assert_eq!(
        with_token(&server, &first, "/users").await,
        "/sign-in/password"
    );
    let (_, page) = get_text(&http, &server, "/sign-in/password").await;
    let csrf = field_value(&page, "csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("current", ADMIN_PASSWORD),
        ("new", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
    ];
    let changed = post(&http, &server, "/sign-in/password", &fields).await;
    let second = session_cookie(&changed);
    assert_ne!(first, second, "a new token at the step");
    assert_eq!(
        with_token(&server, &first, "/users").await,
        "/sign-in",
        "the old token is dead"
    );
    assert_eq!(
        with_token(&server, &second, "/users").await,
        "",
        "the new one signs in"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    assert_eq!(
        with_token(&server, &second, "/users").await,
        "/sign-in",
        "idle too long"
    );
}

/// The forced password change says what is wrong beside the field it is about: a wrong current
/// password beside `current` (not a refusal page), a password the policy refuses beside `new`.
async fn the_password_step_shows_its_problems_beside_the_fields(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let server = start(store).await;
    let http = client();
    let (_, form) = get_text(&http, &server, "/sign-in").await;
    let csrf = field_value(&form, "csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("identifier", "admin"),
        ("password", ADMIN_PASSWORD),
    ];
    let signed_in = post(&http, &server, "/sign-in", &fields).await;
    assert_eq!(location(&signed_in), "/sign-in/password");
    let (_, page) = get_text(&http, &server, "/sign-in/password").await;
    let csrf = field_value(&page, "csrf").unwrap();
    let attempts = [
        ("Not-The-Current-One-42", NEW_PASSWORD, "current-problem"),
        (
            ADMIN_PASSWORD,
            "Admin-Likes-Long-Passwords-7",
            "new-problem",
        ),
    ];
    for (current, new, beside) in attempts {
        let fields = [
            ("csrf", csrf.as_str()),
            ("current", current),
            ("new", new),
            ("confirm", new),
        ];
        let answer = post(&http, &server, "/sign-in/password", &fields).await;
        assert_eq!(answer.status().as_u16(), 200, "the form again");
        let page = answer.text().await.unwrap();
        assert!(
            page.contains(&format!("id=\"{beside}\"")),
            "{beside} in {page}"
        );
    }
    let fields = [
        ("csrf", csrf.as_str()),
        ("current", ADMIN_PASSWORD),
        ("new", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
    ];
    let changed = post(&http, &server, "/sign-in/password", &fields).await;
    assert_eq!(changed.status().as_u16(), 303);
}

/// The user edit form is one change: a name typed together with a role the editor may not
/// grant is refused whole, and the name stays as it was.
async fn an_edit_with_a_refused_role_saves_nothing(store: &Store) {
    add_user_with_role(store, "hana", &["users.read", "users.write"]).await;
    let jo = add_user_with_role(store, "jo", &["users.read"]).await;
    let powerful = NewRole {
        name: "Powerful".into(),
        description: None,
        permissions: vec!["roles.write".into()],
    };
    catalog::create_role(store, &operator(), &powerful)
        .await
        .expect("the role");
    let server = start(store).await;
    let http = client();
    assert_eq!(sign_in(&http, &server, "hana", USER_PASSWORD).await, "/");
    let (status, form) = get_text(&http, &server, &format!("/users/{jo}/edit")).await;
    assert_eq!(status, 200, "{form}");
    let csrf = field_value(&form, "csrf").expect("the form's token");
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("name", "Jo Changed"),
        ("roles_shown", "1"),
        ("roles", "jo-role"),
        ("roles", "Powerful"),
    ];
    let response = post(&http, &server, &format!("/users/{jo}/edit"), &fields).await;
    assert_eq!(response.status().as_u16(), 403);
    let unchanged = users::get_user(store, &operator(), &jo).await.unwrap();
    assert_eq!(
        (unchanged.name.as_str(), unchanged.version),
        ("jo tester", 1)
    );
}

scenarios!(
    pages_without_a_session_lead_to_sign_in,
    sign_in_needs_the_form_token,
    session_cookies_are_http_only_and_lax,
    behind_https_cookies_are_secure_and_host_prefixed,
    unknown_user_and_wrong_password_get_the_same_answer,
    a_user_without_users_write_gets_403_on_the_edit_form_and_its_post,
    the_role_form_refuses_an_escalation,
    a_stale_edit_is_a_conflict_and_bad_fields_are_shown_beside_them,
    signing_out_ends_the_session,
    repeated_failures_are_throttled_with_a_clear_wait,
    a_signed_in_post_needs_the_session_token_and_the_origin,
    the_session_token_rotates_at_each_step_and_expires_when_idle,
    the_password_step_shows_its_problems_beside_the_fields,
    an_edit_with_a_refused_role_saves_nothing,
);
