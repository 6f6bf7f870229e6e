//! Prometheus metrics: request counts and latency histograms per route, rendered as text on
//! `/metrics`.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub(crate) const REQUESTS_TOTAL: &str = "http_requests_total";
pub(crate) const REQUEST_DURATION: &str = "http_request_duration_seconds";

const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The installed recorder; renders the Prometheus text.
#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the process-wide recorder. Called once, at start-up.
    pub(crate) fn install() -> anyhow::Result<Self> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), LATENCY_BUCKETS)?
            .install_recorder()?;
        metrics::describe_counter!(
            REQUESTS_TOTAL,
            "HTTP requests answered, by method, route and status"
        );
        metrics::describe_histogram!(
            REQUEST_DURATION,
            metrics::Unit::Seconds,
            "HTTP request latency, by method and route"
        );
        Ok(Metrics { handle })
    }

    /// Keeps histogram memory bounded between scrapes.
    pub(crate) fn spawn_upkeep(&self, every: Duration) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(every);
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }

    pub(crate) fn render(&self) -> String {
        self.handle.render()
    }
}
