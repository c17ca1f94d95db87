import DMMCore

/// A topology file (see `Topology`):
///
///     name: tree
///     nodes:
///       - {name: cn, kind: correspondent}
///       - {name: border, kind: router}
///       - {name: ar1, kind: access-router}          # address, prefix-block and
///       - {name: lms, kind: location-server}        # tunnel-endpoint may be given
///       - {name: mn, kind: mobile-node}
///     links:
///       - {between: [border, cn]}
///       - {between: [ar1, border], mtu: 9000}       # an access router's first link is its uplink
extension Topology {
    public init(yaml: String) throws {
        var r = try ConfigReader(yaml: yaml)
        let name = try r.string("name") ?? "topology"
        let nodes = try r.required("nodes") { r, key in
            try r.list(key) { n in
                Node(name: try n.required("name") { try $0.string($1) }, kind: try n.required("kind") { try $0.choice($1, Kind.self) },
                     address: try n.address("address"), prefixBlock: try n.prefix("prefix-block"),
                     tunnelEndpoint: try n.address("tunnel-endpoint"))
            }
        }
        let links = try r.list("links") { l -> Link in
            let ends = try l.required("between") { try $0.strings($1) }
            guard ends.count == 2 else { throw ConfigReader.Invalid(description: "key '\(l.name("between"))': a link is between two nodes") }
            return Link(ends[0], ends[1], mtu: try l.integer("mtu", in: 0...Int.max))
        } ?? []
        try r.finish()
        do {
            try self.init(name: name, nodes: nodes, links: links)
        } catch let e as Topology.Invalid {
            throw ConfigReader.Invalid(description: "topology '\(name)': \(e.description)")
        }
    }
}
