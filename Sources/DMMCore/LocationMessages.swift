import DMMWire

/// What a MAR's location client (LMc) asks the location server (LMs), RFC
/// 8818 section 3.2.1. Each request carries an id that its reply echoes, so
/// the MAR can retransmit and match.
public enum LocationRequest: Hashable, Sendable {
    /// LM-db:1: the node's prefixes and where each is anchored.
    case query(MobileNodeID)
    /// LM-db:4 by the anchor: a prefix it just assigned.
    case register(PrefixRecord)
    /// LM-db:4 by the serving MAR: it serves the prefix now, whether flows
    /// use it, and until when its binding holds (nil: no binding needed).
    /// Changes only an existing record.
    case update(IPv6Prefix, serving: IPv6Address?, active: Bool, expires: Instant? = nil)
    /// By the anchor: the prefix is released (GL-switch:1).
    case release(IPv6Prefix)
    /// By an anchor that (re)starts: the records it anchors, a page at a
    /// time, each page after the cursor the previous one returned.
    case recover(after: IPv6Prefix?)
    /// To the central controller (RFC 8818 Figure 1, LMc to LM): the node is
    /// on this access link of the sender, and the prefixes it listed in its
    /// Router Solicitation as its previous ones (I-D.jhlee-dmm-dnpp; none
    /// from an unmodified host). Answered with `advertise`. (The flows on a
    /// prefix are reported with `update`.)
    case attached(MobileNodeID, link: LinkID, previous: [IPv6Prefix] = [])
    /// To the central controller: the node left this access link.
    case detached(MobileNodeID, link: LinkID)
}

extension LocationRequest {
    /// Its kind, for logs and metric labels.
    public var name: String {
        switch self {
        case .query: "query"
        case .register: "register"
        case .update: "update"
        case .release: "release"
        case .recover: "recover"
        case .attached: "attached"
        case .detached: "detached"
        }
    }
}

public enum LocationReply: Hashable, Sendable {
    /// LM-db:2.
    case records(MobileNodeID, [PrefixRecord])
    case done
    /// One page of `recover`; `next` is the cursor for the next page, nil
    /// after the last.
    case page([PrefixRecord], next: IPv6Prefix?)
    /// Refused, with the reason; the request changed nothing.
    case refused(String)
    /// From the central controller: the prefixes to advertise to the node,
    /// the preferred one first.
    case advertise([LocationManagement.Advertisement])
}

extension LocationReply {
    public var isRefusal: Bool { if case .refused = self { true } else { false } }
}

public struct LocationEnvelope<Body: Hashable & Sendable>: Hashable, Sendable {
    public var id: UInt32
    public var body: Body
    public init(id: UInt32, _ body: Body) {
        self.id = id
        self.body = body
    }
}
