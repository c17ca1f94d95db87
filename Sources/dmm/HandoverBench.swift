import ArgumentParser
import DMMLab
import DMMLinux
import DMMNode
import Foundation

extension BenchCommand {
    struct Handover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a node back and forth between two MARs in the lab; print the interruption's median and p99 (root).",
            discussion: """
                A move's L3 interruption is the time from the node's link coming up at the new MAR to the first \
                packet of the long TCP connection to reach the node (downlink) and the correspondent (uplink), \
                from captures in their namespaces (dumpcap). The node sends a message every interval and the \
                correspondent answers each packet, so a downlink figure includes up to one interval of waiting. The time to the first \
                echo the application read, with TCP's recovery of what was lost meanwhile, is printed too.
                """
        )

        @Option(help: "Moves to make.")
        var moves = 20

        @Option(help: "Seconds between TCP messages.")
        var interval = 0.001

        @Option(help: "Seconds at each MAR.")
        var dwell = 0.6

        @Option(help: "How the MARs name the node: link-layer-address (the default) or interface-name.")
        var nodeIdentity = MARConfig.NodeIdentity.linkLayerAddress.rawValue

        @Option(help: "Keep the lab's output (captures, logs, result.json) in this directory; by default it is deleted.")
        var output: String?

        func validate() throws {
            guard moves >= 1 else { throw ValidationError("--moves \(moves) is out of range: at least 1") }
        }

        func run() throws {
            require(Lab.prerequisites)
            let path = (0..<moves).map { $0 % 2 == 0 ? "mar2" : "mar1" }
            let scenario = try Scenario(yaml: """
                name: bench-handover
                topology: pair
                idle-grace: 1
                node-identity: \(nodeIdentity)
                output: \(output ?? "\(FileManager.default.temporaryDirectory.path)/dmm-bench-handover-\(getpid())")
                node:
                  start: mar1
                  moves: [\(path.joined(separator: ", "))]
                  dwell: \(dwell)
                traffic:
                  stream-interval: \(interval)
                  ping-interval: 0.01
                """)
            let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
            let result = LabRun.run(scenario, executable: executable)
            if output == nil {
                try? FileManager.default.removeItem(atPath: scenario.output)
            } else {
                try result.write(to: URL(fileURLWithPath: scenario.output))
            }
            print("dmm bench handover: \(result.moves.count) moves between two MARs, TCP message every \(interval * 1000) ms")
            for (name, path) in [("downlink", \LabRun.Move.downlinkMilliseconds), ("uplink", \.uplinkMilliseconds),
                                 ("first echo", \.firstEchoMilliseconds)] {
                let gaps = result.moves.compactMap { $0[keyPath: path] }.sorted()
                guard !gaps.isEmpty else {
                    print("\(name): not measured")
                    continue
                }
                func percentile(_ p: Double) -> Double { gaps[min(gaps.count - 1, Int((Double(gaps.count) * p).rounded(.up)) - 1)] }
                print(String(format: "%@: median %.2f ms, p99 %.2f ms, min %.2f ms, max %.2f ms (%d moves)", name, percentile(0.5),
                             percentile(0.99), gaps.first!, gaps.last!, gaps.count))
            }
            if let s = result.stream { print("long TCP connection: \(s.sent) sent, \(s.echoed) echoed, error: \(s.error)") }
            if !result.failures.isEmpty { print("checks that failed: \(result.failures.joined(separator: "; "))") }
        }
    }
}
