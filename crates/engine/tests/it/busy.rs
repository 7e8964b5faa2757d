//! SQLite runs one writer at a time. A use case that waits out the busy timeout behind another
//! writer fails as unavailable, and its message names the running job when one is recorded,
//! whichever of its writes met the busy database: every public use case, single-record ones
//! included, names it, not only the first write of an import, an apply or a revert.

use muster_engine::directory::catalog::{create_role, NewRole};
use muster_engine::directory::users::{create_user, NewUser};
use muster_engine::{Error, ErrorKind};
use muster_store::{ImportJobOptions, JobKind, JobOptions, Lease, NewImport, Store};

use crate::support::{on_sqlite, operator, NOW};

/// The record of an import another instance runs, held by a live lease.
fn running_import() -> NewImport {
    NewImport {
        kind: JobKind::Import,
        actor: "cli:elsewhere".into(),
        lease: Lease {
            holder: "other-host.example:4242:1:0123456789abcdef".into(),
            until: NOW + 30_000,
            heartbeat_at: NOW,
        },
        started_at: NOW,
        file_name: "big.csv".into(),
        file_size: 10,
        sha256: "cd".repeat(32),
        format: None,
        options: JobOptions::Import(ImportJobOptions::default()),
        fixes_id: None,
        revert_of: None,
    }
}

/// Asserts that `result` is the busy error naming import `id`.
fn names_the_import<T: std::fmt::Debug>(result: Result<T, Error>, id: i64, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{what}: {error}");
    assert!(error.is_busy(), "{what}: {error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "busy: import {id} is running (started by cli:elsewhere at "
        )) && message.ends_with("try again when it ends"),
        "{what}: {message}"
    );
}

/// While a running import holds the database (its record committed first, then its write
/// transaction open), creating a user and creating a role fail as busy (they read before they
/// write, and SQLite fails such a write at once rather than waiting) and say which import
/// keeps the database busy.
async fn a_directory_write_names_the_running_import(store: &Store) {
    let id = {
        let mut conn = store.acquire().await.expect("connection");
        muster_store::insert_import(&mut conn, &running_import())
            .await
            .expect("the running record")
    };
    // The job's own write transaction: its first write takes SQLite's one write lock.
    let mut job = store.begin().await.expect("the job's transaction");
    let lease = running_import().lease;
    assert!(muster_store::renew_lease(
        &mut job,
        id,
        &lease.holder,
        NOW,
        (lease.until, lease.until)
    )
    .await
    .expect("the job writes"));
    let ctx = operator();
    let user = NewUser {
        username: "bob".into(),
        name: "Bob".into(),
        ..NewUser::default()
    };
    let role = NewRole {
        name: "Auditors".into(),
        description: None,
        permissions: vec!["audit.read".into()],
    };
    let (user, role) = tokio::join!(
        create_user(store, &ctx, user),
        create_role(store, &ctx, &role)
    );
    names_the_import(user, id, "creating a user");
    names_the_import(role, id, "creating a role");
    job.rollback().await.expect("rollback");
}

/// SQLite only: PostgreSQL runs writers side by side.
#[test]
fn a_directory_write_names_the_running_import_on_sqlite() {
    on_sqlite(|store| async move { a_directory_write_names_the_running_import(&store).await });
}
