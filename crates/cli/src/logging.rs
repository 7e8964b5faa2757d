//! Diagnostics on stderr, chosen with `MUSTER_LOG` (tracing's filter syntax, e.g. `debug` or
//! `muster_engine=trace`). Colours only on a terminal and never with `NO_COLOR`: escape codes in a
//! log file or a pipe are noise. sqlx logs every statement, PRAGMAs included, at debug level, which
//! buried muster's own lines; so it stays at `warn` unless the filter names sqlx itself.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Without `MUSTER_LOG`: warnings only, and sqlx's only when they are errors.
const DEFAULT_FILTER: &str = "warn,sqlx=error";

pub fn init() {
    let filter = std::env::var("MUSTER_LOG")
        .ok()
        .filter(|spec| !spec.trim().is_empty());
    let filter = filter.map_or_else(|| DEFAULT_FILTER.to_owned(), |spec| with_quiet_sqlx(&spec));
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|error| {
        crate::out::tell!(
            "note: MUSTER_LOG is not a valid filter ({error}); logging warnings only"
        );
        EnvFilter::new(DEFAULT_FILTER)
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_wanted())
        .with_writer(std::io::stderr)
        .init();
}

/// The operator's filter, with sqlx at `warn` unless the filter says something about sqlx.
fn with_quiet_sqlx(spec: &str) -> String {
    if spec.contains("sqlx") {
        spec.to_owned()
    } else {
        format!("{spec},sqlx=warn")
    }
}

/// <https://no-color.org>: a non-empty `NO_COLOR` turns colours off.
fn colour_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::with_quiet_sqlx;

    #[test]
    fn sqlx_is_quiet_unless_named() {
        assert_eq!(with_quiet_sqlx("debug"), "debug,sqlx=warn");
        assert_eq!(with_quiet_sqlx("info,sqlx=debug"), "info,sqlx=debug");
    }
}
