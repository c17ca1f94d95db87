import DMMCore
import DMMWire
import Foundation

/// Every mobility message of a run, read from the captures at the access
/// routers, for the report's ladder diagram: PBU/PBA between access routers,
/// the location requests and replies (PBU/PBA with the location envelope) to
/// and from the location server or the controller, and PFCP. A message between two access
/// routers is in both captures; it is taken from its sender's, where its
/// time is when it left.
public struct SignallingMessage: Codable, Sendable, Equatable {
    /// When it was captured (seconds since 1970).
    public var time: Double
    public var from: String
    public var to: String
    public var label: String
    /// Whether it reports a refusal: a PBA or location reply that rejects.
    public var refused: Bool
}

enum SignallingCapture {
    /// The messages in `captures` (access router name -> pcapng file), in
    /// time order; `names` maps addresses to node names.
    static func messages(captures: [String: URL], names: [IPv6Address: String]) throws -> [SignallingMessage] {
        var result: [SignallingMessage] = []
        for (router, file) in captures.sorted(by: { $0.key < $1.key }) {
            guard let mine = names.first(where: { $0.value == router })?.key else { continue }
            for record in try PcapReader.read(Array(try Data(contentsOf: file))) {
                guard let bytes = record.ipv6, let packet = try? IPv6Packet.decode(bytes, verifyChecksum: false),
                    let from = names[packet.source], let to = names[packet.destination]
                else { continue }
                let label: String, refused: Bool
                switch packet.payload {
                case .mobility(let mh): (label, refused) = describe(mh, locationServer: captures[from] == nil || captures[to] == nil)
                case .udp(let d): guard case .pfcp(let m) = d.payload else { continue }; (label, refused) = describe(m)
                default: continue
                }
                // From the sender's capture; a message from a node that
                // captures nothing (the location server) from its receiver's.
                let sender = packet.source == mine, fromUncaptured = captures[from] == nil && packet.destination == mine
                guard sender || fromUncaptured else { continue }
                result.append(SignallingMessage(time: record.time, from: from, to: to, label: label, refused: refused))
            }
        }
        return result.sorted { ($0.time, $0.from) < ($1.time, $1.from) }
    }

    /// A PFCP message's label: its type, and a response's Cause.
    static func describe(_ m: PFCPMessage) -> (String, Bool) {
        guard let cause = m.cause else { return (m.type.name, false) }
        return (cause.isAcceptance ? m.type.name : "\(m.type.name): \(cause.name)", !cause.isAcceptance)
    }

    /// A short label: the message and what matters in it.
    static func describe(_ mh: MobilityHeader, locationServer: Bool) -> (String, Bool) {
        if locationServer {
            if let request = try? LocationCodec.decodeRequest(mh) { return (describe(request.body), false) }
            if let reply = try? LocationCodec.decodeReply(mh) {
                if case .refused(let why) = reply.body { return ("refused: \(why)", true) }
                return (describe(reply.body), false)
            }
        }
        switch mh.message {
        case .bindingUpdate(let bu):
            let prefix = bu.options.lazy.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } }.first
            return ("PBU \(prefix.map { "\($0)" } ?? "") seq \(bu.sequence) lifetime \(bu.lifetime)", false)
        case .bindingAcknowledgement(let ba):
            return ("PBA \(ba.status.name) seq \(ba.sequence) lifetime \(ba.lifetime)", !ba.status.isAccepted)
        default:
            return (mh.message.name, false)
        }
    }

    static func describe(_ request: LocationRequest) -> String {
        switch request {
        case .query(let node): "query \(node)"
        case .register(let record): "register \(record.prefix)"
        case .update(let prefix, let serving, let active, _): "update \(prefix)\(serving.map { " serving \($0)" } ?? "")\(active ? " active" : "")"
        case .release(let prefix): "release \(prefix)"
        case .recover: "recover"
        case .attached(let node, let link, let previous):
            "attached \(node) on \(link)" + (previous.isEmpty ? "" : ", listing \(previous.map(\.description).joined(separator: " "))")
        case .detached(let node, let link): "detached \(node) from \(link)"
        }
    }

    static func describe(_ reply: LocationReply) -> String {
        switch reply {
        case .records(_, let records): "records (\(records.count))"
        case .done: "done"
        case .page(let records, _): "page (\(records.count))"
        case .refused(let why): "refused: \(why)"
        case .advertise(let prefixes): "advertise " + prefixes.map { "\($0.prefix)\($0.preferred ? "" : " (deprecated)")" }.joined(separator: ", ")
        }
    }
}
