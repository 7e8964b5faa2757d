//! XML text escaping shared by the XLSX and ODS writers.

/// Appends `text` XML-escaped: `& < > "` become entities, tab and CR become
/// character references (so XML parsers do not normalise them away), LF is
/// kept, and characters XML 1.0 cannot carry (other C0 controls, U+FFFE,
/// U+FFFF) are dropped because no XML reader would accept them.
///
/// Works on bytes and copies unescaped runs in one go: this runs for every
/// cell of every exported row.
pub(super) fn push_escaped(buf: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let (replacement, skip) = match b {
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'&' => ("&amp;", 1),
            b'"' => ("&quot;", 1),
            b'\t' => ("&#9;", 1),
            b'\r' => ("&#13;", 1),
            b'\n' => continue,
            0..=0x1f => ("", 1),
            // U+FFFE and U+FFFF are encoded EF BF BE / EF BF BF.
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => ("", 3),
            _ => continue,
        };
        buf.push_str(&text[start..i]);
        buf.push_str(replacement);
        start = i + skip;
    }
    buf.push_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut b = String::new();
        push_escaped(&mut b, s);
        b
    }

    #[test]
    fn escapes_and_drops() {
        assert_eq!(esc("plain Zoë"), "plain Zoë");
        assert_eq!(esc("<tag>&\"q\""), "&lt;tag&gt;&amp;&quot;q&quot;");
        assert_eq!(esc("a\tb\r\nc"), "a&#9;b&#13;\nc");
        assert_eq!(esc("x\u{0}\u{1b}y"), "xy");
        assert_eq!(esc("a\u{fffe}b\u{ffff}c\u{fffd}"), "abc\u{fffd}");
        assert_eq!(esc("€\u{1}"), "€");
    }
}
