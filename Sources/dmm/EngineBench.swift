import ArgumentParser
import DMMCore
import DMMWire
import Foundation

extension BenchCommand {
    struct Engine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive an anchoring MAR with PBUs for many nodes; print PBUs per second and memory per binding."
        )

        @Option(help: "Mobile nodes anchored at the MAR.")
        var nodes = 1_000_000

        @Option(help: "Refresh rounds after the handover round.")
        var rounds = 2

        func run() throws {
            let anchor = BenchCommand.anchor, visited = BenchCommand.visited
            var config = BenchCommand.anchoringMAR
            config.freshness = .timestamps(window: 3600)
            var mar = AccessRouter(config: config)
            var now = Instant(seconds: 1_795_000_000)

            // The MAR hands out its block in order, so the prefixes and every
            // PBU (one handover round, then refresh rounds) are known up front
            // and built before memory is measured.
            let prefixes = (0..<nodes).map { mar.pool.prefix(at: UInt64($0)) }
            func pbus(round: Int) throws -> [[UInt8]] {
                let t = Timestamp(unixSeconds: now.seconds + Double(round + 1))
                return try prefixes.enumerated().map { i, p in
                    try MobilityHeader(.bindingUpdate(BindingUpdate(
                        sequence: UInt16(truncatingIfNeeded: i), flags: [.acknowledge, .homeRegistration, .proxyRegistration],
                        lifetime: 75, options: [
                            .mobileNodeIdentifier(.nai("mn\(i)@bench")), .homeNetworkPrefix(p),
                            .handoffIndicator(.handoffSameInterface), .accessTechnologyType(.ieee8023), .timestamp(t),
                        ]))).encode(source: visited, destination: anchor)
                }
            }
            let messages = try (0..<rounds + 1).map(pbus)
            let baseline = residentBytes()

            // Attach every node (its location query answered: no sessions),
            // start a flow, detach: the MAR anchors one prefix per node and
            // waits for a PBU. The location server answers every request.
            let setupStart = DispatchTime.now().uptimeNanoseconds
            func answerLocation(_ actions: [AccessRouterAction], node: MobileNodeID) {
                for case .location(let q) in actions {
                    let reply: LocationReply = switch q.body {
                    case .query: .records(node, [])
                    case .recover: .page([], next: nil)
                    default: .done
                    }
                    mar.handle(.location(LocationEnvelope(id: q.id, reply)), at: now)
                }
            }
            mar.start(at: now)
            answerLocation(mar.pollActions(), node: MobileNodeID(identifier: []))
            _ = mar.pollActions()
            for i in 0..<nodes {
                let node = MobileNodeID("mn\(i)@bench"), link = LinkID(interface: "l\(i)")
                mar.handle(.attached(node, link: link, linkLayerAddress: []), at: now)
                answerLocation(mar.pollActions(), node: node)
                answerLocation(mar.pollActions(), node: node)
                mar.handle(.flows(prefixes[i], count: 1), at: now)
                mar.handle(.detached(link), at: now)
                answerLocation(mar.pollActions(), node: node)
            }
            let setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - setupStart) / 1e9
            print("dmm bench engine: \(nodes) nodes anchored at one MAR, set up in \(String(format: "%.1f", setupSeconds)) s; one core")

            for (round, batch) in messages.enumerated() {
                now = now + 1
                var accepted = 0
                let start = DispatchTime.now().uptimeNanoseconds
                for bytes in batch {
                    let pbu = try MobilityHeader.decode(bytes, checksum: .verify(source: visited, destination: anchor))
                    mar.handle(.mobility(pbu, from: visited), at: now)
                    try mar.pollActions { action in
                        guard case .sendMobility(let pba, let to) = action else { return }
                        _ = try pba.encode(source: anchor, destination: to)
                        if case .bindingAcknowledgement(let ba) = pba.message, ba.status == .accepted { accepted += 1 }
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                print(String(format: "%@: %d PBUs in %.2f s: %.0f PBUs/s (decode, check, update, encode the PBA); %d accepted",
                             round == 0 ? "handover" : "refresh \(round)", batch.count, seconds, Double(batch.count) / seconds, accepted))
                if round == 0 {
                    let perBinding = Double(residentBytes() - baseline) / Double(nodes)
                    print(String(format: "memory: %.0f bytes per binding (growth of the resident set from before the first attachment)", perBinding))
                }
            }
        }

        /// Resident set size from /proc/self/statm.
        func residentBytes() -> Int {
            guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
            let fields = text.split(separator: " ")
            return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
        }
    }
}
