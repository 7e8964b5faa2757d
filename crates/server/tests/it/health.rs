//! Liveness, readiness and the Prometheus metrics, which count requests by route template and
//! never by the raw path (tokens travel in paths).

use muster_store::Store;

use crate::scenarios;
use crate::support::{client, start};

async fn health_and_readiness_answer(store: &Store) {
    let server = start(store).await;
    let http = client();
    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready\n");
}

async fn readiness_fails_when_the_database_is_gone(store: &Store) {
    let server = start(store).await;
    store.close().await;
    let ready = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
}

async fn metrics_count_requests_by_route_template(store: &Store) {
    let server = start(store).await;
    let http = client();
    http.get(server.url("/healthz")).send().await.unwrap();
    http.get(server.url("/assets/secret-token-123/console.css"))
        .send()
        .await
        .unwrap();
    let metrics = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"muster_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/assets/{version}/{name}",status="404""#),
        "{text}"
    );
    assert!(!text.contains("secret-token-123"), "{text}");
    assert!(
        text.contains("muster_http_request_duration_seconds_bucket"),
        "{text}"
    );
    for outcome in ["success", "failed", "throttled", "mfa_failed"] {
        assert!(
            text.contains(&format!(
                r#"muster_sign_ins_total{{outcome="{outcome}"}} 0"#
            )),
            "{text}"
        );
    }
}

scenarios!(
    health_and_readiness_answer,
    readiness_fails_when_the_database_is_gone,
    metrics_count_requests_by_route_template,
);
