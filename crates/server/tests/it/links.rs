//! The one-time-link pages over HTTP: "forgot password" answers the same, and at once, whether
//! or not the account exists, and mails only an existing account; a reset link sets a password
//! once, survives a refused password, and is kept out of logs, metrics and referrers; unknown
//! links get a clear page; the user page's invitation button.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use muster_credentials::PlainPassword;
use muster_engine::account::mail::{MailTransport, OutgoingMail};
use muster_engine::directory::users::{self, NewUser};
use muster_store::Store;
use reqwest::Client;

use crate::console::{
    add_user_with_role, get_text, post, sign_in, ADMIN_PASSWORD, NEW_PASSWORD, USER_PASSWORD,
};
use crate::scenarios;
use crate::support::{client, field_value, link_path, operator, start, start_with, TestServer};

/// A user with an e-mail address and a password; returns the id.
pub async fn add_user_with_email(store: &Store, username: &str, email: &str) -> String {
    let user = NewUser {
        username: username.into(),
        name: format!("{username} tester"),
        email: Some(email.into()),
        password: Some(PlainPassword::new(USER_PASSWORD.into())),
        ..NewUser::default()
    };
    users::create_user(store, &operator(), user)
        .await
        .expect("the user")
        .id
}

/// Asks for a reset link through `/forgot` as a browser would; returns the answer.
async fn forgot(http: &Client, server: &TestServer, identifier: &str) -> (u16, String) {
    let (_, form) = get_text(http, server, "/forgot").await;
    let csrf = field_value(&form, "csrf").expect("the form's token");
    let response = post(
        http,
        server,
        "/forgot",
        &[("csrf", &csrf), ("identifier", identifier)],
    )
    .await;
    (
        response.status().as_u16(),
        response.text().await.expect("a body"),
    )
}

/// Submits the password form of the link at `path` (its token read from the page).
async fn set_by_link(
    http: &Client,
    server: &TestServer,
    path: &str,
    new: &str,
    confirm: &str,
) -> (u16, String) {
    let (_, page) = get_text(http, server, path).await;
    let csrf = field_value(&page, "csrf").expect("the form's token");
    submit(http, server, path, &csrf, new, confirm).await
}

/// Submits a link's password form with the token `csrf`.
async fn submit(
    http: &Client,
    server: &TestServer,
    path: &str,
    csrf: &str,
    new: &str,
    confirm: &str,
) -> (u16, String) {
    let response = post(
        http,
        server,
        path,
        &[("csrf", csrf), ("new_password", new), ("confirm", confirm)],
    )
    .await;
    (
        response.status().as_u16(),
        response.text().await.expect("a body"),
    )
}

async fn forgot_answers_the_same_and_mails_only_an_existing_account(store: &Store) {
    add_user_with_email(store, "ann", "ann@example.org").await;
    let server = start(store).await;
    let http = client();
    let missing = forgot(&http, &server, "nobody@example.org").await;
    let existing = forgot(&http, &server, "ann").await;
    assert_eq!(missing, existing, "one answer for both");
    assert_eq!(existing.0, 200);
    assert!(
        existing.1.contains("If an account matches"),
        "{}",
        existing.1
    );
    let mails = server.wait_for_mails(1).await;
    assert!(mails[0].contains("To: ann@example.org"), "{}", mails[0]);
    assert!(link_path(&mails[0], &server.base).starts_with("/reset/"));
    // The request for nobody was answered first; give its task time to do anything it would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.mails().len(),
        1,
        "nothing mailed for a missing account"
    );
}

/// A transport that holds every message until the test lets it go, and counts deliveries.
struct GatedTransport {
    open: Mutex<Receiver<()>>,
    delivered: AtomicUsize,
}

impl MailTransport for GatedTransport {
    fn send(&self, _mail: &OutgoingMail) -> Result<(), muster_engine::Error> {
        let open = self.open.lock().expect("the gate");
        open.recv_timeout(Duration::from_secs(20))
            .expect("the test opens the gate");
        self.delivered.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn forgot_answers_before_the_mail_is_sent(store: &Store) {
    add_user_with_email(store, "ann", "ann@example.org").await;
    let (release, open): (Sender<()>, Receiver<()>) = channel();
    let gate = Arc::new(GatedTransport {
        open: Mutex::new(open),
        delivered: AtomicUsize::new(0),
    });
    let transport: Arc<dyn MailTransport> = gate.clone();
    let server = start_with(store, move |config| config.mail = transport).await;
    let http = client();
    let answered = tokio::time::timeout(Duration::from_secs(10), forgot(&http, &server, "ann"))
        .await
        .expect("the page comes while the mail is held");
    assert_eq!(answered.0, 200);
    assert_eq!(gate.delivered.load(Ordering::SeqCst), 0);
    release.send(()).expect("opening the gate");
    for _ in 0..400 {
        if gate.delivered.load(Ordering::SeqCst) == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the held mail was never delivered");
}

async fn forgot_without_the_form_token_is_refused(store: &Store) {
    add_user_with_email(store, "ann", "ann@example.org").await;
    let server = start(store).await;
    let http = client();
    let bare = post(&http, &server, "/forgot", &[("identifier", "ann")]).await;
    assert_eq!(
        bare.status().as_u16(),
        403,
        "no pre-session cookie, no token"
    );
    get_text(&http, &server, "/forgot").await;
    let wrong = post(
        &http,
        &server,
        "/forgot",
        &[("csrf", "not-the-token"), ("identifier", "ann")],
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 403);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.mails().is_empty(), "nothing mailed");
}

async fn a_reset_link_sets_a_password_once_and_survives_a_refusal(store: &Store) {
    add_user_with_email(store, "ann", "ann@example.org").await;
    let server = start(store).await;
    let http = client();
    forgot(&http, &server, "ann@example.org").await;
    let mail = server.wait_for_mails(1).await.remove(0);
    let path = link_path(&mail, &server.base);
    let token = path.trim_start_matches("/reset/").to_owned();

    let response = http.get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("<strong>ann</strong>"), "{page}");
    let csrf = field_value(&page, "csrf").expect("the form's token");
    assert!(!page.contains(&token), "the form does not repeat the token");

    // A password the policy refuses is shown beside its field; the link stays usable.
    let (status, refused) = set_by_link(&http, &server, &path, "short", "short").await;
    assert_eq!(status, 200);
    assert!(
        refused.contains(r#"id="new_password-problem""#),
        "{refused}"
    );
    let (status, differ) = set_by_link(&http, &server, &path, NEW_PASSWORD, "other").await;
    assert_eq!(status, 200);
    assert!(differ.contains(r#"id="confirm-problem""#), "{differ}");

    let (status, done) = set_by_link(&http, &server, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200);
    assert!(done.contains("Password set"), "{done}");
    let response = http.post(server.url(&path)).send().await.unwrap();
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");

    // Used up: the form submitted again, and the page, say so.
    let (status, again) = submit(&http, &server, &path, &csrf, USER_PASSWORD, USER_PASSWORD).await;
    assert_eq!(status, 404);
    assert!(again.contains("cannot be used") && again.contains(r#"href="/forgot""#));
    let (status, _) = get_text(&http, &server, &path).await;
    assert_eq!(status, 404);

    let fresh = client();
    assert_eq!(sign_in(&fresh, &server, "ann", NEW_PASSWORD).await, "/");

    // Logs and metrics know the route, never the token.
    let (_, metrics) = get_text(&http, &server, "/metrics").await;
    assert!(metrics.contains(r#"route="/reset/{token}""#), "{metrics}");
    assert!(!metrics.contains(&token));
}

async fn unknown_links_get_a_clear_page(store: &Store) {
    let server = start(store).await;
    let http = client();
    let well_formed = "A".repeat(43);
    for path in [
        "/reset/nonsense".to_owned(),
        format!("/reset/{well_formed}"),
        format!("/invite/{well_formed}"),
    ] {
        let response = http.get(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        assert!(page.contains("This link cannot be used"), "{page}");
        assert!(page.contains(r#"href="/forgot""#), "{page}");
    }
}

async fn the_invitation_button_mails_a_link_or_says_why_not(store: &Store) {
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let without_email = users::create_user(
        store,
        &operator(),
        NewUser {
            username: "nomail".into(),
            name: "No Mail".into(),
            ..NewUser::default()
        },
    )
    .await
    .unwrap()
    .id;
    let bea = users::create_user(
        store,
        &operator(),
        NewUser {
            username: "bea".into(),
            name: "Bea".into(),
            email: Some("bea@example.org".into()),
            ..NewUser::default()
        },
    )
    .await
    .unwrap()
    .id;
    add_user_with_role(store, "ivy", &["users.read"]).await;
    let server = start(store).await;

    // Without users.credentials: no button, and the post is refused.
    let ivy = client();
    sign_in(&ivy, &server, "ivy", USER_PASSWORD).await;
    let (_, page) = get_text(&ivy, &server, &format!("/users/{bea}")).await;
    assert!(!page.contains("Send invitation"));
    let csrf = field_value(&page, "csrf").unwrap();
    let refused = post(
        &ivy,
        &server,
        &format!("/users/{bea}/invite"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(refused.status().as_u16(), 403);

    let admin = client();
    sign_in(&admin, &server, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get_text(&admin, &server, &format!("/users/{without_email}")).await;
    assert!(page.contains("Send invitation"));
    let csrf = field_value(&page, "csrf").unwrap();
    let path = format!("/users/{without_email}/invite");
    let missing_token = post(&admin, &server, &path, &[]).await;
    assert_eq!(missing_token.status().as_u16(), 403);
    let no_email = post(&admin, &server, &path, &[("csrf", &csrf)]).await;
    assert_eq!(no_email.status().as_u16(), 200);
    let text = no_email.text().await.unwrap();
    assert!(text.contains("no e-mail address"), "{text}");

    let sent = post(
        &admin,
        &server,
        &format!("/users/{bea}/invite"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(sent.status().as_u16(), 303);
    let (_, page) = get_text(&admin, &server, &format!("/users/{bea}?done=invited")).await;
    assert!(page.contains("Invitation sent"));
    let mails = server.wait_for_mails(1).await;
    assert!(mails[0].contains("To: bea@example.org"));
    let link = link_path(&mails[0], &server.base);
    assert!(link.starts_with("/invite/"), "{link}");
    let (status, done) = set_by_link(&client(), &server, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, 200);
    assert!(done.contains("Password set"), "{done}");
}

scenarios!(
    forgot_answers_the_same_and_mails_only_an_existing_account,
    forgot_answers_before_the_mail_is_sent,
    forgot_without_the_form_token_is_refused,
    a_reset_link_sets_a_password_once_and_survives_a_refusal,
    unknown_links_get_a_clear_page,
    the_invitation_button_mails_a_link_or_says_why_not,
);
