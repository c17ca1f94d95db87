import DMMTestSupport
import Foundation
import Testing

/// The daemons for real: two MARs, a location server and a correspondent on
/// a bridged core, a mobile node that is an unmodified Linux host, a TCP
/// connection that must survive the node's move from MAR1 to MAR2.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
final class DaemonIntegrationTests {
    static let dmm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dmm").path
    var namespaces: [String: TestNamespace] = [:]
    var daemons: [Process] = []
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-it-\(getpid())")

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        for d in daemons where d.isRunning {
            d.terminate()
            d.waitUntilExit()
        }
        namespaces.removeAll()
        try? FileManager.default.removeItem(at: directory)
    }

    func ns(_ name: String) -> TestNamespace { namespaces[name]! }

    /// core (a bridge), mar1, mar2, lms, cn on 2001:db8:ffff::/64; mn apart.
    func build() throws {
        for name in ["core", "mar1", "mar2", "lms", "cn", "mn"] { namespaces[name] = try TestNamespace("it" + name) }
        try ns("core").ip(["link", "add", "br0", "type", "bridge"])
        try ns("core").ip(["link", "set", "br0", "up"])
        let hosts = [("mar1", "1"), ("mar2", "2"), ("lms", "100"), ("cn", "cc")]
        for (host, suffix) in hosts {
            let uplink = host.hasPrefix("mar") ? "up0" : "eth0"
            try ns(host).exec(["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"])
            try ns("core").ip(["link", "add", "c-\(host)", "type", "veth", "peer", "name", uplink, "netns", ns(host).name])
            try ns("core").ip(["link", "set", "c-\(host)", "master", "br0", "up"])
            try ns(host).ip(["link", "set", uplink, "up"])
            try ns(host).ip(["link", "set", "lo", "up"])
            try ns(host).ip(["-6", "addr", "add", "2001:db8:ffff::\(suffix)/64", "dev", uplink, "nodad"])
        }
        // Each MAR's block and tunnel SID are reached through it.
        for (host, routes) in [("cn", [("2001:db8:1::/48", "1"), ("2001:db8:2::/48", "2")]),
                               ("mar1", [("2001:db8:2::/48", "2"), ("fc00:2::/64", "2")]),
                               ("mar2", [("2001:db8:1::/48", "1"), ("fc00:1::/64", "1")])] {
            for (prefix, via) in routes { try ns(host).ip(["-6", "route", "add", prefix, "via", "2001:db8:ffff::\(via)"]) }
        }
        for mar in ["mar1", "mar2"] {
            // Connection tracking only runs where a rule uses it.
            try ns(mar).exec(["nft", "add table inet dmm; add chain inet dmm track { type filter hook forward priority 0; }; add rule inet dmm track ct state new counter"])
        }
        try ns("mn").exec(["sysctl", "-qw", "net.ipv6.conf.default.optimistic_dad=1", "net.ipv6.conf.default.use_optimistic=1"])
    }

    func start(_ role: String, _ name: String, _ yaml: String) throws {
        let file = directory.appendingPathComponent("\(name).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns(name).name, Self.dmm, role, "--config", file.path]
        let log = directory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        daemons.append(p)
    }

    func marConfig(_ i: Int) -> String {
        """
        name: mar\(i)
        address: 2001:db8:ffff::\(i)
        tunnel-endpoint: fc00:\(i)::d6
        prefix-block: 2001:db8:\(i)::/48
        location-server: 2001:db8:ffff::100
        uplink: up0
        access-interfaces: [mn*]
        peers:
          - address: 2001:db8:ffff::\(3 - i)
            tunnel-endpoint: fc00:\(3 - i)::d6
        idle-grace: 2
        bindack-timeout: 0.2
        control-socket: \(directory.path)/mar\(i).sock
        advertisement:
          retrans-timer: 10
          link-mtu: 1500
        """
    }

    /// The node's global addresses, each with whether it is deprecated.
    func addresses() throws -> [(String, Bool)] {
        try ns("mn").ip(["-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"]).split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard let i = f.firstIndex(of: "inet6") else { return nil }
            return (String(f[i + 1]), line.contains("deprecated"))
        }
    }

    func waitFor(_ what: String, seconds: Double = 5, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let logs = ["lms", "mar1", "mar2"].map { name in
            "--- \(name)\n" + ((try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? "")
        }
        Issue.record("timed out waiting for \(what)\n\(logs.joined(separator: "\n"))")
        throw CancellationError()
    }

    @Test func aTCPConnectionSurvivesAMove() throws {
        try build()
        try start("lms", "lms", """
            address: 2001:db8:ffff::100
            database: \(directory.path)/lms.sqlite
            mars: [2001:db8:ffff::1, 2001:db8:ffff::2]
            control-socket: \(directory.path)/lms.sock
            """)
        try start("mar", "mar1", marConfig(1))
        try start("mar", "mar2", marConfig(2))
        try waitFor("the daemons' control sockets") {
            ["mar1", "mar2", "lms"].allSatisfy { FileManager.default.fileExists(atPath: "\(directory.path)/\($0).sock") }
        }
        // The node's link comes up at MAR1.
        try ns("mn").ip(["link", "add", "eth0", "type", "veth", "peer", "name", "mn1", "netns", ns("mar1").name])
        try ns("mar1").ip(["link", "set", "mn1", "up"])
        try ns("mn").ip(["link", "set", "eth0", "up"])
        try waitFor("an address from MAR1's block") { try addresses().contains { $0.0.hasPrefix("2001:db8:1:") && !$0.1 } }
        let hnp1Address = try addresses().first { $0.0.hasPrefix("2001:db8:1:") }!.0.split(separator: "/")[0]

        // A TCP echo: the correspondent answers every line; the node sends one every 50 ms for 6 s.
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        server.arguments = ["netns", "exec", ns("cn").name, "python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("2001:db8:ffff::cc", 7000)); s.listen(1); s.settimeout(20)
            c, _ = s.accept(); f = c.makefile("rwb", 0)
            for line in f: f.write(line)
            """]
        try server.run()
        daemons.append(server)
        Thread.sleep(forTimeInterval: 0.3)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        let output = Pipe()
        client.standardOutput = output
        client.arguments = ["netns", "exec", ns("mn").name, "python3", "-c", """
            import socket, time
            c = socket.create_connection(("2001:db8:ffff::cc", 7000), timeout=10, source_address=("\(hnp1Address)", 0))
            f = c.makefile("rwb", 0); sent = echoed = 0; error = "none"
            try:
                for i in range(120):
                    f.write(b"%d\\n" % i); sent += 1
                    if f.readline().strip() == b"%d" % i: echoed += 1
                    time.sleep(0.05)
            except Exception as e:
                error = type(e).__name__
            print(sent, echoed, error)
            """]
        try client.run()
        daemons.append(client)
        Thread.sleep(forTimeInterval: 1.5)

        // The node's link moves to MAR2.
        try ns("mar1").ip(["link", "set", "mn1", "netns", ns("mar2").name])
        try ns("mar2").ip(["link", "set", "mn1", "up"])
        try waitFor("an address from MAR2's block") { try addresses().contains { $0.0.hasPrefix("2001:db8:2:") && !$0.1 } }
        try waitFor("HNP1 deprecated") { try addresses().contains { $0.0.hasPrefix("2001:db8:1:") && $0.1 } }
        try waitFor("MAR1's tunnel toward MAR2") {
            try ns("mar1").ip(["-6", "route", "show", "proto", "177"]).contains("encap seg6 mode encap.red segs 1 [ fc00:2::d6 ]")
        }
        client.waitUntilExit()
        let result = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let fields = result.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(fields.count == 3 && fields[0] == "120" && fields[1] == "120" && fields[2] == "none", "sent echoed error: \(result)")

        // The flow is over: after the idle grace the tunnel goes, at both ends.
        try waitFor("the tunnel removed", seconds: 8) {
            !(try ns("mar1").ip(["-6", "route", "show", "proto", "177"]).contains("encap seg6 mode encap.red"))
        }
        let ctl = Process()
        ctl.executableURL = URL(fileURLWithPath: Self.dmm)
        ctl.arguments = ["ctl", "--socket", "\(directory.path)/mar2.sock", "--json"]
        let ctlOut = Pipe()
        ctl.standardOutput = ctlOut
        try ctl.run()
        ctl.waitUntilExit()
        let state = String(decoding: ctlOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(state.contains("\"role\":\"mar\"") && state.contains("2001:db8:2::/64"), "\(state)")

        // SIGTERM: each MAR removes what it installed.
        for d in daemons where d.isRunning {
            d.terminate()
            d.waitUntilExit()
        }
        for mar in ["mar1", "mar2"] {
            #expect(try ns(mar).ip(["-6", "route", "show", "table", "all", "proto", "177"]).isEmpty, "\(mar) left routes")
        }
    }
}
