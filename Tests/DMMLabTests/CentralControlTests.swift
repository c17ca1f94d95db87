import DMMCore
import DMMLinux
import DMMNode
import DMMTestSupport
import DMMWire
import Foundation
import Testing

/// The controller and two agents as daemons, each in a namespace of its own,
/// PFCP on the links between them: access routers' reports (given through
/// the control socket) turned into rules in the kernels, a controller and an
/// agent killed with SIGKILL and restarted, hostile PFCP at both, and
/// Wireshark's reading of the controller's capture.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
final class CentralControlTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-central-\(getpid())")
    let controllerNS: TestNamespace, agentNS: [TestNamespace]
    var controller: ChildProcess?
    var agents: [ChildProcess?] = [nil, nil]

    static let controllerAddress = IPv6Address("2001:db8:ffff::100")!
    static func agentAddress(_ i: Int) -> IPv6Address { IPv6Address("2001:db8:ff0\(i)::1")! }
    static func controllerSide(_ i: Int) -> IPv6Address { IPv6Address("2001:db8:ff0\(i)::100")! }
    static func endpoint(_ i: Int) -> IPv6Address { IPv6Address("fc00:\(i)::d6")! }
    static func pool(_ i: Int) -> IPv6Prefix { IPv6Prefix("2001:db8:\(i)::/48")! }

    /// The controller's namespace routes between the agents: each agent's
    /// uplink is a veth to it, with a /64 of its own.
    init() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        controllerNS = try TestNamespace("ctl")
        agentNS = try [TestNamespace("ag1"), TestNamespace("ag2")]
        try controllerNS.ip(["link", "set", "lo", "up"])
        try controllerNS.ip(["address", "add", "\(Self.controllerAddress)/128", "dev", "lo", "nodad"])
        try controllerNS.exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
        for (i, ns) in agentNS.enumerated() {
            let n = i + 1
            try controllerNS.ip(["link", "add", "to\(n)", "type", "veth", "peer", "name", "up0", "netns", ns.name])
            try controllerNS.ip(["address", "add", "\(Self.controllerSide(n))/64", "dev", "to\(n)", "nodad"])
            try controllerNS.ip(["link", "set", "to\(n)", "up"])
            try controllerNS.ip(["-6", "route", "add", "fc00:\(n)::/32", "via", "\(Self.agentAddress(n))", "dev", "to\(n)"])
            try ns.ip(["link", "set", "lo", "up"])
            try ns.ip(["address", "add", "\(Self.agentAddress(n))/64", "dev", "up0", "nodad"])
            try ns.ip(["link", "set", "up0", "up"])
            try ns.ip(["-6", "route", "add", "default", "via", "\(Self.controllerSide(n))", "dev", "up0"])
            try ns.ip(["link", "add", "acc0", "type", "veth", "peer", "name", "node0"])  // no dummy links in this kernel
            try ns.ip(["link", "set", "node0", "up"])
            try ns.ip(["link", "set", "acc0", "up"])
        }
    }

    deinit {
        controller?.stop()
        for a in agents { a?.stop() }
        try? FileManager.default.removeItem(at: dir)
    }

    var controllerSocket: String { dir.appendingPathComponent("controller.sock").path }
    func agentSocket(_ n: Int) -> String { dir.appendingPathComponent("ar\(n).sock").path }

    /// The daemons' T1 and N1; heartbeats often, so that a restart is
    /// heard soon. With T1 0.2 s, N1 2 and a 1-s resynchronization (before
    /// the controller told the agent when its pushes were over), beside
    /// three busy processes on two cores, the pushes of 3,000 sessions
    /// paused for over a second, and the agent released at its
    /// resynchronization the sessions not yet pushed (3 runs of 4).
    static let timing = PFCPTiming(t1: 0.5, n1: 3, heartbeatInterval: 0.5)
    /// The pause in the pushes that the agent would take for their end
    /// from a controller that does not say (`resynchronization`), short:
    /// pushes of thousands of sessions pause longer, and this controller
    /// says. With the agent ignoring what it says, T1 0.2 s and N1 2,
    /// beside three busy processes, the restart test released 1,957 to
    /// 2,597 of its 3,000 sessions (4 runs of 4; none with it heeding).
    static let resynchronization: Seconds = 0.1

    func startController() throws {
        let config = ControllerConfig(
            controller: Controller.Config(address: Self.controllerAddress, timing: Self.timing,
                                          endpoints: [Self.agentAddress(1): Self.endpoint(1), Self.agentAddress(2): Self.endpoint(2)],
                                          agents: [Self.agentAddress(1), Self.agentAddress(2)]),
            database: dir.appendingPathComponent("controller.sqlite").path, controlSocket: controllerSocket)
        controller = try spawn("controller", in: controllerNS, config: config.yaml, ["controller"])
    }

    /// Starts agent `n`, with the controller at `controller` (by default the running one's address).
    func startAgent(_ n: Int, controller: IPv6Address = controllerAddress) throws {
        let config = AgentConfig(
            name: "ar\(n)",
            agent: DataPlaneAgent.Config(address: Self.agentAddress(n), controller: controller, pools: [Self.pool(n)],
                                         poolIdentity: "ar\(n)", timing: Self.timing,
                                         resynchronization: Self.resynchronization),
            tunnelEndpoint: Self.endpoint(n), dataPlane: LinuxDataPlane.Config(uplink: "up0"), controlSocket: agentSocket(n))
        agents[n - 1] = try spawn("ar\(n)", in: agentNS[n - 1], config: config.yaml, ["agent"])
    }

    func spawn(_ name: String, in ns: TestNamespace, config: String, _ command: [String]) throws -> ChildProcess {
        let file = dir.appendingPathComponent("\(name).yaml").path
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        let log = open(dir.appendingPathComponent("\(name).log").path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { close(log) }
        return try ChildProcess.spawn("/usr/sbin/ip", ["netns", "exec", ns.name, LabDemoTests.dmm] + command + ["--config", file],
                                      output: log, error: log)
    }

    func state(_ socket: String) throws -> [String: Any] {
        let text = try Command.output(LabDemoTests.dmm, ["ctl", "--socket", socket, "--json"])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    @discardableResult
    func ctl(_ words: [String]) throws -> String { try Command.output(LabDemoTests.dmm, ["ctl", "--socket", controllerSocket] + words) }

    func wait(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if (try? condition()) == true { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let logs = ["controller", "ar1", "ar2"].map { (try? String(contentsOf: dir.appendingPathComponent("\($0).log"), encoding: .utf8)) ?? "" }
        Issue.record("timed out waiting for \(what)\n\(logs.joined(separator: "\n---\n"))")
        throw CancellationError()
    }

    func sessionsProgrammed(_ count: Int) throws -> Bool {
        let sessions = try state(controllerSocket)["sessions"] as? [[String: Any]] ?? []
        return sessions.count == count && sessions.allSatisfy { $0["state"] as? String == "programmed" }
    }

    /// The routes an agent owns, sorted.
    func routes(_ n: Int) throws -> [String] {
        try agentNS[n - 1].ip(["-6", "route", "show", "table", "all", "proto", "177"]).split(separator: "\n").map(String.init).sorted()
    }

    func counters(_ socket: String) throws -> [String: Int] { try state(socket)["counters"] as? [String: Int] ?? [:] }

    /// Sends a report from agent `n` in the location protocol; the answer.
    func report(_ request: LocationRequest, from n: Int) throws -> LocationReply {
        let socket = try RawSocket(protocol: MobilityHeader.protocolNumber, namespace: agentNS[n - 1].name, bindTo: Self.agentAddress(n))
        let message = LocationCodec.encode(LocationEnvelope(id: 77, request))
        try socket.send(try message.encode(source: Self.agentAddress(n), destination: Self.controllerAddress), to: Self.controllerAddress,
                        from: Self.agentAddress(n))
        guard socket.readable(within: 5) else { throw CancellationError() }
        let d = try socket.receive()
        let reply = try LocationCodec.decodeReply(try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination)))
        #expect(reply.id == 77)
        return reply.body
    }

    /// The prefixes in the controller's answer to an attach report, preferred first.
    func advertised(_ reply: String) throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
        return (json?["advertise"] as? [[String: Any]] ?? []).compactMap { $0["prefix"] as? String }
    }

    @Test func reportsReachTheKernelsAndSurviveRestartsOfEitherSide() throws {
        let capture = dir.appendingPathComponent("controller.pcap").path
        let log = open(dir.appendingPathComponent("dumpcap.log").path, O_WRONLY | O_CREAT, 0o644)
        let dumpcap = try ChildProcess.spawn("/usr/sbin/ip", ["netns", "exec", controllerNS.name, "/usr/bin/dumpcap", "-q", "-i", "any",
                                                               "-f", "udp port 8805", "-w", capture], output: log, error: log)
        close(log)
        Thread.sleep(forTimeInterval: 0.5)
        try startController()
        try startAgent(1)
        try startAgent(2)
        try wait("both agents associated") {
            let a = try state(controllerSocket)["associations"] as? [[String: Any]] ?? []
            return a.count == 2 && a.allSatisfy { $0["status"] as? String == "up" }
        }
        // The node attaches at ar1 and gets a prefix of ar1's pool (ar1's
        // report in the location protocol); flows start on it; it moves to
        // ar2, where it gets a prefix of ar2's and its first follows it (the
        // reports given through the control socket from here on).
        let reply = try report(.attached(MobileNodeID("mn1@dmm.example"), link: "acc0"), from: 1)
        guard case .advertise(let first) = reply, first.count == 1, first[0].preferred else {
            Issue.record("attached answered with \(reply)")
            return
        }
        let prefix = "\(first[0].prefix)"
        #expect(Self.pool(1).contains(IPv6Prefix(prefix)!.address))
        try wait("the delivery at ar1") { try routes(1).contains { $0.hasPrefix("\(prefix) dev acc0") } }
        try ctl(["flows", prefix, "active"])
        let second = try advertised(ctl(["attach", "mn1@dmm.example", "\(Self.agentAddress(2))", "acc0"]))
        #expect(second.count == 2 && second[1] == prefix && Self.pool(2).contains(IPv6Prefix(second[0])!.address))
        try wait("the tunnel from ar1 and the deliveries at ar2") {
            try routes(1).contains { $0.hasPrefix(prefix) && encapsulates($0, toward: "\(Self.endpoint(2))") }
                && routes(2).contains { $0.hasPrefix("\(prefix) dev acc0") } && routes(2).contains { $0.hasPrefix("\(second[0]) dev acc0") }
                && sessionsProgrammed(3)
        }
        // Reports the controller refuses, changing nothing.
        #expect(throws: (any Error).self) { try ctl(["flows", "2001:db8:2:1::/64", "ended"]) }
        #expect(throws: (any Error).self) { try ctl(["attach", "mn2", "2001:db8:ff09::1", "acc0"]) }
        #expect(throws: (any Error).self) { try ctl(["attach", "mn2"]) }
        let before = try (routes(1), routes(2))
        let changes = try (counters(agentSocket(1))["rule_changes"], counters(agentSocket(2))["rule_changes"])

        // The controller killed and restarted: it re-associates from its
        // store and pushes every session again; no kernel is touched.
        controller?.signal(SIGKILL)
        controller?.wait()
        try startController()
        try wait("the restarted controller's agents to associate again") {
            try counters(agentSocket(1))["controller_restarts"] == 1 && counters(agentSocket(2))["controller_restarts"] == 1
                && sessionsProgrammed(3)
        }
        try wait("each agent resynchronized at the restarted controller's notice") {
            try events("resynchronized", in: "ar1") == 2 && events("resynchronized", in: "ar2") == 2
        }
        #expect(try (routes(1), routes(2)) == before)
        #expect(try (counters(agentSocket(1))["rule_changes"], counters(agentSocket(2))["rule_changes"]) == changes)

        // ar2 killed and restarted: its kernel keeps forwarding, and its
        // session comes back from the controller.
        agents[1]?.signal(SIGKILL)
        agents[1]?.wait()
        #expect(try routes(2) == before.1)
        try startAgent(2)
        // (Not told by the controller's `agent_restarts`: restarted within
        // the second it started, an agent has the same Recovery Time Stamp.)
        try wait("ar2's sessions pushed again, and ar2 resynchronized") {
            try state(agentSocket(2))["sessions"] as? Int == 2 && events("resynchronized", in: "ar2") == 3
        }
        #expect(try routes(2) == before.1)

        // The flows end, after the controller's restart: every entry for the
        // first prefix goes (the restarted controller still knows it); the
        // node then leaves, and its second prefix goes too.
        try ctl(["flows", prefix, "ended"])
        try wait("the first prefix gone") {
            try sessionsProgrammed(1) && !routes(1).contains { $0.hasPrefix(prefix) } && !routes(2).contains { $0.hasPrefix(prefix) }
        }
        try ctl(["detach", "mn1@dmm.example", "\(Self.agentAddress(2))", "acc0"])
        try wait("no session left") { try sessionsProgrammed(0) && !routes(2).contains { $0.hasPrefix(second[0]) } }

        Thread.sleep(forTimeInterval: 0.5)  // the last packets reach the file
        dumpcap.stop()
        let tshark = try Command.run("/usr/bin/tshark", ["-r", capture, "-Y", "pfcp", "-T", "fields", "-e", "pfcp.msg_type", "-e", "_ws.malformed"])
        let rows = tshark.out.split(separator: "\n")
        #expect(rows.count > 20, "\(tshark.out)\(tshark.err)")
        #expect(!rows.contains { $0.split(separator: "\t").count > 1 }, "malformed: \(tshark.out)")
        for type in ["1", "2", "5", "6", "50", "51", "52", "53", "54", "55"] {
            #expect(rows.contains { $0.split(separator: "\t").first == Substring(type) }, "message type \(type) in the capture: \(Set(rows.map { $0.split(separator: "\t").first ?? "" }).sorted())")
        }
    }

    /// Attach reports from agent `n` for nodes `nodes`, a hundred at a time
    /// (an unread socket holds a few hundred answers); each answered.
    func attach(_ nodes: Range<Int>, from n: Int) throws {
        let socket = try RawSocket(protocol: MobilityHeader.protocolNumber, namespace: agentNS[n - 1].name, bindTo: Self.agentAddress(n))
        for batch in stride(from: nodes.lowerBound, to: nodes.upperBound, by: 100) {
            let ids = batch..<min(batch + 100, nodes.upperBound)
            for i in ids {
                let message = LocationCodec.encode(LocationEnvelope(id: UInt32(i), .attached(MobileNodeID("mn\(i)"), link: "acc0")))
                try socket.send(try message.encode(source: Self.agentAddress(n), destination: Self.controllerAddress),
                                to: Self.controllerAddress, from: Self.agentAddress(n))
            }
            var answered = Set<UInt32>()
            while answered.count < ids.count, socket.readable(within: 5) {
                let d = try socket.receive()
                let reply = try LocationCodec.decodeReply(try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination)))
                answered.insert(reply.id)
            }
            guard answered == Set(ids.map(UInt32.init)) else { throw CancellationError() }
        }
    }

    /// Thousands of sessions at one agent: the restarted controller pushes
    /// them again a window at a time (all at once, they overflow the
    /// agent's socket), and the agent keeps every one (it waits for them as
    /// long as they come): no route changes, none is released.
    @Test func aControllerRestartedWithThousandsOfSessionsAtAnAgentRestoresThemAll() throws {
        try startController()
        try startAgent(1)
        try wait("the agent associated") { try (state(controllerSocket)["associations"] as? [[String: Any]] ?? []).count == 1 }
        try attach(0..<3000, from: 1)
        try wait("3,000 sessions programmed", seconds: 30) { try sessionsProgrammed(3000) }
        let before = try routes(1)
        #expect(before.count >= 3000)
        let changes = try counters(agentSocket(1))["rule_changes"]

        controller?.signal(SIGKILL)
        controller?.wait()
        try startController()
        try wait("every session pushed again", seconds: 30) {
            try counters(agentSocket(1))["controller_restarts"] == 1 && sessionsProgrammed(3000)
        }
        // The restarted controller tells the agent it pushed them all; the
        // agent resynchronizes then (the logs are appended across restarts).
        try wait("the notice of every session pushed again, taken") {
            try events("resynchronized", in: "ar1") == 2 && events("pushed-again", in: "controller") == 2
        }
        let association = try (state(controllerSocket)["associations"] as? [[String: Any]])?.first
        #expect(association?["resynchronizing"] as? Bool == false && association?["to_push_again"] as? Int == 0)
        let after = try counters(agentSocket(1))
        #expect(after["unconfirmed_released"] == 0)
        #expect(after["rule_changes"] == changes)
        #expect(try routes(1) == before)
        let controllerCounters = try counters(controllerSocket)
        #expect(controllerCounters["sessions_refused"] ?? 0 == 0)
        #expect(controllerCounters["sessions_pushed_again_in_flight"] == 0, "every session pushed again answered")

        // The agent killed and restarted: its kernel keeps every route, and
        // every session comes back from the controller, a window at a time.
        agents[0]?.signal(SIGKILL)
        agents[0]?.wait()
        try startAgent(1)
        try wait("every session pushed again to the restarted agent", seconds: 30) {
            try state(agentSocket(1))["sessions"] as? Int == 3000 && sessionsProgrammed(3000)
        }
        try wait("the restarted agent resynchronized") { try events("resynchronized", in: "ar1") == 3 }
        #expect(try counters(agentSocket(1))["unconfirmed_released"] == 0)
        #expect(try routes(1) == before)
    }

    /// How many times the daemon `name` logged `event`.
    func events(_ event: String, in name: String) throws -> Int {
        try String(contentsOf: dir.appendingPathComponent("\(name).log"), encoding: .utf8).components(separatedBy: "event=\(event) ").count - 1
    }

    /// The controller stopped (SIGSTOP) for longer than the agent's
    /// heartbeats wait: the agent takes it for lost but keeps its
    /// association, sessions and routes, and once the controller runs
    /// again nothing is associated, pushed or released again.
    @Test func anAgentKeepsItsAssociationAndRoutesWhileTheControllerIsStopped() throws {
        try startController()
        try startAgent(1)
        try wait("the agent associated") { try (state(controllerSocket)["associations"] as? [[String: Any]] ?? []).count == 1 }
        try attach(0..<20, from: 1)
        try wait("20 sessions programmed") { try sessionsProgrammed(20) }
        let before = try routes(1)
        let changes = try counters(agentSocket(1))["rule_changes"]
        controller?.signal(SIGSTOP)
        defer { controller?.signal(SIGCONT) }
        try wait("the agent took the controller for lost") { try state(agentSocket(1))["controller_lost"] as? Bool == true }
        #expect(try state(agentSocket(1))["associated"] as? Bool == true)
        controller?.signal(SIGCONT)
        try wait("the agent heard the controller again") { try state(agentSocket(1))["controller_lost"] as? Bool == false }
        Thread.sleep(forTimeInterval: 2.5)  // past a resynchronization, were there one
        #expect(try routes(1) == before)
        #expect(try counters(agentSocket(1))["rule_changes"] == changes)
        #expect(try counters(agentSocket(1))["unconfirmed_released"] == 0)
        let log = try String(contentsOf: dir.appendingPathComponent("ar1.log"), encoding: .utf8)
        #expect(log.components(separatedBy: "event=associated").count - 1 == 1, "associated once")
        #expect(log.contains("event=controller-lost") && log.contains("event=controller-heard-again"))
        #expect(try sessionsProgrammed(20))
    }

    @Test func hostilePFCPIsAnsweredOrDroppedAndCountedWithNoKernelChange() throws {
        try startController()
        try startAgent(1)
        try wait("ar1 associated") { try counters(controllerSocket).isEmpty == false && state(agentSocket(1))["associated"] as? Bool == true }
        _ = try ctl(["attach", "mn1", "\(Self.agentAddress(1))", "acc0"])
        try wait("the delivery at ar1") { try sessionsProgrammed(1) }
        let routesBefore = try routes(1)

        // From the controller's address (another port: the controller holds
        // 8805); the agent's answers go to the controller, which counts them
        // as answering nothing it asked.
        let asController = try UDPSocket(bindTo: Self.controllerAddress, port: 18805, namespace: controllerNS.name)
        func toAgent(_ m: PFCPMessage) throws { try asController.send(try m.encode(), to: Self.agentAddress(1), port: 8805) }
        var steal = PFCPMessage(.sessionEstablishmentRequest, sequence: 0x100, seid: 0)
        steal.nodeID = .ipv6(Self.controllerAddress)
        steal.fSEID = PFCPFSEID(seid: 0xBAD, ipv6: Self.controllerAddress)
        PFCPRuleMapping.write([.encapsulate(IPv6Prefix("2001:db8:2:1::/64")!, endpoint: Self.endpoint(2), mode: .ipv6InIPv6)],
                              anchoredHere: true, into: &steal)
        try toAgent(steal)
        var unknown = PFCPMessage(.sessionModificationRequest, sequence: 0x101, seid: 0xDEAD_BEEF)
        unknown.removePDR = [PFCPRuleReference(id: 1)]
        try toAgent(unknown)
        var badLength = try PFCPMessage(.sessionDeletionRequest, sequence: 0x102, seid: 1).encode()
        badLength[3] &+= 9
        try asController.send(badLength, to: Self.agentAddress(1), port: 8805)
        // A grouped IE out of place, in a response to nothing: not read, counted.
        var outOfPlace = PFCPMessage(.sessionDeletionResponse, sequence: 0x103, seid: 1)
        outOfPlace.cause = .requestAccepted
        outOfPlace.unknown = [PFCPRawIE(type: .createPDR, value: [0, 56, 0, 2, 0, 1])]
        try toAgent(outOfPlace)
        try wait("the agent to count them") {
            let s = try state(agentSocket(1))
            let refused = s["refused"] as? [String: Int] ?? [:]
            return refused.values.reduce(0, +) == 3 && (s["counters"] as? [String: Int])?["unexpected_responses"] == 1
        }
        let refused = try state(agentSocket(1))["refused"] as? [String: Int] ?? [:]
        #expect(refused.count == 3, "\(refused)")
        // Someone other than the controller: dropped unread.
        let stranger = try UDPSocket(bindTo: Self.agentAddress(2), port: 18806, namespace: agentNS[1].name)  // ar2 binds 8805 later
        try stranger.send(try steal.encode(), to: Self.agentAddress(1), port: 8805)
        try wait("the stranger's request dropped") {
            (try state(agentSocket(1))["dropped"] as? [String: Int])?["not from the controller"] == 1
        }
        // A location request the controller does not take, and one from an
        // agent it has no association with.
        #expect(try report(.query(MobileNodeID("mn1")), from: 1) == .refused("a central controller takes attached, detached and update"))
        #expect(try report(.attached(MobileNodeID("mn9"), link: "acc0"), from: 2) == .refused("\(Self.agentAddress(2)) is not an associated agent"))
        // At the controller: a Node Report from no association, and bytes that are not PFCP.
        var report = PFCPMessage(.nodeReportRequest, sequence: 9)
        report.nodeID = .ipv6(Self.agentAddress(2))
        report.nodeReportType = .vendorSpecific
        try stranger.send(try report.encode(), to: Self.controllerAddress, port: 8805)
        try stranger.send([0x21, 0x01, 0x00], to: Self.controllerAddress, port: 8805)
        try wait("the controller to count them") {
            let s = try state(controllerSocket)
            return (s["refused"] as? [String: Int])?.values.reduce(0, +) == 1 && (s["malformed"] as? [String: Int])?.values.reduce(0, +) == 1
        }
        #expect(try routes(1) == routesBefore)
        #expect(try sessionsProgrammed(1))

        // An agent whose controller is silent has no association: a session
        // request from that controller's address, a deletion too, is refused
        // with Cause 72, answered to it, and changes nothing.
        let silent = IPv6Address("2001:db8:ffff::101")!
        try controllerNS.ip(["address", "add", "\(silent)/128", "dev", "lo", "nodad"])
        let asSilent = try UDPSocket(bindTo: silent, port: 8805, namespace: controllerNS.name)
        try startAgent(2, controller: silent)
        try wait("ar2's own rules") { (try state(agentSocket(2))["rules"] as? [String])?.count == 2 }
        let routes2 = try routes(2)
        var early = PFCPMessage(.sessionEstablishmentRequest, sequence: 0x200, seid: 0)
        early.nodeID = .ipv6(silent)
        early.fSEID = PFCPFSEID(seid: 0x51, ipv6: silent)
        PFCPRuleMapping.write([.deliver(IPv6Prefix("2001:db8:2:1::/64")!, link: "acc0")], anchoredHere: true, into: &early)
        // The agent asks to associate first; that request is left unanswered.
        func answer(to request: PFCPMessage) throws -> PFCPMessage? {
            let end = Date().addingTimeInterval(5)
            try asSilent.send(try request.encode(), to: Self.agentAddress(2), port: 8805)
            while Date() < end {
                guard isReadable(asSilent.fd, within: 0.5) else { continue }
                let m = try PFCPMessage.decode(try asSilent.receive().bytes)
                if m.type == request.type.response { return m }
            }
            return nil
        }
        let establishment = try answer(to: early)
        #expect(establishment?.cause == .noEstablishedAssociation && establishment?.sequence == 0x200)
        // Of a session it does not know: no association is said first.
        let deletion = try answer(to: PFCPMessage(.sessionDeletionRequest, sequence: 0x201, seid: 0x99))
        #expect(deletion?.cause == .noEstablishedAssociation && deletion?.sequence == 0x201)
        #expect(try routes(2) == routes2)
        #expect((try state(agentSocket(2))["refused"] as? [String: Int])?.values.reduce(0, +) == 2)
    }
}
