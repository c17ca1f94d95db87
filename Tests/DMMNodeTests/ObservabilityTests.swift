import DMMCore
import Logging
import Testing

@testable import DMMNode

/// The daemons' metrics through swift-metrics into swift-prometheus's
/// exposition, and their logs through swift-log in logfmt.
struct ObservabilityTests {
    @Test func countersGaugesAndTheHandoverHistogramAreExposed() {
        let m = DaemonMetrics(durations: ["dmm_handover_signalling_seconds": [.milliseconds(1), .milliseconds(5)]])
        m.count("dmm_messages_received_total", [("type", "Proxy Binding Update")])
        m.count("dmm_messages_received_total", [("type", "Proxy Binding Update")], by: 2)
        m.gauge("dmm_tunnels", 4)
        m.time("dmm_handover_signalling_seconds", seconds: 0.0008)
        m.time("dmm_handover_signalling_seconds", seconds: 0.003)
        let text = m.render()
        #expect(text.contains(#"dmm_messages_received_total{type="Proxy Binding Update"} 3"#), "\(text)")
        #expect(text.contains("dmm_tunnels 4"), "\(text)")
        #expect(text.contains(#"dmm_handover_signalling_seconds_bucket{le="0.001"} 1"#), "\(text)")
        #expect(text.contains(#"dmm_handover_signalling_seconds_bucket{le="0.005"} 2"#), "\(text)")
        #expect(text.contains("dmm_handover_signalling_seconds_count 2"), "\(text)")
    }

    /// An engine's counts become counters that grow by what was added since
    /// the last scrape, labelled from the closed set of reasons.
    @Test func engineCountsFollowAsCounters() {
        let m = DaemonMetrics()
        var f = CounterFollower<AccessRouter.Ignored>()
        f.follow([.pbuUnanswered: 2], into: m, "dmm_engine_ignored_total", label: "reason") { $0.rawValue }
        f.follow([.pbuUnanswered: 2, .prefixPoolExhausted: 1], into: m, "dmm_engine_ignored_total", label: "reason") { $0.rawValue }
        f.follow([.pbuUnanswered: 5, .prefixPoolExhausted: 1], into: m, "dmm_engine_ignored_total", label: "reason") { $0.rawValue }
        let text = m.render()
        #expect(text.contains(#"dmm_engine_ignored_total{reason="PBU unanswered, given up"} 5"#), "\(text)")
        #expect(text.contains(#"dmm_engine_ignored_total{reason="prefix pool exhausted"} 1"#), "\(text)")
    }

    @Test func logLinesAreLogfmtWithSortedFields() {
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        var log = Logger(label: "mar1") { _ in LogfmtLogHandler(daemon: "mar1") { lines.all.append($0) } }
        log.info("attach", metadata: ["node": "02:00:00:00:00:07", "link": "mn1"])
        log.debug("not shown at info")
        log.logLevel = .debug
        log.debug("flows", metadata: ["why": "a flow ended"])
        #expect(lines.all.count == 2)
        #expect(lines.all.first?.hasPrefix("time=") == true)
        #expect(lines.all.first?.hasSuffix(" level=info daemon=mar1 event=attach link=mn1 node=02:00:00:00:00:07\n") == true, "\(lines.all)")
        #expect(lines.all.last?.hasSuffix(#" level=debug daemon=mar1 event=flows why="a flow ended""# + "\n") == true, "\(lines.all)")
        #expect(LogfmtLogHandler.time(Instant(nanoseconds: 1_796_000_000_000_123_999)) == "1796000000.000123")
        #expect(LogfmtLogHandler.time(Instant(nanoseconds: 1_796_000_001_999_999_000)) == "1796000001.999999")
        #expect(LogfmtLogHandler.quoted("mn1") == "mn1")
        #expect(LogfmtLogHandler.quoted("a Router Solicitation") == #""a Router Solicitation""#)
        #expect(LogfmtLogHandler.quoted(#"say "x""#) == #""say \"x\"""#)
        #expect(LogfmtLogHandler.quoted("") == #""""#)
        let debug = LogfmtLogHandler.logger(daemon: "mar1", debug: true), quiet = LogfmtLogHandler.logger(daemon: "mar1")
        #expect(debug.logLevel == .debug && quiet.logLevel == .info)
        var copy = quiet
        copy[metadataKey: "x"] = "1"
        #expect(copy[metadataKey: "x"] == "1" && quiet[metadataKey: "x"] == nil, "metadata is a value: a copy's does not reach the original")
    }
}
