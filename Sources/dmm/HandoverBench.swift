import ArgumentParser
import DMMCore
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

        @Option(help: "distributed: the seite scheme alone; central: the same moves under the central controller too, printed side by side.")
        var control = ControlPlane.distributed.rawValue

        func validate() throws {
            guard moves >= 1 else { throw ValidationError("--moves \(moves) is out of range: at least 1") }
            guard ControlPlane(rawValue: control) != nil else {
                throw ValidationError("--control '\(control)' is not one of \(ControlPlane.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            require(Lab.prerequisites)
            let planes: [ControlPlane] = control == ControlPlane.central.rawValue ? [.distributed, .central] : [.distributed]
            let results = try planes.map { try measure($0, separate: planes.count > 1) }
            print("dmm bench handover: \(results[0].moves.count) moves between two MARs, TCP message every \(interval * 1000) ms"
                  + (planes.count > 1 ? "; the distributed scheme, then the same under central control" : ""))
            for (name, path) in [("downlink", \LabRun.Move.downlinkMilliseconds), ("uplink", \.uplinkMilliseconds),
                                 ("first echo", \.firstEchoMilliseconds)] {
                let figures = zip(planes, results).map { plane, result in
                    (planes.count > 1 ? "\(plane): " : "") + Self.figures(result.moves.compactMap { $0[keyPath: path] }.sorted())
                }
                print("\(name): \(figures.joined(separator: " | "))")
            }
            for (plane, result) in zip(planes, results) {
                let prefix = planes.count > 1 ? "\(plane): " : ""
                if let s = result.stream { print("\(prefix)long TCP connection: \(s.sent) sent, \(s.echoed) echoed, error: \(s.error)") }
                if !result.failures.isEmpty { print("\(prefix)checks that failed: \(result.failures.joined(separator: "; "))") }
            }
        }

        /// One run of the moves under `plane`.
        func measure(_ plane: ControlPlane, separate: Bool) throws -> LabRun.Result {
            let path = (0..<moves).map { $0 % 2 == 0 ? "mar2" : "mar1" }
            let base = output ?? "\(FileManager.default.temporaryDirectory.path)/dmm-bench-handover-\(getpid())"
            let scenario = try Scenario(yaml: """
                name: bench-handover
                topology: pair
                control: \(plane)
                idle-grace: 1
                node-identity: \(nodeIdentity)
                output: \(separate ? "\(base)/\(plane)" : base)
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
                try? FileManager.default.removeItem(atPath: base)
            } else {
                try result.write(to: URL(fileURLWithPath: scenario.output))
            }
            return result
        }

        /// Median, p99, min and max of sorted gaps in milliseconds.
        static func figures(_ gaps: [Double]) -> String {
            guard !gaps.isEmpty else { return "not measured" }
            func percentile(_ p: Double) -> Double { gaps[min(gaps.count - 1, Int((Double(gaps.count) * p).rounded(.up)) - 1)] }
            return String(format: "median %.2f ms, p99 %.2f ms, min %.2f ms, max %.2f ms (%d moves)", percentile(0.5), percentile(0.99),
                          gaps.first!, gaps.last!, gaps.count)
        }
    }
}
