//! The static files of the console, compiled into the binary and served under a path that
//! carries a hash of their content (`/assets/3f2a…/console.css`), so browsers may keep them for a
//! year: a changed file gets a new path. Nothing is loaded from anywhere else.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[Asset] = &[Asset {
    name: "console.css",
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("../assets/console.css"),
}];

/// One hash over every file: a change to any of them moves them all, which is simpler than a
/// path per file and costs a browser one extra download of a few kilobytes.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for file in FILES {
        hasher.update(file.name.as_bytes());
        hasher.update(file.bytes);
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// The path a page links to for the asset `name`.
pub fn path(name: &str) -> String {
    format!("/assets/{}/{name}", *VERSION)
}

/// `GET /assets/{version}/{name}`: an asset of this build, cached for a year; an old version's
/// path is a 404, so no browser keeps a stale file under a current name.
pub async fn serve(Path((version, name)): Path<(String, String)>) -> Response {
    let found = FILES.iter().find(|file| file.name == name);
    match found {
        Some(file) if version == *VERSION => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(file.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            file.bytes,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_path_carries_the_content_version() {
        let path = super::path("console.css");
        assert!(path.starts_with("/assets/") && path.ends_with("/console.css"));
        assert_eq!(path.len(), "/assets/".len() + 16 + "/console.css".len());
    }
}
