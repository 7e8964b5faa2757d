use std::path::{Path, PathBuf};

use muster_engine::account::mail::MailTransport;
use muster_engine::{Error, ErrorKind, Invalid};
use muster_mail::{MailError, Outbox, Sender};

use crate::support::{mail, parse};

fn outbox(dir: &Path) -> Outbox {
    Outbox::new(
        dir.join("outbox"),
        Sender::parse("muster@users.example.org").unwrap(),
    )
    .unwrap()
}

/// The `.eml` files of the outbox, in name order.
fn messages(outbox: &Outbox) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(outbox.dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_mail_becomes_one_message_file_with_its_headers_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path());
    let text = "Open https://users.example.org/reset/abc within an hour.\n";
    outbox
        .send(&mail("alice@example.org", "Reset your password", text))
        .unwrap();

    let files = messages(&outbox);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with(".eml"), "{name}");
    let message = parse(&std::fs::read(&files[0]).unwrap());
    assert_eq!(message.raw("From"), "muster <muster@users.example.org>");
    assert_eq!(message.raw("To"), "alice@example.org");
    assert_eq!(message.decoded("Subject"), "Reset your password");
    assert!(message.raw("Content-Type").starts_with("text/plain"));
    assert!(message.raw("Message-ID").ends_with("@users.example.org>"));
    assert!(!message.raw("Date").is_empty());
    assert_eq!(message.body.replace("\r\n", "\n"), text);
}

#[test]
fn a_non_ascii_subject_is_encoded_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path());
    let subject = "Réinitialisez votre mot de passe ✓";
    outbox
        .send(&mail("zoe@example.org", subject, "Bonjour"))
        .unwrap();

    let raw = std::fs::read(&messages(&outbox)[0]).unwrap();
    let message = parse(&raw);
    assert!(
        message.raw("Subject").contains("=?utf-8?b?"),
        "{}",
        message.raw("Subject")
    );
    assert_eq!(message.decoded("Subject"), subject);
}

#[test]
fn names_sort_by_time_and_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path());
    let first = outbox
        .deliver(&mail("a@example.org", "first", "1"))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    let second = outbox
        .deliver(&mail("b@example.org", "second", "2"))
        .unwrap();
    assert!(first < second, "{first:?} then {second:?}");

    // Many within the same milliseconds: every one gets a file of its own.
    for n in 0..40 {
        outbox
            .deliver(&mail("c@example.org", &format!("burst {n}"), "3"))
            .unwrap();
    }
    let files = messages(&outbox);
    assert_eq!(files.len(), 42, "{files:?}");
    assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
}

#[cfg(unix)]
#[test]
fn only_the_owner_reads_the_outbox() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path());
    let path = outbox
        .deliver(&mail("a@example.org", "token inside", "secret link"))
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(outbox.dir()), 0o700);
}

#[test]
fn a_line_break_in_the_recipient_or_subject_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path());
    let injected_to = "alice@example.org\r\nBcc: mallory@example.org";
    match outbox.deliver(&mail(injected_to, "Hello", "x")) {
        Err(MailError::Recipient(to)) => assert_eq!(to, injected_to),
        other => panic!("{other:?}"),
    }
    let injected_subject = "Hello\r\nBcc: mallory@example.org";
    match outbox.deliver(&mail("alice@example.org", injected_subject, "x")) {
        Err(MailError::Subject(s)) => assert_eq!(s, injected_subject),
        other => panic!("{other:?}"),
    }
    // A display name would carry text beside the address: only a bare address is taken.
    assert!(matches!(
        outbox.deliver(&mail("Mallory <m@example.org>", "Hello", "x")),
        Err(MailError::Recipient(_))
    ));
    assert!(messages(&outbox).is_empty());

    // Through the engine's trait the refusal is invalid input naming the field.
    let error = outbox
        .send(&mail("alice@example.org", "Hi\nBcc: m@example.org", "x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    match error {
        Error::Invalid(Invalid::Fields(fields)) => assert_eq!(fields[0].field, "subject"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unwritable_outbox_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(dir.path());
    std::fs::remove_dir(outbox.dir()).unwrap();
    // A file where the directory was: nothing can be written into it.
    std::fs::write(outbox.dir(), b"").unwrap();
    let error = outbox
        .send(&mail("alice@example.org", "Hello", "x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
}

#[test]
fn the_default_sender_is_muster_at_the_public_host() {
    let sender = Sender::for_public_url("https://users.example.org:8443/muster").unwrap();
    assert_eq!(sender.address(), "muster@users.example.org");
    assert!(matches!(
        Sender::for_public_url("not a url"),
        Err(MailError::PublicUrl(_))
    ));
    assert!(matches!(
        Sender::parse("muster@example.org\r\nBcc: m@example.org"),
        Err(MailError::Sender(_))
    ));
}
