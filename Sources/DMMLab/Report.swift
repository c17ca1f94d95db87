import Foundation

/// A lab run's results: a table for the terminal, result.json, and
/// report.html with the pictures of `ReportDiagrams.swift` and an SVG
/// timeline of the long connection's echoes.
extension LabRun.Result {
    /// The moves as a table, for the terminal and the report alike.
    var moveTable: (header: [String], rows: [[String]]) {
        let switching = moves.contains { $0.routersUpdated != nil }, buffering = moves.contains { $0.buffered != nil }
        let listing = moves.contains { $0.listedUsed != nil }
        let header = ["move"] + Self.interruptionColumns + ["pings lost", "hops (direct)", "signalling msgs", "rule changes"]
            + (switching ? ["routers updated"] : []) + (buffering ? ["held/released/dropped"] : [])
            + (listing ? ["listed in RS (used)"] : []) + ["new connection from"]
        let rows = moves.map { m in
            ["\(m.from) -> \(m.to)"] + m.interruptions
                + ["\(m.pingsLost)", "\(m.hops.map(String.init) ?? "-") (\(m.directHops.map(String.init) ?? "-"))", "\(m.signallingMessages)", "\(m.ruleChanges)"]
                + (switching ? ["\((m.routersUpdated ?? []).joined(separator: ","))"] : [])
                + (buffering ? [LabRun.Move.bufferFigures(m.buffered ?? [:])] : [])
                + (listing ? ["\((m.listed ?? []).joined(separator: " ")) (\(m.listedUsed ?? 0))"] : [])
                + [m.newConnectionSource + (m.newConnectionUsedNewestPrefix ? "" : " (old prefix!)")]
        }
        return (header, rows)
    }

    public var summary: String {
        var lines = ["", "Scenario \(scenario): \(passed ? "PASSED" : "FAILED")", ""]
        let (header, rows) = moveTable
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
        for r in [header] + rows { lines.append(zip(r, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")) }
        if let s = stream {
            lines.append("")
            lines.append("long TCP connection from \(s.source): \(s.sent) sent, \(s.echoed) echoed, error: \(s.error)")
        }
        if let p = ping { lines.append("ping: \(p.sent) sent, \(p.received) answered") }
        for f in failures { lines.append("FAILED: \(f)") }
        return lines.joined(separator: "\n")
    }

    /// A move's interruption three ways: the first packet of the old
    /// connection at the node and at the correspondent, and its first echo.
    static let interruptionColumns = ["downlink (ms)", "uplink (ms)", "first echo (ms)"]

    public func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: directory.appendingPathComponent("result.json"))
        try html.write(to: directory.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
    }

    /// The echo arrivals as dots over time, a red line at each move.
    var svg: String {
        guard let s = stream, let first = s.arrivals.first, let last = s.arrivals.last, last > first else { return "<p>No stream data.</p>" }
        let width = 900.0, height = 160.0
        func x(_ t: Double) -> Double { 40 + (t - first) / (last - first) * (width - 60) }
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">",
                     "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"]
        var previous = first
        for t in s.arrivals {
            // Dot height: the gap since the previous echo, capped at 200 ms.
            let gap = min(0.2, t - previous)
            parts.append(String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.5\" fill=\"#2060c0\"/>", x(t), height - 20 - gap / 0.2 * (height - 40)))
            previous = t
        }
        for m in moves where m.at >= first && m.at <= last {
            parts.append(String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"10\" y2=\"%.1f\" stroke=\"#c02020\"/>", x(m.at), x(m.at), height - 20))
            parts.append(String(format: "<text x=\"%.1f\" y=\"20\" font-size=\"11\" fill=\"#c02020\">%@</text>", x(m.at) + 3, m.to))
        }
        parts.append("<text x=\"40\" y=\"\(Int(height - 4))\" font-size=\"11\">time; height: gap since the previous echo (0 to 200 ms)</text>")
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    var html: String {
        let table = moveTable
        let rows = table.rows.map { "<tr>" + $0.map { "<td>\(escape($0).replacingOccurrences(of: "-&gt;", with: "&rarr;"))</td>" }.joined() + "</tr>" }
        let phaseFigures = phases.map { "<figure>\(networkSVG($0))<figcaption>\(escape($0.label))</figcaption></figure>" }
        let interruptions = moves.map { "<figure>\(interruptionSVG($0))<figcaption>\(escape($0.from)) &rarr; \(escape($0.to))</figcaption></figure>" }
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>dmm lab: \(escape(scenario))</title>
            <style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
            .phases{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0 0 1em 0}figcaption{font-size:13px;color:#444}</style></head><body>
            <h1>\(escape(scenario)): \(passed ? "passed" : "FAILED")</h1>
            <h2>Moves</h2><table><tr>\(table.header.map { "<th>\(escape($0))</th>" }.joined())</tr>
            \(rows.joined(separator: "\n"))</table>
            <h2>The network, phase by phase</h2>
            <p>Each prefix in use, the way its packets go from the correspondent to the node; dashed: through a tunnel from its anchor; switched: its anchoring moved to where the node is, the routers' host routes taking it there.</p>
            <div class="phases">\(phaseFigures.joined(separator: "\n"))</div>
            <h2>Interruption of each move</h2>
            <p>The long connection's packets around each move, at the node and at the correspondent; red: from the link coming up to the first packet.</p>
            \(interruptions.joined(separator: "\n"))
            <h2>Signalling</h2>\(ladderSVG)
            <h2>The long TCP connection</h2>\(svg)
            <h2>Timeline</h2><pre>\(escape(timeline.joined(separator: "\n")))</pre>
            \(failures.isEmpty ? "" : "<h2>Failures</h2><pre>" + escape(failures.joined(separator: "\n")) + "</pre>")
            </body></html>
            """
    }
}

extension LabRun.Move {
    var interruptions: [String] {
        [downlinkMilliseconds, uplinkMilliseconds, firstEchoMilliseconds].map { $0.map { String(format: "%.1f", $0) } ?? "-" }
    }
}
