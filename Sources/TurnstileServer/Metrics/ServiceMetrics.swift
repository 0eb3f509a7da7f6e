import Foundation
import Prometheus
import Synchronization
import TurnstileCore
import TurnstileStore

/// The service's metrics, in Prometheus's text format at `GET /metrics`. One registry per server, so servers in one
/// process (tests, the demo) never mix their counts.
///
/// - `turnstile_http_requests_total{route, method, status}` and `turnstile_http_request_duration_seconds{route,
///   method}`: every request the router answered, by route template (`/api/v1/events/{id}`, never the raw path, so
///   the label set stays bounded; Hummingbird's `NotFound` for unknown paths).
/// - `turnstile_write_batch_writes`: how many writes each committed batch carried (group commit at work).
/// - `turnstile_store_errors_total{operation}`: store calls that failed as unavailable (`request`), and write
///   batches that failed (`batch`).
/// - `turnstile_http_requests_cancelled_total`: requests whose client went away before the answer (an HTTP/2 stream
///   reset, a connection closed with streams in flight): counted here, not logged one line each.
/// - `turnstile_live_subscribers`: live-feed connections now.
/// - `turnstile_connections_open`, `turnstile_connections_refused_total` (a client past its share, closed at once)
///   and `turnstile_connections_deferred_total` (times the server stopped accepting at its cap); see
///   ``ConnectionGate``.
final class ServiceMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let batchWrites: ValueHistogram
    private let failedRequests: Counter
    private let failedBatches: Counter
    private let cancelledRequests: Counter
    private let subscribers: Gauge
    private let hub: LiveHub
    private let connections: ConnectionGate
    private let connectionsOpen: Gauge
    private let connectionsRefused: Gauge
    private let connectionsDeferred: Gauge
    /// Each label set's request counter and duration histogram, found in the registry once: every request records
    /// both, and the registry builds names and takes its lock on each lookup. Bounded as the labels are.
    private let requestMetrics = Mutex<[RequestLabels: (count: Counter, duration: DurationHistogram)]>([:])

    private struct RequestLabels: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    static let requestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5),
    ]
    static let batchWritesBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000]

    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "turnstile", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "Requests answered, by route template, method and status.")
    }
    private static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "turnstile", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time to answer a request, by route template and method.")
    }
    private static var storeErrors: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "turnstile", subsystem: "store", metricName: "errors", unitName: "total",
            helpText: "Requests failed because the store was unavailable, and write batches that failed.")
    }

    init(writes: WriteActivity, hub: LiveHub, connections: ConnectionGate) {
        self.hub = hub
        self.connections = connections
        connectionsOpen = Self.connectionGauge(registry, "open", "", "Connections open now.")
        // Kept as gauges set from the gate's own counts when scraped: the gate counts on the event loops.
        connectionsRefused = Self.connectionGauge(
            registry, "refused", "total", "Connections closed at once because their client already held its share.")
        connectionsDeferred = Self.connectionGauge(
            registry, "deferred", "total", "Times the server stopped accepting because it held its most connections.")
        batchWrites = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "turnstile", subsystem: "write", metricName: "batch", unitName: "writes",
                helpText: "Writes carried by each committed write batch."),
            buckets: Self.batchWritesBuckets)
        failedRequests = registry.makeCounter(descriptor: Self.storeErrors, labels: [("operation", "request")])
        failedBatches = registry.makeCounter(descriptor: Self.storeErrors, labels: [("operation", "batch")])
        cancelledRequests = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "turnstile", subsystem: "http", metricName: "requests_cancelled", unitName: "total",
                helpText: "Requests whose client went away before they were answered."))
        subscribers = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "turnstile", subsystem: "live", metricName: "subscribers", unitName: "",
                helpText: "Live-feed connections now."))
        writes.observe { [batchWrites, failedBatches] count, committed in
            if committed { batchWrites.record(Double(count)) } else { failedBatches.increment() }
        }
    }

    private static func connectionGauge(
        _ registry: PrometheusCollectorRegistry, _ name: String, _ unit: String, _ help: String
    ) -> Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "turnstile", subsystem: "connections", metricName: name, unitName: unit, helpText: help))
    }

    /// Counts one request whose client went away before its answer.
    func requestCancelled() {
        cancelledRequests.increment()
    }

    /// Records one answered request.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let labels = RequestLabels(route: route, method: method, status: status)
        let metrics =
            requestMetrics.withLock { $0[labels] }
            ?? {
                let metrics = (
                    count: registry.makeCounter(
                        descriptor: Self.requests,
                        labels: [("route", route), ("method", method), ("status", String(status))]),
                    duration: registry.makeDurationHistogram(
                        descriptor: Self.requestDuration, labels: [("route", route), ("method", method)],
                        buckets: Self.requestDurationBuckets)
                )
                requestMetrics.withLock { $0[labels] = metrics }
                return metrics
            }()
        metrics.count.increment()
        metrics.duration.record(duration)
    }

    /// Records a request that failed because the store was unavailable.
    func storeUnavailable() {
        failedRequests.increment()
    }

    /// Everything, in Prometheus's text exposition format.
    func exposition() -> [UInt8] {
        subscribers.set(Double(hub.subscriberCount))
        connectionsOpen.set(Double(connections.openCount))
        connectionsRefused.set(Double(connections.refusedCount))
        connectionsDeferred.set(Double(connections.deferredCount))
        return registry.emitToBuffer()
    }
}
