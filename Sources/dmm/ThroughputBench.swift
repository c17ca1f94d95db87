import ArgumentParser
import DMMCore
import DMMLab
import DMMLinux
import DMMWire
import Foundation

extension BenchCommand {
    struct Throughput: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bulk TCP (iperf3) through the tunnel against the direct path, on the same namespaces (root).",
            discussion: """
                Each round, the node runs iperf3 to the correspondent from its anchoring MAR (the direct path); then it \
                moves with a flow on its first prefix and runs iperf3 again from that prefix, whose downlink now goes \
                through the anchor's tunnel; then it moves back. Rounds alternate the two paths because single runs on a \
                small machine vary by 10 to 20%. Every namespace shares the machine's CPUs, and a packet crosses all the \
                routers in the sending process's system call, so the figures also depend on the congestion control (BBR \
                paces its sending; cubic does not) and on where the two ends run: the options choose both. Needs iperf3 \
                (apt-get install iperf3).
                """
        )

        @Option(help: "Seconds per iperf3 run.")
        var seconds = 5

        @Option(help: "Rounds of one direct and one tunnelled run.")
        var rounds = 3

        @Option(help: "Parallel TCP connections per iperf3 run (iperf3 -P).")
        var streams = 1

        @Option(help: """
            CPUs for the receiving and the sending iperf3, as RECEIVER,SENDER (iperf3 -A), or 'none' to let the scheduler \
            place them. By default two CPUs, as two hosts would have: then the sender's CPU, which also forwards every \
            packet through the routers, sets the pace, and the ratio compares the two paths' work.
            """)
        var affinity = ProcessInfo.processInfo.activeProcessorCount > 1 ? "1,0" : "none"

        @Option(help: "TCP congestion control for iperf3 (-C), such as cubic or bbr; by default, the system's.")
        var congestion: String?

        @Option(help: "The tunnel: ipv6-in-ipv6 (the default) or srv6 (with a Segment Routing Header).")
        var tunnelMode = TunnelMode.ipv6InIPv6.rawValue

        @Option(help: "Decapsulation at the visited MAR: end.dt6 (the default) or end.dx6.")
        var decapsulation = Decapsulation.endDT6.rawValue

        @Option(help: "The node's uplink from the visited MAR: direct (the default) or reverse-tunnel.")
        var uplinkMode = UplinkMode.direct.rawValue

        func validate() throws {
            for (name, value, range) in [("--seconds", seconds, 1...3600), ("--rounds", rounds, 1...1000), ("--streams", streams, 1...128)]
            where !range.contains(value) {
                throw ValidationError("\(name) \(value) is out of range \(range.lowerBound) to \(range.upperBound)")
            }
            if let congestion {
                let available = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_available_congestion_control", encoding: .utf8))?
                    .split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? []
                guard available.contains(congestion) else {
                    throw ValidationError("--congestion '\(congestion)' is not one of this kernel's: \(available.joined(separator: ", "))")
                }
            }
            let cpus = affinity.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            let present = 0..<ProcessInfo.processInfo.activeProcessorCount
            guard affinity == "none" || (cpus.count == 2 && cpus.allSatisfy { $0.map(present.contains) == true }) else {
                throw ValidationError("--affinity '\(affinity)' is not 'none' or RECEIVER,SENDER with CPUs 0 to \(present.upperBound - 1)")
            }
        }

        func run() throws {
            require(Lab.prerequisites + [.program("iperf3", package: "iperf3")])
            let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-bench-throughput-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let lab = try Lab(scenario: try Scenario(yaml: """
                topology: pair
                idle-grace: 60
                tunnel-mode: \(tunnelMode)
                decapsulation: \(decapsulation)
                uplink-mode: \(uplinkMode)
                output: \(output)
                node:
                  moves: [mar2]
                """), executable: executable)
            defer { _ = lab.tearDown() }
            try lab.build()
            try lab.startDaemons()
            try lab.attach(to: "mar1")
            try lab.wait("the node's first prefix", seconds: 10) { try lab.preferred() != nil }
            let hnp1 = try lab.preferred()!
            try lab.spawn("iperf3-server", in: lab.correspondent, [try Command.require("iperf3"), "-s", "-B", "\(lab.correspondentAddress)"])
            // Keep a flow on the first prefix so that it moves with the node.
            try lab.spawn("echo-server", in: lab.correspondent, [executable, "lab", "traffic", "serve", "--address", "\(lab.correspondentAddress)", "--port", "\(Lab.echoPort)"])
            try lab.sleep(0.3)
            try lab.spawn("keepalive", in: lab.mobileNode, [executable, "lab", "traffic", "stream", "--to", "\(lab.correspondentAddress)", "--port", "\(Lab.echoPort)",
                                                   "--interval", "0.1", "--duration", "3600"])
            try lab.sleep(0.5)
            // The anchor's route for the first prefix carries an encapsulation
            // exactly while it tunnels (whatever the SID and the mode).
            let home = IPv6Prefix(covering: hnp1, length: 64)
            func tunnelled() throws -> Bool {
                let route = try lab.ip("mar1", ["-6", "route", "show", "\(home)", "proto", "177"])
                return route.contains("encap seg6 ") || route.contains("encap bpf ")
            }
            print("dmm bench throughput: iperf3 -R \(seconds) s, \(streams) connection(s), CPUs (receiver,sender) \(affinity), "
                  + "correspondent to node (the direction the anchor tunnels)")
            var ratios: [Double] = []
            for round in 1...rounds {
                let direct = try iperf(lab, source: hnp1)
                _ = try lab.move(from: "mar1", to: "mar2")
                try lab.wait("the tunnel toward MAR2", seconds: 10) { try tunnelled() }
                let through = try iperf(lab, source: hnp1)
                _ = try lab.move(from: "mar2", to: "mar1")
                try lab.wait("the node back at its anchor", seconds: 10) { try !tunnelled() }
                ratios.append(through / direct)
                print(String(format: "round %d: direct (at the anchor) %.2f Gbit/s, through the tunnel (MAR1 -> MAR2) %.2f Gbit/s, ratio %.3f",
                             round, direct / 1e9, through / 1e9, through / direct))
            }
            print(String(format: "ratio: median %.3f of %d rounds", ratios.sorted()[ratios.count / 2], ratios.count))
        }

        /// iperf3 from the node, bound to `source`, reversed (-R) so the bulk
        /// data flows toward the node, through the anchor: the tunnelled direction.
        func iperf(_ lab: Lab, source: IPv6Address) throws -> Double {
            let options = ["-R", "-t", "\(seconds)", "-P", "\(streams)", "-J"] + (affinity == "none" ? [] : ["-A", affinity])
                + (congestion.map { ["-C", $0] } ?? [])
            let json = try lab.run([try Command.require("iperf3"), "-c", "\(lab.correspondentAddress)", "-B", "\(source)"] + options, in: lab.mobileNode)
            guard let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                let end = root["end"] as? [String: Any], let received = end["sum_received"] as? [String: Any],
                let bps = received["bits_per_second"] as? Double
            else { throw ValidationError("iperf3 gave no result: \(json.prefix(300))") }
            return bps
        }
    }
}
