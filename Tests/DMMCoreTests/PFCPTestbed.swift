import DMMTestSupport
import DMMWire

@testable import DMMCore

/// A controller and agents driven with a logical clock: PFCP travels as
/// encoded bytes with a latency and optional loss, and each agent's rule
/// actions land in its own kernel table, which counts the writes.
struct PFCPTestbed {
    var now = Instant(seconds: 1_795_000_000)
    var controller: Controller
    var agents: [String: DataPlaneAgent] = [:]
    var addresses: [String: IPv6Address] = [:]
    /// Each agent's forwarding state as its data plane holds it (it
    /// survives a restart of the agent), and how many writes it took.
    var kernels: [String: [ForwardingRule.Key: ForwardingRule]] = [:]
    /// The rules each agent's daemon asked for since it started: at the
    /// agent's resynchronization the kernel is made to hold these alone,
    /// as the daemon's rule table reconciles it.
    var asked: [String: [ForwardingRule.Key: ForwardingRule]] = [:]
    var writes: [String: Int] = [:]
    var latency: Seconds = 0.001
    /// Datagrams from or to these agents are lost.
    var isolated: Set<String> = []
    /// How many of their next datagrams these senders lose.
    var losses: [String: Int] = [:]
    /// How many of their next datagrams these senders have delivered twice.
    var duplicates: [String: Int] = [:]
    /// Up to this much more than `latency` for each datagram, drawn from
    /// `random`: datagrams then overtake each other.
    var jitter: Seconds = 0
    /// Changes each message on its way, or drops it (false), as a peer of
    /// another make would have written it or a network lost it; nil: none.
    var filter: ((inout PFCPMessage, _ from: String) -> Bool)?
    var random = SplitMix64(seed: 1)
    var inFlight: [(at: Instant, order: Int, bytes: [UInt8], from: IPv6Address, to: IPv6Address)] = []
    var order = 0
    /// Every message sent, by whom and to whom ("controller" or an agent's name).
    var sent: [(from: String, to: String, message: PFCPMessage)] = []
    var controllerActions: [ControllerAction] = []
    /// The controller's location management, fed the access routers' reports.
    var location = LocationManagement(holdDown: 10)
    /// Access routers under central control, by the name of their agent,
    /// and the Router Advertisements they sent.
    var routers: [String: AccessRouter] = [:]
    var advertisements: [(router: String, link: LinkID, ra: RouterAdvertisement)] = []
    /// Location requests the routers sent.
    var reports: [LocationRequest] = []
    var agentActions: [String: [AgentAction]] = [:]

    static let controllerAddress = IPv6Address("2001:db8:ffff::100")!
    static func address(_ i: Int) -> IPv6Address { IPv6Address("2001:db8:ffff::\(i)")! }
    static func block(_ i: Int) -> IPv6Prefix { IPv6Prefix("2001:db8:\(i)::/48")! }
    static func sid(_ i: Int) -> IPv6Address { IPv6Address("fc00:\(i)::d6")! }
    static let timing = PFCPTiming(t1: 0.1, n1: 2, heartbeatInterval: 1)

    /// Each agent's configuration, by name.
    var agentConfigs: [String: DataPlaneAgent.Config] = [:]
    /// Sessions every engine's tables are made for at start.
    let reserved: Int

    /// `allowed`: the agents the controller accepts (empty: any).
    init(agents count: Int = 3, loadLimit: UInt8 = 80, allowed: Set<IPv6Address> = [], buffering: Bool = true, reserved: Int = 0) {
        self.reserved = reserved
        controller = Controller(config: Controller.Config(address: Self.controllerAddress, timing: Self.timing, loadLimit: loadLimit,
                                                          agents: allowed, uplink: .reverseTunnel, buffering: buffering,
                                                          reservedSessions: reserved),
                                startedAt: now)
        for i in 1...count { addAgent("ar\(i)", address: Self.address(i), pools: [Self.block(i)]) }
    }

    /// An agent at every router and access router of `topology` (named as
    /// there, the routers with no pools), the controller moving prefixes
    /// over it by anchor switching (or `forwarding`).
    init(topology: Topology, buffering: Bool = true, forwarding: ForwardingMethod = .anchorSwitching, reserved: Int = 0) {
        self.reserved = reserved
        controller = Controller(config: Controller.Config(address: Self.controllerAddress, timing: Self.timing, forwarding: forwarding,
                                                          topology: topology, buffering: buffering, reservedSessions: reserved),
                                startedAt: now)
        for node in topology.nodes where node.kind == .router || node.kind == .accessRouter {
            let a = topology.addressing(node.name)!
            addAgent(node.name, address: a.address, pools: a.prefixBlock.map { [$0] } ?? [])
        }
    }

    mutating func addAgent(_ name: String, address: IPv6Address, pools: [IPv6Prefix]) {
        addresses[name] = address
        kernels[name] = [:]
        writes[name] = 0
        agentConfigs[name] = DataPlaneAgent.Config(address: address, controller: Self.controllerAddress, pools: pools, poolIdentity: name,
                                                   timing: Self.timing, resynchronization: 1, reservedSessions: reserved)
        startAgent(name)
    }

    /// Starts (or restarts) an agent; its kernel state stays.
    mutating func startAgent(_ name: String) {
        var agent = DataPlaneAgent(config: agentConfigs[name]!, startedAt: now)
        agent.start(at: now)
        agents[name] = agent
        asked[name] = [:]
        collect()
    }

    /// Restarts the controller from what it had (as its store keeps it), or
    /// from an earlier `snapshot` (what its store held before a step it
    /// died before committing).
    mutating func restartController(restoring snapshot: Controller.Snapshot? = nil, config: Controller.Config? = nil) {
        controller = Controller(config: config ?? controller.config, startedAt: now, restoring: snapshot ?? controller.snapshot)
        controller.start(at: now)
        collect()
    }

    /// "controller", an agent's name, or the address of a stranger.
    func name(of address: IPv6Address) -> String {
        address == Self.controllerAddress ? "controller" : addresses.first { $0.value == address }?.key ?? address.description
    }

    mutating func collect() {
        for action in controller.pollActions() {
            controllerActions.append(action)
            if case .send(let m, let to) = action { transmit(m, from: Self.controllerAddress, to: to) }
        }
        for name in agents.keys.sorted() {
            for action in agents[name]!.pollActions() {
                agentActions[name, default: []].append(action)
                switch action {
                case .send(let m, let to): transmit(m, from: addresses[name]!, to: to)
                case .install(let rule):
                    kernels[name]![rule.key] = rule
                    asked[name]![rule.key] = rule
                    writes[name]! += 1
                case .remove(let rule):
                    if kernels[name]![rule.key] == rule { kernels[name]![rule.key] = nil }
                    if asked[name]![rule.key] == rule { asked[name]![rule.key] = nil }
                    writes[name]! += 1
                case .resynchronized:
                    let (kernel, wanted) = (kernels[name]!, asked[name]!)
                    writes[name]! += Set(kernel.keys).union(wanted.keys).filter { kernel[$0] != wanted[$0] }.count
                    kernels[name] = wanted
                default: break
                }
            }
        }
    }

    mutating func transmit(_ datagram: [UInt8], from: IPv6Address, to: IPv6Address) {
        let (sender, receiver) = (name(of: from), name(of: to))
        var message = try! PFCPMessage.decode(datagram)
        sent.append((sender, receiver, message))
        var datagram = datagram
        if let filter {
            guard filter(&message, sender) else { return }
            datagram = try! message.encode()
        }
        if isolated.contains(sender) || isolated.contains(receiver) || Self.takeOne(&losses, sender) { return }
        for _ in 0..<(Self.takeOne(&duplicates, sender) ? 2 : 1) {
            let delay = jitter == 0 ? 0 : Seconds(nanoseconds: Int64.random(in: 0...jitter.nanoseconds, using: &random))
            order += 1
            inFlight.append((now + latency + delay, order, datagram, from, to))
        }
    }

    /// Counts down one of `sender`'s next datagrams in `counts`
    /// (`losses`, `duplicates`); whether there was one.
    static func takeOne(_ counts: inout [String: Int], _ sender: String) -> Bool {
        guard let n = counts[sender], n > 0 else { return false }
        counts[sender] = n - 1
        return true
    }

    /// Delivers raw bytes to `to` from `from` now, as a hostile peer would.
    mutating func inject(_ bytes: [UInt8], from: IPv6Address, to name: String) {
        if name == "controller" {
            controller.handle(.pfcp(bytes, from: from), at: now)
        } else {
            agents[name]!.handle(.pfcp(bytes, from: from), at: now)
        }
        collect()
    }

    /// Delivers `message` to agent `name` from the controller now, as a
    /// datagram held on its way arrives late; what the agent sent back.
    mutating func deliverLate(_ message: PFCPMessage, to name: String) throws -> [PFCPMessage] {
        let mark = sent.count
        inject(try message.encode(), from: Self.controllerAddress, to: name)
        return sent[mark...].map(\.message)
    }

    /// Runs deliveries and timers until `until`.
    mutating func run(for duration: Seconds) {
        let end = now + duration
        while true {
            var next = inFlight.map(\.at).min()
            for d in [controller.nextDeadline()] + agents.keys.sorted().map({ agents[$0]!.nextDeadline() }) {
                if let d, next == nil || d < next! { next = d }
            }
            guard let at = next, at <= end else { break }
            now = max(now, at)
            inFlight.sort { ($0.at, $0.order) < ($1.at, $1.order) }
            while let first = inFlight.first, first.at <= now {
                inFlight.removeFirst()
                let to = name(of: first.to)
                if to == "controller" {
                    controller.handle(.pfcp(first.bytes, from: first.from), at: now)
                } else if agents[to] != nil {
                    agents[to]!.handle(.pfcp(first.bytes, from: first.from), at: now)
                }
                collect()
            }
            controller.handleTimeout(at: now)
            for name in agents.keys.sorted() { agents[name]!.handleTimeout(at: now) }
            collect()
        }
        now = end
    }

    /// An access router's report that `node` attached on `link` of `agent`,
    /// listing `previous` prefixes; what it is told to advertise.
    mutating func attach(_ node: String, at agent: String, link: String = "acc0",
                         previous: [IPv6Prefix] = []) -> [LocationManagement.Advertisement] {
        let advertised = location.attached(MobileNodeID(node), at: Placement.Attachment(agent: addresses[agent]!, link: LinkID(interface: link)),
                                           previous: previous, controller: &controller, now: now)
        collect()
        return advertised
    }

    mutating func detach(_ node: String, from agent: String, link: String = "acc0") {
        location.detached(MobileNodeID(node), from: Placement.Attachment(agent: addresses[agent]!, link: LinkID(interface: link)),
                          controller: &controller, now: now)
        collect()
    }

    mutating func flows(_ prefix: IPv6Prefix, active: Bool) {
        location.flows(prefix, active: active, controller: &controller, now: now)
        collect()
    }

    /// The next datagram `sender` sends is lost.
    mutating func dropNext(from sender: String) { losses[sender, default: 0] += 1 }

    func rules(at name: String) -> Set<ForwardingRule> { Set(kernels[name]!.values) }

    /// Messages of one type sent since `index` into `sent`.
    func messages(_ type: PFCPMessageType, from index: Int = 0) -> [PFCPMessage] {
        sent[index...].map(\.message).filter { $0.type == type }
    }
}
