//! Liveness, readiness and the Prometheus metrics, which count requests by route template and
//! never by the raw path (tokens travel in paths).

use muster_store::Store;

use muster_engine::{import_file, ImportOptions, ImportSource, ImportStatus};

use crate::scenarios;
use crate::support::{client, operator, start};

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

/// The history's totals come from the store at each scrape, so an import the CLI ran (here the
/// engine, as the CLI does) counts, by kind, status and row outcome.
async fn metrics_count_the_imports_of_the_history_and_their_rows(store: &Store) {
    let server = start(store).await;
    let scrape = || async {
        let metrics = client().get(server.url("/metrics")).send().await.unwrap();
        assert_eq!(metrics.status().as_u16(), 200);
        metrics.text().await.unwrap()
    };
    let before = scrape().await;
    assert!(!before.contains("muster_imports{"), "{before}");

    let csv = "Username,Name\nada,Ada Lovelace\ngrace,Grace Hopper\n,Nobody\n";
    let source = ImportSource::read("people.csv", csv.as_bytes()).expect("spooling");
    let options = ImportOptions {
        partial: true,
        ..ImportOptions::default()
    };
    let report = import_file(store, &source, &options, &operator())
        .await
        .expect("importing");
    assert_eq!(report.status, ImportStatus::Applied);

    let after = scrape().await;
    for line in [
        r#"muster_imports{kind="import",status="applied"} 1"#,
        r#"muster_import_rows{kind="import",status="applied",outcome="created"} 2"#,
        r#"muster_import_rows{kind="import",status="applied",outcome="failed"} 1"#,
    ] {
        assert!(after.contains(line), "{line} in {after}");
    }
}

scenarios!(
    metrics_count_the_imports_of_the_history_and_their_rows,
    health_and_readiness_answer,
    readiness_fails_when_the_database_is_gone,
    metrics_count_requests_by_route_template,
);
