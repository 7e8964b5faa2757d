//! `muster-bench --console`: how the console answers while a large import runs. It starts a real
//! `muster serve` on a fresh store, signs `admin` in (with the forced password change), then
//! times two probes in turn, first on an idle server and then while `muster import` writes the
//! whole users file into the same store from another process:
//! - a page: the users list, the console's busiest page, read through the signed-in session;
//! - a sign-in: the sign-in form and its POST from a fresh client, up to the redirect that
//!   carries the new session (one argon2id verification each, by design).
//!
//! It prints each probe's count, median, 95th and 99th percentile and maximum, and fails if any
//! probe got an unexpected answer. On SQLite the import holds the main file's write lock for
//! its whole transaction; the console reads that file and writes only the sign-in file.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};

const BOOTSTRAP_PASSWORD: &str = "Bench-Bootstrap-Password-1";
const ADMIN_PASSWORD: &str = "Bench-Console-Password-2024";
/// Pause between two rounds of probes: about what a handful of administrators clicking would
/// ask of the server, and it leaves the cores to the import they are measured against.
const PAUSE: Duration = Duration::from_millis(100);
const IDLE_ROUNDS: usize = 40;

/// The running server, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub fn run(muster: &Path, store: &[String], file: &Path, dir: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    crate::add_catalog(muster, store)?;
    let server = start_server(muster, store, dir)?;
    runtime.block_on(async {
        wait_ready(&server.base).await?;
        let session = signed_in_admin(&server.base).await?;
        let mut idle = Probes::default();
        for _ in 0..IDLE_ROUNDS {
            idle.round(&server.base, &session).await?;
            tokio::time::sleep(PAUSE).await;
        }
        let started = Instant::now();
        let mut import = Command::new(muster)
            .args(store)
            .args(["import", &file.display().to_string(), "--json"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(
                dir.join("console-import-stderr.txt"),
            )?)
            .spawn()?;
        let mut busy = Probes::default();
        let status = loop {
            if let Some(status) = import.try_wait()? {
                break status;
            }
            busy.round(&server.base, &session).await?;
            tokio::time::sleep(PAUSE).await;
        };
        let seconds = started.elapsed().as_secs_f64();
        if !status.success() {
            bail!("the import failed: {status}; see console-import-stderr.txt");
        }
        println!("import while serving: {seconds:.2} s");
        println!(
            "{:<34} {:>6} {:>9} {:>9} {:>9} {:>9}",
            "probe (ms)", "count", "p50", "p95", "p99", "max"
        );
        idle.print("idle");
        busy.print("during the import");
        Ok(())
    })
}

fn start_server(muster: &Path, store: &[String], dir: &Path) -> anyhow::Result<Server> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(muster)
        .args(store)
        .args(["serve", "--listen", &listen, "--mfa", "optional"])
        .env("MUSTER_BOOTSTRAP_PASSWORD", BOOTSTRAP_PASSWORD)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("console-serve-stderr.txt"))?)
        .spawn()?;
    Ok(Server {
        child,
        base: format!("http://{listen}"),
    })
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let client = Client::new();
    for _ in 0..300 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == StatusCode::OK {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("muster serve did not become ready at {base} within 30 s")
}

/// A client holding cookies and never following redirects, so each request is timed alone.
fn client() -> anyhow::Result<Client> {
    Ok(Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()?)
}

/// The CSRF token of the first form of a page.
fn csrf_of(page: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).context("no CSRF field in the page")? + marker.len();
    let end = page[start..].find('"').context("unterminated CSRF field")? + start;
    Ok(page[start..end].to_owned())
}

/// Gets a form page and posts `fields` with its CSRF token from the server's own origin;
/// returns the answer's status and its redirect target, or the problems the page shows when it
/// answered with a page.
async fn submit(
    client: &Client,
    base: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<(StatusCode, String)> {
    let page = client.get(format!("{base}{path}")).send().await?;
    if page.status() != StatusCode::OK {
        bail!("GET {path} answered {}", page.status());
    }
    let csrf = csrf_of(&page.text().await?)?;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &csrf));
    let answer = client
        .post(format!("{base}{path}"))
        .header("Origin", base)
        .form(&form)
        .send()
        .await?;
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    match location {
        Some(location) => Ok((status, location)),
        None => Ok((status, problems_of(&answer.text().await?))),
    }
}

/// The text of the problems a page shows (beside a field, `<p class="problem">`, or in the
/// list above a form, `<li>`), for error messages.
fn problems_of(page: &str) -> String {
    let texts = |marker: &str| -> Vec<String> {
        page.split(marker)
            .skip(1)
            .filter_map(|rest| {
                let text = rest.split_once('>')?.1;
                Some(text.split('<').next()?.trim().to_owned())
            })
            .collect()
    };
    let mut problems = texts("class=\"problem\"");
    problems.extend(texts("<li"));
    problems.join("; ")
}

/// Signs `admin` in with the bootstrap password and makes the forced change, leaving a client
/// whose session reaches every page.
async fn signed_in_admin(base: &str) -> anyhow::Result<Client> {
    let admin = client()?;
    let fields = [("identifier", "admin"), ("password", BOOTSTRAP_PASSWORD)];
    let (status, location) = submit(&admin, base, "/sign-in", &fields).await?;
    if !status.is_redirection() || location != "/sign-in/password" {
        bail!("the bootstrap sign-in answered {status} to {location:?}");
    }
    let fields = [
        ("current", BOOTSTRAP_PASSWORD),
        ("new", ADMIN_PASSWORD),
        ("confirm", ADMIN_PASSWORD),
    ];
    let (status, problems) = submit(&admin, base, "/sign-in/password", &fields).await?;
    if !status.is_redirection() {
        bail!("the forced password change answered {status}: {problems}");
    }
    Ok(admin)
}

#[derive(Default)]
struct Probes {
    page: Vec<f64>,
    sign_in: Vec<f64>,
}

impl Probes {
    async fn round(&mut self, base: &str, session: &Client) -> anyhow::Result<()> {
        let started = Instant::now();
        let page = session.get(format!("{base}/users")).send().await?;
        let status = page.status();
        page.bytes().await?;
        self.page.push(started.elapsed().as_secs_f64() * 1e3);
        if status != StatusCode::OK {
            bail!("GET /users answered {status}");
        }

        let started = Instant::now();
        let fields = [("identifier", "admin"), ("password", ADMIN_PASSWORD)];
        let (status, location) = submit(&client()?, base, "/sign-in", &fields).await?;
        self.sign_in.push(started.elapsed().as_secs_f64() * 1e3);
        if !status.is_redirection() || location.starts_with("/sign-in") {
            bail!("a sign-in answered {status} to {location:?}");
        }
        Ok(())
    }

    fn print(&self, when: &str) {
        for (name, samples) in [("users page", &self.page), ("sign-in", &self.sign_in)] {
            let mut sorted = samples.clone();
            sorted.sort_by(f64::total_cmp);
            if sorted.is_empty() {
                println!("{name}, {when}: no sample (the import ended first)");
                continue;
            }
            let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
            println!(
                "{:<34} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                format!("{name}, {when}"),
                sorted.len(),
                at(0.5),
                at(0.95),
                at(0.99),
                sorted[sorted.len() - 1]
            );
        }
    }
}
