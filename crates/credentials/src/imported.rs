//! Vetting of password hashes imported from other systems. A hash is only
//! useful if we can verify it at login, and a hash with an absurd cost turns
//! every login attempt into a denial of service, so costs are capped here.
//! Weak-but-real costs are accepted: refusing them would only lock the user
//! out, while `verify_password` flags them for rehashing on the next login.
//! Rejection messages name the scheme and the rule, never the input, since
//! a spreadsheet column of "hashes" sometimes turns out to hold plaintext.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use password_hash::PasswordHash;
use serde::{Deserialize, Serialize};
use std::fmt;

/// argon2 caps: 1 GiB, 10 passes, 16 lanes. Beyond these a single login
/// could stall the service; below `ARGON2_MIN_M_KIB` the hash is test-grade.
const ARGON2_MAX_M_KIB: u32 = 1_048_576;
const ARGON2_MAX_T: u32 = 10;
const ARGON2_MAX_P: u32 = 16;
/// Low enough to admit real deployments (Keycloak's default is 7168 KiB).
const ARGON2_MIN_M_KIB: u32 = 1024;
/// argon2 refuses salts shorter than this at verification time.
const ARGON2_MIN_SALT: usize = 8;

/// bcrypt's cost is log2 of the work; 4 is the algorithm's floor, and 16
/// already takes several seconds per login.
const BCRYPT_MIN_COST: u32 = 4;
const BCRYPT_MAX_COST: u32 = 16;

const PBKDF2_MIN_ROUNDS: u32 = 1_000;
const PBKDF2_MAX_ROUNDS: u32 = 10_000_000;
/// The PHC form cannot hold more than 64 B64 characters of salt (48 bytes)
/// or a hash output outside 10..=64 bytes; other forms are kept as imported.
const PHC_MAX_SALT: usize = 48;
const PHC_MIN_SALT: usize = 3;
const PHC_OUTPUT: std::ops::RangeInclusive<usize> = 10..=64;

/// Decodes standard or "adapted" base64 leniently: padding optional and
/// non-zero trailing bits allowed, as Python's `b64decode` does.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Hash families we can verify. As data, the names `Display` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashScheme {
    #[serde(rename = "argon2id")]
    Argon2id,
    #[serde(rename = "bcrypt")]
    Bcrypt,
    #[serde(rename = "pbkdf2-sha256")]
    Pbkdf2Sha256,
}

impl fmt::Display for HashScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Argon2id => "argon2id",
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
        })
    }
}

/// An accepted imported hash and the value to put in the `password_hash` column.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedHash {
    pub scheme: HashScheme,
    pub stored: String,
}

/// Shows the scheme only, for the same reason `StoredSecret`'s `Debug` does.
impl fmt::Debug for ImportedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImportedHash({}, ..)", self.scheme)
    }
}

/// Why an imported hash was refused. No variant ever carries the input text. As data it is
/// `{"code": "cost_too_high", "scheme": "bcrypt", "detail": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum HashRejection {
    #[error("the value is not a recognised password hash")]
    Unrecognised,
    #[error("malformed {scheme} hash: {detail}")]
    Malformed { scheme: HashScheme, detail: String },
    #[error("{scheme} hash cost is too high to verify safely: {detail}")]
    CostTooHigh { scheme: HashScheme, detail: String },
    #[error("{scheme} hash cost is below the accepted minimum: {detail}")]
    CostTooLow { scheme: HashScheme, detail: String },
    /// A recognised but unsupported scheme; `label` is our name for it.
    #[error("unsupported password hash scheme: {label}")]
    UnsupportedScheme { label: String },
}

impl HashRejection {
    fn malformed(scheme: HashScheme, detail: impl Into<String>) -> Self {
        Self::Malformed {
            scheme,
            detail: detail.into(),
        }
    }

    fn too_high(scheme: HashScheme, detail: String) -> Self {
        Self::CostTooHigh { scheme, detail }
    }

    fn too_low(scheme: HashScheme, detail: String) -> Self {
        Self::CostTooLow { scheme, detail }
    }
}

/// A vetted hash, in the shape verification needs.
pub(crate) enum Parsed {
    /// A PHC string that parses with the `password-hash` crate.
    Argon2id { phc: String },
    /// A `$2a$`/`$2b$`/`$2y$` modular-crypt string.
    Bcrypt { mcf: String },
    /// Decoded PBKDF2-HMAC-SHA256 parts, plus the text to store.
    Pbkdf2(Pbkdf2Parts),
}

pub(crate) struct Pbkdf2Parts {
    pub(crate) rounds: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) hash: Vec<u8>,
    pub(crate) stored: String,
}

impl Parsed {
    fn into_imported(self) -> ImportedHash {
        let (scheme, stored) = match self {
            Self::Argon2id { phc } => (HashScheme::Argon2id, phc),
            Self::Bcrypt { mcf } => (HashScheme::Bcrypt, mcf),
            Self::Pbkdf2(parts) => (HashScheme::Pbkdf2Sha256, parts.stored),
        };
        ImportedHash { scheme, stored }
    }
}

/// Parses a hash imported from another system, refuses absurd cost
/// parameters, and returns it in the form we store. PBKDF2 hashes in passlib
/// or Django form are rewritten to PHC form when they fit in it.
pub fn check_imported_hash(text: &str) -> Result<ImportedHash, HashRejection> {
    parse(text).map(Parsed::into_imported)
}

/// Shared by import and verification, so a login never runs a hash that an
/// import would have refused, even if the column was written some other way.
pub(crate) fn parse(text: &str) -> Result<Parsed, HashRejection> {
    // Spreadsheet cells often carry stray spaces or a trailing newline; no
    // supported format contains whitespace, so trimming is safe.
    let text = text.trim();
    if let Some(phc) = argon2id_phc(text) {
        return parse_argon2id(phc);
    }
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
        return parse_bcrypt(text);
    }
    if let Some(rest) = text.strip_prefix("$pbkdf2-sha256$") {
        return match rest.split('$').next() {
            Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => {
                parse_passlib(rest)
            }
            _ => parse_pbkdf2_phc(text),
        };
    }
    if let Some(rest) = text.strip_prefix("pbkdf2_sha256$") {
        return parse_django(rest);
    }
    Err(unsupported_or_unrecognised(text))
}

/// The PHC part of an argon2id hash, accepting Django's `argon2$` prefix.
fn argon2id_phc(text: &str) -> Option<&str> {
    let phc = text
        .strip_prefix("argon2")
        .filter(|r| r.starts_with("$argon2"))
        .unwrap_or(text);
    phc.starts_with("$argon2id$").then_some(phc)
}

/// Names known-but-unsupported schemes by a fixed label; everything else is
/// `Unrecognised`. Labels are ours, so no part of the input is echoed.
fn unsupported_or_unrecognised(text: &str) -> HashRejection {
    const PREFIXES: &[(&str, &str)] = &[
        ("$argon2i$", "argon2i"),
        ("$argon2d$", "argon2d"),
        ("argon2$argon2i$", "argon2i"),
        ("argon2$argon2d$", "argon2d"),
        ("$2x$", "bcrypt $2x$"),
        ("$2$", "bcrypt $2$"),
        ("bcrypt$", "Django bcrypt"),
        ("bcrypt_sha256$", "Django bcrypt_sha256"),
        ("$1$", "MD5-crypt"),
        ("$apr1$", "Apache MD5-crypt"),
        ("$md5", "Sun MD5-crypt"),
        ("$5$", "SHA-256-crypt"),
        ("$6$", "SHA-512-crypt"),
        ("$sha1$", "SHA-1-crypt"),
        ("$y$", "yescrypt"),
        ("$7$", "scrypt"),
        ("$scrypt$", "scrypt"),
        ("scrypt$", "Django scrypt"),
        ("$pbkdf2$", "pbkdf2-sha1"),
        ("$pbkdf2-sha1$", "pbkdf2-sha1"),
        ("$pbkdf2-sha512$", "pbkdf2-sha512"),
        ("pbkdf2_sha1$", "Django pbkdf2_sha1"),
        ("sha1$", "Django sha1"),
        ("md5$", "Django md5"),
        ("unsalted_md5$", "Django unsalted_md5"),
        ("unsalted_sha1$", "Django unsalted_sha1"),
        ("crypt$", "Django crypt"),
        ("{SSHA}", "LDAP {SSHA}"),
        ("{SHA}", "LDAP {SHA}"),
        ("{SSHA256}", "LDAP {SSHA256}"),
        ("{SSHA512}", "LDAP {SSHA512}"),
        ("{MD5}", "LDAP {MD5}"),
        ("{SMD5}", "LDAP {SMD5}"),
        ("{CRYPT}", "LDAP {CRYPT}"),
        ("{PBKDF2}", "LDAP {PBKDF2}"),
        ("{PBKDF2-SHA256}", "LDAP {PBKDF2-SHA256}"),
        ("{ARGON2}", "LDAP {ARGON2}"),
    ];
    let upper_brace = text.starts_with('{');
    let found = PREFIXES.iter().find(|(prefix, _)| {
        if upper_brace {
            text.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        } else {
            text.starts_with(prefix)
        }
    });
    match found {
        Some((_, label)) => HashRejection::UnsupportedScheme {
            label: (*label).to_owned(),
        },
        None => unsalted_hex_digest(text),
    }
}

/// Bare hex digests (MySQL-era MD5/SHA columns) are recognisable by length.
fn unsalted_hex_digest(text: &str) -> HashRejection {
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return HashRejection::Unrecognised;
    }
    let label = match text.len() {
        32 => "unsalted MD5",
        40 => "unsalted SHA-1",
        64 => "unsalted SHA-256",
        128 => "unsalted SHA-512",
        _ => return HashRejection::Unrecognised,
    };
    HashRejection::UnsupportedScheme {
        label: label.to_owned(),
    }
}

// ---------------------------------------------------------------- argon2id

fn parse_argon2id(phc: &str) -> Result<Parsed, HashRejection> {
    const S: HashScheme = HashScheme::Argon2id;
    let hash = PasswordHash::new(phc).map_err(|e| HashRejection::malformed(S, e.to_string()))?;
    match hash.version {
        Some(0x13) | Some(0x10) => {}
        None => return Err(HashRejection::malformed(S, "missing version field (v=)")),
        Some(_) => return Err(HashRejection::malformed(S, "unknown argon2 version")),
    }
    let params =
        argon2::Params::try_from(&hash).map_err(|e| HashRejection::malformed(S, e.to_string()))?;
    check_argon2_costs(&params)?;
    let salt = hash
        .salt
        .ok_or_else(|| HashRejection::malformed(S, "missing salt"))?;
    let mut buf = [0u8; 64];
    let salt_len = salt
        .decode_b64(&mut buf)
        .map_err(|e| HashRejection::malformed(S, e.to_string()))?
        .len();
    if salt_len < ARGON2_MIN_SALT {
        return Err(HashRejection::malformed(
            S,
            format!("salt must be at least {ARGON2_MIN_SALT} bytes"),
        ));
    }
    if hash.hash.is_none() {
        return Err(HashRejection::malformed(S, "missing hash output"));
    }
    Ok(Parsed::Argon2id {
        phc: phc.to_owned(),
    })
}

fn check_argon2_costs(params: &argon2::Params) -> Result<(), HashRejection> {
    const S: HashScheme = HashScheme::Argon2id;
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if m > ARGON2_MAX_M_KIB {
        return Err(HashRejection::too_high(
            S,
            format!("m={m} KiB exceeds the cap of {ARGON2_MAX_M_KIB} KiB"),
        ));
    }
    if t > ARGON2_MAX_T {
        return Err(HashRejection::too_high(
            S,
            format!("t={t} exceeds the cap of {ARGON2_MAX_T}"),
        ));
    }
    if p > ARGON2_MAX_P {
        return Err(HashRejection::too_high(
            S,
            format!("p={p} exceeds the cap of {ARGON2_MAX_P}"),
        ));
    }
    if m < ARGON2_MIN_M_KIB {
        return Err(HashRejection::too_low(
            S,
            format!("m={m} KiB is below the minimum of {ARGON2_MIN_M_KIB} KiB"),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------ bcrypt

/// Checks the shape `$2b$NN$<22 salt chars><31 hash chars>` and the cost.
fn parse_bcrypt(text: &str) -> Result<Parsed, HashRejection> {
    const S: HashScheme = HashScheme::Bcrypt;
    let rest = &text[4..]; // after "$2?$", checked by the caller
    let (cost, body) = rest
        .split_once('$')
        .ok_or_else(|| HashRejection::malformed(S, "missing cost field"))?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashRejection::malformed(
            S,
            "cost must be two decimal digits",
        ));
    }
    let cost: u32 = cost
        .parse()
        .map_err(|_| HashRejection::malformed(S, "cost is not a number"))?;
    if cost > BCRYPT_MAX_COST {
        return Err(HashRejection::too_high(
            S,
            format!("cost {cost} exceeds the cap of {BCRYPT_MAX_COST}"),
        ));
    }
    if cost < BCRYPT_MIN_COST {
        return Err(HashRejection::too_low(
            S,
            format!("cost {cost} is below the minimum of {BCRYPT_MIN_COST}"),
        ));
    }
    check_bcrypt_body(body)?;
    Ok(Parsed::Bcrypt {
        mcf: text.to_owned(),
    })
}

fn check_bcrypt_body(body: &str) -> Result<(), HashRejection> {
    let err = || {
        HashRejection::malformed(
            HashScheme::Bcrypt,
            "expected 53 characters of bcrypt base64 after the cost",
        )
    };
    if body.len() != 53 || !body.is_ascii() {
        return Err(err());
    }
    let (salt, hash) = body.split_at(22);
    let salt_ok = bcrypt::BASE_64.decode(salt).is_ok_and(|s| s.len() == 16);
    let hash_ok = bcrypt::BASE_64.decode(hash).is_ok_and(|h| h.len() == 23);
    if salt_ok && hash_ok {
        Ok(())
    } else {
        Err(err())
    }
}

// ----------------------------------------------------------- pbkdf2-sha256

/// `$pbkdf2-sha256$i=600000,l=32$<B64 salt>$<B64 hash>`.
fn parse_pbkdf2_phc(text: &str) -> Result<Parsed, HashRejection> {
    const S: HashScheme = HashScheme::Pbkdf2Sha256;
    let m = |e: password_hash::Error| HashRejection::malformed(S, e.to_string());
    let hash = PasswordHash::new(text).map_err(m)?;
    if hash.version.is_some() {
        return Err(HashRejection::malformed(S, "pbkdf2 has no version field"));
    }
    let params = pbkdf2::Params::try_from(&hash).map_err(m)?;
    let salt = hash
        .salt
        .ok_or_else(|| HashRejection::malformed(S, "missing salt"))?;
    let mut buf = [0u8; 64];
    let salt = salt.decode_b64(&mut buf).map_err(m)?.to_vec();
    let output = hash
        .hash
        .ok_or_else(|| HashRejection::malformed(S, "missing hash output"))?;
    pbkdf2_parts(params.rounds, salt, output.as_bytes().to_vec(), text)
}

/// passlib: `$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 hash>`, where "adapted
/// base64" is standard base64 with `.` for `+` and no padding.
fn parse_passlib(rest: &str) -> Result<Parsed, HashRejection> {
    let [rounds, salt, hash] = split3(
        rest,
        "passlib form has three `$`-separated fields after the name",
    )?;
    let rounds = parse_rounds(rounds)?;
    let salt = decode_b64(&salt.replace('.', "+"), "salt is not valid adapted base64")?;
    let hash = decode_b64(&hash.replace('.', "+"), "hash is not valid adapted base64")?;
    pbkdf2_parts(rounds, salt, hash, &format!("$pbkdf2-sha256${rest}"))
}

/// Django: `pbkdf2_sha256$<iterations>$<salt text>$<base64 hash>`. Django
/// feeds the salt's UTF-8 bytes to PBKDF2 as they are, undecoded.
fn parse_django(rest: &str) -> Result<Parsed, HashRejection> {
    let [rounds, salt, hash] = split3(
        rest,
        "Django form has three `$`-separated fields after the name",
    )?;
    let rounds = parse_rounds(rounds)?;
    if salt.is_empty() {
        return Err(HashRejection::malformed(
            HashScheme::Pbkdf2Sha256,
            "empty salt",
        ));
    }
    let hash = decode_b64(hash, "hash is not valid base64")?;
    pbkdf2_parts(
        rounds,
        salt.as_bytes().to_vec(),
        hash,
        &format!("pbkdf2_sha256${rest}"),
    )
}

fn split3<'a>(rest: &'a str, detail: &str) -> Result<[&'a str; 3], HashRejection> {
    let mut fields = rest.split('$');
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(a), Some(b), Some(c), None) => Ok([a, b, c]),
        _ => Err(HashRejection::malformed(HashScheme::Pbkdf2Sha256, detail)),
    }
}

fn parse_rounds(text: &str) -> Result<u32, HashRejection> {
    const S: HashScheme = HashScheme::Pbkdf2Sha256;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashRejection::malformed(
            S,
            "iteration count is not a number",
        ));
    }
    // More digits than fit in a u32 is certainly over the cap.
    text.parse().map_err(|_| {
        HashRejection::too_high(
            S,
            format!("iteration count exceeds the cap of {PBKDF2_MAX_ROUNDS}"),
        )
    })
}

fn decode_b64(text: &str, detail: &str) -> Result<Vec<u8>, HashRejection> {
    LENIENT_B64
        .decode(text)
        .map_err(|_| HashRejection::malformed(HashScheme::Pbkdf2Sha256, detail))
}

/// Checks costs and lengths, then picks the stored form: canonical PHC when
/// the salt and output fit its limits, otherwise `original` unchanged.
fn pbkdf2_parts(
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
    original: &str,
) -> Result<Parsed, HashRejection> {
    const S: HashScheme = HashScheme::Pbkdf2Sha256;
    if rounds > PBKDF2_MAX_ROUNDS {
        return Err(HashRejection::too_high(
            S,
            format!("{rounds} iterations exceed the cap of {PBKDF2_MAX_ROUNDS}"),
        ));
    }
    if rounds < PBKDF2_MIN_ROUNDS {
        return Err(HashRejection::too_low(
            S,
            format!("{rounds} iterations are below the minimum of {PBKDF2_MIN_ROUNDS}"),
        ));
    }
    if salt.is_empty() || hash.len() < 16 || hash.len() > 64 {
        return Err(HashRejection::malformed(
            S,
            "salt must be non-empty and the hash 16 to 64 bytes",
        ));
    }
    let stored = pbkdf2_phc_string(rounds, &salt, &hash).unwrap_or_else(|| original.to_owned());
    Ok(Parsed::Pbkdf2(Pbkdf2Parts {
        rounds,
        salt,
        hash,
        stored,
    }))
}

/// The canonical PHC string, or `None` if the parts exceed PHC's limits.
fn pbkdf2_phc_string(rounds: u32, salt: &[u8], hash: &[u8]) -> Option<String> {
    let fits =
        (PHC_MIN_SALT..=PHC_MAX_SALT).contains(&salt.len()) && PHC_OUTPUT.contains(&hash.len());
    fits.then(|| {
        format!(
            "$pbkdf2-sha256$i={rounds},l={}${}${}",
            hash.len(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::SENTINEL;

    const SALT16_B64: &str = "c29tZXNhbHQxMjM0NTY3OA"; // 16 bytes
    const HASH32_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"; // 32 bytes
    const BCRYPT_BODY: &str = "KRGxLBS0Lxe3KBCwKxOzLexLDeu0ZfqJ6Zh.W7mY3p8b.A0i3jVjK";

    fn argon2(params: &str) -> String {
        format!("$argon2id$v=19${params}${SALT16_B64}${HASH32_B64}")
    }

    fn rejection(text: &str) -> HashRejection {
        check_imported_hash(text).unwrap_err()
    }

    fn is_cost_too_high(r: &HashRejection, scheme: HashScheme) -> bool {
        matches!(r, HashRejection::CostTooHigh { scheme: s, .. } if *s == scheme)
    }

    fn is_cost_too_low(r: &HashRejection, scheme: HashScheme) -> bool {
        matches!(r, HashRejection::CostTooLow { scheme: s, .. } if *s == scheme)
    }

    fn is_malformed(r: &HashRejection, scheme: HashScheme) -> bool {
        matches!(r, HashRejection::Malformed { scheme: s, .. } if *s == scheme)
    }

    #[test]
    fn argon2id_is_accepted_and_stored_verbatim() {
        let text = argon2("m=65536,t=3,p=4");
        let imported = check_imported_hash(&format!("  {text}\n")).unwrap();
        assert_eq!(
            imported,
            ImportedHash {
                scheme: HashScheme::Argon2id,
                stored: text
            }
        );
    }

    #[test]
    fn argon2id_at_the_caps_is_accepted() {
        assert!(check_imported_hash(&argon2("m=1048576,t=10,p=16")).is_ok());
        assert!(check_imported_hash(&argon2("m=1024,t=1,p=1")).is_ok());
    }

    #[test]
    fn argon2id_cost_caps() {
        for params in ["m=4194304,t=3,p=1", "m=65536,t=11,p=1", "m=65536,t=2,p=17"] {
            let r = rejection(&argon2(params));
            assert!(is_cost_too_high(&r, HashScheme::Argon2id), "{params}: {r}");
        }
        assert!(rejection(&argon2("m=4194304,t=3,p=1"))
            .to_string()
            .contains("4194304"));
        assert!(is_cost_too_low(
            &rejection(&argon2("m=512,t=2,p=1")),
            HashScheme::Argon2id
        ));
    }

    #[test]
    fn argon2id_malformed() {
        let cases = [
            format!("$argon2id$m=19456,t=2,p=1${SALT16_B64}${HASH32_B64}"), // no version
            format!("$argon2id$v=42$m=19456,t=2,p=1${SALT16_B64}${HASH32_B64}"),
            format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${HASH32_B64}"), // 4-byte salt
            format!("$argon2id$v=19$m=19456,t=2,p=1${SALT16_B64}"),        // no output
            format!("$argon2id$v=19$m=19456,t=2,x=1${SALT16_B64}${HASH32_B64}"),
            "$argon2id$".to_owned(),
        ];
        for c in cases {
            assert!(is_malformed(&rejection(&c), HashScheme::Argon2id), "{c}");
        }
    }

    #[test]
    fn other_argon2_variants_are_unsupported() {
        let i = argon2("m=65536,t=3,p=4").replace("argon2id", "argon2i");
        let d = argon2("m=65536,t=3,p=4").replace("argon2id", "argon2d");
        assert_eq!(
            rejection(&i),
            HashRejection::UnsupportedScheme {
                label: "argon2i".into()
            }
        );
        assert_eq!(
            rejection(&d),
            HashRejection::UnsupportedScheme {
                label: "argon2d".into()
            }
        );
        assert_eq!(
            rejection(&format!("argon2{i}")),
            HashRejection::UnsupportedScheme {
                label: "argon2i".into()
            }
        );
    }

    #[test]
    fn bcrypt_prefixes_and_cost_range() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            for cost in ["04", "12", "16"] {
                let text = format!("{prefix}{cost}${BCRYPT_BODY}");
                let imported = check_imported_hash(&text).unwrap();
                assert_eq!(
                    imported,
                    ImportedHash {
                        scheme: HashScheme::Bcrypt,
                        stored: text
                    }
                );
            }
        }
        let r = rejection(&format!("$2b$31${BCRYPT_BODY}"));
        assert!(is_cost_too_high(&r, HashScheme::Bcrypt), "{r}");
        assert!(is_cost_too_high(
            &rejection(&format!("$2y$17${BCRYPT_BODY}")),
            HashScheme::Bcrypt
        ));
        assert!(is_cost_too_low(
            &rejection(&format!("$2a$03${BCRYPT_BODY}")),
            HashScheme::Bcrypt
        ));
    }

    #[test]
    fn bcrypt_malformed() {
        let cases = [
            "$2b$12$tooShort".to_owned(),
            format!("$2b$12${BCRYPT_BODY}x"),
            format!("$2b$1${BCRYPT_BODY}"),
            format!("$2b$ab${BCRYPT_BODY}"),
            format!("$2b${BCRYPT_BODY}"),
            format!("$2b$12${}", BCRYPT_BODY.replace('K', "+")),
        ];
        for c in cases {
            assert!(is_malformed(&rejection(&c), HashScheme::Bcrypt), "{c}");
        }
        assert_eq!(
            rejection(&format!("$2x$12${BCRYPT_BODY}")),
            HashRejection::UnsupportedScheme {
                label: "bcrypt $2x$".into()
            }
        );
    }

    #[test]
    fn pbkdf2_cost_caps_in_every_form() {
        let forms = [
            format!("$pbkdf2-sha256$i=100000000,l=32${SALT16_B64}${HASH32_B64}"),
            format!("$pbkdf2-sha256$100000000${SALT16_B64}${HASH32_B64}"),
            format!("pbkdf2_sha256$100000000$seasalt${HASH32_B64}="),
            format!("pbkdf2_sha256$99999999999999$seasalt${HASH32_B64}="),
        ];
        for f in forms {
            assert!(
                is_cost_too_high(&rejection(&f), HashScheme::Pbkdf2Sha256),
                "{f}"
            );
        }
        let low = format!("pbkdf2_sha256$999$seasalt${HASH32_B64}=");
        assert!(is_cost_too_low(&rejection(&low), HashScheme::Pbkdf2Sha256));
        let ok = format!("pbkdf2_sha256$10000000$seasalt${HASH32_B64}=");
        assert!(check_imported_hash(&ok).is_ok());
    }

    #[test]
    fn pbkdf2_malformed() {
        let cases = [
            format!("$pbkdf2-sha256$i=1000,l=16${SALT16_B64}${HASH32_B64}"), // l disagrees
            format!("$pbkdf2-sha256$i=1000,l=32$@@@@${HASH32_B64}"),
            format!("$pbkdf2-sha256$1000${SALT16_B64}"),
            format!("$pbkdf2-sha256$1000$!!${HASH32_B64}"),
            "pbkdf2_sha256$1000$salt$not base64!".to_owned(),
            format!("pbkdf2_sha256$1000$${HASH32_B64}"),
            "pbkdf2_sha256$1000$salt$AAAA".to_owned(), // 3-byte hash
            format!("pbkdf2_sha256$abc$salt${HASH32_B64}"),
        ];
        for c in cases {
            assert!(
                is_malformed(&rejection(&c), HashScheme::Pbkdf2Sha256),
                "{c}"
            );
        }
    }

    #[test]
    fn pbkdf2_forms_normalise_to_phc() {
        let phc = format!("$pbkdf2-sha256$i=1000,l=32${SALT16_B64}${HASH32_B64}");
        let without_l = format!("$pbkdf2-sha256$i=1000${SALT16_B64}${HASH32_B64}");
        let passlib = format!("$pbkdf2-sha256$1000${SALT16_B64}${HASH32_B64}");
        for text in [&phc, &without_l, &passlib] {
            let imported = check_imported_hash(text).unwrap();
            assert_eq!(
                imported,
                ImportedHash {
                    scheme: HashScheme::Pbkdf2Sha256,
                    stored: phc.clone()
                }
            );
        }
        // Django's salt is used as text; long salts don't fit PHC and stay as imported.
        let long_salt = "s".repeat(60);
        let django = format!("pbkdf2_sha256$1000${long_salt}${HASH32_B64}=");
        assert_eq!(check_imported_hash(&django).unwrap().stored, django);
    }

    #[test]
    fn unsupported_schemes_are_named_without_echo() {
        let cases = [
            ("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "MD5-crypt"),
            ("$5$rounds=5000$salt$hash", "SHA-256-crypt"),
            ("$6$salt$hash", "SHA-512-crypt"),
            ("{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "LDAP {SSHA}"),
            ("{ssha}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "LDAP {SSHA}"),
            ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "LDAP {SHA}"),
            (
                "sha1$salt$0123456789abcdef0123456789abcdef01234567",
                "Django sha1",
            ),
            ("5f4dcc3b5aa765d61d8327deb882cf99", "unsalted MD5"),
            ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "unsalted SHA-1"),
            ("$pbkdf2-sha512$25000$c2FsdA$aGFzaA", "pbkdf2-sha512"),
            ("$pbkdf2$29000$c2FsdA$aGFzaA", "pbkdf2-sha1"),
        ];
        for (text, label) in cases {
            assert_eq!(
                rejection(text),
                HashRejection::UnsupportedScheme {
                    label: label.into()
                },
                "{text}"
            );
        }
    }

    #[test]
    fn plaintext_and_junk_are_unrecognised() {
        for text in [
            "",
            "   ",
            "hunter2",
            SENTINEL,
            "$unknown$abc",
            "{NOPE}abc",
            "abc123",
        ] {
            assert_eq!(rejection(text), HashRejection::Unrecognised, "{text:?}");
        }
    }

    #[test]
    fn rejections_never_echo_the_input() {
        let inputs = [
            SENTINEL.to_owned(),
            format!("$argon2id${SENTINEL}"),
            format!("$argon2id$v=19$m=19456,t=2,p=1${SENTINEL}${HASH32_B64}"),
            format!("$argon2id$v=19$m={SENTINEL},t=2,p=1${SALT16_B64}${HASH32_B64}"),
            format!("argon2$argon2i${SENTINEL}"),
            format!("$2b$12${SENTINEL}"),
            format!("$2b${SENTINEL}"),
            format!("$pbkdf2-sha256$i=1000${SENTINEL}$AAAA"),
            format!("$pbkdf2-sha256$1000${SENTINEL}$AAAA"),
            format!("$pbkdf2-sha256${SENTINEL}"),
            format!("pbkdf2_sha256$1000${SENTINEL}$***"),
            format!("pbkdf2_sha256${SENTINEL}$salt$AAAA"),
            format!("{{SSHA}}{SENTINEL}"),
            format!("{{{SENTINEL}}}"),
            format!("${SENTINEL}$"),
        ];
        for input in inputs {
            let r = rejection(&input);
            for rendered in [r.to_string(), format!("{r:?}")] {
                assert!(!rendered.contains("Sentinel"), "{input} -> {rendered}");
                assert!(!rendered.contains("Pa55"), "{input} -> {rendered}");
            }
        }
    }

    #[test]
    fn imported_hash_debug_shows_only_the_scheme() {
        let imported = check_imported_hash(&argon2("m=65536,t=3,p=4")).unwrap();
        assert_eq!(format!("{imported:?}"), "ImportedHash(argon2id, ..)");
    }
}
