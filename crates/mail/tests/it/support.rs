//! Reading a written message back: headers (unfolded, RFC 2047 words decoded) and body.

use base64::Engine;
use muster_engine::account::mail::OutgoingMail;

pub fn mail(to: &str, subject: &str, text: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: text.to_owned(),
    }
}

pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Parsed {
    /// The one header of that name, raw (unfolded); panics when absent or repeated.
    pub fn raw(&self, name: &str) -> &str {
        let found: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(found.len(), 1, "header {name} in {:?}", self.headers);
        found[0]
    }

    /// The header with its encoded words decoded.
    pub fn decoded(&self, name: &str) -> String {
        decode_words(self.raw(name))
    }
}

/// Splits an RFC 5322 message: every line ends in CRLF, the header ends at the first empty
/// line, a line starting with white space continues the header before it.
pub fn parse(message: &[u8]) -> Parsed {
    let text = std::str::from_utf8(message).expect("a message is ASCII");
    assert!(text.is_ascii(), "non-ASCII byte in {text:?}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header and a body");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        assert!(
            !line.contains('\r') && !line.contains('\n'),
            "bare CR or LF in {line:?}"
        );
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a continuation follows a header");
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    Parsed {
        headers,
        body: body.to_owned(),
    }
}

/// Decodes `=?utf-8?b?…?=` words (the encoding lettre writes), dropping the folding white space
/// between two adjacent encoded words as RFC 2047 says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let word = &rest[start + 2..];
        let end = word.find("?=").expect("an encoded word ends");
        let mut parts = word[..end].splitn(3, '?');
        let (charset, encoding, data) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
        assert!(encoding.eq_ignore_ascii_case("b"), "encoding {encoding}");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        out.push_str(&String::from_utf8(bytes).expect("UTF-8"));
        rest = &word[end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}
