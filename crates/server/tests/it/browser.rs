//! The console in a real headless Chromium, driven through chromedriver (WebDriver) by
//! fantoccini, against a server on a free port over a fresh store, on both backends. The tests
//! read like an administrator's steps, built on one small helper per page; mail is read from
//! the server's outbox.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` each test prints a SKIPPED line,
//! unless `CI=true` or `MUSTER_TEST_BROWSER=1`, where a missing browser fails the test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use muster_engine::{import_file, ImportOptions, ImportSource, ImportStatus};
use muster_server::MfaPolicy;
use muster_store::Store;
use serde_json::json;

use crate::console::{add_user_with_role, ADMIN_PASSWORD, NEW_PASSWORD, USER_PASSWORD};
use crate::links::add_user_with_email;
use crate::scenarios;
use crate::support::{link_path, operator, start, start_with, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session; the driver process is killed on drop.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A browser, or None (with a SKIPPED line) when Chromium is missing and not required.
async fn browser() -> Option<Browser> {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present {
        let required = std::env::var("CI").is_ok_and(|v| v == "true")
            || std::env::var("MUSTER_TEST_BROWSER").is_ok_and(|v| v == "1");
        assert!(!required, "the browser tests must run here, but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)");
        eprintln!("SKIPPED: browser test ({CHROMIUM} or {CHROMEDRIVER} missing; apt-get install chromium chromium-driver)");
        return None;
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address").port()
    };
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let profile = tempfile::tempdir().expect("a profile directory");
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }
    });
    let capabilities = match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    _profile: profile,
                })
            }
            Err(error) => {
                last_error = Some(error);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("chromedriver did not start: {last_error:?}");
}

impl Browser {
    async fn open(&self, server: &TestServer, path: &str) {
        self.client
            .goto(&server.url(path))
            .await
            .expect("navigating");
    }

    async fn fill(&self, id: &str, value: &str) {
        let field = match self.client.find(Locator::Id(id)).await {
            Ok(field) => field,
            Err(error) => panic!("no field #{id} ({error}) on {}", self.page_text().await),
        };
        field.clear().await.expect("clearing a field");
        field.send_keys(value).await.expect("typing");
    }

    /// Clicks the button and waits for the page it leads to.
    async fn press(&self, label: &str) {
        let xpath = format!("//main//button[normalize-space(.)='{label}']");
        let button = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {label}: {e}"));
        let page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("the page");
        button.click().await.expect("clicking");
        self.wait_for_new_page(page).await;
    }

    /// Follows a link and waits for the page it leads to.
    async fn follow(&self, locator: Locator<'_>) {
        let link = self.client.find(locator).await.expect("the link");
        let page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("the page");
        link.click().await.expect("clicking");
        self.wait_for_new_page(page).await;
    }

    /// A click returns before the browser has loaded what it leads to; the old page's root
    /// element goes stale once the new one is there.
    async fn wait_for_new_page(&self, old: fantoccini::elements::Element) {
        for _ in 0..200 {
            if old.tag_name().await.is_err() {
                // And the new document has finished loading.
                let _ = self.client.find(Locator::Css("main")).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the page did not change after a click");
    }

    async fn sign_out(&self) {
        let xpath = "//header//button[normalize-space(.)='Sign out']";
        self.follow(Locator::XPath(xpath)).await;
        assert_eq!(self.path().await, "/sign-in");
    }

    async fn heading(&self) -> String {
        let h1 = self
            .client
            .find(Locator::Css("main h1"))
            .await
            .expect("a heading");
        h1.text().await.expect("its text")
    }

    async fn page_text(&self) -> String {
        self.client
            .find(Locator::Css("main"))
            .await
            .expect("main")
            .text()
            .await
            .expect("text")
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("the URL")
            .path()
            .to_owned()
    }

    /// Signs in, and changes the password when the console asks for it.
    async fn sign_in(&self, server: &TestServer, username: &str, password: &str) {
        self.open(server, "/sign-in").await;
        self.fill("identifier", username).await;
        self.fill("password", password).await;
        self.press("Sign in").await;
        if self.path().await == "/sign-in/password" {
            self.fill("current", password).await;
            self.fill("new", NEW_PASSWORD).await;
            self.fill("confirm", NEW_PASSWORD).await;
            self.press("Change password").await;
        }
    }
}

async fn bootstrap_sign_in_forces_a_new_password(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    let server = start(store).await;
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .expect("bootstrap");
    browser.open(&server, "/").await;
    assert_eq!(browser.path().await, "/sign-in");
    browser.fill("identifier", "admin").await;
    browser.fill("password", ADMIN_PASSWORD).await;
    browser.press("Sign in").await;
    assert_eq!(browser.path().await, "/sign-in/password");
    browser.open(&server, "/users").await;
    assert_eq!(
        browser.path().await,
        "/sign-in/password",
        "a session at the password step reaches nothing else"
    );
    browser.fill("current", ADMIN_PASSWORD).await;
    browser.fill("new", NEW_PASSWORD).await;
    browser.fill("confirm", NEW_PASSWORD).await;
    browser.press("Change password").await;
    assert_eq!(browser.path().await, "/users");
    assert_eq!(browser.heading().await, "Users");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

/// 100,000 users through the engine's import of a generated CSV.
async fn import_many_users(store: &Store, count: usize) {
    let mut csv = String::with_capacity(count * 48);
    csv.push_str("Username,Name,E-mail,Department\n");
    for n in 0..count {
        csv.push_str(&format!(
            "user{n:06},User {n},user{n:06}@example.org,dept{}\n",
            n % 50
        ));
    }
    let source = ImportSource::read("many.csv", csv.as_bytes()).expect("spooling");
    let report = import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("importing");
    assert_eq!(report.status, ImportStatus::Applied);
    assert_eq!(report.counts.created, count as u64);
}

async fn create_edit_and_find_a_user_among_100_000(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    import_many_users(store, 100_000).await;
    let server = start(store).await;
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .expect("bootstrap");
    browser.sign_in(&server, "admin", ADMIN_PASSWORD).await;

    browser.open(&server, "/users/new").await;
    browser.fill("username", "zoe.new").await;
    browser.fill("name", "Zoë Newcomer").await;
    browser.fill("email", "zoe@example.org").await;
    browser.press("Create user").await;
    assert_eq!(browser.heading().await, "zoe.new");
    assert!(browser.page_text().await.contains("User created."));

    browser.follow(Locator::LinkText("Edit")).await;
    browser.fill("name", "Zoë Renamed-Later").await;
    browser.fill("department", "dept7").await;
    browser.press("Save changes").await;
    let text = browser.page_text().await;
    assert!(
        text.contains("Changes saved.")
            && text.contains("Zoë Renamed-Later")
            && text.contains("dept7"),
        "{text}"
    );

    // Found by its exact username at once, and by part of its name within its department.
    browser.open(&server, "/users").await;
    browser.fill("q", "zoe.new").await;
    browser.press("Find").await;
    let exact = browser
        .client
        .find(Locator::Css("main p.notice a"))
        .await
        .expect("the exact match");
    assert_eq!(exact.text().await.unwrap(), "zoe.new");
    browser.fill("q", "renamed-later").await;
    browser.fill("department", "dept7").await;
    browser.press("Find").await;
    let rows = browser
        .client
        .find_all(Locator::Css("main tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "only the new user matches");
    assert!(rows[0].text().await.unwrap().contains("zoe.new"));

    // The list pages through the 100,000 by keyset: next, next, previous.
    browser.open(&server, "/users").await;
    browser.follow(Locator::Css("a[rel=next]")).await;
    browser.follow(Locator::Css("a[rel=next]")).await;
    let third_first = browser
        .client
        .find(Locator::Css("main tbody tr td a"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The first page holds `admin` and the first 49 imported users.
    assert_eq!(third_first, "user000099");
    browser.follow(Locator::Css("a[rel=prev]")).await;
    let second_first = browser
        .client
        .find(Locator::Css("main tbody tr td a"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(second_first, "user000049");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

async fn a_user_without_users_write_is_refused(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    let server = start(store).await;
    let ivy = add_user_with_role(store, "ivy", &["users.read"]).await;
    browser.sign_in(&server, "ivy", USER_PASSWORD).await;
    browser.open(&server, &format!("/users/{ivy}")).await;
    assert_eq!(browser.heading().await, "ivy");
    let edit_links = browser
        .client
        .find_all(Locator::LinkText("Edit"))
        .await
        .unwrap();
    assert!(edit_links.is_empty(), "no edit link without users.write");
    browser.open(&server, &format!("/users/{ivy}/edit")).await;
    assert_eq!(browser.heading().await, "Not allowed");
    assert!(browser.page_text().await.contains("users.write"));
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

async fn pages_are_styled_under_the_content_security_policy(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    let server = start(store).await;
    browser.open(&server, "/no/such/page").await;
    assert_eq!(browser.heading().await, "Not found");
    // The stylesheet applied (the CSP let it load from the server itself): the bar is dark.
    let bar = browser
        .client
        .find(Locator::Css("header.bar"))
        .await
        .expect("the bar");
    let colour = bar.css_value("background-color").await.expect("its colour");
    assert_eq!(colour, "rgba(29, 36, 48, 1)");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

/// The code an authenticator app shows for `secret` at `unix_s`.
fn totp_code(secret: &str, unix_s: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "test".into(),
    )
    .expect("a TOTP");
    totp.generate(unix_s)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

async fn mfa_enrolment_then_sign_in_with_a_code_and_with_a_recovery_code(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    let server = start_with(store, |config| config.mfa = MfaPolicy::Required).await;
    add_user_with_role(store, "max", &["users.read"]).await;

    browser.sign_in(&server, "max", USER_PASSWORD).await;
    assert_eq!(browser.path().await, "/sign-in/mfa-enrol");
    let qr = browser
        .client
        .find(Locator::Css("img.qr"))
        .await
        .expect("the QR code");
    let src = qr.attr("src").await.unwrap().unwrap_or_default();
    assert!(src.starts_with("data:image/svg+xml;base64,"), "{src}");
    let secret = browser
        .client
        .find(Locator::Css(".secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    browser.fill("code", &totp_code(&secret, unix_now())).await;
    browser.press("Confirm").await;
    assert_eq!(browser.heading().await, "Your recovery codes");
    let codes = browser
        .client
        .find_all(Locator::Css("ul.codes li"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let recovery = codes[0].text().await.unwrap();
    browser
        .follow(Locator::LinkText("I have kept them — continue"))
        .await;
    assert_eq!(browser.heading().await, "Users");

    browser.sign_out().await;
    browser.sign_in(&server, "max", USER_PASSWORD).await;
    assert_eq!(browser.path().await, "/sign-in/mfa");
    browser.fill("code", &recovery).await;
    browser.press("Continue").await;
    assert_eq!(browser.heading().await, "Users");

    // A recovery code is good once.
    browser.sign_out().await;
    browser.sign_in(&server, "max", USER_PASSWORD).await;
    browser.fill("code", &recovery).await;
    browser.press("Continue").await;
    assert_eq!(browser.path().await, "/sign-in/mfa");
    assert!(browser.page_text().await.contains("not right"));

    // The enrolment used the current step's code; the next step's is within the skew and new.
    browser
        .fill("code", &totp_code(&secret, unix_now() + 30))
        .await;
    browser.press("Continue").await;
    assert_eq!(browser.heading().await, "Users");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

/// The link a message in the server's outbox carries, as a path.
async fn mailed_link(server: &TestServer) -> String {
    let mail = server.wait_for_mails(1).await.remove(0);
    link_path(&mail, &server.base)
}

/// Fills in a link's password form and submits it.
async fn choose_password(browser: &Browser, password: &str) {
    browser.fill("new_password", password).await;
    browser.fill("confirm", password).await;
    browser.press("Set password").await;
    assert_eq!(browser.heading().await, "Password set");
}

async fn forgot_password_through_the_outbox(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    add_user_with_email(store, "ann", "ann@example.org").await;
    let server = start(store).await;
    browser.open(&server, "/sign-in").await;
    browser.follow(Locator::LinkText("Forgot password?")).await;
    assert_eq!(browser.path().await, "/forgot");
    browser.fill("identifier", "ann@example.org").await;
    browser.press("Send the link").await;
    assert_eq!(browser.heading().await, "Check your mail");
    assert!(browser.page_text().await.contains("If an account matches"));

    let link = mailed_link(&server).await;
    assert!(link.starts_with("/reset/"), "{link}");
    browser.open(&server, &link).await;
    assert_eq!(browser.heading().await, "Choose a new password");
    choose_password(&browser, NEW_PASSWORD).await;
    browser.follow(Locator::LinkText("Sign in")).await;
    assert_eq!(browser.path().await, "/sign-in");
    browser.sign_in(&server, "ann", NEW_PASSWORD).await;
    assert_eq!(browser.heading().await, "Your account");

    // The link is used up.
    browser.open(&server, &link).await;
    assert_eq!(browser.heading().await, "This link cannot be used");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

async fn invitation_acceptance(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    let server = start(store).await;
    muster_engine::account::bootstrap_admin(store, &operator(), Some(ADMIN_PASSWORD.into()))
        .await
        .expect("bootstrap");
    browser.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    browser.open(&server, "/users/new").await;
    browser.fill("username", "nina").await;
    browser.fill("name", "Nina Newcomer").await;
    browser.fill("email", "nina@example.org").await;
    browser.press("Create user").await;
    assert_eq!(browser.heading().await, "nina");
    assert!(browser.page_text().await.contains("provisional"));
    browser.press("Send invitation").await;
    assert!(browser.page_text().await.contains("Invitation sent"));
    browser.sign_out().await;

    let link = mailed_link(&server).await;
    assert!(link.starts_with("/invite/"), "{link}");
    browser.open(&server, &link).await;
    assert_eq!(browser.heading().await, "Choose your password");
    assert!(browser.page_text().await.contains("nina"));
    choose_password(&browser, USER_PASSWORD).await;
    browser.sign_in(&server, "nina", USER_PASSWORD).await;
    assert_eq!(browser.heading().await, "Your account");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

/// A user who may write roles but lacks `users.credentials` ticks it on the role form: the
/// form says beforehand that it cannot be granted, the submission is refused as a page of its
/// own, and no role is created.
async fn an_escalation_through_the_role_form_is_refused(store: &Store) {
    let Some(browser) = browser().await else {
        return;
    };
    let server = start(store).await;
    add_user_with_role(store, "rita", &["roles.read", "roles.write"]).await;
    browser.sign_in(&server, "rita", USER_PASSWORD).await;
    browser.open(&server, "/roles/new").await;
    assert!(browser
        .page_text()
        .await
        .contains("you do not hold this, so you cannot grant it"));
    browser.fill("name", "keymaster").await;
    browser
        .client
        .find(Locator::Id("permission-users.credentials"))
        .await
        .expect("the checkbox")
        .click()
        .await
        .expect("ticking it");
    browser.press("Create role").await;
    assert_eq!(browser.heading().await, "Not allowed");
    assert!(browser.page_text().await.contains("users.credentials"));
    assert!(
        muster_engine::directory::catalog::find_role(store, &operator(), "keymaster")
            .await
            .is_err(),
        "no role was created"
    );
    browser
        .client
        .clone()
        .close()
        .await
        .expect("closing the browser");
}

scenarios!(
    forgot_password_through_the_outbox,
    invitation_acceptance,
    pages_are_styled_under_the_content_security_policy,
    bootstrap_sign_in_forces_a_new_password,
    create_edit_and_find_a_user_among_100_000,
    a_user_without_users_write_is_refused,
    an_escalation_through_the_role_form_is_refused,
    mfa_enrolment_then_sign_in_with_a_code_and_with_a_recovery_code,
);
