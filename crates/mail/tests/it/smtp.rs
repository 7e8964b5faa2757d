use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

use muster_engine::account::mail::MailTransport;
use muster_engine::ErrorKind;
use muster_mail::{MailError, Sender, Smtp};

use crate::support::{mail, parse};

/// What the sink saw of one SMTP session: the commands in order, and the message's data.
#[derive(Debug, Default)]
struct Session {
    commands: Vec<String>,
    data: Vec<u8>,
}

/// A one-connection SMTP server speaking just enough of RFC 5321 for lettre: a greeting,
/// EHLO without extensions, MAIL, RCPT (answered `rcpt_reply`), DATA up to the lone dot, QUIT.
fn sink(rcpt_reply: &'static str) -> (String, JoinHandle<Session>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        serve(stream, rcpt_reply)
    });
    (url, handle)
}

fn serve(stream: TcpStream, rcpt_reply: &str) -> Session {
    let mut session = Session::default();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    writer.write_all(b"220 sink ready\r\n").unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            return session;
        }
        let command = line.trim_end().to_owned();
        session.commands.push(command.clone());
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap()
            .to_ascii_uppercase();
        let reply: &str = match verb.as_str() {
            "EHLO" | "HELO" => "250 sink\r\n",
            "MAIL" | "RSET" | "NOOP" => "250 ok\r\n",
            "RCPT" => rcpt_reply,
            "DATA" => {
                writer.write_all(b"354 end with a lone dot\r\n").unwrap();
                session.data = read_data(&mut reader);
                "250 queued\r\n"
            }
            "QUIT" => {
                writer.write_all(b"221 bye\r\n").unwrap();
                return session;
            }
            _ => "502 not here\r\n",
        };
        writer.write_all(reply.as_bytes()).unwrap();
    }
}

/// The message up to the line holding a lone dot, with dot-stuffing undone.
fn read_data(reader: &mut impl BufRead) -> Vec<u8> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).unwrap();
        if line == b".\r\n" || line.is_empty() {
            return data;
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

fn sender() -> Sender {
    Sender::parse("muster@users.example.org").unwrap()
}

#[test]
fn a_mail_is_sent_to_the_server_with_its_envelope_and_message() {
    let (url, server) = sink("250 ok\r\n");
    let smtp = Smtp::from_url(&url, sender()).unwrap();
    let subject = "Invitation à muster";
    smtp.send(&mail(
        "alice@example.org",
        subject,
        "Choose a password:\n.https://users.example.org/invite/x\n",
    ))
    .unwrap();

    let session = server.join().unwrap();
    let verbs: Vec<&str> = session
        .commands
        .iter()
        .map(|c| c.split([' ', ':']).next().unwrap())
        .collect();
    assert_eq!(
        verbs,
        ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"],
        "{session:?}"
    );
    assert!(
        session.commands[1].starts_with("MAIL FROM:<muster@users.example.org>"),
        "{session:?}"
    );
    assert_eq!(session.commands[2], "RCPT TO:<alice@example.org>");
    let message = parse(&session.data);
    assert_eq!(message.raw("To"), "alice@example.org");
    assert_eq!(message.decoded("Subject"), subject);
    // A body line starting with a dot travels stuffed and arrives as written.
    assert!(
        message
            .body
            .contains("\r\n.https://users.example.org/invite/x\r\n"),
        "{:?}",
        message.body
    );
}

#[test]
fn a_refused_recipient_is_unavailable_not_silently_dropped() {
    let (url, server) = sink("550 no such mailbox\r\n");
    let smtp = Smtp::from_url(&url, sender()).unwrap();
    let error = smtp
        .send(&mail("alice@example.org", "Hello", "x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    let session = server.join().unwrap();
    assert!(session.data.is_empty(), "{session:?}");
}

#[test]
fn an_unreachable_server_is_unavailable() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}"), sender()).unwrap();
    let error = smtp
        .send(&mail("alice@example.org", "Hello", "x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
}

#[test]
fn header_injection_is_refused_before_connecting() {
    // Nobody accepts on this listener: a connection attempt would only be queued, but the
    // refusal comes before any.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let smtp = Smtp::from_url(&url, sender()).unwrap();
    assert!(matches!(
        smtp.deliver(&mail(
            "alice@example.org\r\nRCPT TO:<mallory@example.org>",
            "Hello",
            "x"
        )),
        Err(MailError::Recipient(_))
    ));
    assert!(matches!(
        smtp.deliver(&mail("alice@example.org", "Hello\r\n\r\nforged body", "x")),
        Err(MailError::Subject(_))
    ));
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "no connection was made");
}

#[test]
fn the_smtp_url_is_checked_and_its_password_never_printed() {
    assert!(matches!(
        Smtp::from_url("not a url", sender()),
        Err(MailError::SmtpUrl(_))
    ));
    let smtp = Smtp::from_url("smtps://relay:s3cret-pw@mail.example.org:465", sender()).unwrap();
    let shown = format!("{smtp:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
}
