import Foundation

/// The report's pictures, as inline SVG: the network in each phase (where
/// each prefix is anchored, the tunnels, the way each prefix's packets go),
/// the signalling as a ladder diagram, and each move's interruption on the
/// connection's time line at a scale where a millisecond is visible.
extension LabRun.Result {
    static let flowColors = ["#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
    static let kindColors = [
        "correspondent": "#555555", "router": "#3b6fb6", "access-router": "#2e8b57", "location-server": "#8b5a2b", "mobile-node": "#b22222",
    ]

    // MARK: The network

    /// Node positions: levels by hops from the correspondent, each level in
    /// the order of its nodes' neighbours above; the mobile node below all.
    func layout(width: Double) -> (positions: [String: (x: Double, y: Double)], height: Double) {
        guard let network, let root = network.nodes.first(where: { $0[1] == "correspondent" })?[0] ?? network.nodes.first?[0] else {
            return ([:], 0)
        }
        var neighbours: [String: [String]] = [:]
        for l in network.links where l.count == 2 {
            neighbours[l[0], default: []].append(l[1])
            neighbours[l[1], default: []].append(l[0])
        }
        var levels: [[String]] = [[root]], seen: Set<String> = [root]
        while true {
            let next = levels.last!.flatMap { neighbours[$0] ?? [] }.filter { seen.insert($0).inserted }
            if next.isEmpty { break }
            levels.append(next)
        }
        var positions: [String: (x: Double, y: Double)] = [:]
        for (depth, level) in levels.enumerated() {
            // Order by the mean position of the neighbours already placed.
            let ordered = level.enumerated().sorted { a, b in
                func key(_ n: String) -> Double {
                    let xs = (neighbours[n] ?? []).compactMap { positions[$0]?.x }
                    return xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
                }
                return (key(a.element), a.offset) < (key(b.element), b.offset)
            }.map(\.element)
            for (i, n) in ordered.enumerated() {
                positions[n] = (width * (Double(i) + 0.5) / Double(ordered.count), 40 + Double(depth) * 70)
            }
        }
        return (positions, 40 + Double(levels.count) * 70 + 30)
    }

    func networkSVG(_ phase: LabRun.Phase) -> String {
        guard let network else { return "" }
        let width = 440.0
        var (positions, height) = layout(width: width)
        let mobile = network.nodes.first { $0[1] == "mobile-node" }?[0]
        if let mobile, let at = phase.node, let p = positions[at] { positions[mobile] = (p.x, height - 30) }
        var svg = [##"<svg class="network" xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height + 20 * Double(phase.prefixes.count)))">"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##]
        for l in network.links where l.count == 2 {
            guard let a = positions[l[0]], let b = positions[l[1]] else { continue }
            svg.append(segment(a, b, color: "#bbbbbb", width: 2))
        }
        if let mobile, let at = phase.node, let a = positions[at], let m = positions[mobile] {
            svg.append(line(a, m, color: "#bbbbbb", width: 2, dash: "2,3"))
        }
        for (i, flow) in phase.prefixes.enumerated() {
            let color = Self.flowColors[i % Self.flowColors.count], offset = Double(i) * 4 - 4
            let points = flow.path.compactMap { positions[$0] }.map { (x: $0.x + offset, y: $0.y + offset) }
            let tunnelStart = flow.path.firstIndex(of: flow.anchor) ?? 0, tunnelEnd = flow.path.lastIndex(of: flow.servedAt) ?? 0
            for j in points.indices.dropLast() {
                let tunnelled = flow.isTunnelled && j >= tunnelStart && j < tunnelEnd
                svg.append(segment(points[j], points[j + 1], color: color, width: 3, dash: tunnelled ? "7,4" : nil))
            }
        }
        for n in network.nodes {
            guard let p = positions[n[0]], n[0] != mobile || phase.node != nil else { continue }
            svg.append(String(format: ##"<circle cx="%.1f" cy="%.1f" r="13" fill="%@"/>"##, p.x, p.y, Self.kindColors[n[1]] ?? "#999999"))
            svg.append(String(format: ##"<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%@</text>"##, p.x, p.y + 26, escape(n[0])))
        }
        for (i, flow) in phase.prefixes.enumerated() {
            let y = height + 20 * Double(i)
            let text = flow.anchor == flow.servedAt ? "\(flow.prefix): anchored and served at \(flow.anchor)"
                : "\(flow.prefix): anchored at \(flow.anchor), \(flow.isTunnelled ? "tunnelled" : "switched") to \(flow.servedAt)"
            svg.append(String(format: ##"<rect x="10" y="%.1f" width="14" height="4" fill="%@"/>"##, y - 6, Self.flowColors[i % Self.flowColors.count]))
            svg.append(String(format: ##"<text x="30" y="%.1f" font-size="11">%@</text>"##, y, escape(text)))
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// A link or a path segment; between two nodes on one level, an arc below
    /// them, so that a link passing a node in between does not run through it.
    func segment(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double), color: String, width: Double, dash: String? = nil) -> String {
        guard a.y == b.y else { return line(a, b, color: color, width: width, dash: dash) }
        return String(format: ##"<path d="M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" fill="none" stroke="%@" stroke-width="%.1f"%@/>"##,
                      a.x, a.y, (a.x + b.x) / 2, a.y + abs(b.x - a.x) * 0.25, b.x, b.y, color, width, dash.map { ##" stroke-dasharray="\##($0)""## } ?? "")
    }

    func line(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double), color: String, width: Double, dash: String? = nil) -> String {
        String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%@" stroke-width="%.1f"%@/>"##,
               a.x, a.y, b.x, b.y, color, width, dash.map { ##" stroke-dasharray="\##($0)""## } ?? "")
    }

    // MARK: The signalling ladder

    /// One row per mobility message, a column per access router and the
    /// location server; each move's link-up as a red line between rows.
    var ladderSVG: String {
        guard let network, let first = signalling.first else { return "<p>No mobility messages were captured.</p>" }
        let shown = signalling.prefix(Self.ladderRows)
        let columns = network.nodes.filter { $0[1] == "access-router" || $0[1] == "location-server" }.map { $0[0] }
        let left = 90.0, spacing = 170.0, row = 22.0, top = 40.0
        let x = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, left + 40 + Double($0) * spacing) })
        var rows: [(y: Double, message: SignallingMessage?, move: LabRun.Move?)] = []
        var y = top + 10, pendingMoves = moves.sorted { $0.at < $1.at }[...]
        for m in shown {
            while let move = pendingMoves.first, move.at <= m.time {
                rows.append((y, nil, move))
                pendingMoves = pendingMoves.dropFirst()
                y += row
            }
            rows.append((y, m, nil))
            y += row
        }
        let width = left + 80 + Double(columns.count) * spacing
        var svg = [##"<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(y + 10))">"##,
                   ##"<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="3" orient="auto"><path d="M0,0 L7,3 L0,6 z" fill="\##(Self.arrowColor)"/></marker>"##,
                   ##"<marker id="refusal" markerWidth="8" markerHeight="8" refX="7" refY="3" orient="auto"><path d="M0,0 L7,3 L0,6 z" fill="#c02020"/></marker></defs>"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##]
        for c in columns {
            svg.append(String(format: ##"<text x="%.1f" y="20" font-size="12" font-weight="bold" text-anchor="middle">%@</text>"##, x[c]!, escape(c)))
            svg.append(line((x[c]!, 28), (x[c]!, y), color: "#999999", width: 1))
        }
        for r in rows {
            if let move = r.move {
                svg.append(line((10, r.y), (width - 10, r.y), color: "#c02020", width: 1, dash: "4,3"))
                svg.append(String(format: ##"<text x="10" y="%.1f" font-size="10" fill="#c02020">link up at %@</text>"##, r.y - 3, escape(move.to)))
                continue
            }
            guard let m = r.message, let from = x[m.from], let to = x[m.to] else { continue }
            let color = m.refused ? "#c02020" : Self.arrowColor
            svg.append(String(format: ##"<text x="10" y="%.1f" font-size="10" fill="#666">+%.3f s</text>"##, r.y + 4, m.time - first.time))
            svg.append(String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%@" stroke-width="2" marker-end="url(#%@)"/>"##,
                              from, r.y, to + (to > from ? -2 : 2), r.y, color, m.refused ? "refusal" : "arrow"))
            svg.append(String(format: ##"<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="%@">%@</text>"##,
                              (from + to) / 2, r.y - 4, color, escape(m.label)))
        }
        svg.append("</svg>")
        let more = signalling.count > shown.count ? "<p>The first \(shown.count) of \(signalling.count) messages; all are in the captures.</p>" : ""
        return svg.joined(separator: "\n") + more
    }

    static let ladderRows = 400
    static let arrowColor = "#1f4e79"

    // MARK: Interruptions

    static let downlinkColor = "#1b9e77", uplinkColor = "#7b3294"

    /// The old connection's packets around a move, 1 ms to 10 px: at the
    /// node (downlink) and at the correspondent (uplink), the link-up at 0.
    func interruptionSVG(_ move: LabRun.Move) -> String {
        let scale = 10.0, left = 150.0, window = LabRun.Move.window
        let width = left + (window.upperBound - window.lowerBound) * scale + 20
        func x(_ ms: Double) -> Double { (left + (ms - window.lowerBound) * scale).rounded() }
        var svg = [##"<svg class="interruption" xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="110">"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##]
        for ms in stride(from: window.lowerBound, through: window.upperBound, by: 10) {
            svg.append(line((x(ms), 20), (x(ms), 85), color: "#eeeeee", width: 1))
            svg.append(String(format: ##"<text x="%.1f" y="100" font-size="10" text-anchor="middle">%+.0f ms</text>"##, x(ms), ms))
        }
        for (row, label, arrivals, gap, color) in [(35.0, "at the node (downlink)", move.downlinkArrivals, move.downlinkMilliseconds, Self.downlinkColor),
                                                   (70.0, "at the correspondent (uplink)", move.uplinkArrivals, move.uplinkMilliseconds, Self.uplinkColor)] {
            svg.append(String(format: ##"<text x="5" y="%.1f" font-size="11">%@</text>"##, row + 4, label))
            for t in arrivals { svg.append(line((x(t), row - 8), (x(t), row + 8), color: color, width: 2)) }
            if let gap {
                svg.append(line((x(0), row + 11), (x(min(gap, window.upperBound)), row + 11), color: "#c02020", width: 2))
                svg.append(String(format: ##"<text x="%.1f" y="%.1f" font-size="10" fill="#c02020">%.2f ms</text>"##,
                                  x(min(gap, window.upperBound)) + 4, row + 14, gap))
            }
        }
        svg.append(line((x(0), 15), (x(0), 85), color: "#c02020", width: 1.5))
        svg.append(String(format: ##"<text x="%.1f" y="12" font-size="10" fill="#c02020">link up at %@</text>"##, x(0) + 3, escape(move.to)))
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }
}

/// Text for HTML and SVG.
func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
