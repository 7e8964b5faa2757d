//! Signing in and sessions (`muster_engine::account`): the bootstrap administrator, sign-in by
//! username and e-mail, one refusal for every failure, throttling, expiry and rotation, the
//! forced password change, the TOTP second factor with recovery codes, the directory's changes
//! that end sessions, and a sign-in while another connection holds the main database's write
//! lock. The clock is the context's, moved by each test; TOTP codes are computed with totp-rs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use muster_credentials::PlainPassword;
use muster_domain::Permission;
use muster_engine::account::{
    begin_mfa_enrolment, bootstrap_admin, change_own_password, confirm_mfa_enrolment,
    list_own_sessions, resolve_session, revoke_other_sessions, revoke_own_session,
    revoke_user_sessions, session_actor, sign_in, sign_in_info, sign_out, verify_mfa,
    AccountPolicy, ClientInfo, Session, SessionStage, SessionToken,
};
use muster_engine::directory::users::{
    create_user, deactivate_user, delete_user, find_user, reset_mfa, set_password, NewUser,
    UserPatch, UserView,
};
use muster_engine::directory::Expected;
use muster_engine::{
    list_audit, AuditQuery, Conflict, Context, Error, ErrorKind, Refusal, Source, Unavailable,
};
use muster_store::Store;

use crate::scenarios;
use crate::support::{operator, NOW};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a quite different passphrase";
const MINUTE: i64 = 60_000;

/// The operator's context with a clock the test moves.
struct Clocked {
    ctx: Context,
    clock: Arc<AtomicI64>,
}

impl Clocked {
    fn new() -> Clocked {
        let clock = Arc::new(AtomicI64::new(NOW));
        let mut ctx = operator();
        let read = Arc::clone(&clock);
        ctx.now = Box::new(move || read.load(Ordering::SeqCst));
        Clocked { ctx, clock }
    }

    fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }
}

fn client(address: &str) -> ClientInfo {
    ClientInfo {
        address: address.to_owned(),
        user_agent: "test-agent/1".to_owned(),
    }
}

async fn add_user(store: &Store, username: &str, email: Option<&str>, roles: &[&str]) -> UserView {
    let new = NewUser {
        username: username.into(),
        name: format!("Name of {username}"),
        email: email.map(str::to_owned),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        password: Some(PlainPassword::new(PASSWORD.to_owned())),
        ..NewUser::default()
    };
    create_user(store, &operator(), new)
        .await
        .unwrap_or_else(|e| panic!("creating {username}: {e}"))
}

async fn fresh(store: &Store, username: &str) -> UserView {
    find_user(store, &operator(), username)
        .await
        .unwrap_or_else(|e| panic!("reading {username}: {e}"))
}

async fn signed_in(
    store: &Store,
    c: &Clocked,
    policy: &AccountPolicy,
    identifier: &str,
    password: &str,
) -> (SessionToken, Session) {
    sign_in(
        store,
        &c.ctx,
        policy,
        identifier,
        password,
        client("10.0.0.1"),
    )
    .await
    .unwrap_or_else(|e| panic!("signing in as {identifier}: {e}"))
}

async fn resolves(store: &Store, c: &Clocked, token: &SessionToken) -> Option<Session> {
    resolve_session(store, &c.ctx, &AccountPolicy::default(), token.expose())
        .await
        .expect("resolving a session")
}

fn refusal(result: Result<impl std::fmt::Debug, Error>) -> Refusal {
    match result {
        Err(Error::Forbidden(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn throttled(result: Result<impl std::fmt::Debug, Error>) -> u64 {
    match result {
        Err(Error::Unavailable(Unavailable::Throttled { retry_after_s })) => retry_after_s,
        other => panic!("expected a throttle, got {other:?}"),
    }
}

async fn audit_actions(store: &Store, action: &str) -> Vec<muster_engine::AuditRecord> {
    let query = AuditQuery {
        action: Some(action.into()),
        limit: 100,
        ..AuditQuery::default()
    };
    list_audit(store, &operator(), &query)
        .await
        .expect("reading the audit log")
}

scenarios!(
    bootstrap_creates_admin_once_and_forces_a_password_change,
    signs_in_by_username_and_by_email,
    unknown_wrong_and_inactive_get_one_refusal,
    a_provisional_password_is_refused_with_its_reason,
    a_legacy_bcrypt_hash_verifies_and_is_rehashed,
    a_busy_database_postpones_the_rehash_not_the_sign_in,
    sessions_expire_when_idle_and_at_their_absolute_end,
    a_stage_advance_rotates_the_token,
    signing_out_and_revoking_sessions,
    directory_changes_end_the_users_sessions,
    signs_in_while_another_connection_holds_the_main_write_lock,
    failures_throttle_the_account_until_the_lock_ends,
    unknown_identifiers_are_throttled_too,
    failures_from_one_address_throttle_it,
    mfa_enrolment_codes_and_recovery_codes,
    required_mfa_sends_a_new_user_to_enrolment,
);

async fn bootstrap_creates_admin_once_and_forces_a_password_change(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    let password = bootstrap_admin(store, &c.ctx, None)
        .await
        .expect("bootstrapping")
        .expect("an empty store gets an administrator");
    assert!(password.len() >= 20, "{password}");
    assert_eq!(
        bootstrap_admin(store, &c.ctx, None)
            .await
            .expect("bootstrapping again"),
        None,
        "a store with an administrator gets no second one"
    );
    assert_eq!(audit_actions(store, "user.create").await.len(), 1);

    let (token, session) = signed_in(store, &c, &policy, "admin", &password).await;
    assert_eq!(session.stage, SessionStage::ChangePassword);
    assert_eq!(session.username, "admin");
    let early = session_actor(store, &session, Source::Console).await;
    assert_eq!(
        refusal(early),
        Refusal::SessionStage {
            stage: SessionStage::ChangePassword
        }
    );
    let wrong = change_own_password(
        store,
        &c.ctx,
        &policy,
        token.expose(),
        "not the password",
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(refusal(wrong), Refusal::CurrentPasswordWrong);
    let weak = change_own_password(store, &c.ctx, &policy, token.expose(), &password, "short")
        .await
        .expect_err("a weak password is refused");
    assert_eq!(weak.kind(), ErrorKind::Invalid);
    let same = change_own_password(store, &c.ctx, &policy, token.expose(), &password, &password)
        .await
        .expect_err("keeping the one-time password is refused");
    assert_eq!(same.kind(), ErrorKind::Invalid);

    let (new_token, full) = change_own_password(
        store,
        &c.ctx,
        &policy,
        token.expose(),
        &password,
        NEW_PASSWORD,
    )
    .await
    .expect("changing the password");
    assert_eq!(full.stage, SessionStage::Full);
    assert_eq!(full.id, session.id, "the same session, rotated");
    let actor = session_actor(store, &full, Source::Console)
        .await
        .expect("a full session acts");
    assert!(actor.holds(Permission::UsersCredentials));
    assert_eq!(actor.user_id(), Some(full.user_id.as_str()));
    assert!(resolves(store, &c, &new_token).await.is_some());

    let entries = audit_actions(store, "user.password").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "admin");
    assert_eq!(entries[0].changes[0].after.as_deref(), Some("set"));
    assert!(!format!("{entries:?}").contains(NEW_PASSWORD));

    let (_, again) = signed_in(store, &c, &policy, "admin", NEW_PASSWORD).await;
    assert_eq!(again.stage, SessionStage::Full, "the change is remembered");
    assert_eq!(
        refusal(sign_in(store, &c.ctx, &policy, "admin", &password, client("")).await),
        Refusal::SignInFailed,
        "the one-time password is gone"
    );
}

async fn signs_in_by_username_and_by_email(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    let ann = add_user(store, "Ann", Some("Ann@Example.org"), &[]).await;
    let (token, session) = signed_in(store, &c, &policy, "ann", PASSWORD).await;
    assert_eq!(session.stage, SessionStage::Full);
    assert_eq!(session.user_id, ann.id);
    assert_eq!(session.username, "Ann");
    assert_eq!(session.client, client("10.0.0.1"));
    assert_eq!(session.expires_at, NOW + policy.absolute_ms);
    assert_eq!(session.idle_expires_at, NOW + policy.idle_ms);
    assert!(!session.csrf.is_empty());
    assert_eq!(token.expose().len(), 43, "32 bytes, base64url");
    assert_eq!(format!("{token:?}"), "SessionToken(…)");
    let resolved = resolves(store, &c, &token)
        .await
        .expect("the token resolves");
    assert_eq!(resolved, session);

    let (_, by_email) = signed_in(store, &c, &policy, " ann@example.ORG ", PASSWORD).await;
    assert_eq!(by_email.user_id, ann.id);
    assert_ne!(by_email.id, session.id, "a second session");
    let info = sign_in_info(store, &ann.id).await.expect("sign-in info");
    assert_eq!(info.last_sign_in_at, Some(NOW));
    assert!(!info.mfa_enrolled);
    let actor = session_actor(store, &session, Source::Api)
        .await
        .expect("the actor");
    assert_eq!(actor.source, Source::Api);
    assert!(!actor.holds(Permission::UsersRead), "Ann has no roles");
}

async fn unknown_wrong_and_inactive_get_one_refusal(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    let bob = add_user(store, "bob", Some("bob@example.org"), &[]).await;
    add_user(store, "cy", None, &[]).await;
    deactivate_user(store, &operator(), &bob.id, Expected(bob.version))
        .await
        .expect("deactivating bob");
    for (identifier, password) in [
        ("nobody", PASSWORD),
        ("nobody@example.org", PASSWORD),
        ("cy", "wrong password entirely"),
        ("bob", PASSWORD),
        ("bob@example.org", PASSWORD),
        ("", ""),
    ] {
        let result = sign_in(store, &c.ctx, &policy, identifier, password, client("")).await;
        let refused = refusal(result);
        assert_eq!(refused, Refusal::SignInFailed, "{identifier}");
        assert_eq!(
            refused.to_string(),
            "the username, e-mail address or password is wrong"
        );
    }
}

async fn a_provisional_password_is_refused_with_its_reason(store: &Store) {
    let c = Clocked::new();
    let new = NewUser {
        username: "dora".into(),
        name: "Dora".into(),
        ..NewUser::default()
    };
    create_user(store, &operator(), new).await.expect("dora");
    let result = sign_in(
        store,
        &c.ctx,
        &AccountPolicy::default(),
        "dora",
        "!provisional",
        client(""),
    )
    .await;
    assert_eq!(refusal(result), Refusal::ProvisionalPassword);
}

/// Gives the user a bcrypt hash of `PASSWORD`, as an import from another system would, and
/// returns the user as stored then.
async fn with_legacy_hash(store: &Store, id: &str) -> muster_store::StoredUser {
    let legacy = bcrypt::hash(PASSWORD, 4).expect("a bcrypt hash");
    let mut conn = store.acquire().await.expect("acquire");
    let mut stored = muster_store::directory_users::user_by_id(&mut conn, id)
        .await
        .expect("read")
        .expect("the user");
    stored.record.password_hash = legacy;
    muster_store::directory_users::update_user(&mut conn, &stored.record, stored.version)
        .await
        .expect("writing the legacy hash");
    stored
}

async fn stored_hash(store: &Store, id: &str) -> String {
    let mut conn = store.acquire().await.expect("acquire");
    muster_store::directory_users::user_by_id(&mut conn, id)
        .await
        .expect("read")
        .expect("the user")
        .record
        .password_hash
}

async fn a_busy_database_postpones_the_rehash_not_the_sign_in(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    let uma = add_user(store, "uma", None, &[]).await;
    with_legacy_hash(store, &uma.id).await;
    // Another transaction holds the user's row (and on SQLite the whole database).
    let mut import = store.begin_writing().await.expect("begin");
    sqlx::query("UPDATE users SET updated_at = updated_at + 1 WHERE username_key = 'uma'")
        .execute(&mut *import)
        .await
        .expect("locking the row");
    let started = std::time::Instant::now();
    signed_in(store, &c, &policy, "uma", PASSWORD).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the re-hash must not wait for the lock"
    );
    assert!(
        stored_hash(store, &uma.id).await.starts_with("$2b$"),
        "postponed"
    );
    import.rollback().await.expect("rollback");
    signed_in(store, &c, &policy, "uma", PASSWORD).await;
    assert!(
        stored_hash(store, &uma.id).await.starts_with("$argon2id$"),
        "done at the next sign-in"
    );
}

async fn a_legacy_bcrypt_hash_verifies_and_is_rehashed(store: &Store) {
    let c = Clocked::new();
    let eve = add_user(store, "eve", None, &[]).await;
    let stored = with_legacy_hash(store, &eve.id).await;

    let (_, session) = signed_in(store, &c, &AccountPolicy::default(), "eve", PASSWORD).await;
    assert_eq!(session.stage, SessionStage::Full);
    let mut conn = store.acquire().await.expect("acquire");
    let after = muster_store::directory_users::user_by_id(&mut conn, &eve.id)
        .await
        .expect("read")
        .expect("eve");
    assert!(
        after
            .record
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        after.record.password_hash
    );
    assert_eq!(
        after.version,
        stored.version + 1,
        "the re-hash keeps the version"
    );
    drop(conn);
    signed_in(store, &c, &AccountPolicy::default(), "eve", PASSWORD).await;
}

async fn sessions_expire_when_idle_and_at_their_absolute_end(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    add_user(store, "fay", None, &[]).await;
    let (idle, _) = signed_in(store, &c, &policy, "fay", PASSWORD).await;
    let (used, _) = signed_in(store, &c, &policy, "fay", PASSWORD).await;

    // Used every 20 minutes, the second session outlives the first one's idle limit.
    for _ in 0..2 {
        c.advance(20 * MINUTE);
        let seen = resolves(store, &c, &used).await.expect("in use");
        assert_eq!(seen.last_seen_at, c.now());
        assert_eq!(seen.idle_expires_at, c.now() + policy.idle_ms);
    }
    assert!(
        resolves(store, &c, &idle).await.is_none(),
        "idle for 40 minutes"
    );
    // A use within a minute of the last one writes nothing.
    c.advance(30_000);
    let seen = resolves(store, &c, &used).await.expect("in use");
    assert_eq!(seen.last_seen_at, c.now() - 30_000);

    // Kept alive until its absolute end, and not a moment longer.
    let end = NOW + policy.absolute_ms;
    while c.now() + 20 * MINUTE < end {
        c.advance(20 * MINUTE);
        assert!(resolves(store, &c, &used).await.is_some());
    }
    c.clock.store(end, Ordering::SeqCst);
    assert!(resolves(store, &c, &used).await.is_none(), "past its end");
    assert!(resolves(
        store,
        &c,
        &SessionToken::parse(&"A".repeat(43)).expect("form")
    )
    .await
    .is_none());
    assert!(SessionToken::parse("not a token").is_none());
}

async fn a_stage_advance_rotates_the_token(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    add_user(store, "gus", None, &[]).await;
    let (token, session) = signed_in(store, &c, &policy, "gus", PASSWORD).await;
    let (rotated, after) = change_own_password(
        store,
        &c.ctx,
        &policy,
        token.expose(),
        PASSWORD,
        NEW_PASSWORD,
    )
    .await
    .expect("changing the password");
    assert_ne!(rotated, token);
    assert_ne!(
        after.csrf, session.csrf,
        "a new CSRF token with the new token"
    );
    assert!(
        resolves(store, &c, &token).await.is_none(),
        "the old token is gone"
    );
    assert_eq!(
        resolves(store, &c, &rotated).await.map(|s| s.id),
        Some(session.id)
    );
}

async fn signing_out_and_revoking_sessions(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    add_user(store, "hal", None, &[]).await;
    add_user(store, "ivy", None, &[]).await;
    let (first, _) = signed_in(store, &c, &policy, "hal", PASSWORD).await;
    let (second, second_session) = signed_in(store, &c, &policy, "hal", PASSWORD).await;
    let (third, _) = signed_in(store, &c, &policy, "hal", PASSWORD).await;
    let (ivys, ivy_session) = signed_in(store, &c, &policy, "ivy", PASSWORD).await;

    let listed = list_own_sessions(store, &c.ctx, first.expose())
        .await
        .expect("listing");
    assert_eq!(listed.len(), 3);
    let other_user = revoke_own_session(store, &c.ctx, first.expose(), &ivy_session.id).await;
    assert_eq!(
        other_user.expect_err("not hal's").kind(),
        ErrorKind::NotFound
    );
    revoke_own_session(store, &c.ctx, first.expose(), &second_session.id)
        .await
        .expect("revoking one");
    assert!(resolves(store, &c, &second).await.is_none());
    assert_eq!(
        revoke_other_sessions(store, &c.ctx, first.expose())
            .await
            .expect("revoking the others"),
        1
    );
    assert!(resolves(store, &c, &third).await.is_none());
    assert!(resolves(store, &c, &first).await.is_some());
    sign_out(store, first.expose()).await.expect("signing out");
    assert!(resolves(store, &c, &first).await.is_none());
    sign_out(store, first.expose())
        .await
        .expect("twice is fine");
    assert_eq!(
        refusal(list_own_sessions(store, &c.ctx, first.expose()).await),
        Refusal::NotSignedIn
    );
    assert!(
        resolves(store, &c, &ivys).await.is_some(),
        "ivy is untouched"
    );
}

/// The user's session rows in the sign-in database, expired or not.
async fn stored_sessions(store: &Store, user_id: &str) -> usize {
    let mut conn = store.acquire_signin().await.expect("acquire");
    muster_store::signin::user_sessions(&mut conn, user_id, i64::MIN)
        .await
        .expect("listing")
        .len()
}

async fn directory_changes_end_the_users_sessions(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    let jo = add_user(store, "jo", None, &[]).await;
    let kim = add_user(store, "kim", None, &[]).await;
    let lee = add_user(store, "lee", None, &[]).await;
    let (jos, _) = signed_in(store, &c, &policy, "jo", PASSWORD).await;
    let (kims, _) = signed_in(store, &c, &policy, "kim", PASSWORD).await;
    let (lees, _) = signed_in(store, &c, &policy, "lee", PASSWORD).await;
    let (lees_other, _) = signed_in(store, &c, &policy, "lee", PASSWORD).await;

    let password = PlainPassword::new(NEW_PASSWORD.to_owned());
    set_password(
        store,
        &operator(),
        &jo.id,
        Expected(jo.version),
        Some(password),
    )
    .await
    .expect("setting jo's password");
    assert!(resolves(store, &c, &jos).await.is_none(), "set_password");
    deactivate_user(store, &operator(), &kim.id, Expected(kim.version))
        .await
        .expect("deactivating kim");
    // Gone from the sign-in database, not merely refused when resolved.
    assert_eq!(stored_sessions(store, &kim.id).await, 0, "deactivate_user");
    assert!(resolves(store, &c, &kims).await.is_none());
    delete_user(store, &operator(), &lee.id, Expected(lee.version))
        .await
        .expect("deleting lee");
    assert_eq!(stored_sessions(store, &lee.id).await, 0, "delete_user");
    assert!(resolves(store, &c, &lees).await.is_none());
    assert!(resolves(store, &c, &lees_other).await.is_none());

    // Deactivating through an update ends them too, and so does the explicit revoke.
    let (jos, _) = signed_in(store, &c, &policy, "jo", NEW_PASSWORD).await;
    let jo_now = fresh(store, "jo").await;
    let patch = UserPatch {
        active: Some(false),
        ..UserPatch::default()
    };
    muster_engine::directory::users::update_user(
        store,
        &operator(),
        &jo_now.id,
        Expected(jo_now.version),
        patch,
    )
    .await
    .expect("deactivating jo by update");
    assert_eq!(stored_sessions(store, &jo.id).await, 0, "update_user");
    assert!(resolves(store, &c, &jos).await.is_none());
    add_user(store, "max", None, &[]).await;
    let (maxs, max_session) = signed_in(store, &c, &policy, "max", PASSWORD).await;
    assert_eq!(
        revoke_user_sessions(store, &max_session.user_id)
            .await
            .expect("revoking"),
        1
    );
    assert!(resolves(store, &c, &maxs).await.is_none());
}

async fn signs_in_while_another_connection_holds_the_main_write_lock(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    add_user(store, "ned", None, &[]).await;

    // An import's transaction: the write lock taken and a row written, not committed.
    let mut import = store.begin_writing().await.expect("begin");
    sqlx::query(
        "INSERT INTO departments (name_key, name, description, created_at, updated_at, id) \
         VALUES ('held', 'Held', '', 0, 0, 'held-department')",
    )
    .execute(&mut *import)
    .await
    .expect("writing inside the held transaction");
    if store.backend() == muster_store::Backend::Sqlite {
        // The lock is real: a writer that does not wait is refused at once.
        let mut other = store.acquire_without_waiting().await.expect("acquire");
        let blocked = sqlx::query("UPDATE users SET updated_at = updated_at + 1")
            .execute(&mut *other)
            .await;
        assert!(blocked.is_err(), "the main database must be locked");
    }

    let started = std::time::Instant::now();
    let (fresh_token, _) = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        sign_in(store, &c.ctx, &policy, "ned", PASSWORD, client("10.0.0.2")),
    )
    .await
    .expect("the sign-in must not wait for the main database")
    .expect("signing in during the import");
    c.advance(2 * MINUTE);
    assert!(
        resolves(store, &c, &fresh_token).await.is_some(),
        "touched during the import"
    );
    let wrong = sign_in(
        store,
        &c.ctx,
        &policy,
        "ned",
        "wrong password here",
        client("10.0.0.2"),
    );
    assert_eq!(
        refusal(wrong.await),
        Refusal::SignInFailed,
        "a failure is counted too"
    );
    sign_out(store, fresh_token.expose())
        .await
        .expect("signing out");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    import.rollback().await.expect("rollback");
}

async fn failures_throttle_the_account_until_the_lock_ends(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    add_user(store, "oli", Some("oli@example.org"), &[]).await;
    // Failures by username and by e-mail count against the same account, from any address.
    for (i, identifier) in ["oli", "oli@example.org", "OLI", "oli", "oli@example.org"]
        .into_iter()
        .enumerate()
    {
        let from = client(&format!("10.1.0.{i}"));
        let result = sign_in(store, &c.ctx, &policy, identifier, "wrong password!", from).await;
        assert_eq!(refusal(result), Refusal::SignInFailed, "failure {}", i + 1);
        c.advance(1000);
    }
    let locked = sign_in(store, &c.ctx, &policy, "oli", PASSWORD, client("10.9.9.9")).await;
    assert_eq!(
        throttled(locked),
        15 * 60 - 1,
        "even the right password waits"
    );
    c.advance(15 * MINUTE - 2000);
    let still = sign_in(store, &c.ctx, &policy, "oli", PASSWORD, client("10.9.9.9")).await;
    assert_eq!(throttled(still), 1);
    c.advance(1000);
    signed_in(store, &c, &policy, "oli", PASSWORD).await;

    // A success forgets the count: four more failures do not lock.
    for _ in 0..4 {
        let result = sign_in(store, &c.ctx, &policy, "oli", "wrong password!", client("")).await;
        assert_eq!(refusal(result), Refusal::SignInFailed);
    }
    signed_in(store, &c, &policy, "oli", PASSWORD).await;

    // Without a success in between, a second lockout lasts twice as long.
    for _ in 0..5 {
        let _ = sign_in(store, &c.ctx, &policy, "oli", "wrong password!", client("")).await;
    }
    let locked = sign_in(store, &c.ctx, &policy, "oli", PASSWORD, client("")).await;
    assert_eq!(throttled(locked), 15 * 60);
    c.advance(15 * MINUTE);
    for _ in 0..5 {
        let _ = sign_in(store, &c.ctx, &policy, "oli", "wrong password!", client("")).await;
    }
    let locked = sign_in(store, &c.ctx, &policy, "oli", PASSWORD, client("")).await;
    assert_eq!(throttled(locked), 30 * 60);
}

async fn unknown_identifiers_are_throttled_too(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    for _ in 0..5 {
        let result = sign_in(store, &c.ctx, &policy, "ghost", PASSWORD, client("")).await;
        assert_eq!(refusal(result), Refusal::SignInFailed);
    }
    let locked = sign_in(store, &c.ctx, &policy, "Ghost", PASSWORD, client("")).await;
    assert_eq!(
        throttled(locked),
        15 * 60,
        "an unknown name locks as an account does"
    );
    let other = sign_in(store, &c.ctx, &policy, "phantom", PASSWORD, client("")).await;
    assert_eq!(
        refusal(other),
        Refusal::SignInFailed,
        "other names are not locked"
    );
}

async fn failures_from_one_address_throttle_it(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    add_user(store, "pia", None, &[]).await;
    // Twenty names, one failure each: no account reaches its limit, the address does.
    for i in 0..20 {
        let name = format!("guess{i}");
        let result = sign_in(store, &c.ctx, &policy, &name, PASSWORD, client("192.0.2.7")).await;
        assert_eq!(refusal(result), Refusal::SignInFailed, "failure {}", i + 1);
        c.advance(1000);
    }
    let from_there = sign_in(store, &c.ctx, &policy, "pia", PASSWORD, client("192.0.2.7")).await;
    assert_eq!(
        throttled(from_there),
        15 * 60 - 1,
        "locked at the twentieth, a second ago"
    );
    signed_in(store, &c, &policy, "pia", PASSWORD).await;
    c.advance(15 * MINUTE);
    sign_in(store, &c.ctx, &policy, "pia", PASSWORD, client("192.0.2.7"))
        .await
        .expect("the address recovers after its lock");
}

/// The TOTP code of `secret` (base32) at `at` (unix milliseconds), as an authenticator shows it.
fn totp_code(secret: &str, at: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        String::new(),
    );
    totp.generate(u64::try_from(at / 1000).expect("a positive time"))
}

async fn mfa_enrolment_codes_and_recovery_codes(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy::default();
    let quin = add_user(store, "quin", None, &[]).await;
    let (token, session) = signed_in(store, &c, &policy, "quin", PASSWORD).await;
    assert_eq!(
        session.stage,
        SessionStage::Full,
        "MFA is optional by default"
    );
    let enrolment = begin_mfa_enrolment(store, &c.ctx, token.expose())
        .await
        .expect("beginning an enrolment");
    assert_eq!(enrolment.secret_base32.len(), 32, "20 bytes in base32");
    assert!(enrolment
        .otpauth_uri
        .starts_with("otpauth://totp/muster:quin?secret="));
    assert!(enrolment.qr_svg.contains("<svg"));
    assert!(!format!("{enrolment:?}").contains(&enrolment.secret_base32));

    let wrong = confirm_mfa_enrolment(
        store,
        &c.ctx,
        &policy,
        token.expose(),
        &enrolment.secret_base32,
        "000000",
    )
    .await;
    if totp_code(&enrolment.secret_base32, c.now()) != "000000" {
        assert_eq!(refusal(wrong), Refusal::SecondFactorFailed);
    }
    let code = totp_code(&enrolment.secret_base32, c.now());
    let (token, full, recovery) = confirm_mfa_enrolment(
        store,
        &c.ctx,
        &policy,
        token.expose(),
        &enrolment.secret_base32,
        &code,
    )
    .await
    .expect("confirming the enrolment");
    assert_eq!(full.stage, SessionStage::Full);
    assert_eq!(recovery.len(), 10);
    assert!(recovery.iter().all(|r| r.len() == 19), "{recovery:?}");
    assert!(fresh(store, "quin").await.mfa_enrolled);
    assert!(
        sign_in_info(store, &quin.id)
            .await
            .expect("info")
            .mfa_enrolled
    );
    assert_eq!(audit_actions(store, "user.mfa_enrol").await.len(), 1);
    let again = begin_mfa_enrolment(store, &c.ctx, token.expose()).await;
    assert!(matches!(again, Err(Error::Conflict(Conflict::MfaEnrolled))));

    // The next sign-in asks for a code; the code used at enrolment is spent.
    let (pending, at_mfa) = signed_in(store, &c, &policy, "quin", PASSWORD).await;
    assert_eq!(at_mfa.stage, SessionStage::Mfa);
    assert_eq!(
        refusal(session_actor(store, &at_mfa, Source::Console).await),
        Refusal::SessionStage {
            stage: SessionStage::Mfa
        }
    );
    let replay = verify_mfa(store, &c.ctx, &policy, pending.expose(), &code).await;
    assert_eq!(refusal(replay), Refusal::SecondFactorFailed);
    c.advance(30_000);
    let code = totp_code(&enrolment.secret_base32, c.now());
    let (verified, done) = verify_mfa(store, &c.ctx, &policy, pending.expose(), &code)
        .await
        .expect("a fresh code");
    assert_eq!(done.stage, SessionStage::Full);
    assert!(resolves(store, &c, &pending).await.is_none(), "rotated");
    assert!(resolves(store, &c, &verified).await.is_some());

    // The same code on another session within its window is refused.
    let (second, _) = signed_in(store, &c, &policy, "quin", PASSWORD).await;
    let replay = verify_mfa(store, &c.ctx, &policy, second.expose(), &code).await;
    assert_eq!(refusal(replay), Refusal::SecondFactorFailed);

    // A recovery code works once, however it is typed.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    verify_mfa(store, &c.ctx, &policy, second.expose(), &typed)
        .await
        .expect("a recovery code");
    let (third, _) = signed_in(store, &c, &policy, "quin", PASSWORD).await;
    let reused = verify_mfa(store, &c.ctx, &policy, third.expose(), &recovery[3]).await;
    assert_eq!(refusal(reused), Refusal::SecondFactorFailed);
    verify_mfa(store, &c.ctx, &policy, third.expose(), &recovery[4])
        .await
        .expect("another recovery code");

    // Wrong codes count against the account's throttle.
    let (fourth, _) = signed_in(store, &c, &policy, "quin", PASSWORD).await;
    for _ in 0..5 {
        let guess = verify_mfa(
            store,
            &c.ctx,
            &policy,
            fourth.expose(),
            "abcd-efgh-jkmn-pqrs",
        );
        assert_eq!(refusal(guess.await), Refusal::SecondFactorFailed);
    }
    c.advance(30_000);
    let code = totp_code(&enrolment.secret_base32, c.now());
    let locked = verify_mfa(store, &c.ctx, &policy, fourth.expose(), &code).await;
    assert!(throttled(locked) > 0);

    // Resetting MFA ends the sessions; the next sign-in is full again.
    let quin = fresh(store, "quin").await;
    reset_mfa(store, &operator(), &quin.id, Expected(quin.version))
        .await
        .expect("resetting MFA");
    assert!(resolves(store, &c, &verified).await.is_none());
    c.advance(16 * MINUTE);
    let (_, after_reset) = signed_in(store, &c, &policy, "quin", PASSWORD).await;
    assert_eq!(after_reset.stage, SessionStage::Full);
}

async fn required_mfa_sends_a_new_user_to_enrolment(store: &Store) {
    let c = Clocked::new();
    let policy = AccountPolicy {
        mfa_required: true,
        ..AccountPolicy::default()
    };
    add_user(store, "rae", None, &[]).await;
    let exempt = NewUser {
        username: "sol".into(),
        name: "Sol".into(),
        ignore_mfa: true,
        password: Some(PlainPassword::new(PASSWORD.to_owned())),
        ..NewUser::default()
    };
    create_user(store, &operator(), exempt).await.expect("sol");
    let (_, sol) = signed_in(store, &c, &policy, "sol", PASSWORD).await;
    assert_eq!(sol.stage, SessionStage::Full, "ignore_mfa");

    let (token, rae) = signed_in(store, &c, &policy, "rae", PASSWORD).await;
    assert_eq!(rae.stage, SessionStage::EnrolMfa);
    let early = list_own_sessions(store, &c.ctx, token.expose()).await;
    assert_eq!(
        refusal(early),
        Refusal::SessionStage {
            stage: SessionStage::EnrolMfa
        }
    );
    let enrolment = begin_mfa_enrolment(store, &c.ctx, token.expose())
        .await
        .expect("enrolling");
    let code = totp_code(&enrolment.secret_base32, c.now());
    let (_, full, _) = confirm_mfa_enrolment(
        store,
        &c.ctx,
        &policy,
        token.expose(),
        &enrolment.secret_base32,
        &code,
    )
    .await
    .expect("confirming");
    assert_eq!(full.stage, SessionStage::Full);
    assert!(resolves(store, &c, &token).await.is_none(), "rotated");
}
