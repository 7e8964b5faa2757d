//! Everything human-readable that muster prints goes through this module. File names, sheet
//! names, cell values and error messages come from files and their authors, who may be hostile: a
//! file named with an escape sequence and a newline could otherwise forge a line such as
//! `import 99: applied`, or a right-to-left override could reverse what a reader sees. So each
//! printed line is escaped as a whole — control characters (C0, DEL, C1) and the Unicode bidi
//! overrides and isolates become visible escapes such as `\e`, `\n` or `\u{202e}` — and a line can
//! never contain a line break it did not write itself. JSON output goes through [`json`] instead:
//! serde_json escapes control characters itself, and rewriting its text would corrupt it.
//!
//! The crate denies `println!`/`eprintln!` (see `main.rs`), so the compiler keeps every new
//! message on this path.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::fmt::Write as _;

/// Prints one escaped line on stdout: the readable result of a command.
macro_rules! say {
    ($($arg:tt)*) => { $crate::out::stdout_line(&format!($($arg)*)) };
}

/// Prints one escaped line on stderr: notes, progress messages and errors.
macro_rules! tell {
    ($($arg:tt)*) => { $crate::out::stderr_line(&format!($($arg)*)) };
}

pub(crate) use {say, tell};

pub fn stdout_line(line: &str) {
    println!("{}", escape(line));
}

pub fn stderr_line(line: &str) {
    eprintln!("{}", escape(line));
}

/// Prints one JSON value on one line of stdout, as serde_json writes it.
pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Characters that change how a terminal shows the text rather than being text: control
/// characters, and the bidi embeddings, overrides and isolates that reorder what follows them.
fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The text with every hazard written as a visible escape; borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            '\u{1b}' => escaped.push_str("\\e"),
            c if is_hazard(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(
            escape("Jörg Müller, row 3: `ok` — 東京"),
            "Jörg Müller, row 3: `ok` — 東京"
        );
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(
            escape("a\u{1b}[2K\nimport 99: applied"),
            "a\\e[2K\\nimport 99: applied"
        );
        assert_eq!(
            escape("x\ty\r\u{7f}\u{85}\u{0}"),
            "x\\ty\\r\\u{7f}\\u{85}\\u{0}"
        );
        assert_eq!(
            escape("abc\u{202e}fdp.exe\u{2066}\u{2069}"),
            "abc\\u{202e}fdp.exe\\u{2066}\\u{2069}"
        );
    }
}
