import ArgumentParser
import DMMLab
import DMMNode
import Foundation

extension BenchCommand {
    struct Handover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a node back and forth between two MARs in the lab; print the interruption's median and p99 (root).",
            discussion: """
                The interruption of a move is the time from the node's link coming up at the new MAR to the first
                echo of the long TCP connection reaching the node: the downlink and the uplink both work again,
                to within one stream interval.
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

        func run() throws {
            guard getuid() == 0 else { throw ValidationError("dmm bench handover needs root (it builds a lab)") }
            let path = (0..<moves).map { $0 % 2 == 0 ? "mar2" : "mar1" }
            let scenario = try Scenario(yaml: """
                name: bench-handover
                mars: 2
                idle-grace: 1
                node-identity: \(nodeIdentity)
                output: \(FileManager.default.temporaryDirectory.path)/dmm-bench-handover-\(getpid())
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
            try? FileManager.default.removeItem(atPath: scenario.output)
            let gaps = result.moves.compactMap(\.interruptionMilliseconds).sorted()
            guard !gaps.isEmpty else { throw ValidationError("no move was measured: \(result.failures)") }
            func percentile(_ p: Double) -> Double { gaps[min(gaps.count - 1, Int((Double(gaps.count) * p).rounded(.up)) - 1)] }
            print("dmm bench handover: \(gaps.count) moves between two MARs, TCP message every \(interval * 1000) ms")
            print(String(format: "interruption: median %.2f ms, p99 %.2f ms, min %.2f ms, max %.2f ms", percentile(0.5), percentile(0.99),
                         gaps.first!, gaps.last!))
            if let s = result.stream { print("long TCP connection: \(s.sent) sent, \(s.echoed) echoed, error: \(s.error)") }
            if !result.failures.isEmpty { print("checks that failed: \(result.failures.joined(separator: "; "))") }
        }
    }
}
