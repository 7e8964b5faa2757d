//! The sign-in database: where it lives, its own migrations, its statements, and the reason it
//! exists: it takes writes while another connection holds the main database's write lock.

use std::time::Duration;

use muster_store::signin::{self, SessionRow, ThrottleRow, ThrottleScope};
use muster_store::{Backend, DatabaseUrl, Store};
use sqlx::Row;

use crate::scenarios;

#[test]
fn the_sqlite_signin_file_sits_beside_the_main_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = DatabaseUrl::sqlite_in(dir.path());
    let companion = main.signin_companion().expect("a SQLite store has one");
    assert_eq!(
        companion.expose(),
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("muster-signin.db").display()
        )
    );
    for (url, expected) in [
        (
            "sqlite:/srv/m/store.sqlite",
            "sqlite:/srv/m/store-signin.sqlite?mode=rwc",
        ),
        ("sqlite:data/muster", "sqlite:data/muster-signin?mode=rwc"),
        (
            "sqlite:./a.b/db?mode=ro&cache=shared",
            "sqlite:./a.b/db-signin?cache=shared&mode=rwc",
        ),
        ("sqlite:/x/.hidden", "sqlite:/x/.hidden-signin?mode=rwc"),
        ("sqlite::memory:", "sqlite::memory:"),
    ] {
        let companion = DatabaseUrl::new(url).signin_companion().expect(url);
        assert_eq!(companion.expose(), expected, "{url}");
    }
    assert!(DatabaseUrl::new("postgres://h/db")
        .signin_companion()
        .is_none());
}

#[test]
fn opening_a_sqlite_store_creates_the_signin_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::support::runtime().block_on(async {
        let store = Store::open(&DatabaseUrl::sqlite_in(dir.path()))
            .await
            .expect("open");
        store.close().await;
    });
    assert!(dir.path().join("muster-signin.db").is_file());
}

scenarios!(
    signin_migrations_are_recorded_apart,
    sessions_are_written_read_rotated_and_revoked,
    throttles_steps_and_recovery_codes,
    signin_writes_while_the_main_database_is_locked,
);

async fn signin_migrations_are_recorded_apart(store: &Store) {
    let mut conn = store.acquire_signin().await.expect("acquire");
    let versions: Vec<i64> =
        sqlx::query("SELECT version FROM signin_schema_version ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .expect("the sign-in version table")
            .iter()
            .map(|row| row.get(0))
            .collect();
    assert_eq!(versions, vec![1, 2]);
    let mut main = store.acquire().await.expect("acquire");
    let main_versions: Vec<i64> =
        sqlx::query("SELECT version FROM muster_migrations ORDER BY version")
            .fetch_all(&mut *main)
            .await
            .expect("the main version table")
            .iter()
            .map(|row| row.get(0))
            .collect();
    assert_eq!(main_versions, vec![1, 2, 3, 4, 5, 6]);
    let sessions_in_main = sqlx::query("SELECT COUNT(*) FROM sessions")
        .fetch_one(&mut *main)
        .await;
    match store.backend() {
        Backend::Sqlite => assert!(sessions_in_main.is_err(), "a file of its own"),
        Backend::Postgres => assert!(sessions_in_main.is_ok(), "the same database"),
    }
}

fn session(hash: &str, id: &str, user: &str, at: i64) -> SessionRow {
    SessionRow {
        token_hash: hash.to_owned(),
        id: id.to_owned(),
        user_id: user.to_owned(),
        stage: "full".to_owned(),
        csrf: format!("csrf-{id}"),
        created_at: at,
        last_seen_at: at,
        idle_expires_at: at + 1_000,
        expires_at: at + 10_000,
        address: "10.0.0.1".to_owned(),
        user_agent: "agent".to_owned(),
    }
}

async fn sessions_are_written_read_rotated_and_revoked(store: &Store) {
    let mut conn = store.acquire_signin().await.expect("acquire");
    for row in [
        session("h1", "s1", "u1", 100),
        session("h2", "s2", "u1", 200),
        session("h3", "s3", "u2", 300),
        session("h4", "s4", "u1", -5_000),
    ] {
        signin::insert_session(&mut conn, &row)
            .await
            .expect("insert");
    }
    let found = signin::session_by_token_hash(&mut conn, "h1")
        .await
        .expect("read");
    assert_eq!(found, Some(session("h1", "s1", "u1", 100)));
    let live: Vec<String> = signin::user_sessions(&mut conn, "u1", 150)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, vec!["s2", "s1"], "newest first, expired left out");
    assert_eq!(
        signin::delete_expired_sessions(&mut conn, "u1", 150)
            .await
            .expect("purge"),
        1
    );

    assert!(
        signin::rotate_session(&mut conn, "h1", "h1b", "mfa", "new-csrf")
            .await
            .expect("rotate")
    );
    assert!(signin::session_by_token_hash(&mut conn, "h1")
        .await
        .expect("read")
        .is_none());
    let rotated = signin::session_by_token_hash(&mut conn, "h1b")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (
            rotated.id.as_str(),
            rotated.stage.as_str(),
            rotated.csrf.as_str()
        ),
        ("s1", "mfa", "new-csrf")
    );
    assert!(!signin::rotate_session(&mut conn, "h1", "h1c", "full", "x")
        .await
        .expect("rotate"));

    signin::touch_session(&mut conn, "h1b", 500, 1_500)
        .await
        .expect("touch");
    let touched = signin::session_by_token_hash(&mut conn, "h1b")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (touched.last_seen_at, touched.idle_expires_at),
        (500, 1_500)
    );

    assert!(!signin::delete_session_by_id(&mut conn, "u2", "s1")
        .await
        .expect("not u2's"));
    assert!(signin::delete_session_by_id(&mut conn, "u1", "s2")
        .await
        .expect("revoke"));
    signin::insert_session(&mut conn, &session("h5", "s5", "u1", 600))
        .await
        .expect("insert");
    assert_eq!(
        signin::delete_user_sessions(&mut conn, "u1", Some("s1"))
            .await
            .expect("others"),
        1
    );
    assert_eq!(
        signin::delete_user_sessions(&mut conn, "u1", None)
            .await
            .expect("all"),
        1
    );
    assert!(signin::delete_session(&mut conn, "h3")
        .await
        .expect("sign out"));
    assert!(!signin::delete_session(&mut conn, "h3")
        .await
        .expect("again"));

    // Sessions past their absolute end go, a few at a time, whoever holds them.
    for i in 0..5 {
        let row = session(&format!("e{i}"), &format!("se{i}"), &format!("u{i}"), i);
        signin::insert_session(&mut conn, &row)
            .await
            .expect("insert");
    }
    let live = session("live", "sl", "u1", 50_000);
    signin::insert_session(&mut conn, &live)
        .await
        .expect("insert");
    let ended = signin::delete_ended_sessions(&mut conn, 10_003, 3).await;
    assert_eq!(ended.expect("purge"), 3);
    let ended = signin::delete_ended_sessions(&mut conn, 10_003, 3).await;
    assert_eq!(ended.expect("purge"), 1, "e4 ends at 10_004");
    for kept in ["e4", "live"] {
        let row = signin::session_by_token_hash(&mut conn, kept).await;
        assert!(row.expect("read").is_some(), "{kept}");
    }
}

async fn throttles_steps_and_recovery_codes(store: &Store) {
    let mut conn = store.acquire_signin().await.expect("acquire");
    let row = ThrottleRow {
        failures: 3,
        window_started_at: 10,
        locked_until: 0,
        lockouts: 1,
        last_failure_at: 12,
    };
    signin::put_throttle(&mut conn, ThrottleScope::Account, "id:u1", &row)
        .await
        .expect("put");
    let later = ThrottleRow { failures: 4, ..row };
    signin::put_throttle(&mut conn, ThrottleScope::Account, "id:u1", &later)
        .await
        .expect("replace");
    assert_eq!(
        signin::throttle(&mut conn, ThrottleScope::Account, "id:u1")
            .await
            .expect("read"),
        Some(later)
    );
    assert_eq!(
        signin::throttle(&mut conn, ThrottleScope::Address, "id:u1")
            .await
            .expect("read"),
        None,
        "scopes apart"
    );
    signin::clear_throttle(&mut conn, ThrottleScope::Account, "id:u1")
        .await
        .expect("clear");
    assert_eq!(
        signin::throttle(&mut conn, ThrottleScope::Account, "id:u1")
            .await
            .expect("read"),
        None
    );

    assert!(signin::claim_totp_step(&mut conn, "u1", 100)
        .await
        .expect("first"));
    assert!(!signin::claim_totp_step(&mut conn, "u1", 100)
        .await
        .expect("same step"));
    assert!(!signin::claim_totp_step(&mut conn, "u1", 99)
        .await
        .expect("earlier step"));
    assert!(signin::claim_totp_step(&mut conn, "u1", 101)
        .await
        .expect("later step"));
    assert!(signin::claim_totp_step(&mut conn, "u2", 5)
        .await
        .expect("another user"));

    let hashes: Vec<String> = (0..3).map(|i| format!("hash{i}")).collect();
    signin::replace_recovery_codes(&mut conn, "u1", &hashes, 7)
        .await
        .expect("codes");
    assert_eq!(
        signin::unused_recovery_codes(&mut conn, "u1")
            .await
            .expect("count"),
        3
    );
    assert!(signin::use_recovery_code(&mut conn, "u1", "hash1", 8)
        .await
        .expect("use"));
    assert!(!signin::use_recovery_code(&mut conn, "u1", "hash1", 9)
        .await
        .expect("used"));
    assert!(!signin::use_recovery_code(&mut conn, "u2", "hash2", 9)
        .await
        .expect("not u2's"));
    assert_eq!(
        signin::unused_recovery_codes(&mut conn, "u1")
            .await
            .expect("count"),
        2
    );
    signin::forget_second_factor(&mut conn, "u1")
        .await
        .expect("forget");
    assert_eq!(
        signin::unused_recovery_codes(&mut conn, "u1")
            .await
            .expect("count"),
        0
    );
    assert!(signin::claim_totp_step(&mut conn, "u1", 1)
        .await
        .expect("forgotten steps"));

    signin::record_sign_in(&mut conn, "u1", 40, "a")
        .await
        .expect("record");
    signin::record_sign_in(&mut conn, "u1", 50, "b")
        .await
        .expect("record");
    assert_eq!(
        signin::last_sign_in(&mut conn, "u1").await.expect("read"),
        Some(50)
    );
    assert_eq!(
        signin::last_sign_in(&mut conn, "u9").await.expect("read"),
        None
    );
}

async fn signin_writes_while_the_main_database_is_locked(store: &Store) {
    let mut import = store.begin_writing().await.expect("begin");
    sqlx::query(
        "INSERT INTO departments (name_key, name, description, created_at, updated_at, id) \
         VALUES ('held', 'Held', '', 0, 0, 'held-department')",
    )
    .execute(&mut *import)
    .await
    .expect("writing inside the held transaction");
    if store.backend() == Backend::Sqlite {
        let mut other = store.acquire_without_waiting().await.expect("acquire");
        let blocked = sqlx::query(
            "INSERT INTO departments (name_key, name, description, created_at, updated_at, id) \
             VALUES ('other', 'Other', '', 0, 0, 'other-department')",
        )
        .execute(&mut *other)
        .await;
        assert!(blocked.is_err(), "the main database must be locked");
    }
    let write = async {
        let mut tx = store
            .begin_signin()
            .await
            .expect("begin on the sign-in database");
        signin::insert_session(&mut tx, &session("h", "s", "u", 1))
            .await
            .expect("insert");
        signin::record_sign_in(&mut tx, "u", 1, "a")
            .await
            .expect("record");
        tx.commit().await.expect("commit");
        let mut conn = store.acquire_signin().await.expect("acquire");
        signin::touch_session(&mut conn, "h", 2, 3)
            .await
            .expect("touch");
    };
    tokio::time::timeout(Duration::from_secs(3), write)
        .await
        .expect("sign-in writes must not wait for the main database");
    import.rollback().await.expect("rollback");
}
