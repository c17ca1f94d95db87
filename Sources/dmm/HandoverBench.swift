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

        @Option(help: "indirection: as --control says; anchor-switching: on the tree topology, between access routers under different aggregation routers, the central controller's indirection and its anchor switching side by side.")
        var forwarding = ForwardingMethod.indirection.rawValue

        func validate() throws {
            guard moves >= 1 else { throw ValidationError("--moves \(moves) is out of range: at least 1") }
            guard ControlPlane(rawValue: control) != nil else {
                throw ValidationError("--control '\(control)' is not one of \(ControlPlane.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ForwardingMethod(rawValue: forwarding) != nil else {
                throw ValidationError("--forwarding '\(forwarding)' is not one of \(ForwardingMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        /// One configuration the moves run under.
        struct Setup {
            var label: String
            var control: ControlPlane
            var forwarding: ForwardingMethod
            var topology: String
            var routers: (String, String)
        }

        var setups: [Setup] {
            if forwarding == ForwardingMethod.anchorSwitching.rawValue {
                return [ForwardingMethod.indirection, .anchorSwitching].map {
                    Setup(label: $0.rawValue, control: .central, forwarding: $0, topology: "tree", routers: ("ar1", "ar3"))
                }
            }
            let planes: [ControlPlane] = control == ControlPlane.central.rawValue ? [.distributed, .central] : [.distributed]
            return planes.map { Setup(label: $0.rawValue, control: $0, forwarding: .indirection, topology: "pair", routers: ("mar1", "mar2")) }
        }

        func run() throws {
            require(Lab.prerequisites)
            let setups = self.setups
            let results = try setups.map { try measure($0, separate: setups.count > 1) }
            print("dmm bench handover: \(results[0].moves.count) moves between \(setups[0].routers.0) and \(setups[0].routers.1) (topology \(setups[0].topology)), "
                  + "TCP message every \(interval * 1000) ms" + (setups.count > 1 ? "; \(setups.map(\.label).joined(separator: ", then "))" : ""))
            func line(_ name: String, _ figures: (LabRun.Result) -> String) {
                print("\(name): " + zip(setups, results).map { (setups.count > 1 ? "\($0.label): " : "") + figures($1) }.joined(separator: " | "))
            }
            for (name, path) in [("downlink", \LabRun.Move.downlinkMilliseconds), ("uplink", \.uplinkMilliseconds),
                                 ("first echo", \.firstEchoMilliseconds)] {
                line(name) { Self.figures($0.moves.compactMap { $0[keyPath: path] }.sorted()) }
            }
            line("route stretch (routers crossed beyond the direct path, per move)") { r in
                Self.counts(r.moves.compactMap { m in m.hops.flatMap { h in m.directHops.map { h - $0 } } })
            }
            line("signalling messages per move") { Self.counts($0.moves.map(\.signallingMessages)) }
            line("access routers' rule changes per move") { Self.counts($0.moves.map(\.ruleChanges)) }
            if setups.contains(where: { $0.forwarding == .anchorSwitching }) {
                line("routers updated per move") { Self.counts($0.moves.compactMap { $0.routersUpdated?.count }) }
            }
            if setups.contains(where: { $0.control == .central }) {
                line("packets held/released/dropped in all") { r in
                    guard r.moves.contains(where: { $0.buffered != nil }) else { return "-" }
                    return LabRun.Move.bufferFigures(r.moves.reduce(into: [:]) { $0.merge($1.buffered ?? [:], uniquingKeysWith: +) })
                }
            }
            for (setup, result) in zip(setups, results) {
                let prefix = setups.count > 1 ? "\(setup.label): " : ""
                if let s = result.stream { print("\(prefix)long TCP connection: \(s.sent) sent, \(s.echoed) echoed, error: \(s.error)") }
                if !result.failures.isEmpty { print("\(prefix)checks that failed: \(result.failures.joined(separator: "; "))") }
            }
        }

        /// One run of the moves under `setup`.
        func measure(_ setup: Setup, separate: Bool) throws -> LabRun.Result {
            let path = (0..<moves).map { $0 % 2 == 0 ? setup.routers.1 : setup.routers.0 }
            let base = output ?? "\(FileManager.default.temporaryDirectory.path)/dmm-bench-handover-\(getpid())"
            let scenario = try Scenario(yaml: """
                name: bench-handover
                topology: \(setup.topology)
                control: \(setup.control)
                forwarding: \(setup.forwarding.rawValue)
                idle-grace: 1
                node-identity: \(nodeIdentity)
                output: \(separate ? "\(base)/\(setup.label)" : base)
                node:
                  start: \(setup.routers.0)
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

        /// Median and range of whole counts.
        static func counts(_ values: [Int]) -> String {
            guard !values.isEmpty else { return "not measured" }
            let sorted = values.sorted()
            return "median \(sorted[(sorted.count - 1) / 2]), min \(sorted.first!), max \(sorted.last!)"
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
