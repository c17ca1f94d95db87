import Foundation
import CoreMetrics
import Metrics
import Prometheus

/// A daemon's metrics, recorded through swift-metrics and exposed in the
/// Prometheus text format by swift-prometheus's registry. Every label takes
/// its values from a closed set (a message type, a status, a reason enum),
/// so that a hostile peer cannot grow the exposition.
public final class DaemonMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// Counters and gauges made once per name and labels: making one asks
    /// the registry, which checks and hashes the name and labels.
    private var counters: [String: CoreMetrics.Counter] = [:]
    private var gauges: [String: CoreMetrics.Gauge] = [:]
    private var timers: [String: Metrics.Timer] = [:]

    static func key(_ name: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(name) { $0 + "|" + $1.0 + "=" + $1.1 }
    }

    /// `durations` gives the histogram buckets of each timer by name.
    public init(durations: [String: [Duration]] = [:]) {
        var f = PrometheusMetricsFactory(registry: registry)
        f.durationHistogramBuckets = durations
        factory = f
    }

    public func count(_ name: String, _ dimensions: [(String, String)] = [], by amount: Int = 1) {
        let key = Self.key(name, dimensions)
        let counter = counters[key] ?? CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
        counters[key] = counter
        counter.increment(by: amount)
    }

    public func gauge(_ name: String, _ value: Int, _ dimensions: [(String, String)] = []) {
        let key = Self.key(name, dimensions)
        let gauge = gauges[key] ?? CoreMetrics.Gauge(label: name, dimensions: dimensions, factory: factory)
        gauges[key] = gauge
        gauge.record(value)
    }

    public func time(_ name: String, seconds: Double) {
        let timer = timers[name] ?? Metrics.Timer(label: name, factory: factory)
        timers[name] = timer
        timer.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// The exposition (text format 0.0.4).
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Adds what a counter that only grows has gained since the last call: for
/// counts kept by an engine (rejections, ignored inputs) and exposed as
/// counters at each scrape.
struct CounterFollower<Key: Hashable> {
    private var last: [Key: Int] = [:]

    mutating func follow(_ current: [Key: Int], into metrics: DaemonMetrics, _ name: String, label: String, _ value: (Key) -> String) {
        for (key, n) in current where n > last[key, default: 0] {
            metrics.count(name, [(label, value(key))], by: n - last[key, default: 0])
            last[key] = n
        }
    }
}
