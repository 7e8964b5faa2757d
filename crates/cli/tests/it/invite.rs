//! `muster invite` (issue 9): the users an import created without a password get a link by mail
//! (here the outbox, `.eml` files in the data directory), those without an e-mail address or
//! with a password are reported, and the link's token sets a password once (through the engine,
//! as the console will).

use std::path::PathBuf;
use std::process::Command;

use muster_engine::account::{accept_invitation, sign_in, AccountPolicy, ClientInfo};
use muster_engine::{Actor, Context, Error, Missing, NoProgress, Source};
use muster_store::DatabaseUrl;

use crate::support::{both, Store};

const PUBLIC_URL: &str = "https://m.example";
const GOOD_PASSWORD: &str = "correct horse battery staple";

/// `muster invite ARGS…` with the outbox under the store's data directory on both backends
/// (with PostgreSQL the data directory holds only the outbox) and no mail settings inherited.
fn invite(store: &Store, args: &[&str]) -> crate::support::Out {
    let mut command: Command = store.command();
    command
        .env("MUSTER_DATA_DIR", store.data_dir())
        .env_remove("MUSTER_SMTP_URL")
        .env_remove("MUSTER_PUBLIC_URL")
        .arg("invite")
        .args(args);
    command.output().expect("running the muster binary").into()
}

fn outbox_files(store: &Store) -> Vec<PathBuf> {
    let dir = store.data_dir().join("outbox");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// The recipient and the invitation token of a written message.
fn recipient_and_token(path: &PathBuf) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a header and a body");
    let to = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("To: "))
        .expect("a To header")
        .to_owned();
    // Short lines keep the body 7-bit, so the link reads as it is in the file.
    assert!(head.contains("Content-Transfer-Encoding: 7bit"), "{head}");
    let prefix = format!("{PUBLIC_URL}/invite/");
    let start = body
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link in {body}"))
        + prefix.len();
    let token = body[start..].split_whitespace().next().unwrap().to_owned();
    (to, token)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The engine on the same store the binary used.
async fn open(store: &Store) -> muster_store::Store {
    let url = match store.url() {
        Some(url) => DatabaseUrl::new(url.to_owned()),
        None => DatabaseUrl::sqlite_in(&store.data_dir().canonicalize().unwrap()),
    };
    muster_store::Store::open(&url)
        .await
        .expect("opening the store")
}

fn context() -> Context {
    let mut ctx = Context::system(Box::new(NoProgress));
    ctx.actor = Actor::system("test");
    ctx.actor.source = Source::Console;
    ctx
}

fn invites_an_imports_users_into_the_outbox(store: &Store) {
    let report = store.import_csv_ok(
        "people.csv",
        "Username,Name,E-mail,Password\n\
         ann,Ann,ann@example.org,\n\
         bob,Bob,,\n\
         cid,Cid,cid@example.org,maple orbit cinnamon\n",
        &[],
    );
    let id = report["import_id"].to_string();

    let out = invite(
        store,
        &["--import", &id, "--public-url", PUBLIC_URL, "--json"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let json = out.json();
    assert_eq!(json["status"], "done");
    assert_eq!(json["created"], 3);
    assert_eq!(json["invited"], 1);
    let skipped: Vec<(String, String)> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["username"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("bob".to_owned(), "no_email".to_owned()),
            ("cid".to_owned(), "password_set".to_owned())
        ]
    );

    let files = outbox_files(store);
    assert_eq!(files.len(), 1, "{files:?}");
    let (to, token) = recipient_and_token(&files[0]);
    assert_eq!(to, "ann@example.org");

    // Readable output: the counts and each skipped user with the reason.
    let again = invite(store, &["--import", &id, "--public-url", PUBLIC_URL]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("invited 0 of the 3 users import"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("bob: no e-mail address"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("ann: an earlier invitation is still pending"),
        "{}",
        again.stdout
    );
    assert_eq!(
        outbox_files(store).len(),
        1,
        "no second mail while the first is pending"
    );

    block_on(async {
        let engine = open(store).await;
        let ctx = context();
        accept_invitation(&engine, &ctx, &token, GOOD_PASSWORD)
            .await
            .unwrap();
        let twice = accept_invitation(&engine, &ctx, &token, "another good password").await;
        assert!(
            matches!(twice, Err(Error::NotFound(Missing::OneTimeLink))),
            "{twice:?}"
        );
        let client = ClientInfo::default();
        sign_in(
            &engine,
            &ctx,
            &AccountPolicy::default(),
            "ann",
            GOOD_PASSWORD,
            client,
        )
        .await
        .expect("ann signs in with the password she chose");
        engine.close().await;
    });
}

fn invites_one_user_and_refuses_bad_settings(store: &Store) {
    store.import_csv_ok(
        "people.csv",
        "Username,Name,E-mail\nann,Ann,ann@example.org\nbob,Bob,\n",
        &[],
    );
    let out = invite(store, &["--user", "ann", "--public-url", PUBLIC_URL]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("invited ann"), "{}", out.stdout);
    assert_eq!(outbox_files(store).len(), 1);

    let out = invite(
        store,
        &["--user", "bob", "--public-url", PUBLIC_URL, "--json"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.json()["kind"], "invalid");

    // Without a public URL, or with a sender that is not an address, nothing is sent.
    let out = invite(store, &["--user", "ann"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = invite(
        store,
        &[
            "--user",
            "ann",
            "--public-url",
            PUBLIC_URL,
            "--mail-from",
            "a\r\nBcc: m@x.org",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(outbox_files(store).len(), 1);

    // Someone without users.credentials cannot invite.
    let refused = store
        .command()
        .env("MUSTER_DATA_DIR", store.data_dir())
        .args([
            "--as",
            "bob",
            "invite",
            "--user",
            "ann",
            "--public-url",
            PUBLIC_URL,
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(77));
}

both!(
    invites_an_imports_users_into_the_outbox,
    invites_one_user_and_refuses_bad_settings
);
