import DMMCore
import DMMLinux
import DMMWire
import Foundation

/// Runs a scenario in the lab and checks what the system promises: no TCP
/// reset and no lost message on the long connection; each new connection
/// uses the newest preferred prefix; a tunnel exists exactly while a flow
/// needs it; nothing is left behind.
public struct LabRun {
    public struct Move: Codable, Sendable {
        public var from: String, to: String
        /// When the node's link came up at the new MAR (seconds since 1970).
        public var at: Double
        /// The L3 interruption, from the link up at the new MAR to the first
        /// packet of the old connection to reach the node (downlink) and the
        /// correspondent (uplink), as captured in their namespaces; nil
        /// without captures. The node sends every stream interval and the
        /// correspondent answers each packet, so a downlink figure includes
        /// up to one interval of waiting for a packet to come.
        public var downlinkMilliseconds: Double?
        public var uplinkMilliseconds: Double?
        /// From the link up to the first echo the stream application read:
        /// the interruption as the application sees it, TCP's recovery of
        /// the segments lost meanwhile included.
        public var firstEchoMilliseconds: Double?
        /// Pings sent in the second after the move that got no reply.
        public var pingsLost: Int
        /// PBUs and PBAs sent by all MARs for this move.
        public var signallingMessages: Int
        /// Kernel rule changes by all MARs for this move.
        public var ruleChanges: Int
        /// The source the new connection after the move used, and whether it
        /// is in the new MAR's block.
        public var newConnectionSource: String
        public var newConnectionUsedNewestPrefix: Bool
        /// Arrivals of the old connection's packets around the move, in ms
        /// from the link coming up (from `Move.window`), at the node and at
        /// the correspondent: the report draws the gap at a readable scale.
        public var downlinkArrivals: [Double] = []
        public var uplinkArrivals: [Double] = []
        static let window = -20.0...40.0
        /// Routers the long connection's packets from the correspondent
        /// crossed after the move (64 minus their hop limit in the node's
        /// capture), and the routers on the direct path to the new access
        /// router.
        public var hops: Int?
        public var directHops: Int?
        /// Anchor switching: the routers whose entries for the moved
        /// prefixes changed, and those whose next hop for them changed, as
        /// the lab computes from the topology (FM-path-tbl:6: the same).
        public var routersUpdated: [String]?
        public var nextHopChanged: [String]?
        /// Central control: packets the access routers held, released and
        /// dropped during the move (FM-buffer).
        public var buffered: [String: Int]?
        /// A node that lists its previous prefixes (dnpp): those its
        /// solicitation listed when its link came up, and how many the
        /// controller used.
        public var listed: [String]?
        public var listedUsed: Int?

        /// Buffer counts as the tables print them: held/released/dropped.
        public static func bufferFigures(_ counts: [String: Int]) -> String {
            ["held", "released", "dropped"].map { "\(counts[$0] ?? 0)" }.joined(separator: "/")
        }
    }

    /// The network as the report draws it.
    public struct Network: Codable, Sendable {
        public var nodes: [[String]]  // name, kind
        public var links: [[String]]

        init(_ t: Topology) {
            nodes = t.nodes.map { [$0.name, $0.kind.rawValue] }
            links = t.links.map { [$0.ends.0, $0.ends.1] }
        }
    }

    /// A phase of the scenario: the node at one access router, and for each
    /// prefix in use where it is anchored, where it is served, and the way
    /// its downlink packets go from the correspondent.
    public struct Phase: Codable, Sendable {
        public var label: String
        public var node: String?
        public var prefixes: [PrefixPath]
        /// Anchor switching: each router's own routes for these prefixes.
        public var entries: [String: [String]]?
        /// Central control: what the access routers' buffers counted so far.
        public var buffered: [String: Int]?
    }

    public struct PrefixPath: Codable, Sendable, Equatable {
        public var prefix: String
        public var anchor: String
        public var servedAt: String
        /// Nodes from the correspondent to the mobile node: through a tunnel
        /// from `anchor` to `servedAt` when they differ (indirection), or as
        /// the routers' kernels forward it (anchor switching).
        public var path: [String]

        /// Served away from its anchor through it (indirection), not on a
        /// path that leaves the anchor out (anchor switching).
        var isTunnelled: Bool { anchor != servedAt && path.contains(anchor) }
    }

    public struct Result: Codable, Sendable {
        public var scenario: String
        public var passed: Bool
        public var failures: [String]
        public var moves: [Move]
        public var stream: Traffic.StreamLog?
        public var ping: Traffic.PingLog?
        public var solicitations: Traffic.SolicitLog?
        public var timeline: [String]
        public var network: Network?
        public var phases: [Phase] = []
        public var signalling: [SignallingMessage] = []
    }

    public static func run(_ scenario: Scenario, executable: String) -> Result {
        var failures: [String] = []
        var moves: [Move] = []
        var stream: Traffic.StreamLog?, ping: Traffic.PingLog?, solicitations: Traffic.SolicitLog?
        var phases: [Phase] = [], signalling: [SignallingMessage] = []
        let lab: Lab
        do {
            lab = try Lab(scenario: scenario, executable: executable)
        } catch {
            return Result(scenario: scenario.name, passed: false, failures: ["\(error)"], moves: [], timeline: [])
        }
        let out = lab.output
        do {
            try lab.build()
            try lab.startDaemons()
            try lab.startCaptures()
            try lab.attach(to: scenario.start)
            try lab.wait("an address from \(scenario.start)'s block", seconds: 10) {
                try lab.preferred().map { lab.block(of: scenario.start).contains($0) } ?? false
            }
            lab.note("node has \(try lab.preferred()!) from \(scenario.start)")
            // The correspondent's echo server, the node's long stream and ping.
            try lab.spawn("echo-server", in: lab.correspondent, [executable, "lab", "traffic", "serve", "--address", "\(lab.correspondentAddress)", "--port", "\(Lab.echoPort)"])
            try lab.sleep(0.3)
            let stop = out.appendingPathComponent("stop-traffic").path
            try? FileManager.default.removeItem(atPath: stop)
            try lab.spawn("stream", in: lab.mobileNode, [executable, "lab", "traffic", "stream", "--to", "\(lab.correspondentAddress)", "--port", "\(Lab.echoPort)",
                                                "--interval", "\(scenario.streamInterval)", "--duration", "600", "--stop-file", stop],
                          stdout: out.appendingPathComponent("stream.json"))
            try lab.spawn("ping", in: lab.mobileNode, [executable, "lab", "traffic", "ping", "--to", "\(lab.correspondentAddress)",
                                              "--interval", "\(scenario.pingInterval)", "--duration", "600", "--stop-file", stop],
                          stdout: out.appendingPathComponent("ping.json"))
            lab.note("started a TCP stream and a ping to the correspondent")
            if scenario.dnpp {
                try lab.spawn("solicit", in: lab.mobileNode, [executable, "lab", "traffic", "solicit", "--interface", "eth0", "--duration", "600",
                                                     "--stop-file", stop],
                              stdout: out.appendingPathComponent("solicit.json"))
                lab.note("the node lists its previous prefixes in a Router Solicitation when its link comes up")
            }
            try lab.sleep(scenario.dwell)
            var seen = try lab.observe("at \(scenario.start)", node: scenario.start)
            phases.append(seen.phase)
            var at = scenario.start
            var moveTimes: [Double] = []
            for next in scenario.moves {
                let before = seen.signalling
                let t = try lab.move(from: at, to: next)
                moveTimes.append(t)
                // The lab's own checks start `ip` processes, which on a small
                // machine would take the CPUs from the handover it measures.
                try lab.sleep(Self.quietAfterMove)
                try lab.wait("a preferred address from \(next)'s block", seconds: 10) {
                    try lab.preferred().map { lab.block(of: next).contains($0) } ?? false
                }
                lab.note("node prefers \(try lab.preferred()!) at \(next)")
                // A new connection: the node's own source address selection.
                let probe = out.appendingPathComponent("new-connection-\(moves.count + 1).json")
                _ = try lab.run([executable, "lab", "traffic", "stream", "--to", "\(lab.correspondentAddress)", "--port", "\(Lab.echoPort)", "--interval", "0.05",
                                 "--duration", "0.3"], in: lab.mobileNode)
                    .write(to: probe, atomically: true, encoding: .utf8)
                let probeLog = try JSONDecoder().decode(Traffic.StreamLog.self, from: Data(contentsOf: probe))
                let used = IPv6Address(probeLog.source).map { lab.block(of: next).contains($0) } ?? false
                lab.note("new connection from \(probeLog.source)\(used ? "" : " (NOT the newest prefix)")")
                if !used { failures.append("move to \(next): the new connection used \(probeLog.source)") }
                try lab.sleep(scenario.dwell)
                let previous = seen.phase
                seen = try lab.observe("at \(next), from \(at)", node: next)
                phases.append(seen.phase)
                let after = seen.signalling
                var move = Move(from: at, to: next, at: t, pingsLost: 0,
                                signallingMessages: after.messages - before.messages, ruleChanges: after.rules - before.rules,
                                newConnectionSource: probeLog.source, newConnectionUsedNewestPrefix: used)
                if scenario.dnpp { move.listedUsed = after.listedUsed - before.listedUsed }
                move.directHops = scenario.topology.path(from: lab.correspondent, to: next).map { $0.count - 1 }
                if let b = previous.buffered, let a = seen.phase.buffered {
                    move.buffered = a.merging(b.mapValues { -$0 }, uniquingKeysWith: +).filter { $0.key != "stray" }
                }
                if scenario.forwarding == .anchorSwitching {
                    lab.compareEntries(&move, before: previous, after: seen.phase)
                    if move.routersUpdated != move.nextHopChanged {
                        failures.append("move to \(next): routers updated \(move.routersUpdated ?? []), next hop changed at \(move.nextHopChanged ?? [])")
                    }
                }
                moves.append(move)
                at = next
            }
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            try lab.wait("the traffic to stop", seconds: 10) { !lab.isRunning("stream") && !lab.isRunning("ping") && !lab.isRunning("solicit") }
            lab.note("stopped the traffic")
            if scenario.dnpp {
                solicitations = try? JSONDecoder().decode(Traffic.SolicitLog.self, from: Data(contentsOf: out.appendingPathComponent("solicit.json")))
                for (i, t) in moveTimes.enumerated() {
                    moves[i].listed = solicitations?.sent.first { $0.at > t && $0.at < t + 1 }?.prefixes
                    if moves[i].listed?.isEmpty != false || moves[i].listedUsed == 0 {
                        failures.append("move to \(moves[i].to): the node's solicitation listed \(moves[i].listed ?? []), the controller used \(moves[i].listedUsed ?? 0)")
                    }
                }
            }
            stream = try? JSONDecoder().decode(Traffic.StreamLog.self, from: Data(contentsOf: out.appendingPathComponent("stream.json")))
            ping = try? JSONDecoder().decode(Traffic.PingLog.self, from: Data(contentsOf: out.appendingPathComponent("ping.json")))
            if let s = stream {
                if s.error != "none" { failures.append("the long TCP connection failed: \(s.error)") }
                if s.echoed != s.sent { failures.append("the long TCP connection lost \(s.sent - s.echoed) of \(s.sent) messages") }
                for (i, t) in moveTimes.enumerated() {
                    moves[i].firstEchoMilliseconds = s.arrivals.first { $0 > t }.map { ($0 - t) * 1000 }
                }
            } else {
                failures.append("no stream result")
            }
            if let p = ping {
                for (i, t) in moveTimes.enumerated() {
                    let window = p.arrivals.filter { $0 > t && $0 < t + 1 }.count
                    moves[i].pingsLost = max(0, Int((1 / scenario.pingInterval).rounded()) - window - 1)
                }
            }
            // No flow is left: after the idle grace, no tunnel anywhere, and
            // under anchor switching no host route (FM-path-tbl:7).
            func tunnels() throws -> [String] {
                try (lab.accessRouters + lab.agentRouters).flatMap { mar in
                    try lab.ip(mar, ["-6", "route", "show", "proto", "177"]).split(separator: "\n")
                        .filter { ($0.contains("encap seg6 ") && !$0.contains("seg6local")) || $0.contains("encap bpf ") || $0.contains(" via ") }
                        .map { "\(mar): \($0)" }
                }
            }
            do {
                try lab.wait("every tunnel to be removed after the flows ended", seconds: scenario.idleGrace + 15) { try tunnels().isEmpty }
            } catch {
                failures.append("tunnels or host routes left after the flows ended: \(try tunnels().joined(separator: "; "))")
                for mar in lab.accessRouters { lab.note("\(mar) state: \((try? lab.run([executable, "ctl", "--socket", "\(out.path)/\(mar).sock", "--json"], in: mar)) ?? "")") }
            }
            lab.note(scenario.forwarding == .anchorSwitching ? "every tunnel and host route is gone" : "every tunnel is gone")
            phases.append(try lab.observe("the flows ended", node: at).phase)
        } catch {
            failures.append("\(error)")
        }
        lab.stopCaptures()
        do {
            signalling = try lab.signallingMessages()
        } catch {
            failures.append("the signalling captures: \(error)")
        }
        if let s = stream, let node = IPv6Address(s.source) {
            do {
                try measureFromCaptures(&moves, lab: lab, node: .init(address: node, port: s.port))
            } catch {
                failures.append("the traffic captures: \(error)")
            }
            // Anchor switching leaves no stretch: the moved flow takes the direct path.
            for m in moves where scenario.forwarding == .anchorSwitching && m.hops != m.directHops {
                failures.append("move to \(m.to): the moved flow's packets crossed \(m.hops.map(String.init) ?? "no") routers, the direct path \(m.directHops ?? 0)")
            }
        }
        let left = lab.tearDown()
        failures += left
        lab.note(left.isEmpty ? "torn down: no namespace, route or process left" : "left behind: \(left)")
        return Result(scenario: scenario.name, passed: failures.isEmpty, failures: failures, moves: moves, stream: stream, ping: ping,
                      solicitations: solicitations, timeline: lab.timeline.map { String(format: "%.3f %@", $0.time - lab.started, $0.event) },
                      network: Network(scenario.topology), phases: phases, signalling: signalling)
    }

    /// How long the lab leaves the machine to the daemons after a move.
    static let quietAfterMove = 0.05

    /// Each move's downlink and uplink interruption, from the captures at
    /// the node and the correspondent.
    static func measureFromCaptures(_ moves: inout [Move], lab: Lab, node: FlowCapture.Endpoint) throws {
        let atNode = lab.output.appendingPathComponent("mn-traffic.pcapng"), atCN = lab.output.appendingPathComponent("cn-traffic.pcapng")
        guard FileManager.default.fileExists(atPath: atNode.path), FileManager.default.fileExists(atPath: atCN.path) else { return }
        let cn = FlowCapture.Endpoint(address: lab.correspondentAddress, port: Lab.echoPort)
        let packets = try FlowCapture.arrivals(in: atNode, from: cn, to: node)
        let downlink = packets.map(\.time)
        let uplink = try FlowCapture.arrivals(in: atCN, from: node, to: cn).map(\.time)
        for i in moves.indices {
            let t = moves[i].at
            // The correspondent sends with hop limit 64; half a second after
            // the move, the path has settled (a held packet crossed its
            // router twice).
            moves[i].hops = packets.first { $0.time > t + 0.5 }.map { 64 - $0.hopLimit }
            moves[i].downlinkMilliseconds = downlink.first { $0 > t }.map { ($0 - t) * 1000 }
            moves[i].uplinkMilliseconds = uplink.first { $0 > t }.map { ($0 - t) * 1000 }
            moves[i].downlinkArrivals = downlink.map { ($0 - t) * 1000 }.filter(Move.window.contains)
            moves[i].uplinkArrivals = uplink.map { ($0 - t) * 1000 }.filter(Move.window.contains)
        }
    }
}

extension Lab {
    /// The access routers' state, read once: where each prefix in use is
    /// anchored and served now and the way its downlink packets go (the
    /// phase), and the PBUs, PBAs and rule changes so far, over all of them.
    /// Under central control the controller says where each prefix is
    /// anchored and served, and sees every message: PFCP, and the access
    /// routers' reports and their answers.
    func observe(_ label: String, node: String) throws -> (phase: LabRun.Phase, signalling: (messages: Int, rules: Int, listedUsed: Int)) {
        let states = try accessRouters.map { (mar: $0, state: try state($0)) }
        var messages = 0, rules = 0
        for (_, s) in states {
            let c = s["counters"] as? [String: Int] ?? [:]
            messages += (c["pbu_sent"] ?? 0) + (c["pba_sent"] ?? 0)
            rules += c["rule_changes"] ?? 0
        }
        var prefixes: [LabRun.PrefixPath] = []
        let byAddress = Dictionary(uniqueKeysWithValues: accessRouters.map { ("\(address(of: $0))", $0) })
        func path(_ prefix: String, anchor: String, served: String) -> LabRun.PrefixPath {
            let toAnchor = topology.path(from: correspondent, to: anchor) ?? [correspondent, anchor]
            let tunnel = served == anchor ? [] : (topology.path(from: anchor, to: served) ?? [anchor, served]).dropFirst()
            return .init(prefix: prefix, anchor: anchor, servedAt: served, path: toAnchor + tunnel + [mobileNode])
        }
        if scenario.control == .central {
            let controller = try state(locationServer)
            messages = (controller["counters"] as? [String: Int])?["signalling_messages"] ?? 0
            let listedUsed = (controller["counters"] as? [String: Int])?["listed_prefixes_used"] ?? 0
            for n in controller["nodes"] as? [[String: Any]] ?? [] {
                guard let at = (n["at"] as? String)?.split(separator: " ").first.flatMap({ byAddress[String($0)] }) else { continue }
                for h in n["held"] as? [[String: Any]] ?? [] {
                    guard let prefix = h["prefix"] as? String, let anchor = (h["anchor"] as? String).flatMap({ byAddress[$0] }) else { continue }
                    if scenario.forwarding == .anchorSwitching, let p = IPv6Prefix(prefix) {
                        prefixes.append(.init(prefix: prefix, anchor: anchor, servedAt: at, path: try forwardingPath(p, home: anchor)))
                    } else {
                        prefixes.append(path(prefix, anchor: anchor, served: at))
                    }
                }
            }
            var phase = LabRun.Phase(label: label, node: node, prefixes: prefixes.sorted { $0.prefix < $1.prefix })
            phase.buffered = states.reduce(into: [:]) { sum, s in
                let counters = ((s.1["agent"] as? [String: Any]) ?? s.1)["buffer"] as? [String: Int] ?? [:]
                sum.merge(counters, uniquingKeysWith: +)
            }
            if scenario.forwarding == .anchorSwitching { phase.entries = try routerEntries() }
            return (phase, (messages, rules, listedUsed))
        }
        for (anchor, s) in states {
            for entry in s["anchored"] as? [[String: Any]] ?? [] {
                guard let prefix = entry["prefix"] as? String, let state = entry["state"] as? String else { continue }
                let served: String
                if state.hasPrefix("home on ") {
                    served = anchor
                } else if state.hasPrefix("tunnelled to "), let mar = byAddress[String(state.dropFirst("tunnelled to ".count))] {
                    served = mar
                } else {
                    continue  // held down or waiting: no packets go there
                }
                prefixes.append(path(prefix, anchor: anchor, served: served))
            }
        }
        return (.init(label: label, node: node, prefixes: prefixes.sorted { $0.prefix < $1.prefix }), (messages, rules, 0))
    }

    /// Every agent's own routes in the kernel (not its pools' unreachable
    /// blocks).
    func routerEntries() throws -> [String: [String]] {
        var entries: [String: [String]] = [:]
        for node in accessRouters + agentRouters {
            let lines = try ip(node, ["-6", "route", "show", "proto", "177"]).split(separator: "\n").map(String.init)
                .filter { !$0.hasPrefix("unreachable") }
                .map { $0.split(separator: " ").prefix { $0 != "metric" }.joined(separator: " ") }
            if !lines.isEmpty { entries[node] = lines.sorted() }
        }
        return entries
    }

    /// Anchor switching, one move: which routers' entries for the moved
    /// prefixes changed, against which routers' next hop for them changed,
    /// as the topology says (toward the old serving router, or delivery
    /// there, against toward the new one).
    func compareEntries(_ move: inout LabRun.Move, before: LabRun.Phase, after: LabRun.Phase) {
        let moved = after.prefixes.filter { p in before.prefixes.contains { $0.prefix == p.prefix && $0.servedAt == move.from } }.map(\.prefix)
        func entries(_ phase: LabRun.Phase, _ node: String) -> [String] {
            (phase.entries?[node] ?? []).filter { line in moved.contains { line.hasPrefix($0 + " ") } }
        }
        let nodes = accessRouters + agentRouters
        move.routersUpdated = nodes.filter { entries(before, $0) != entries(after, $0) }.sorted()
        func hop(_ node: String, _ toward: String) -> String { node == toward ? "here" : topology.path(from: node, to: toward)?[1] ?? "?" }
        move.nextHopChanged = moved.isEmpty ? [] : nodes.filter { hop($0, move.from) != hop($0, move.to) }.sorted()
    }

    /// The way a prefix's downlink packets go now, read from the kernels:
    /// from the correspondent, at each router its own route for the prefix
    /// (a host route through a neighbour, or delivery on an access link),
    /// else the network's route toward the prefix's home. A buffered prefix
    /// ends where it is held.
    func forwardingPath(_ prefix: IPv6Prefix, home: String) throws -> [String] {
        var path = [correspondent]
        while path.count < 32, let here = path.last {
            let owned = accessRouters.contains(here) || agentRouters.contains(here)
                ? try ip(here, ["-6", "route", "show", "\(prefix)", "proto", "177"]).split(separator: " ").map(String.init) : []
            if let dev = owned.firstIndex(of: "dev").map({ owned[$0 + 1] }) {
                if dev == PacketBuffer.deviceName { return path + ["(held)"] }
                if !dev.hasPrefix("eth") { return path + [mobileNode] }
                guard let n = Int(dev.dropFirst(3)), n < topology.links(of: here).count else { return path + ["?"] }
                path.append(topology.links(of: here)[n].peer)
            } else if let next = topology.path(from: here, to: home)?.dropFirst().first {
                path.append(next)
            } else {
                return here == home ? path + ["(no route at \(home))"] : path + ["?"]
            }
        }
        return path
    }

    /// The mobility messages in the access routers' captures.
    func signallingMessages() throws -> [SignallingMessage] {
        var names: [IPv6Address: String] = [address(of: locationServer): locationServer]
        var captures: [String: URL] = [:]
        for mar in accessRouters {
            names[address(of: mar)] = mar
            let file = output.appendingPathComponent("\(mar).pcapng")
            if FileManager.default.fileExists(atPath: file.path) { captures[mar] = file }
        }
        return try SignallingCapture.messages(captures: captures, names: names)
    }

    /// Captures on each MAR (the signalling and the Router Advertisements)
    /// and at the node and the correspondent, by Wireshark's dumpcap: run
    /// directly, it dies with the lab (through tshark, it would outlive a
    /// lab killed with SIGKILL).
    func startCaptures() throws {
        for mar in accessRouters {
            try spawn("capture-\(mar)", in: mar, [dumpcap, "-q", "-i", "any", "-f", "ip6 proto 135 or icmp6 or udp port 8805",
                                                   "-w", output.appendingPathComponent("\(mar).pcapng").path])
        }
        // The echo connections' headers where they arrive, for the moves' interruptions.
        for (host, file) in [(mobileNode, "mn"), (correspondent, "cn")] {
            try spawn("capture-\(host)", in: host, [dumpcap, "-q", "-i", "any", "-s", "96", "-f", "tcp port \(Lab.echoPort)",
                                                      "-w", output.appendingPathComponent("\(file)-traffic.pcapng").path])
        }
        try sleep(1)  // dumpcap needs a moment before it captures
    }

    func stopCaptures() {
        for host in accessRouters + [mobileNode, correspondent] { stop("capture-\(host)") }
    }
}
