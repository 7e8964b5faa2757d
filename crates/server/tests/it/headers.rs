//! Security headers on every response (pages, errors, assets, health and metrics), and the
//! origin check of state-changing requests.

use muster_store::Store;
use reqwest::header::HeaderMap;

use crate::scenarios;
use crate::support::{client, start, start_with};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn assert_security_headers(path: &str, headers: &HeaderMap) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert_eq!(get("content-security-policy"), CSP, "{path}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{path}");
    assert_eq!(get("x-frame-options"), "DENY", "{path}");
}

async fn every_route_has_the_security_headers(store: &Store) {
    let server = start(store).await;
    let http = client();
    for (path, status) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/metrics", 200),
        ("/no/such/page", 404),
        ("/assets/0000000000000000/console.css", 404),
    ] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_security_headers(path, response.headers());
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let refused = http.post(server.url("/healthz")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert_security_headers("POST /healthz", refused.headers());
}

async fn the_stylesheet_is_cached_for_a_year(store: &Store) {
    let server = start(store).await;
    let http = client();
    let page = http.get(server.url("/no/such/page")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let start = html
        .find("/assets/")
        .expect("the page links its stylesheet");
    let end = html[start..].find('"').unwrap() + start;
    let path = &html[start..end];
    let response = http.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_security_headers(path, response.headers());
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let css = response.text().await.unwrap();
    assert!(css.contains(":focus-visible"));
}

async fn cross_origin_and_originless_posts_are_refused(store: &Store) {
    let server = start(store).await;
    let http = client();
    let foreign = http
        .post(server.url("/sign-out"))
        .header("origin", "http://evil.example")
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    let text = foreign.text().await.unwrap();
    assert!(text.contains("did not come from the console"), "{text}");
    let originless = http.post(server.url("/sign-out")).send().await.unwrap();
    assert_eq!(originless.status().as_u16(), 403);
    let foreign_referer = http
        .post(server.url("/sign-out"))
        .header("referer", "http://evil.example/page")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_referer.status().as_u16(), 403);
}

async fn the_public_url_is_the_only_accepted_origin(store: &Store) {
    let server = start_with(store, |config| {
        config.public_url =
            Some(muster_server::PublicUrl::parse("https://muster.example").unwrap());
    })
    .await;
    let http = client();
    // The Host the request came to no longer counts: only the public URL's origin does.
    let own_host = http
        .post(server.url("/no/such/page"))
        .header("origin", server.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(own_host.status().as_u16(), 403);
    let public = http
        .post(server.url("/no/such/page"))
        .header("origin", "https://muster.example")
        .send()
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
}

scenarios!(
    every_route_has_the_security_headers,
    the_stylesheet_is_cached_for_a_year,
    cross_origin_and_originless_posts_are_refused,
    the_public_url_is_the_only_accepted_origin,
);
