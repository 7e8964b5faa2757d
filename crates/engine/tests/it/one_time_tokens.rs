//! One-time links (issue 9): "forgot password" answers the same for every identifier and mails
//! only existing, active accounts; a link sets a password once, before it expires, only with a
//! password the policy accepts, and ends the user's sessions; invitations reach exactly the
//! users an import created without a password. Mail goes to a transport that records it.

use std::sync::Mutex;

use muster_credentials::{verify_password, PlainPassword, Verification};
use muster_domain::Permission;
use muster_engine::account::mail::{MailTransport, OutgoingMail};
use muster_engine::account::{
    accept_invitation, check_one_time_token, invite_import, invite_user, request_password_reset,
    reset_password, resolve_session, sign_in, AccountPolicy, ClientInfo, SkipReason, TokenPurpose,
    MAX_PENDING_RESETS,
};
use muster_engine::{
    import_file, list_audit, AuditQuery, Context, Error, ImportOptions, ImportSource, Invalid,
    Missing, Refusal, Unavailable,
};
use muster_store::{Store, UserRecord};

use crate::catalog_fixtures::actor;
use crate::scenarios;
use crate::support::{operator, NOW};

const PUBLIC_URL: &str = "https://users.example.org/";
const GOOD_PASSWORD: &str = "correct horse battery staple";
const HOUR_MS: i64 = 60 * 60 * 1000;

/// A transport that keeps what it is given.
#[derive(Default)]
struct Recorder(Mutex<Vec<OutgoingMail>>);

impl MailTransport for Recorder {
    fn send(&self, mail: &OutgoingMail) -> Result<(), Error> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// A transport whose server is away.
struct Broken;

impl MailTransport for Broken {
    fn send(&self, _mail: &OutgoingMail) -> Result<(), Error> {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no server");
        Err(Error::Unavailable(Unavailable::Mail(Box::new(cause))))
    }
}

impl Recorder {
    fn sent(&self) -> Vec<OutgoingMail> {
        self.0.lock().unwrap().clone()
    }

    /// The token of the one link in the last mail, after `{PUBLIC_URL}{path}/`.
    fn last_token(&self, path: &str) -> String {
        let sent = self.sent();
        let text = &sent.last().expect("a mail was sent").text;
        let prefix = format!("https://users.example.org/{path}/");
        let start = text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no link in {text}"))
            + prefix.len();
        text[start..].split_whitespace().next().unwrap().to_owned()
    }
}

/// A context at `now` for the operator.
fn at(now: i64) -> Context {
    let mut ctx = operator();
    ctx.now = Box::new(move || now);
    ctx
}

/// Imports users from CSV text and returns the import's number.
async fn import(store: &Store, csv: &str) -> i64 {
    let source = ImportSource::read("users.csv", csv.as_bytes()).expect("spooling the CSV");
    let report = import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("importing users");
    assert!(!report.has_failures(), "{:?}", report.errors);
    report.import_id.expect("an import number")
}

async fn user(store: &Store, username: &str) -> UserRecord {
    crate::catalog_fixtures::user(store, username).await
}

/// The audit log's latest hundred entries.
fn all_entries() -> AuditQuery {
    AuditQuery {
        limit: 100,
        ..AuditQuery::default()
    }
}

fn verifies(user: &UserRecord, password: &str) -> bool {
    let password = PlainPassword::new(password.to_owned());
    matches!(
        verify_password(&user.password_hash, &password),
        Ok(Verification::Match { .. })
    )
}

fn is_spent_link(result: Result<(), Error>) -> bool {
    matches!(result, Err(Error::NotFound(Missing::OneTimeLink)))
}

async fn alice(store: &Store) {
    import(
        store,
        "Username,Name,E-mail,Password\nalice,Alice,alice@example.org,tulip harbor seventeen\n\
         nomail,No Mail,,granite lantern ochre\n",
    )
    .await;
}

async fn reset_answers_alike_and_mails_only_an_existing_account(store: &Store) {
    alice(store).await;
    let mail = Recorder::default();
    let ctx = operator();
    for identifier in ["nobody", "nobody@example.org", "nomail", "alice"] {
        request_password_reset(store, &ctx, &mail, PUBLIC_URL, identifier)
            .await
            .unwrap_or_else(|e| panic!("{identifier}: {e}"));
    }
    // By e-mail address too.
    request_password_reset(store, &ctx, &mail, PUBLIC_URL, "Alice@Example.org")
        .await
        .unwrap();
    let sent = mail.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|m| m.to == "alice@example.org"));
    let token = mail.last_token("reset");
    let info = check_one_time_token(store, &ctx, &token, TokenPurpose::Reset)
        .await
        .unwrap();
    assert_eq!(info.username, "alice");
    assert_eq!(info.expires_at, NOW + HOUR_MS);
    // A reset link is no invitation.
    assert!(matches!(
        check_one_time_token(store, &ctx, &token, TokenPurpose::Invitation).await,
        Err(Error::NotFound(Missing::OneTimeLink))
    ));
}

async fn a_reset_link_sets_the_password_once(store: &Store) {
    alice(store).await;
    let mail = Recorder::default();
    let ctx = operator();
    request_password_reset(store, &ctx, &mail, PUBLIC_URL, "alice")
        .await
        .unwrap();
    let token = mail.last_token("reset");
    reset_password(store, &ctx, &token, GOOD_PASSWORD)
        .await
        .unwrap();
    let changed = user(store, "alice").await;
    assert!(verifies(&changed, GOOD_PASSWORD));
    assert!(!verifies(&changed, "tulip harbor seventeen"));

    let again = reset_password(store, &ctx, &token, "another good password here").await;
    assert!(is_spent_link(again));
    assert!(verifies(&user(store, "alice").await, GOOD_PASSWORD));
    // Garbage and a well-formed unknown token get the same answer.
    assert!(is_spent_link(
        reset_password(store, &ctx, "not-a-token", GOOD_PASSWORD).await
    ));
    let unknown = "A".repeat(43);
    assert!(is_spent_link(
        reset_password(store, &ctx, &unknown, GOOD_PASSWORD).await
    ));

    // Audited as the user setting the password, from the console.
    let entries = list_audit(store, &operator(), &all_entries())
        .await
        .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "user.password")
        .expect("a password entry");
    assert_eq!(entry.actor, "alice");
    assert_eq!(entry.source, "console");
    assert_eq!(entry.target_name, "alice");
    assert_eq!(entry.changes[0].after.as_deref(), Some("set"));
}

async fn a_reset_link_expires_after_an_hour(store: &Store) {
    alice(store).await;
    let mail = Recorder::default();
    request_password_reset(store, &at(NOW), &mail, PUBLIC_URL, "alice")
        .await
        .unwrap();
    let token = mail.last_token("reset");
    let late = at(NOW + HOUR_MS);
    assert!(matches!(
        check_one_time_token(store, &late, &token, TokenPurpose::Reset).await,
        Err(Error::NotFound(Missing::OneTimeLink))
    ));
    assert!(is_spent_link(
        reset_password(store, &late, &token, GOOD_PASSWORD).await
    ));
    assert!(verifies(
        &user(store, "alice").await,
        "tulip harbor seventeen"
    ));
    // A minute before the end it still works.
    reset_password(store, &at(NOW + HOUR_MS - 60_000), &token, GOOD_PASSWORD)
        .await
        .unwrap();
}

async fn a_refused_password_leaves_the_link_usable(store: &Store) {
    alice(store).await;
    let mail = Recorder::default();
    let ctx = operator();
    request_password_reset(store, &ctx, &mail, PUBLIC_URL, "alice")
        .await
        .unwrap();
    let token = mail.last_token("reset");
    for weak in ["short", "too short"] {
        match reset_password(store, &ctx, &token, weak).await {
            Err(Error::Invalid(Invalid::Fields(fields))) => {
                assert_eq!(fields[0].field, "new_password", "{weak}")
            }
            other => panic!("{weak}: {other:?}"),
        }
    }
    assert!(verifies(
        &user(store, "alice").await,
        "tulip harbor seventeen"
    ));
    reset_password(store, &ctx, &token, GOOD_PASSWORD)
        .await
        .unwrap();
    assert!(verifies(&user(store, "alice").await, GOOD_PASSWORD));
}

async fn a_reset_ends_every_session_and_older_links(store: &Store) {
    alice(store).await;
    let policy = AccountPolicy::default();
    let ctx = operator();
    let client = ClientInfo {
        address: "192.0.2.7".into(),
        user_agent: "test".into(),
    };
    let (first, _) = sign_in(
        store,
        &ctx,
        &policy,
        "alice",
        "tulip harbor seventeen",
        client.clone(),
    )
    .await
    .unwrap();
    let (second, _) = sign_in(
        store,
        &ctx,
        &policy,
        "alice",
        "tulip harbor seventeen",
        client,
    )
    .await
    .unwrap();
    let mail = Recorder::default();
    request_password_reset(store, &ctx, &mail, PUBLIC_URL, "alice")
        .await
        .unwrap();
    let older = mail.last_token("reset");
    request_password_reset(store, &ctx, &mail, PUBLIC_URL, "alice")
        .await
        .unwrap();
    let newer = mail.last_token("reset");

    reset_password(store, &ctx, &newer, GOOD_PASSWORD)
        .await
        .unwrap();
    for token in [&first, &second] {
        let session = resolve_session(store, &ctx, &policy, token.expose())
            .await
            .unwrap();
        assert!(session.is_none(), "{session:?}");
    }
    assert!(is_spent_link(
        reset_password(store, &ctx, &older, "another good password here").await
    ));
}

async fn pending_resets_are_capped(store: &Store) {
    alice(store).await;
    let mail = Recorder::default();
    let ctx = operator();
    for _ in 0..MAX_PENDING_RESETS + 2 {
        request_password_reset(store, &ctx, &mail, PUBLIC_URL, "alice")
            .await
            .unwrap();
    }
    assert_eq!(mail.sent().len() as i64, MAX_PENDING_RESETS);
    // Once the earlier links expired, a new one is sent again.
    request_password_reset(store, &at(NOW + HOUR_MS), &mail, PUBLIC_URL, "alice")
        .await
        .unwrap();
    assert_eq!(mail.sent().len() as i64, MAX_PENDING_RESETS + 1);
}

const IMPORTED: &str = "Username,Name,E-mail,Password,Active\n\
    ann,Ann,ann@example.org,,yes\n\
    bob,Bob,,,yes\n\
    cid,Cid,cid@example.org,maple orbit cinnamon,yes\n\
    dan,Dan,dan@example.org,,no\n\
    eve,Eve,eve@example.org,,yes\n";

async fn an_imports_provisional_users_are_invited(store: &Store) {
    let id = import(store, IMPORTED).await;
    let mail = Recorder::default();
    let ctx = operator();
    let report = invite_import(store, &ctx, &mail, PUBLIC_URL, id)
        .await
        .unwrap();
    assert_eq!(report.created, 5);
    assert_eq!(report.invited, 2);
    let skipped: Vec<(&str, SkipReason)> = report
        .skipped
        .iter()
        .map(|s| (s.username.as_str(), s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            ("bob", SkipReason::NoEmail),
            ("cid", SkipReason::PasswordSet),
            ("dan", SkipReason::Inactive),
        ]
    );
    let sent = mail.sent();
    let to: Vec<&str> = sent.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to, ["ann@example.org", "eve@example.org"]);
    let eve_token = mail.last_token("invite");
    let info = check_one_time_token(store, &ctx, &eve_token, TokenPurpose::Invitation)
        .await
        .unwrap();
    assert_eq!(info.username, "eve");
    assert_eq!(info.expires_at, NOW + 7 * 24 * HOUR_MS);

    // Again: the pending invitations are not sent twice.
    let again = invite_import(store, &ctx, &mail, PUBLIC_URL, id)
        .await
        .unwrap();
    assert_eq!(again.invited, 0);
    assert_eq!(mail.sent().len(), 2);
    assert!(again
        .skipped
        .iter()
        .any(|s| s.username == "eve" && s.reason == SkipReason::AlreadyInvited));

    // Accepted once; then eve has a password and is no longer invited.
    accept_invitation(store, &ctx, &eve_token, GOOD_PASSWORD)
        .await
        .unwrap();
    assert!(verifies(&user(store, "eve").await, GOOD_PASSWORD));
    assert!(is_spent_link(
        accept_invitation(store, &ctx, &eve_token, "another good password here").await
    ));
    let after = invite_import(store, &at(NOW + 8 * 24 * HOUR_MS), &mail, PUBLIC_URL, id)
        .await
        .unwrap();
    assert_eq!(
        after.invited, 1,
        "ann's invitation expired, so she gets a new one"
    );
    assert!(after
        .skipped
        .iter()
        .any(|s| s.username == "eve" && s.reason == SkipReason::PasswordSet));
}

async fn inviting_needs_the_credentials_permission(store: &Store) {
    let id = import(store, IMPORTED).await;
    let mail = Recorder::default();
    let reader = actor(&[Permission::UsersRead, Permission::ImportsRead]);
    let refused = invite_import(store, &reader, &mail, PUBLIC_URL, id).await;
    assert!(
        matches!(refused, Err(Error::Forbidden(Refusal::Lacks { permission, .. })) if permission == Permission::UsersCredentials),
        "{refused:?}"
    );
    let ann = user(store, "ann").await;
    let refused = invite_user(store, &reader, &mail, PUBLIC_URL, &ann.id).await;
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
    assert!(mail.sent().is_empty());

    // The operator invites one user; a user without an address cannot be.
    invite_user(store, &operator(), &mail, PUBLIC_URL, &ann.id)
        .await
        .unwrap();
    assert_eq!(mail.sent()[0].to, "ann@example.org");
    let bob = user(store, "bob").await;
    let refused = invite_user(store, &operator(), &mail, PUBLIC_URL, &bob.id).await;
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    let entries = list_audit(store, &operator(), &all_entries())
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == "user.invite" && e.target_name == "ann" && e.outcome == "done"));
}

async fn a_preview_invites_nobody(store: &Store) {
    let source = ImportSource::read("users.csv", IMPORTED.as_bytes()).unwrap();
    let options = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let report = import_file(store, &source, &options, &operator())
        .await
        .unwrap();
    let id = report.import_id.unwrap();
    let mail = Recorder::default();
    let refused = invite_import(store, &operator(), &mail, PUBLIC_URL, id).await;
    assert!(
        matches!(refused, Err(Error::Invalid(Invalid::CreatedNobody { .. }))),
        "{refused:?}"
    );
    assert!(mail.sent().is_empty());
}

async fn an_undelivered_mail_is_not_an_answer_to_a_reset_but_stops_invitations(store: &Store) {
    let id = import(store, IMPORTED).await;
    let ctx = operator();
    // "Forgot password" answers alike even when the mail cannot go out, and the links nobody
    // received do not count against the pending limit.
    for _ in 0..MAX_PENDING_RESETS {
        request_password_reset(store, &ctx, &Broken, PUBLIC_URL, "ann")
            .await
            .expect("the same answer");
    }
    let mail = Recorder::default();
    request_password_reset(store, &ctx, &mail, PUBLIC_URL, "ann")
        .await
        .unwrap();
    assert_eq!(mail.sent().len(), 1);
    // An invitation run stops with the transport's error, and keeps no link nobody received:
    // the next run invites the same users.
    let failed = invite_import(store, &ctx, &Broken, PUBLIC_URL, id).await;
    assert!(
        matches!(failed, Err(Error::Unavailable(Unavailable::Mail(_)))),
        "{failed:?}"
    );
    let mail = Recorder::default();
    let report = invite_import(store, &ctx, &mail, PUBLIC_URL, id)
        .await
        .unwrap();
    assert_eq!(report.invited, 2, "{report:?}");
}

scenarios!(
    an_undelivered_mail_is_not_an_answer_to_a_reset_but_stops_invitations,
    reset_answers_alike_and_mails_only_an_existing_account,
    a_reset_link_sets_the_password_once,
    a_reset_link_expires_after_an_hour,
    a_refused_password_leaves_the_link_usable,
    a_reset_ends_every_session_and_older_links,
    pending_resets_are_capped,
    an_imports_provisional_users_are_invited,
    inviting_needs_the_credentials_permission,
    a_preview_invites_nobody,
);
