//! What protects every request and response: the security headers (a strict CSP without inline
//! scripts or styles, no framing, no sniffing, no referrer, no caching of pages), the origin
//! check of state-changing requests, the CSRF tokens of forms (the session's own, or before a
//! session exists a double-submit token in a `SameSite=Strict` cookie), and the cookies.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;

use crate::errors::PageError;
use crate::AppState;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The name of the hidden field that carries a form's CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Adds the security headers to every response, errors and assets included. Pages are never
/// cached (they show records the viewer may lose access to); assets set their own long cache.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Reset and invitation links carry their token in the path.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses every request that may change state (anything but GET and HEAD) unless it comes from
/// the console's own origin. The form's token is checked by the handler, which knows the session.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let expected = expected_origin(&state, request.headers());
    if expected.is_some_and(|expected| from_origin(request.headers(), &expected)) {
        next.run(request).await
    } else {
        PageError::CrossOrigin.into_response()
    }
}

/// Whether the request says it comes from `expected`. Under `Referrer-Policy: no-referrer` a
/// browser sends `Origin: null` and no Referer even for its own pages' forms (the Fetch
/// standard serialises the origin as null under that policy), so then the browser's
/// `Sec-Fetch-Site` decides, which no page can forge; a client sending none of the three is
/// refused.
fn from_origin(headers: &HeaderMap, expected: &str) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match text(header::ORIGIN) {
        Some(origin) if origin != "null" => origin.eq_ignore_ascii_case(expected),
        _ => match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some(site) => site == "same-origin",
            None => referer_origin(headers).is_some_and(|o| o.eq_ignore_ascii_case(expected)),
        },
    }
}

/// The public URL's origin, or without one the origin of the Host the request came to (over
/// plain HTTP: behind TLS a public URL is required for secure cookies anyway).
fn expected_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(public) = &state.config.public_url {
        return Some(public.origin().to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

/// The origin of the Referer header.
fn referer_origin(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let (scheme, rest) = referer.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{authority}"))
}

/// 32 random bytes, base64url: CSRF tokens before a session exists.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares secrets in time independent of where they differ (`subtle`, as the credentials
/// crate and the second-factor check do).
pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// ---- cookies ------------------------------------------------------------------------------------

/// The cookie names, `__Host-` prefixed when cookies are Secure (the prefix makes the browser
/// refuse the cookie unless it is Secure, Path=/ and without Domain).
#[derive(Clone, Copy, Debug)]
pub struct Cookies {
    secure: bool,
}

impl Cookies {
    pub fn new(secure: bool) -> Cookies {
        Cookies { secure }
    }

    pub fn session_name(self) -> &'static str {
        if self.secure {
            "__Host-muster_session"
        } else {
            "muster_session"
        }
    }

    pub fn pre_session_name(self) -> &'static str {
        if self.secure {
            "__Host-muster_presession"
        } else {
            "muster_presession"
        }
    }

    /// The session cookie: sent on top-level navigation from elsewhere (Lax) so a link to the
    /// console opens signed in; the origin check and the form token guard the writes.
    pub fn session(self, token: &str) -> HeaderValue {
        self.cookie(self.session_name(), token, "Lax", None)
    }

    pub fn clear_session(self) -> HeaderValue {
        self.cookie(self.session_name(), "", "Lax", Some(0))
    }

    /// The pre-session token's cookie, never sent on a request another site starts.
    pub fn pre_session(self, token: &str) -> HeaderValue {
        self.cookie(self.pre_session_name(), token, "Strict", None)
    }

    fn cookie(self, name: &str, value: &str, same_site: &str, max_age: Option<u32>) -> HeaderValue {
        let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
        if let Some(seconds) = max_age {
            text.push_str(&format!("; Max-Age={seconds}"));
        }
        if self.secure {
            text.push_str("; Secure");
        }
        // Names are constants and values are base64url tokens: always a valid header value.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The value of the cookie `name` in the request's Cookie headers.
pub fn read_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

// ---- forms ------------------------------------------------------------------------------------

/// A submitted `application/x-www-form-urlencoded` body as its fields, in order. Handlers turn
/// the fields into the engine's input types; repeated names (checkboxes) keep every value.
#[derive(Clone, Debug, Default)]
pub struct FormData {
    fields: Vec<(String, String)>,
}

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData {
            fields: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`, as sent (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of `name`, trimmed; None when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    }

    /// Every non-blank value of `name` (checkboxes, multiple selects).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Refuses unless the form's token equals `expected` (the session's, or the pre-session
    /// cookie's).
    pub fn check_csrf(&self, expected: &str) -> Result<(), PageError> {
        match self.get(CSRF_FIELD) {
            Some(sent) if !expected.is_empty() && same_secret(sent, expected) => Ok(()),
            _ => Err(PageError::CsrfToken),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<FormData, Response> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::BadForm.into_response());
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| PageError::BadForm.into_response())?;
        Ok(FormData::parse(&body))
    }
}

/// The double-submit token of forms shown before a session exists (sign-in): the cookie's value,
/// or a new one the response must set (`fresh`).
pub struct PreSession {
    pub token: String,
    fresh: bool,
    cookies: Cookies,
}

impl PreSession {
    /// The Set-Cookie header a page showing the token must send, when the cookie is new.
    pub fn set_cookie(&self) -> Option<(header::HeaderName, HeaderValue)> {
        self.fresh
            .then(|| (header::SET_COOKIE, self.cookies.pre_session(&self.token)))
    }

    /// A submitted form must carry the token its cookie holds; a fresh token means there was no
    /// cookie, so nothing to match.
    pub fn verify(&self, form: &FormData) -> Result<(), PageError> {
        if self.fresh {
            return Err(PageError::CsrfToken);
        }
        form.check_csrf(&self.token)
    }
}

impl FromRequestParts<AppState> for PreSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PreSession, Self::Rejection> {
        let cookies = state.cookies();
        let existing = read_cookie(&parts.headers, cookies.pre_session_name())
            .filter(|value| value.len() == 43 && value.bytes().all(is_base64url));
        Ok(match existing {
            Some(token) => PreSession {
                token: token.to_owned(),
                fresh: false,
                cookies,
            },
            None => PreSession {
                token: random_token(),
                fresh: true,
                cookies,
            },
        })
    }
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_prefixed_and_secure_only_behind_tls() {
        let plain = Cookies::new(false).session("abc");
        assert_eq!(plain, "muster_session=abc; Path=/; HttpOnly; SameSite=Lax");
        let secure = Cookies::new(true).pre_session("abc");
        assert_eq!(
            secure,
            "__Host-muster_presession=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("xmuster_session=no; muster_session=yes"),
        );
        assert_eq!(read_cookie(&headers, "muster_session"), Some("yes"));
    }

    #[test]
    fn forms_keep_repeated_fields_and_check_their_token() {
        let form = FormData::parse(b"p=users.read&p=roles.read&csrf=t0k&name=+Ann+");
        assert_eq!(form.all("p"), ["users.read", "roles.read"]);
        assert_eq!(form.text("name").as_deref(), Some("Ann"));
        assert!(form.check_csrf("t0k").is_ok());
        assert!(form.check_csrf("t0K").is_err());
        assert!(FormData::parse(b"csrf=").check_csrf("").is_err());
    }

    #[test]
    fn the_referer_gives_an_origin_when_origin_is_absent() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("http://127.0.0.1:8080/users?q=x"),
        );
        assert_eq!(
            referer_origin(&headers).as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(from_origin(&headers, "http://127.0.0.1:8080"));
        assert!(!from_origin(&headers, "https://muster.example"));
    }

    #[test]
    fn a_null_origin_counts_only_with_a_same_origin_fetch() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!from_origin(&headers, "http://localhost"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!from_origin(&headers, "http://localhost"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(from_origin(&headers, "http://localhost"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!from_origin(&headers, "http://localhost"));
    }
}
