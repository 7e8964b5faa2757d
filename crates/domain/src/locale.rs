//! Where and how a user reads: a BCP 47 language tag and an IANA time zone. Both are checked
//! against their registries (bundled in language-tags and chrono-tz) and stored in canonical
//! spelling, so "pt-br" and "pt-BR" do not show up as a change on the next import.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono_tz::{Tz, TZ_VARIANTS};
use language_tags::LanguageTag;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::excerpt;

/// Why a cell is not a locale.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum LocaleError {
    #[error("a locale may not be empty")]
    Empty,
    #[error("`{value}` is not a BCP 47 language tag (e.g. `en`, `pt-BR`)")]
    Malformed { value: String },
    #[error("`{value}` is not a registered language tag (e.g. `en`, `pt-BR`)")]
    Unregistered { value: String },
}

/// A BCP 47 language tag, well-formed and valid (subtags in the IANA registry), in canonical
/// case: language lowercase, script titlecase, region uppercase ("pt-br" → "pt-BR").
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Locale, LocaleError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(LocaleError::Empty);
        }
        // An import repeats a handful of locales a million times; registry validation costs
        // several times a cache lookup, so valid tags are remembered per thread.
        if let Some(hit) = cached_locale(trimmed) {
            return Ok(hit);
        }
        let locale = Locale::parse_uncached(trimmed)?;
        remember_locale(trimmed, &locale);
        Ok(locale)
    }

    fn parse_uncached(trimmed: &str) -> Result<Locale, LocaleError> {
        // POSIX and Java spell "pt_BR"; systems being migrated from export it that way.
        let tag = if trimmed.contains('_') {
            LanguageTag::parse(&trimmed.replace('_', "-"))
        } else {
            LanguageTag::parse(trimmed)
        }
        .map_err(|_| LocaleError::Malformed {
            value: excerpt(trimmed),
        })?;
        tag.validate().map_err(|_| LocaleError::Unregistered {
            value: excerpt(trimmed),
        })?;
        Ok(Locale(tag.into_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Distinct valid tags remembered per thread; past this the cache starts over, so a hostile file
/// with a million distinct tags costs memory bounded by this.
const LOCALE_CACHE_MAX: usize = 256;

thread_local! {
    static LOCALE_CACHE: RefCell<HashMap<Box<str>, Locale>> = RefCell::new(HashMap::new());
}

fn cached_locale(raw: &str) -> Option<Locale> {
    LOCALE_CACHE.with(|cache| cache.borrow().get(raw).cloned())
}

fn remember_locale(raw: &str, locale: &Locale) {
    LOCALE_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= LOCALE_CACHE_MAX {
            cache.clear();
        }
        cache.insert(raw.into(), locale.clone());
    });
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locale({:?})", self.0)
    }
}

/// Why a cell is not a time zone.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TimezoneError {
    #[error("a time zone may not be empty")]
    Empty,
    #[error("`{value}` is not an IANA time zone{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    Unknown {
        value: String,
        suggestion: Option<String>,
    },
}

/// An IANA time zone in chrono-tz's canonical spelling ("europe/paris" → "Europe/Paris").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timezone(&'static str);

impl Timezone {
    pub fn parse(raw: &str) -> Result<Timezone, TimezoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TimezoneError::Empty);
        }
        if let Ok(tz) = Tz::from_str(trimmed) {
            return Ok(Timezone(tz.name()));
        }
        let lower = trimmed.to_ascii_lowercase();
        match by_lowercase_name().get(lower.as_str()) {
            Some(name) => Ok(Timezone(name)),
            None => Err(TimezoneError::Unknown {
                value: excerpt(trimmed),
                suggestion: closest_zone(&lower).map(str::to_owned),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0
    }

    /// The chrono-tz zone, for whoever needs to compute with it.
    pub fn tz(&self) -> Tz {
        // The name came from chrono-tz, so it parses; UTC is an unreachable fallback.
        Tz::from_str(self.0).unwrap_or(Tz::UTC)
    }
}

/// Lowercase name → canonical name, built once: chrono-tz's own lookup is case-sensitive unless
/// a crate feature we do not enable is on.
fn by_lowercase_name() -> &'static HashMap<String, &'static str> {
    static MAP: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        TZ_VARIANTS
            .iter()
            .map(|tz| (tz.name().to_ascii_lowercase(), tz.name()))
            .collect()
    })
}

/// A near spelling for the error message ("Europe/Pariss" → "Europe/Paris"); error path only.
fn closest_zone(lower: &str) -> Option<&'static str> {
    by_lowercase_name()
        .iter()
        .map(|(k, name)| (strsim::normalized_damerau_levenshtein(lower, k), *name))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, name)| name)
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
impl fmt::Debug for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timezone({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_canonical_case() {
        assert_eq!(Locale::parse("pt-br").unwrap().as_str(), "pt-BR");
        assert_eq!(Locale::parse(" EN ").unwrap().as_str(), "en");
        assert_eq!(Locale::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        assert_eq!(Locale::parse("pt_BR").unwrap().as_str(), "pt-BR");
    }

    #[test]
    fn locale_rejected() {
        assert!(matches!(
            Locale::parse("xx-YY-invalid!!"),
            Err(LocaleError::Malformed { .. })
        ));
        assert!(Locale::parse("english").is_err());
        assert!(Locale::parse("en US").is_err());
        assert!(matches!(
            Locale::parse("xx-YY"),
            Err(LocaleError::Unregistered { .. })
        ));
        assert_eq!(Locale::parse(""), Err(LocaleError::Empty));
    }

    #[test]
    fn timezone_canonical() {
        assert_eq!(
            Timezone::parse("Europe/Paris").unwrap().as_str(),
            "Europe/Paris"
        );
        assert_eq!(
            Timezone::parse(" europe/paris ").unwrap().as_str(),
            "Europe/Paris"
        );
        assert_eq!(
            Timezone::parse("AMERICA/NEW_YORK").unwrap().as_str(),
            "America/New_York"
        );
        assert_eq!(Timezone::parse("utc").unwrap().as_str(), "UTC");
        assert_eq!(
            Timezone::parse("Europe/Paris").unwrap().tz(),
            Tz::Europe__Paris
        );
    }

    #[test]
    fn timezone_rejected() {
        let err = Timezone::parse("Europe/Pariss").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Europe/Pariss` is not an IANA time zone; did you mean `Europe/Paris`?"
        );
        assert!(matches!(
            Timezone::parse("Mars/Olympus"),
            Err(TimezoneError::Unknown {
                suggestion: None,
                ..
            })
        ));
    }
}
