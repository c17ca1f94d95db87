import ArgumentParser
import DMMLinux
import DMMNode
import Foundation

struct MARCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mar", abstract: "Run a Mobility-capable Access Router (needs root, in the router's namespace).")

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() throws {
        require([.root, .tunnels])
        let daemon = try MARDaemon(config: try MARConfig(yaml: readConfig(config)))
        try daemon.run()
    }
}

struct LMSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lms", abstract: "Run the location server (the session database of seite section 5).")

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() throws {
        let daemon = try LMSDaemon(config: try LMSConfig(yaml: readConfig(config)))
        try daemon.run()
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Run a data-plane agent that a central controller programs over PFCP (needs root, in its namespace).")

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() throws {
        require([.root, .tunnels])
        let daemon = try AgentDaemon(config: try AgentConfig(yaml: readConfig(config)))
        try daemon.run()
    }
}

struct ControllerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller", abstract: "Run the central controller (FM-CP) that programs agents over PFCP.")

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() throws {
        require([.root])  // the access routers' reports come on a raw Mobility Header socket
        var configuration = try ControllerConfig(yaml: readConfig(config))
        try configuration.loadTopology(readConfig)
        let daemon = try ControllerDaemon(config: configuration)
        try daemon.run()
    }
}

/// Reads a configuration file; a missing one or a bad one is a clear error.
func readConfig(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read configuration file \(path)") }
    return String(decoding: data, as: UTF8.self)
}

struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl", abstract: "Show a running daemon's sessions, bindings and installed rules.")

    @Option(help: "The daemon's control socket.")
    var socket: String

    @Flag(help: "Print the daemon's JSON as it is.")
    var json = false

    @Argument(help: "A command for the daemon instead of showing its state; the controller takes 'attach NODE AGENT LINK [PREFIX...]', 'detach NODE AGENT LINK' and 'flows PREFIX active|ended'.")
    var command: [String] = []

    func run() throws {
        let text = try Self.ask(socket, command.isEmpty ? "state" : command.joined(separator: " "))
        if !command.isEmpty {
            let reply = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            if let error = reply?["error"] { fail("\(error)") }
            print(text, terminator: "")
            return
        }
        if json {
            print(text, terminator: "")
            return
        }
        guard let state = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { fail("not JSON: \(text)") }
        print("\(state["role"] ?? "?") \(state["name"] ?? "?")")
        for (title, key, columns) in [
            ("Nodes on access links", "attachments", ["link", "node", "served"]),
            ("Prefixes anchored here", "anchored", ["prefix", "node", "state"]),
            ("Prefixes served for other anchors", "visiting", ["prefix", "node", "link", "anchor", "state"]),
            ("Associations", "associations", ["agent", "status", "load", "to_push_again", "pools"]),
            ("Sessions", "sessions", ["seid", "agent", "prefix", "state"]),
            ("Nodes", "nodes", ["node", "at", "prefixes"]),
        ] {
            guard let rows = state[key] as? [[String: Any]] else { continue }
            print("\n\(title) (\(rows.count))")
            Self.table(columns, rows.map { r in columns.map { "\(r[$0] ?? "")" } })
        }
        if let rules = state["rules"] as? [String] {
            print("\n\(state["role"] as? String == "controller" ? "Rules acknowledged by the agents" : "Installed rules") (\(rules.count))")
            for r in rules { print("  \(r)") }
        }
        for (k, v) in state.sorted(by: { $0.key < $1.key }) where !(v is [Any]) && k != "name" && k != "role" { print("\(k): \(v)") }
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            "  " + zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print(line(header))
        for r in rows { print(line(r)) }
    }

    static func ask(_ path: String, _ request: String) throws -> String {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { fail("socket: errno \(errno)") }
        defer { close(fd) }
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: a.sun_path) else { fail("socket path too long") }
        withUnsafeMutableBytes(of: &a.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard ok == 0 else { fail("cannot reach a daemon at \(path): \(String(cString: strerror(errno)))") }
        let line = Array((request + "\n").utf8)
        _ = write(fd, line, line.count)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
