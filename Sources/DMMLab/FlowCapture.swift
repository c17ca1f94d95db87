import DMMWire
import Foundation

/// Packets of one TCP connection in a capture, by direction: what the
/// handover's interruption is measured on (the first packet of the old flow
/// to reach the node, or the correspondent, after the link came up). The
/// capture's times are the kernel's, taken as each packet arrived.
struct FlowCapture {
    struct Endpoint: Hashable {
        var address: IPv6Address
        var port: UInt16
    }

    /// The packets from `source` to `destination` in arrival order: when
    /// each came, and the hop limit it came with.
    static func arrivals(in file: URL, from source: Endpoint, to destination: Endpoint) throws -> [(time: Double, hopLimit: Int)] {
        let records = try PcapReader.read(Array(try Data(contentsOf: file)))
        return records.compactMap { r -> (time: Double, hopLimit: Int)? in
            guard let p = r.ipv6, let (s, d) = tcpEndpoints(p), s == source, d == destination else { return nil }
            return (r.time, Int(p[7]))
        }.sorted { $0.time < $1.time }
    }

    /// The ends of a TCP segment right after the IPv6 header (as the lab's
    /// packets are: no extension headers); nil for anything else.
    static func tcpEndpoints(_ p: [UInt8]) -> (Endpoint, Endpoint)? {
        guard p.count >= 44, p[0] >> 4 == 6, p[6] == 6,
            let s = IPv6Address(bytes: Array(p[8..<24])), let d = IPv6Address(bytes: Array(p[24..<40]))
        else { return nil }
        return (Endpoint(address: s, port: UInt16(p[40]) << 8 | UInt16(p[41])),
                Endpoint(address: d, port: UInt16(p[42]) << 8 | UInt16(p[43])))
    }
}
