//! The server's test support: the store's harness (a fresh store per test on SQLite and
//! PostgreSQL, `scenarios!`), a real server on a free port of 127.0.0.1 serving that store, and
//! an HTTP client that keeps cookies and does not follow redirects (tests look at them).

use muster_engine::{Actor, Context, NoProgress, Source};
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
    stop: Option<oneshot::Sender<()>>,
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
}

/// Serves `store` on a free port with the default configuration changed by `adjust`.
pub async fn start_with(store: &Store, adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a free port");
    let address = listener.local_addr().expect("the listening address");
    let mut config = ServerConfig::new(address);
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
        stop: Some(stop),
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
