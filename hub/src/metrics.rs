//! The hub's metrics, in the Prometheus text format on the operations listener
//! ([`crate::ops`]). Two kinds:
//!
//! - **events**, counted by this process as they happen (files received, records ingested,
//!   handshakes refused, delivery failures, ingest and close durations). Each replica counts
//!   its own; Prometheus sums them across replicas.
//! - **state**, read at scrape time from the database and the PKI (ingest queue, delivery
//!   backlog, windows, certificate expiry), so every replica reports the same shared truth.
//!
//! One [`Metrics`] belongs to one [`crate::app::Application`] (no global registry: two hubs in
//! one test process keep their own counts). Every metric is listed with its labels in
//! `docs/operations.md`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of `hutong_files_received_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FileLabels {
    /// The uploader's participant code (`unknown` without a registered certificate).
    pub participant: String,
    /// `stored` (201), `repeat` (200, content sent before) or `refused` (4xx/5xx).
    pub outcome: String,
}

/// Labels of `hutong_records_ingested_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RecordLabels {
    /// `accepted`, or the rejection code (`R01`..`R07`, or `F01`.. for a file rejected whole).
    pub code: String,
}

/// Labels of `hutong_tls_handshake_refusals_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `api` or `console`.
    pub listener: String,
    /// `no_certificate`, `revoked`, `expired`, `unknown_issuer`, `timeout`, `tls` (another TLS
    /// alert) or `connection` (the peer went away).
    pub cause: String,
}

/// Labels of `hutong_delivery_failures_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AddresseeLabels {
    /// The participant the file was being pushed to.
    pub addressee: String,
}

/// Labels of the state gauges with one free dimension.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The state counted.
    pub state: String,
}

/// Labels of `hutong_window_closed`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DayLabels {
    /// The settlement day, `YYYY-MM-DD`.
    pub day: String,
}

/// Labels of `hutong_certificate_expiry_days`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertLabels {
    /// `ca`, `server` or `participant`.
    pub kind: String,
    /// The participant code (empty for the CA and server certificates).
    pub participant: String,
    /// The serial, upper-case hex.
    pub serial: String,
}

/// Labels of `hutong_replica_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReplicaLabels {
    /// This process's name among the replicas (`--replica`, default `HOSTNAME:PORT`).
    pub replica: String,
    /// The hub's code.
    pub hub: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The binary's version.
    pub version: String,
}

/// The metrics of one running hub. Cloning is cheap (shared counters).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

struct Inner {
    registry: Registry,
    files_received: Family<FileLabels, Counter>,
    records_ingested: Family<RecordLabels, Counter>,
    ingest_seconds: Histogram,
    close_seconds: Histogram,
    handshake_refusals: Family<RefusalLabels, Counter>,
    delivery_failures: Family<AddresseeLabels, Counter>,
    /// The state gauges, set at each scrape.
    pub(crate) state: StateGauges,
}

/// The gauges [`crate::ops`] sets from the database and the PKI before each scrape.
#[derive(Default)]
pub(crate) struct StateGauges {
    pub(crate) queue_files: Gauge,
    pub(crate) queue_oldest_seconds: Gauge,
    pub(crate) open_window_files: Gauge,
    pub(crate) window_closed: Family<DayLabels, Gauge>,
    pub(crate) last_closed_at: Gauge,
    pub(crate) deliveries: Family<StateLabels, Gauge>,
    pub(crate) certificate_days: Family<CertLabels, Gauge>,
    pub(crate) replica: Family<ReplicaLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, every one registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hutong");
        let files_received = Family::<FileLabels, Counter>::default();
        registry.register(
            "files_received",
            "Uploads answered by this replica, by participant and outcome",
            files_received.clone(),
        );
        let records_ingested = Family::<RecordLabels, Counter>::default();
        registry.register(
            "records_ingested",
            "Records ingested by this replica: accepted, or rejected by reason code",
            records_ingested.clone(),
        );
        // 1 ms .. ~9 min in 20 doublings: a small file to a 10 M-record one.
        let ingest_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 20));
        registry.register(
            "ingest_duration_seconds",
            "Time to ingest one file (parse, check, store, commit)",
            ingest_seconds.clone(),
        );
        let close_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 18));
        registry.register(
            "window_close_duration_seconds",
            "Time to close one settlement window (clear, settlement files, packages)",
            close_seconds.clone(),
        );
        let handshake_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "tls_handshake_refusals",
            "TLS handshakes refused by this replica, by listener and cause",
            handshake_refusals.clone(),
        );
        let delivery_failures = Family::<AddresseeLabels, Counter>::default();
        registry.register(
            "delivery_failures",
            "Failed attempts to push a file to a participant's endpoint",
            delivery_failures.clone(),
        );
        let state = StateGauges::default();
        registry.register(
            "ingest_queue_files",
            "Inbound files stored and waiting for ingest",
            state.queue_files.clone(),
        );
        registry.register(
            "ingest_queue_oldest_seconds",
            "Age of the oldest file waiting for ingest (0 when none waits)",
            state.queue_oldest_seconds.clone(),
        );
        registry.register(
            "window_open_files",
            "Accepted inbound files not yet taken by a settlement window",
            state.open_window_files.clone(),
        );
        registry.register(
            "window_closed",
            "1 for each of the last closed settlement days (the newest 7)",
            state.window_closed.clone(),
        );
        registry.register(
            "window_last_closed_timestamp_seconds",
            "When the last settlement window closed, Unix seconds (0 before the first)",
            state.last_closed_at.clone(),
        );
        registry.register(
            "deliveries",
            "Outbound deliveries not yet delivered: due now, retrying, or failed (given up)",
            state.deliveries.clone(),
        );
        registry.register(
            "certificate_expiry_days",
            "Days until each valid certificate of the hub's PKI expires",
            state.certificate_days.clone(),
        );
        registry.register(
            "replica_info",
            "1, labelled with this replica's identity",
            state.replica.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            files_received,
            records_ingested,
            ingest_seconds,
            close_seconds,
            handshake_refusals,
            delivery_failures,
            state,
        }))
    }

    /// Counts one upload answered: `status` is the HTTP status of the answer.
    pub fn file_received(&self, participant: Option<&str>, status: u16) {
        let outcome = match status {
            201 => "stored",
            200 => "repeat",
            _ => "refused",
        };
        self.0
            .files_received
            .get_or_create(&FileLabels {
                participant: participant.unwrap_or("unknown").to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts `n` records ingested with `code` (`accepted` or a rejection code).
    pub fn records_ingested(&self, code: &str, n: u64) {
        if n > 0 {
            self.0
                .records_ingested
                .get_or_create(&RecordLabels { code: code.into() })
                .inc_by(n);
        }
    }

    /// Observes how long one file's ingest took.
    pub fn ingest_took(&self, took: Duration) {
        self.0.ingest_seconds.observe(took.as_secs_f64());
    }

    /// Observes how long one window's close took.
    pub fn close_took(&self, took: Duration) {
        self.0.close_seconds.observe(took.as_secs_f64());
    }

    /// Counts one refused TLS handshake.
    pub fn handshake_refused(&self, listener: &str, cause: &str) {
        self.0
            .handshake_refusals
            .get_or_create(&RefusalLabels {
                listener: listener.into(),
                cause: cause.into(),
            })
            .inc();
    }

    /// Counts one failed delivery attempt.
    pub fn delivery_failed(&self, addressee: &str) {
        self.0
            .delivery_failures
            .get_or_create(&AddresseeLabels {
                addressee: addressee.into(),
            })
            .inc();
    }

    pub(crate) fn state(&self) -> &StateGauges {
        &self.0.state
    }

    /// Every metric in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.0.registry);
        out
    }
}

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counted_events_with_their_labels_in_the_prometheus_text_format() {
        let m = Metrics::new();
        m.file_received(Some("4100"), 201);
        m.file_received(Some("4100"), 201);
        m.file_received(None, 403);
        m.records_ingested("accepted", 7);
        m.records_ingested("R03", 2);
        m.records_ingested("R04", 0);
        m.handshake_refused("api", "revoked");
        let text = m.render();
        assert!(
            text.contains(r#"hutong_files_received_total{participant="4100",outcome="stored"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"hutong_files_received_total{participant="unknown",outcome="refused"} 1"#
            )
        );
        assert!(text.contains(r#"hutong_records_ingested_total{code="accepted"} 7"#));
        assert!(text.contains(r#"hutong_records_ingested_total{code="R03"} 2"#));
        assert!(
            !text.contains(r#"code="R04""#),
            "a zero count adds no series"
        );
        assert!(
            text.contains(
                r#"hutong_tls_handshake_refusals_total{listener="api",cause="revoked"} 1"#
            )
        );
        assert!(text.contains("# TYPE hutong_ingest_duration_seconds histogram"));
    }

    #[test]
    fn two_hubs_in_one_process_keep_their_own_counts() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.delivery_failed("3100");
        assert!(a.render().contains("hutong_delivery_failures_total"));
        assert!(!b.render().contains(r#"addressee="3100""#));
    }
}
