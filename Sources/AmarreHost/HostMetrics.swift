import AmarreCore
import AmarreMetrics
import AmarreStore
import CoreMetrics

/// amarre-host's series (swift-metrics; Prometheus through `AmarreMetrics`). Made on first
/// use, after `main` has bootstrapped the metrics system.
enum HostMetrics {
    typealias Names = AmarreMetrics.Names

    static let recordsRelayed = Counter(label: Names.recordsRelayed)
    static let recordBytesRelayed = Counter(label: Names.recordBytesRelayed)
    static let replays = Counter(label: Names.replays)
    static let catchUps = Counter(label: Names.catchUps)
    static let agentReadsPaused = Counter(label: Names.agentReadsPaused)
    static let clientsDroppedSlow = Counter(label: Names.clientsDroppedSlow)
    static let spawnFailures = Counter(label: Names.spawnFailures)
    static let restarts = Counter(label: Names.restarts)
    static let relayLatency = CoreMetrics.Timer(label: Names.relayLatency)

    static let sessionsByStatus: [SessionStatus: Gauge] = Dictionary(
        uniqueKeysWithValues: [SessionStatus.running, .crashed, .stopped].map {
            ($0, Gauge(label: Names.sessions, dimensions: [("status", $0.rawValue)]))
        })
    static let clients = Gauge(label: Names.clients)

    /// Notification channels, for `amarre_push_*{channel}`.
    static let pushChannels = ["webpush", "expo", "ntfy", "webhook"]

    /// Makes every series once at start, so a scrape shows them (at 0) before their first
    /// event: `rate()` and `absent()` work from the start.
    static func register() {
        _ = (recordsRelayed, recordBytesRelayed, replays, catchUps, agentReadsPaused, clientsDroppedSlow, spawnFailures, restarts)
        _ = relayLatency
        _ = (sessionsByStatus, clients)
        for channel in pushChannels {
            _ = Counter(label: Names.pushSent, dimensions: [("channel", channel)])
            _ = Counter(label: Names.pushFailed, dimensions: [("channel", channel)])
        }
        RecordStore.registerMetrics()
    }

    /// The gauges, as of now, then this process's exposition.
    static func exposition(sessions: some Sequence<(status: SessionStatus, clients: Int)>) -> String {
        var counts: [SessionStatus: Int] = [.running: 0, .crashed: 0, .stopped: 0]
        var clientCount = 0
        for session in sessions {
            counts[session.status, default: 0] += 1
            clientCount += session.clients
        }
        for (status, gauge) in sessionsByStatus { gauge.record(counts[status] ?? 0) }
        clients.record(clientCount)
        return String(decoding: AmarreMetrics.exposition(), as: UTF8.self)
    }
}
