//! `muster serve` as a process: on an empty store it creates `admin`, prints the one-time
//! password (the one `MUSTER_BOOTSTRAP_PASSWORD` gives) once and then the address; the console
//! answers there; SIGTERM ends it gracefully (exit 0); a second start prints no password.
//! Without `--smtp-url` its mail is written into the data directory's outbox, with links under
//! the address it listens on; mail settings it cannot use stop it before it creates anyone.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{both, Store};

/// Starts `muster serve` on a free port; returns the process, its address and what it said
/// before the address.
fn start(store: &Store) -> (Child, String, Vec<String>) {
    let mut child = serve_command(store)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting muster serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut before = Vec::new();
    let address = loop {
        match lines.next() {
            Some(Ok(line)) => match line.strip_prefix("muster is serving the console at ") {
                Some(address) => break Some(address.trim_end_matches('/').to_owned()),
                None => before.push(line),
            },
            _ => break None,
        }
    };
    let Some(address) = address else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("muster serve ended without saying where it serves: {before:?}");
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address, before)
}

/// `muster` for `store`, its outbox in the store's data directory (on PostgreSQL too) and no
/// mail settings inherited.
fn serve_command(store: &Store) -> Command {
    let mut command = store.command();
    command
        .env("MUSTER_DATA_DIR", store.data_dir())
        .env("MUSTER_BOOTSTRAP_PASSWORD", "a bootstrap password 42")
        .env_remove("MUSTER_SMTP_URL")
        .env_remove("MUSTER_PUBLIC_URL");
    command
}

/// A bare HTTP/1.1 GET; the status line and the body.
fn get(address: &str, path: &str) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connecting to the console");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    response
}

fn terminate(mut child: Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("waiting for muster serve");
    assert_eq!(exit.code(), Some(0), "a graceful shutdown");
}

fn serve_bootstraps_admin_once_and_stops_on_sigterm(store: &Store) {
    let (child, address, said) = start(store);
    assert!(
        said.iter()
            .any(|l| l.contains("`admin`") && l.ends_with("a bootstrap password 42")),
        "{said:?}"
    );
    assert!(address.starts_with("http://127.0.0.1:"), "{address}");
    assert!(get(&address, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(get(&address, "/readyz").starts_with("HTTP/1.1 200"));
    let sign_in = get(&address, "/sign-in");
    assert!(sign_in.starts_with("HTTP/1.1 200") && sign_in.contains("Username or e-mail"));
    terminate(child);

    let (child, _, said) = start(store);
    assert!(said.iter().all(|l| !l.contains("password")), "{said:?}");
    terminate(child);
}

/// A bare HTTP/1.1 form POST from the console's own origin, with a cookie.
fn post_form(address: &str, path: &str, cookie: &str, body: &str) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connecting to the console");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {address}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    response
}

/// The text between `start` (in any ASCII case: header names come in lower case) and the next
/// `end` in `text`.
fn between<'t>(text: &'t str, start: &str, end: char) -> &'t str {
    let from = text
        .to_ascii_lowercase()
        .find(&start.to_ascii_lowercase())
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    let to = text[from..].find(end).map_or(text.len(), |to| from + to);
    &text[from..to]
}

fn outbox_files(store: &Store) -> Vec<PathBuf> {
    match std::fs::read_dir(store.data_dir().join("outbox")) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn forgot_password_mails_a_link_into_the_outbox(store: &Store) {
    store.import_csv_ok(
        "people.csv",
        "Username,Name,E-mail\nann,Ann,ann@example.org\n",
        &[],
    );
    let (child, address, _) = start(store);
    let form = get(&address, "/forgot");
    let cookie = between(&form, "Set-Cookie: ", ';').to_owned();
    let csrf = between(&form, r#"name="csrf" value=""#, '"').to_owned();
    let answer = post_form(
        &address,
        "/forgot",
        &cookie,
        &format!("csrf={csrf}&identifier=ann"),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut files = outbox_files(store);
    for _ in 0..400 {
        if !files.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
        files = outbox_files(store);
    }
    terminate(child);
    assert_eq!(files.len(), 1, "one message in the outbox");
    let mail = std::fs::read_to_string(&files[0]).unwrap();
    assert!(mail.contains("To: ann@example.org"), "{mail}");
    assert!(mail.contains(&format!("{address}/reset/")), "{mail}");
}

fn unusable_mail_settings_stop_serve_before_it_creates_anyone(store: &Store) {
    let out = serve_command(store)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mail-from",
            "a\r\nBcc: m@x.org",
        ])
        .output()
        .expect("running muster serve");
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("mail settings"), "{said}");
    assert!(!said.contains("`admin`"), "{said}");
}

both!(
    serve_bootstraps_admin_once_and_stops_on_sigterm,
    forgot_password_mails_a_link_into_the_outbox,
    unusable_mail_settings_stop_serve_before_it_creates_anyone
);
