import Foundation

/// Counters, gauges and histograms in the Prometheus text format (version
/// 0.0.4), served by `MetricsServer`.
public final class Metrics {
    struct Key: Hashable, Comparable {
        var name: String
        var labels: [String]  // "k=\"v\"", sorted
        static func < (a: Key, b: Key) -> Bool { (a.name, a.labels.joined()) < (b.name, b.labels.joined()) }
    }

    private var help: [String: (String, String)] = [:]
    private var values: [Key: Double] = [:]
    private var histograms: [Key: (buckets: [Double], counts: [Int], sum: Double, count: Int)] = [:]

    public init() {}

    func key(_ name: String, _ labels: [String: String]) -> Key {
        Key(name: name, labels: labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value.replacingOccurrences(of: "\"", with: "'"))\"" })
    }

    public func describe(_ name: String, type: String, _ text: String) { help[name] = (type, text) }

    public func add(_ name: String, _ labels: [String: String] = [:], _ v: Double = 1) { values[key(name, labels), default: 0] += v }
    public func set(_ name: String, _ labels: [String: String] = [:], _ v: Double) { values[key(name, labels)] = v }

    public func observe(_ name: String, _ v: Double, buckets: [Double]) {
        let k = key(name, [:])
        var h = histograms[k] ?? (buckets, Array(repeating: 0, count: buckets.count), 0, 0)
        for (i, b) in h.buckets.enumerated() where v <= b { h.counts[i] += 1 }
        h.sum += v
        h.count += 1
        histograms[k] = h
    }

    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double { values[key(name, labels)] ?? 0 }

    public func render() -> String {
        var out = ""
        var described: Set<String> = []
        func header(_ name: String) {
            guard described.insert(name).inserted, let (type, text) = help[name] else { return }
            out += "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n"
        }
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            header(k.name)
            out += k.name + (k.labels.isEmpty ? "" : "{" + k.labels.joined(separator: ",") + "}") + " \(Self.number(v))\n"
        }
        for (k, h) in histograms.sorted(by: { $0.key < $1.key }) {
            header(k.name)
            for (b, c) in zip(h.buckets, h.counts) { out += "\(k.name)_bucket{le=\"\(Self.number(b))\"} \(c)\n" }
            out += "\(k.name)_bucket{le=\"+Inf\"} \(h.count)\n\(k.name)_sum \(Self.number(h.sum))\n\(k.name)_count \(h.count)\n"
        }
        return out
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}
