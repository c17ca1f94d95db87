import ArgumentParser
import DMMCore
import DMMWire
import Foundation

extension BenchCommand {
    struct Recovery: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart an anchoring MAR that holds many bindings; print how fast it reads them back and restores them."
        )

        @Option(help: "Prefixes the restarting MAR anchors.")
        var records = 1_000_000

        func run() throws {
            let anchor = BenchCommand.anchor, visited = BenchCommand.visited, lms = BenchCommand.locationServer
            let config = BenchCommand.anchoringMAR
            // What the location server holds: 8 in 10 prefixes tunnelled to
            // another MAR, 1 at home, 1 in hold-down.
            let pool = PrefixPool(block: config.prefixBlock, prefixLength: config.prefixLength)
            let now = Instant(seconds: 1_795_000_000)
            let all = (0..<records).map { i -> PrefixRecord in
                let prefix = pool.prefix(at: UInt64(i))
                let serving: IPv6Address? = switch i % 10 {
                case 9: nil
                case 8: anchor
                default: visited
                }
                return PrefixRecord(mobileNode: MobileNodeID("mn\(i)@bench"), prefix: prefix, anchor: anchor, serving: serving,
                                    active: serving != nil, expires: serving == visited ? now + 300 : nil)
            }
            // Pages follow the cursor the MAR sends back, as at the server: the
            // codec may cut a page short to fit a message.
            let position = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1.prefix, $0) })
            let pageSize = LocationServer<InMemoryLocationStore>.pageSize
            var mar = AccessRouter(config: config)
            var rules = 0, pages = 0, restored: Int?
            let start = DispatchTime.now().uptimeNanoseconds
            mar.start(at: now)
            // Each request is answered with the next page as the server would
            // encode it (its store's cost left out); the MAR decodes it with
            // the checksum verified, as from its socket.
            while restored == nil {
                var requests: [LocationEnvelope<LocationRequest>] = []
                mar.pollActions { action in
                    switch action {
                    case .location(let r): requests.append(r)
                    case .install: rules += 1
                    case .recovered(let n): restored = n
                    default: break
                    }
                }
                guard restored == nil else { break }
                guard let request = requests.first, case .recover(let after) = request.body else {
                    throw ValidationError("the MAR asked for something other than its records: \(requests)")
                }
                var first = 0
                if let after {
                    guard let i = position[after] else { throw ValidationError("the MAR's cursor \(after) is none of its records") }
                    first = i + 1
                }
                let page = Array(all[first..<min(first + pageSize, all.count)])
                let reply = LocationEnvelope(id: request.id, LocationReply.page(page, next: page.count == pageSize ? page.last?.prefix : nil))
                let bytes = try LocationCodec.encode(reply).encode(source: lms, destination: anchor)
                let decoded = try LocationCodec.decodeReply(MobilityHeader.decode(bytes, checksum: .verify(source: lms, destination: anchor)))
                mar.handle(.location(decoded), at: now)
                pages += 1
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("dmm bench recovery: an anchoring MAR restarts with \(records) records at the location server; one core")
            print(String(format: "%d records restored in %.2f s: %.0f records/s, %d pages of up to %d, %d rules asked for",
                         restored ?? 0, seconds, Double(restored ?? 0) / seconds, pages, pageSize, rules))
            print("(each page encoded as the server would and decoded with its checksum; the server's store and the network are not included)")
        }
    }
}
