//! The server's test support: the store's harness (a fresh store per test on SQLite and
//! PostgreSQL, `scenarios!`), a real server on a free port of 127.0.0.1 serving that store and
//! mailing into an outbox directory of its own, and an HTTP client that keeps cookies and does
//! not follow redirects (tests look at them).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use muster_engine::{Actor, Context, NoProgress, Source};
use muster_mail::{Outbox, Sender};
use muster_server::ServerConfig;
use muster_store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[path = "../../../store/tests/it/harness.rs"]
mod harness;
pub use harness::*;

/// A context acting as the local operator, who holds every permission (to build fixtures).
pub fn operator() -> Context {
    let mut ctx = Context::system(Box::new(NoProgress));
    ctx.actor = Actor::operator("tester", Source::Cli);
    ctx
}

/// A server running on its own task until dropped.
pub struct TestServer {
    pub base: String,
    /// Where the server's mail is written, one `.eml` file per message.
    pub outbox: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    _mail_dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The messages in the outbox, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.outbox)
            .expect("reading the outbox")
            .map(|entry| entry.expect("an outbox entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("reading a message"))
            .collect()
    }

    /// Waits (up to ten seconds) until the outbox holds `count` messages; returns them.
    pub async fn wait_for_mails(&self, count: usize) -> Vec<String> {
        for _ in 0..400 {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the outbox holds {} messages, not {count}",
            self.mails().len()
        );
    }
}

/// The first link under `base` in a message (`…/reset/TOKEN` or `…/invite/TOKEN`), as a path.
pub fn link_path(mail: &str, base: &str) -> String {
    let start = mail.find(base).expect("a link in the message") + base.len();
    let end = mail[start..]
        .find(char::is_whitespace)
        .map_or(mail.len(), |end| start + end);
    mail[start..end].to_owned()
}

/// Serves `store` on a free port with the default configuration changed by `adjust`.
pub async fn start_with(store: &Store, adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a free port");
    let address = listener.local_addr().expect("the listening address");
    let mail_dir = tempfile::tempdir().expect("a mail directory");
    let outbox = mail_dir.path().join("outbox");
    let sender = Sender::parse("muster@example.org").expect("a sender");
    let transport = Outbox::new(&outbox, sender).expect("the outbox");
    let mut config = ServerConfig::new(address, Arc::new(transport));
    adjust(&mut config);
    let (stop, stopped) = oneshot::channel::<()>();
    let store = store.clone();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = muster_server::serve_on(listener, config, store, shutdown).await {
            panic!("the test server failed: {error}");
        }
    });
    TestServer {
        base: format!("http://{address}"),
        outbox,
        stop: Some(stop),
        _mail_dir: mail_dir,
    }
}

pub async fn start(store: &Store) -> TestServer {
    start_with(store, |_| {}).await
}

/// A browser-like client: keeps cookies, sends no Origin by itself, follows no redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("building the HTTP client")
}

/// The value of `name="…" value="…"` in a page (the CSRF field, a version).
pub fn field_value(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}
