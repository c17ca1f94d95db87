import DMMWire

/// What an access router holds, for `dmm ctl` and for tests: the nodes on its
/// links, the prefixes it anchors and the ones it serves for other anchors.
public struct AccessRouterSnapshot: Sendable, Hashable {
    public struct Attachment: Sendable, Hashable {
        public var link: String, node: String, served: Bool
    }
    public struct Anchored: Sendable, Hashable {
        public var prefix: IPv6Prefix, node: String, state: String
    }
    public struct Visit: Sendable, Hashable {
        public var prefix: IPv6Prefix, node: String, link: String, anchor: IPv6Address, state: String
    }
    public var attachments: [Attachment]
    public var anchored: [Anchored]
    public var visiting: [Visit]
    public var counters: AccessRouter.Counters
}

extension AccessRouter {
    public func snapshot() -> AccessRouterSnapshot {
        AccessRouterSnapshot(
            attachments: accessLinks.attachments.sorted { $0.key < $1.key }.map { link, a in
                .init(link: link.name, node: a.node.description, served: a.isServed)
            },
            anchored: anchor.table.entries.map { prefix, e in
                let state = switch e.state {
                case .home(let link): "home on \(link)"
                case .away(let b): "tunnelled to \(b.visited)"
                case .left: "left, waiting for a PBU"
                case .holdDown: "hold-down"
                }
                return .init(prefix: prefix, node: e.node.description, state: state)
            },
            visiting: serving.visits.sorted { $0.key.address < $1.key.address }.map { prefix, v in
                .init(prefix: prefix, node: v.node.description, link: v.link.name, anchor: v.anchor, state: v.state.name)
            },
            counters: counters)
    }

    /// Whether start-up recovery is still under way.
    public var isRecovering: Bool { recovery != nil }
}
