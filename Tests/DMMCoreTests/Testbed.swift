import DMMDataPlane
import DMMWire

@testable import DMMCore

/// Three MARs, a location server and correspondents, driven with a logical
/// clock: messages travel as encoded bytes (checksummed) with a latency and
/// optional loss, rules land in the network model, and Router Advertisements
/// set the mobile nodes' prefixes, as a node's SLAAC would.
struct Testbed {
    var now = Instant(seconds: 1_795_000_000)
    var mars: [String: AccessRouter] = [:]
    var names: [IPv6Address: String] = [:]
    var lms: LocationServer<InMemoryLocationStore>
    static let lmsAddress = IPv6Address("2001:db8:ffff::100")!
    var network = NetworkModel()
    var latency: Seconds = 0.001
    /// Messages from or to these MARs are lost.
    var isolated: Set<String> = []
    /// The next PBUs of this many are lost.
    var dropPBUs = 0
    var inFlight: [(at: Instant, order: Int, delivery: Delivery)] = []
    var order = 0
    /// Every mobility message sent: (from, to, message).
    var sent: [(from: String, to: String, message: MobilityMessage)] = []
    var established: [(prefix: IPv6Prefix, signalling: Seconds)] = []
    /// Each MAR's rule table as its daemon keeps it, apart from the network
    /// model's (its kernel): they differ after a restart until the network
    /// is reconciled with it on `.recovered`, as the daemon does.
    var wanted: [String: RuleTable] = [:]
    /// Every action of every MAR in order, messages as their encoded bytes:
    /// what must come out the same for the same events.
    var actionLog: [String] = []
    /// Prefixes restored by each MAR's start-up recovery, once it is over.
    var recovered: [String: Int] = [:]
    var identities: [String: MobileNodeID] = [:]

    enum Delivery {
        case mobility([UInt8], from: IPv6Address, to: String)
        case request(LocationEnvelope<LocationRequest>, from: String)
        case reply(LocationEnvelope<LocationReply>, to: String)
    }

    static func marAddress(_ i: Int) -> IPv6Address { IPv6Address("2001:db8:ffff::\(i)")! }
    static func block(_ i: Int) -> IPv6Prefix { IPv6Prefix("2001:db8:\(i)::/48")! }

    /// Tunnel endpoint SIDs apart from the signalling addresses, as on Linux.
    static func sid(_ i: Int) -> IPv6Address { IPv6Address("fc00:\(i)::d6")! }

    init(mars count: Int = 3, separateEndpoints: Bool = false, configure: (inout AccessRouterConfig) -> Void = { _ in }) {
        let addresses = (1...count).map(Self.marAddress)
        lms = LocationServer(store: InMemoryLocationStore(), knownMARs: Set(addresses))
        for i in 1...count {
            var config = AccessRouterConfig(address: Self.marAddress(i), prefixBlock: Self.block(i),
                                            peers: Set(addresses), locationServer: Self.lmsAddress)
            if separateEndpoints {
                config.tunnelEndpoint = Self.sid(i)
                for j in 1...count where j != i { config.peerEndpoints[Self.marAddress(j)] = Self.sid(j) }
            }
            configure(&config)
            let name = "MAR\(i)"
            mars[name] = AccessRouter(config: config)
            names[config.address] = name
            network.addRouter(name, address: config.address, block: config.prefixBlock, endpoint: config.tunnelEndpoint)
        }
        network.addHost("CN1", address: IPv6Address("2001:db8:cc::1")!)
        network.addHost("CN2", address: IPv6Address("2001:db8:cc::2")!)
        for name in mars.keys.sorted() {
            mars[name]!.start(at: now)
            collect(name)
        }
    }

    // MARK: Driving the node

    mutating func attach(_ node: String, to mar: String) {
        if network.nodes[node] == nil { network.addNode(node) }
        let link = LinkID(interface: "\(node.lowercased())-\(mar.lowercased())")
        network.nodes[node]!.attachment = (mar, link)
        let id = identities[node] ?? MobileNodeID("\(node.lowercased())@dmm.example")
        identities[node] = id
        mars[mar]!.handle(.attached(id, link: link, linkLayerAddress: [2, 0, 0, 0, 0, node.utf8.reduce(0) { $0 &+ $1 }]), at: now)
        collect(mar)
    }

    /// The MAR's process is killed and started again: its memory, timers
    /// and the messages in flight to it are gone; its rules (the kernel) and
    /// its links stay, so the nodes on them are reported attached again.
    mutating func restart(_ mar: String) {
        mars[mar] = AccessRouter(config: mars[mar]!.config)
        wanted[mar] = RuleTable()
        recovered[mar] = nil
        inFlight.removeAll {
            switch $0.delivery {
            case .mobility(_, _, let to), .reply(_, let to): to == mar
            case .request(_, let from): from == mar
            }
        }
        mars[mar]!.start(at: now)
        collect(mar)
        for (node, n) in network.nodes.sorted(by: { $0.key < $1.key }) where n.attachment?.router == mar { attach(node, to: mar) }
    }

    mutating func detach(_ node: String) {
        guard let a = network.nodes[node]?.attachment else { return }
        network.nodes[node]!.attachment = nil
        mars[a.router]!.handle(.detached(a.link), at: now)
        collect(a.router)
    }

    /// The node attaches to `mar`, configures the prefix it advertises, and
    /// starts `flows` flows on it; returns the prefix.
    mutating func start(_ node: String, at mar: String, flows count: Int = 1) throws -> IPv6Prefix {
        attach(node, to: mar)
        run(for: 0.1)
        guard let prefix = preferred(node) else { throw NoPrefix(node: node) }
        flows(node, on: prefix, count)
        return prefix
    }

    struct NoPrefix: Error { var node: String }

    /// The node starts at MAR1 with a flow and moves to MAR2, the flow still
    /// running: its first prefix, which MAR1 tunnels to MAR2.
    mutating func startAway(_ node: String) throws -> IPv6Prefix {
        let prefix = try start(node, at: "MAR1")
        move(node, to: "MAR2")
        flows(node, on: prefix, 1)
        return prefix
    }

    /// Moves the node's link from its MAR to `mar`, then lets signalling run.
    mutating func move(_ node: String, to mar: String, settle: Seconds = 0.1) {
        detach(node)
        attach(node, to: mar)
        run(for: settle)
    }

    /// The data plane at the node's MAR reports `count` flows on `prefix`.
    mutating func flows(_ node: String, on prefix: IPv6Prefix, _ count: Int) {
        guard let a = network.nodes[node]?.attachment else { return }
        mars[a.router]!.handle(.flows(prefix, count: count), at: now)
        collect(a.router)
    }

    // MARK: Time

    mutating func run(for duration: Seconds) {
        let end = now + duration
        while true {
            var next = inFlight.first?.at
            for name in mars.keys { if let d = mars[name]!.nextDeadline(), next.map({ d < $0 }) ?? true { next = d } }
            guard let t = next, t <= end else { break }
            now = max(now, t)
            while let first = inFlight.first, first.at <= now {
                inFlight.removeFirst()
                deliver(first.delivery)
            }
            for name in mars.keys.sorted() {
                mars[name]!.handleTimeout(at: now)
                collect(name)
            }
        }
        now = end
    }

    mutating func schedule(_ d: Delivery) {
        order += 1
        inFlight.append((now + latency, order, d))
        inFlight.sort { ($0.at, $0.order) < ($1.at, $1.order) }
    }

    mutating func deliver(_ d: Delivery) {
        switch d {
        case .mobility(let bytes, let from, let to):
            guard let mar = mars[to] else { return }
            let message = try! MobilityHeader.decode(bytes, checksum: .verify(source: from, destination: mar.config.address))
            mars[to]!.handle(.mobility(message, from: from), at: now)
            collect(to)
        case .request(let request, let from):
            let reply = lms.handle(request, from: mars[from]!.config.address, at: now)
            schedule(.reply(reply, to: from))
        case .reply(let reply, let to):
            mars[to]!.handle(.location(reply), at: now)
            collect(to)
        }
    }

    /// Carries out a MAR's actions.
    mutating func collect(_ name: String) {
        let mar = mars[name]!
        for action in mars[name]!.pollActions() {
            actionLog.append(Self.logLine(name, action))
            switch action {
            case .sendMobility(let mh, let to):
                let target = names[to] ?? "?"
                sent.append((name, target, mh.message))
                if case .bindingUpdate = mh.message, dropPBUs > 0 {
                    dropPBUs -= 1
                    continue
                }
                if isolated.contains(name) || isolated.contains(target) { continue }
                schedule(.mobility(try! mh.encode(source: mar.config.address, destination: to), from: mar.config.address, to: target))
            case .sendRouterAdvertisement(let ra, let link):
                // SLAAC on the node attached to that link.
                guard let node = network.nodes.first(where: { $0.value.attachment?.router == name && $0.value.attachment?.link == link })?.key
                else { continue }
                for case .prefixInformation(let pi) in ra.options {
                    network.nodes[node]!.prefixes[pi.prefix] = pi.validLifetime > 0 ? pi.preferredLifetime > 0 : nil
                }
            case .install(let rule):
                network.install(rule, at: name)
                _ = wanted[name, default: RuleTable()].install(rule)
            case .remove(let rule):
                network.remove(rule, at: name)
                _ = wanted[name]?.remove(rule)
            case .recovered(let anchored):
                recovered[name] = anchored
                network.reconcile(name, to: wanted[name, default: RuleTable()].rules)
            case .location(let request):
                if isolated.contains(name) { continue }
                schedule(.request(request, from: name))
            case .bindingEstablished(let prefix, _, let signalling):
                established.append((prefix, signalling))
            case .released, .nodeAttached, .sendEchoRequest, .watchFrames, .stopWatchingFrames:
                break
            }
        }
    }

    // MARK: Looking

    static func logLine(_ mar: String, _ action: AccessRouterAction) -> String {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16) }.joined(separator: ".") }
        return switch action {
        case .sendMobility(let mh, let to): "\(mar) -> \(to): \(hex(try! mh.encode(source: marAddress(1), destination: to)))"
        case .sendRouterAdvertisement(let ra, let link):
            "\(mar) RA on \(link): \(hex(try! ICMPv6Message.routerAdvertisement(ra).encode(source: .unspecified, destination: .unspecified)))"
        default: "\(mar): \(action)"
        }
    }

    func prefixes(of node: String) -> [IPv6Prefix: Bool] { network.nodes[node]?.prefixes ?? [:] }

    /// The one preferred prefix: what a new flow uses.
    func preferred(_ node: String) -> IPv6Prefix? {
        let p = prefixes(of: node).filter(\.value).map(\.key)
        return p.count == 1 ? p[0] : nil
    }

    static func address(in prefix: IPv6Prefix) -> IPv6Address {
        IPv6Address(high: prefix.address.high, low: 1)
    }

    /// CN to node and node to CN for an address in `prefix`.
    func traces(_ node: String, _ prefix: IPv6Prefix, cn: String = "CN1") -> (down: NetworkModel.Trace, up: NetworkModel.Trace) {
        let a = Self.address(in: prefix)
        return (network.trace(fromHost: cn, to: a), network.trace(fromNode: node, source: a, to: network.hosts[cn]!))
    }

    func pbus(from: String? = nil, to: String? = nil) -> [BindingUpdate] {
        sent.compactMap { s in
            guard from.map({ $0 == s.from }) ?? true, to.map({ $0 == s.to }) ?? true,
                case .bindingUpdate(let bu) = s.message else { return nil }
            return bu
        }
    }

    func pbas(from: String? = nil) -> [BindingAcknowledgement] {
        sent.compactMap { s in
            guard from.map({ $0 == s.from }) ?? true, case .bindingAcknowledgement(let ba) = s.message else { return nil }
            return ba
        }
    }
}
