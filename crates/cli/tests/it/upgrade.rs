//! A store written by the previous release (migrations 1 and 2, before stable identities)
//! upgrades in place when the current binary opens it: its data, its history and its revertible
//! imports stay intact, a preview it stored still applies, and its imports revert by the
//! journals the old code wrote. The stores in `tests/fixtures/store-v2` were written by that
//! release (see `make.sh` there).

use std::path::Path;

use crate::support::{both, Store};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/store-v2")
        .join(name)
}

/// Puts the previous release's store where `store` points.
fn load_previous_release(store: &Store) {
    match store.url() {
        None => {
            std::fs::create_dir_all(store.data_dir()).expect("data dir");
            std::fs::copy(fixture("muster.db"), store.data_dir().join("muster.db"))
                .expect("copying the old store");
        }
        Some(url) => {
            let out = std::process::Command::new("psql")
                .args(["-q", "-v", "ON_ERROR_STOP=1", url, "-f"])
                .arg(fixture("postgres.sql"))
                .output()
                .expect("running psql to load the old store");
            assert!(
                out.status.success(),
                "psql: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn status_of(store: &Store, id: &str) -> String {
    store.import_entry(id)["status"]
        .as_str()
        .expect("a status")
        .to_owned()
}

fn an_old_store_upgrades_with_its_history_revertible(store: &Store) {
    load_previous_release(store);
    let history = store.imports();
    assert_eq!(history.len(), 6, "{history:#?}");
    assert_eq!(status_of(store, "5"), "applied");
    assert_eq!(status_of(store, "6"), "dry_run");

    let users = store.table("users", &[]);
    assert_eq!(users.keys(), ["Bob", "alice", "carol", "dave"]);
    assert_eq!(users.get("alice", "Name"), "Alice Martin-Durand");
    assert_eq!(users.get("alice", "Roles"), "administrator, viewer");
    assert_eq!(users.get("Bob", "User group"), "emea");

    // The preview stored by the old release applies, with ids given to what it writes.
    let applied = store.run(&["imports", "apply", "6"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    let users = store.table("users", &[]);
    assert_eq!(users.get("carol", "Name"), "Carol Silva-Preview");
    assert_eq!(users.get("carol", "Department"), "R&D");

    // The old journals revert: the update import gives alice and Bob back their memberships
    // and removes the user it created; the applied preview gives carol back.
    for id in ["5", "6"] {
        let reverted = store.run(&["imports", "revert", id]);
        assert_eq!(reverted.code, 0, "{}\n{}", reverted.stdout, reverted.stderr);
        assert_eq!(status_of(store, id), "reverted");
    }
    let users = store.table("users", &[]);
    assert_eq!(users.keys(), ["Bob", "alice", "carol"]);
    assert_eq!(users.get("alice", "Name"), "Alice Martin");
    assert_eq!(users.get("alice", "Roles"), "administrator");
    assert_eq!(users.get("Bob", "Roles"), "");
    assert_eq!(users.get("Bob", "User group"), "emea, staff");
    assert_eq!(users.get("carol", "Name"), "Carol Silva");
    assert_eq!(users.get("carol", "Department"), "Sales");

    // The upgraded store takes new imports, which revert too.
    let report = store.import_csv_ok("new.csv", "Username,Name,Roles\nerin,Erin New,viewer\n", &[]);
    let id = report["import_id"].to_string();
    let reverted = store.run(&["imports", "revert", &id]);
    assert_eq!(reverted.code, 0, "{}\n{}", reverted.stdout, reverted.stderr);
    assert_eq!(
        store.table("users", &[]).keys(),
        ["Bob", "alice", "carol"]
    );
}

both!(an_old_store_upgrades_with_its_history_revertible);
