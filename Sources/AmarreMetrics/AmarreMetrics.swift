import CoreMetrics
import Prometheus
import Synchronization

/// The Prometheus side of amarre's metrics. Every target records through swift-metrics'
/// API (`Counter`, `Gauge`, `Timer`, `Recorder`); each process's `main` calls `bootstrap()`
/// once, before any metric is made, and `GET /metrics` shows `exposition()` of both
/// processes (amarre-api asks amarre-host for its part over the control socket).
///
/// Without `bootstrap()` (unit tests) metrics go to swift-metrics' no-op handlers and
/// `exposition()` is empty.
public enum AmarreMetrics {
    private static let registry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Histogram buckets of the duration series (seconds in the exposition).
    static let durationBuckets: [String: [Duration]] = [
        Names.relayLatency: [
            .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
            .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
            .milliseconds(50), .milliseconds(250),
        ],
        Names.storeCommitSeconds: [
            .microseconds(250), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
        ],
    ]
    /// Histogram buckets of the value series.
    static let valueBuckets: [String: [Double]] = [
        Names.storeCommitRecords: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536]
    ]

    /// Points swift-metrics at a Prometheus registry of this process. Only the first call
    /// does anything (swift-metrics allows one bootstrap per process).
    public static func bootstrap() {
        registry.withLock { current in
            guard current == nil else { return }
            let made = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: made)
            factory.durationHistogramBuckets = durationBuckets
            factory.valueHistogramBuckets = valueBuckets
            MetricsSystem.bootstrap(factory)
            current = made
        }
    }

    /// This process's series in the Prometheus text format (0.0.4).
    public static func exposition() -> [UInt8] {
        registry.withLock { $0?.emitToBuffer() } ?? []
    }

    /// The series' names, one place for all processes (SPEC §14 lists them).
    public enum Names {
        public static let sessions = "amarre_sessions"
        public static let clients = "amarre_clients"
        public static let recordsRelayed = "amarre_records_relayed_total"
        public static let recordBytesRelayed = "amarre_record_bytes_relayed_total"
        public static let replays = "amarre_replays_total"
        public static let catchUps = "amarre_catchups_total"
        public static let agentReadsPaused = "amarre_agent_reads_paused_total"
        public static let clientsDroppedSlow = "amarre_clients_dropped_slow_total"
        public static let spawnFailures = "amarre_spawn_failures_total"
        public static let restarts = "amarre_restarts_total"
        public static let storeCommitSeconds = "amarre_store_commit_seconds"
        public static let storeCommitRecords = "amarre_store_commit_records"
        public static let pushSent = "amarre_push_sent_total"
        public static let pushFailed = "amarre_push_failed_total"
        public static let httpRequests = "amarre_http_requests_total"
        public static let relayLatency = "amarre_relay_latency_seconds"
    }
}
