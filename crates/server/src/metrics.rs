//! Prometheus metrics and request logs, both keyed by the route template (`/users/{id}`), never
//! the raw path: reset and invitation tokens travel in paths. The request log line carries the
//! method, the route, the status and the latency, and nothing else about the request (no
//! cookies, tokens, query strings or form bodies).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// How a sign-in attempt ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values as Prometheus shows them
pub enum SignInOutcome {
    success,
    failed,
    throttled,
    mfa_failed,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    outcome: SignInOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RowLabels {
    kind: String,
    status: String,
    outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    sign_ins: Family<SignInLabels, Counter>,
    /// Read from the store's history at each scrape: imports run by the CLI or by another
    /// instance count too, and a restart loses nothing.
    jobs: Family<JobLabels, Gauge>,
    job_rows: Family<RowLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 8 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("muster");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            latency.clone(),
        );
        registry.register("sign_ins", "Sign-in attempts by outcome", sign_ins.clone());
        let jobs = Family::<JobLabels, Gauge>::default();
        let job_rows = Family::<RowLabels, Gauge>::default();
        registry.register(
            "imports",
            "Imports and reverts in the history, by kind and status",
            jobs.clone(),
        );
        registry.register(
            "import_rows",
            "Rows the history's imports and reverts counted, by kind, status and outcome",
            job_rows.clone(),
        );
        // Every outcome is listed from the start, so a dashboard sees zeros, not gaps.
        use SignInOutcome::*;
        for outcome in [success, failed, throttled, mfa_failed] {
            drop(sign_ins.get_or_create(&SignInLabels { outcome }));
        }
        Metrics {
            registry,
            requests,
            latency,
            sign_ins,
            jobs,
            job_rows,
        }
    }
}

impl Metrics {
    pub fn count_sign_in(&self, outcome: SignInOutcome) {
        self.sign_ins.get_or_create(&SignInLabels { outcome }).inc();
    }

    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Sets the history's gauges to the store's totals.
    fn record_jobs(&self, totals: &[muster_engine::JobTotals]) {
        self.jobs.clear();
        self.job_rows.clear();
        for total in totals {
            let (kind, status) = (total.kind.as_str(), total.status.as_str());
            self.jobs
                .get_or_create(&JobLabels {
                    kind: kind.to_owned(),
                    status: status.to_owned(),
                })
                .set(total.jobs);
            let outcomes = [
                ("created", total.created),
                ("updated", total.updated),
                ("unchanged", total.unchanged),
                ("failed", total.failed),
            ];
            for (outcome, rows) in outcomes {
                self.job_rows
                    .get_or_create(&RowLabels {
                        kind: kind.to_owned(),
                        status: status.to_owned(),
                        outcome,
                    })
                    .set(rows);
            }
        }
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Counts, times and logs every request under its route template.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status();
    state
        .metrics
        .observe(&method, &route, status, elapsed.as_secs_f64());
    tracing::info!(
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// `GET /metrics`: the registry in the OpenMetrics text format Prometheus reads, with the
/// history's totals read at the scrape. A store that does not answer is a 503, as for
/// `/readyz`.
pub async fn serve(State(state): State<AppState>) -> Response {
    match muster_engine::job_totals(&state.store).await {
        Ok(totals) => state.metrics.record_jobs(&totals),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
    match state.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
