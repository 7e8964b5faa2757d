//! What `muster serve` is told on its command line, checked once: the address to listen on, the
//! MFA policy, the public URL (which decides the origin CSRF checks compare with, whether
//! cookies are `Secure` and `__Host-` prefixed, and where mailed links point), the transport
//! mail leaves through and how long sessions last.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use muster_engine::account::mail::MailTransport;

/// Whether every user without `Ignore MFA` must enrol a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaPolicy {
    Required,
    Optional,
}

impl MfaPolicy {
    pub fn parse(text: &str) -> Option<MfaPolicy> {
        match text {
            "required" => Some(MfaPolicy::Required),
            "optional" => Some(MfaPolicy::Optional),
            _ => None,
        }
    }
}

/// How long a session lives without use, and at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * 60 * 60 * 1000,
        }
    }
}

/// The URL people reach the console at (`https://muster.example.org`), reduced to what the
/// server needs: its origin and whether it is served over TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    secure: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the public URL must start with http:// or https:// and name a host: {0}")]
    PublicUrl(String),
}

impl PublicUrl {
    /// `http(s)://host[:port]` with an optional path, which is ignored: the console is served
    /// from the root of its origin.
    pub fn parse(raw: &str) -> Result<PublicUrl, ConfigError> {
        let bad = || ConfigError::PublicUrl(raw.to_owned());
        let (scheme, rest) = raw.trim().split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        let secure = match scheme.as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(bad()),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_is_plain = authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
        if authority.is_empty() || !host_is_plain {
            return Err(bad());
        }
        Ok(PublicUrl {
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
            secure,
        })
    }

    /// `scheme://host[:port]`, as browsers send it in the Origin header.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_secure(&self) -> bool {
        self.secure
    }
}

/// What mailed links start with: the public URL's origin (the console is served from the root
/// of its origin), or without one the address the server listens on.
pub fn link_base(public_url: Option<&PublicUrl>, listen: SocketAddr) -> String {
    match public_url {
        Some(public) => public.origin().to_owned(),
        None => format!("http://{listen}"),
    }
}

#[derive(Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub mfa: MfaPolicy,
    pub public_url: Option<PublicUrl>,
    /// Where password-reset and invitation mail goes (SMTP, or the outbox directory).
    pub mail: Arc<dyn MailTransport>,
    pub session: SessionPolicy,
}

/// The transport may hold an SMTP password: it is never printed.
impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("mfa", &self.mfa)
            .field("public_url", &self.public_url)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Listens on `listen` and mails through `mail`, with optional MFA, no public URL and the
    /// default session lengths.
    pub fn new(listen: SocketAddr, mail: Arc<dyn MailTransport>) -> ServerConfig {
        ServerConfig {
            listen,
            mfa: MfaPolicy::Optional,
            public_url: None,
            mail,
            session: SessionPolicy::default(),
        }
    }

    /// What mailed links start with (`link_base`).
    pub fn link_base(&self) -> String {
        link_base(self.public_url.as_ref(), self.listen)
    }

    /// Cookies are `Secure` (and `__Host-` prefixed) only when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_ref().is_some_and(PublicUrl::is_secure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_keeps_the_origin_only() {
        let url = PublicUrl::parse("HTTPS://Muster.Example.org:8443/console/").unwrap();
        assert_eq!(url.origin(), "https://muster.example.org:8443");
        assert!(url.is_secure());
        assert!(!PublicUrl::parse("http://localhost").unwrap().is_secure());
    }

    #[test]
    fn public_url_refuses_other_schemes_and_empty_hosts() {
        for raw in ["ftp://x", "https://", "muster.example.org", "http://a b"] {
            assert!(PublicUrl::parse(raw).is_err(), "{raw}");
        }
    }
}
