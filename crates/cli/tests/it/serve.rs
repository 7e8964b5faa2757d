//! `muster serve` as a process: on an empty store it creates `admin`, prints the one-time
//! password (the one `MUSTER_BOOTSTRAP_PASSWORD` gives) once and then the address; the console
//! answers there; SIGTERM ends it gracefully (exit 0); a second start prints no password.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use crate::support::{both, Store};

/// Starts `muster serve` on a free port; returns the process, its address and what it said
/// before the address.
fn start(store: &Store) -> (Child, String, Vec<String>) {
    let mut child = store
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("MUSTER_BOOTSTRAP_PASSWORD", "a bootstrap password 42")
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

both!(serve_bootstraps_admin_once_and_stops_on_sigterm);
