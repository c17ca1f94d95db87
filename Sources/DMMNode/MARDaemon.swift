import DMMCore
import DMMDataPlane
import DMMLinux
import DMMWire
import Foundation
import Logging

/// `dmm mar`: the access router engine wired to its sockets, the Linux data
/// plane, link and flow monitors, timers, logs, metrics and control socket.
///
///     link up on an access interface (or, by configuration, the first RS on it)
///         -> attached -> the engine asks the location server, assigns, signals, installs, advertises
///     link down -> detached;  conntrack -> flow counts per served prefix;  SIGTERM -> remove what it owns, exit
public final class MARDaemon {
    let config: MARConfig
    var engine: AccessRouter
    let log: Logger
    let metrics = DaemonMetrics(durations: ["dmm_handover_signalling_seconds": [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
        .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
    ]])
    var rejections = CounterFollower<BindingAckStatus>(), ignored = CounterFollower<AccessRouter.Ignored>()
    let dataPlane: LinuxDataPlane
    let mobility: RawSocket
    let icmp: RawSocket
    let links: LinkMonitor
    let flows: FlowMonitor
    let reactor: Reactor
    var flowCounter = FlowCounter()
    /// Every access link's interface index, as its link events give it.
    var accessIndexes: [String: Int32] = [:]
    /// Access links with carrier, by name.
    var accessUp: Set<String> = []
    /// Access links configured since they appeared or last went administratively down.
    var prepared: Set<String> = []
    /// Messages refused before the engine saw them, by reason.
    var malformed: [String: Int] = [:]
    /// Reads connection tracking in full off this thread (see `scanFlows`).
    let flowScanner: FlowScanner
    /// When connection tracking is next read in full.
    var nextFlowScan = Instant(nanoseconds: 0)
    static let flowScanInterval: Seconds = 1
    let rules: KernelRules
    /// Under central control, its data-plane agent, writing the same rules.
    let agent: AgentSide?
    /// Bindings restored at start, until the kernel is reconciled with them.
    var recovered: Int?
    /// Access links watched for their node's first frame (MARDaemon+Frames.swift).
    var frameSources: [String: FrameSource] = [:]

    public init(config: MARConfig) throws {
        self.config = config
        log = LogfmtLogHandler.logger(daemon: config.name)
        engine = AccessRouter(config: config.router)
        dataPlane = try LinuxDataPlane(netlink: NetlinkSocket(), config: config.dataPlane)
        try dataPlane.prepareRouter()
        rules = KernelRules(dataPlane: dataPlane, metrics: metrics, log: log)
        if config.router.control == .central {
            // The controller may ask it to buffer a prefix (anchor switching).
            try dataPlane.bufferDevice()
            agent = try AgentSide(config: config.agent, tunnelEndpoint: config.router.tunnelEndpoint, capacity: config.capacity,
                                  rules: rules, metrics: metrics, log: log)
        } else {
            agent = nil
        }
        mobility = try RawSocket(protocol: MobilityHeader.protocolNumber, bindTo: config.router.address)
        icmp = try RawSocket(protocol: ICMPv6Message.protocolNumber, icmpTypes: [ICMPv6Message.Kind.routerSolicitation.rawValue])
        links = try LinkMonitor()
        flows = try FlowMonitor()
        flowScanner = try FlowScanner()
        reactor = try Reactor()
    }

    public func run() throws {
        let control = try Listener(unixPath: config.controlSocket)
        let prometheus = try config.metrics.map { try Listener(tcp: $0) }
        // What a killed predecessor left in the kernel keeps forwarding until
        // the engine has recovered; then it is reconciled (see `perform`).
        log.info("start", metadata: ["address": "\(config.router.address)"])
        engine.start(at: wallClock())
        perform()
        agent?.start()
        if let agent { reactor.watch(agent.socket.fd) { try agent.receive() } }
        for event in try links.current() { linkChanged(event) }
        reactor.watch(mobility.fd) { [unowned self] in try receiveMobility() }
        reactor.watch(icmp.fd) { [unowned self] in try receiveICMP() }
        reactor.watch(links.fd) { [unowned self] in for e in try links.poll() { linkChanged(e) } }
        reactor.watch(flows.fd) { [unowned self] in for e in try flows.poll() { flowChanged(e) } }
        reactor.watch(flowScanner.fd) { [unowned self] in try flowsScanned() }
        reactor.watch(control.fd) { [unowned self] in control.serveOne { _ in self.stateJSON() } }
        if let prometheus {
            reactor.watch(prometheus.fd) { [unowned self] in prometheus.serveOne { Listener.http($0) { self.renderMetrics() } } }
        }
        reactor.run(
            timeout: { [unowned self] in
                let next = [engine.nextDeadline(), nextFlowScan, rules.nextRetry(), agent?.nextDeadline()].compactMap { $0 }.min()!
                return Int32(clamping: (next.nanoseconds - wallClock().nanoseconds + 999_999) / 1_000_000)
            },
            tick: { [unowned self] in
                let now = wallClock()
                if now >= nextFlowScan { scanFlows(at: now) }
                engine.handleTimeout(at: now)
                perform()
                agent?.handleTimeout(at: now)
                rules.retry(at: now)
            },
            onError: { [unowned self] in log.error("loop", metadata: ["error": "\($0)"]) })
        flowScanner.stop()
        let removed = try dataPlane.reconcile([])
        try ConnectionTracking.remove()
        log.info("stop", metadata: ["removed": "\(removed.removed)"])
    }

    // MARK: Inputs

    func receiveMobility() throws {
        let d = try mobility.receive()
        let message: MobilityHeader
        do {
            message = try MobilityHeader.decode(d.bytes, checksum: .verify(source: d.source, destination: d.destination))
        } catch {
            refuse(error.kind.rawValue)
            log.debug("malformed", metadata: ["from": "\(d.source)", "error": "\(error)"])
            return
        }
        metrics.count("dmm_messages_received_total", [("type", message.message.name)])
        if d.source == config.router.locationServer {
            do {
                engine.handle(.location(try LocationCodec.decodeReply(message)), at: wallClock())
            } catch {
                refuse("location reply")
                log.warning("malformed-location-reply", metadata: ["error": "\(error)"])
            }
        } else {
            engine.handle(.mobility(message, from: d.source), at: wallClock())
        }
        perform()
    }

    func receiveICMP() throws {
        let d = try icmp.receive()
        guard let link = dataPlane.name(ofInterface: d.interface), config.isAccess(link),
            case .routerSolicitation(let rs)? = try? ICMPv6Message.decode(d.bytes, checksum: .skip)
        else { return }
        let mac = rs.options.lazy.compactMap { if case .sourceLinkLayerAddress(let a) = $0 { a } else { nil } }.first
        let listing = rs.options.compactMap { if case .prefixInformation(let p) = $0 { p.prefix } else { nil } }
        engine.handle(.routerSolicitation(link: LinkID(interface: link), hopLimit: UInt8(clamping: d.hopLimit), sourceLinkLayerAddress: mac,
                                          source: d.source, listing: listing),
                      at: wallClock())
        perform()
    }

    func linkChanged(_ event: LinkMonitor.Event) {
        switch event {
        case .needsSetup(let name, let index) where config.isAccess(name):
            accessIndexes[name] = index
            // The frames are watched before the link is configured: whoever
            // waits for the configuration (the lab, before bringing the
            // link up) then finds the router ready for the node.
            prepared.remove(name)
            engine.handle(.linkAppeared(LinkID(interface: name)), at: wallClock())
            perform()
            prepareAccessLink(name)
        case .up(let name, let index) where config.isAccess(name):
            accessUp.insert(name)
            accessIndexes[name] = index
            if !prepared.contains(name) { prepareAccessLink(name) }
            // The link-up RA first (the node's uplink waits for its router's
            // address); the node's answer to it usually names it at once.
            engine.handle(.linkUp(LinkID(interface: name)), at: wallClock())
            perform()
            framesArrived(on: name)
            log.info("link-up", metadata: ["link": "\(name)"])
        case .down(let name) where config.isAccess(name):
            accessUp.remove(name)
            log.info("detach", metadata: ["link": "\(name)"])
            engine.handle(.detached(LinkID(interface: name)), at: wallClock())
            perform()
        case .removed(let name) where config.isAccess(name):
            accessIndexes[name] = nil
            engine.handle(.linkRemoved(LinkID(interface: name)), at: wallClock())
            perform()
            prepared.remove(name)
        default:
            break
        }
    }

    func prepareAccessLink(_ name: String) {
        do {
            try dataPlane.prepareAccessLink(name, linkLayerAddress: config.router.advertisement.linkLayerAddress,
                                            linkLocal: config.router.advertisement.linkLocalAddress)
            prepared.insert(name)
        } catch {
            log.error("access-link", metadata: ["link": "\(name)", "error": "\(error)"])
        }
    }

    /// Asks for connection tracking in full, which corrects the counts
    /// (`flowsScanned`): events alone report a UDP or ICMP flow's end only
    /// when the kernel's collector gets to the expired entry, which can take
    /// a minute. The first read, at start, counts the flows already there.
    func scanFlows(at now: Instant) {
        nextFlowScan = now + Self.flowScanInterval
        guard !flowScanner.isScanning else { return }
        flowCounter.beginScan()
        flowScanner.request()
    }

    func flowsScanned() throws {
        guard let result = flowScanner.take() else { return }
        let changed = flowCounter.reconcile(present: try result.get(), prefixOf: Self.prefix(ofFlowEnd:))
        for p in changed { engine.handle(.flows(p, count: flowCounter.count(p)), at: wallClock()) }
        if !changed.isEmpty { perform() }
    }

    /// Flows count for the /64 of each end, whether or not the engine serves
    /// that prefix yet: a moved node's packets reach the new MAR before the
    /// location server has answered, and their flow must not go uncounted.
    static func prefix(ofFlowEnd address: IPv6Address) -> IPv6Prefix? { IPv6Prefix(covering: address, length: 64) }

    func flowChanged(_ event: FlowMonitor.Event) {
        let changed = flowCounter.apply(event, prefixOf: Self.prefix(ofFlowEnd:))
        for p in changed {
            log.debug("flows", metadata: ["prefix": "\(p)", "count": "\(flowCounter.count(p))"])
            engine.handle(.flows(p, count: flowCounter.count(p)), at: wallClock())
        }
        if !changed.isEmpty { perform() }
    }

    // MARK: Actions

    /// Carries out what the engine asked for, in order, with the rules in
    /// batches: a message goes out only once every rule asked for before it
    /// is in place, since it announces that forwarding (a PBU the route on
    /// the node's link, a PBA its tunnel, an RA the node's routes). Rules
    /// asked for after it wait, so that a PBU's round trip overlaps them.
    func perform() {
        for action in engine.pollActions() {
            switch action {
            case .install(let rule): rules.install(rule)
            case .remove(let rule): rules.remove(rule)
            case .sendMobility(let message, let to):
                rules.apply()
                send(message, to: to)
            case .location(let request):
                rules.apply()
                send(LocationCodec.encode(request), to: config.router.locationServer)
            case .sendRouterAdvertisement(let ra, let link):
                rules.apply()
                if accessUp.contains(link.name), let index = accessIndexes[link.name] { advertise(ra, on: link.name, interface: index) }
            case .sendEchoRequest(let link, let sequence): sendEchoRequest(on: link.name, sequence: sequence)
            case .watchFrames(let link): watchFrames(link.name)
            case .stopWatchingFrames(let link): stopWatchingFrames(link.name)
            case .nodeAttached(let node, let link):
                log.info("attach", metadata: ["link": "\(link)", "node": "\(node)"])
                metrics.count("dmm_attachments_total")
            case .released(let prefix, let role):
                metrics.count("dmm_releases_total", [("role", role)])
                log.info("release", metadata: ["prefix": "\(prefix)", "role": "\(role)"])
            case .bindingEstablished(let prefix, let anchor, let signalling):
                metrics.count("dmm_handovers_total")
                metrics.time("dmm_handover_signalling_seconds", seconds: signalling.seconds)
                log.info("binding", metadata: ["prefix": "\(prefix)", "anchor": "\(anchor)", "signalling_ms": "\(signalling.seconds * 1000)"])
            case .recovered(let anchored):
                recovered = anchored
            }
        }
        rules.apply()
        if let anchored = recovered {
            recovered = nil
            do {
                let r = try rules.reconcile()
                log.info("recovered", metadata: ["anchored": "\(anchored)", "stale_removed": "\(r.removed)", "added": "\(r.added)"])
            } catch {
                log.error("reconcile", metadata: ["error": "\(error)"])
            }
        }
    }

    func advertise(_ ra: RouterAdvertisement, on link: String, interface: Int32) {
        do {
            let bytes = try ICMPv6Message.routerAdvertisement(ra).encode(source: .unspecified, destination: .unspecified)
            try icmp.send(bytes, to: IPv6Address("ff02::1")!, from: config.router.advertisement.linkLocalAddress,
                          interface: interface, hopLimit: 255)
            metrics.count("dmm_messages_sent_total", [("type", "Router Advertisement")])
        } catch {
            log.warning("send-ra", metadata: ["link": "\(link)", "error": "\(error)"])
        }
    }

    /// A message refused before the engine saw it; `reason` is a
    /// `WireError.Kind` or "location reply" (a closed set).
    func refuse(_ reason: String) {
        malformed[reason, default: 0] += 1
        metrics.count("dmm_messages_malformed_total", [("reason", reason)])
    }

    func send(_ message: MobilityHeader, to destination: IPv6Address) {
        do {
            try mobility.send(try message.encode(source: config.router.address, destination: destination), to: destination,
                              from: config.router.address)
            metrics.count("dmm_messages_sent_total", [("type", message.message.name)])
        } catch {
            log.warning("send", metadata: ["to": "\(destination)", "error": "\(error)"])
        }
    }

    // MARK: Observability

    /// The exposition, with the gauges read now and the engine's own counts
    /// brought up to date. The metrics (docs/running.md): messages received,
    /// sent and malformed; PBU rejections by status; engine inputs ignored
    /// by reason; bindings, tunnels, rule changes, failures and retries
    /// pending; attachments, handovers, releases; the handover signalling
    /// time as a histogram.
    func renderMetrics() -> String {
        let s = engine.snapshot()
        metrics.gauge("dmm_bindings", s.anchored.filter { $0.state.hasPrefix("tunnelled") }.count)
        rules.recordGauges()
        agent?.recordMetrics()
        rejections.follow(s.counters.rejected, into: metrics, "dmm_pbu_rejected_total", label: "status") { $0.name }
        ignored.follow(s.counters.ignored, into: metrics, "dmm_engine_ignored_total", label: "reason") { $0.rawValue }
        return metrics.render()
    }

    func stateJSON() -> String {
        let s = engine.snapshot(), c = s.counters
        return Listener.json([
            "name": config.name, "role": "mar", "recovering": engine.isRecovering,
            "attachments": s.attachments.map { ["link": $0.link, "node": $0.node, "served": $0.served] },
            "anchored": s.anchored.map { ["prefix": "\($0.prefix)", "node": $0.node, "state": $0.state] },
            "visiting": s.visiting.map {
                ["prefix": "\($0.prefix)", "node": $0.node, "link": $0.link, "anchor": "\($0.anchor)", "state": $0.state]
            },
            "rules": rules.rules.map { "\($0)" }.sorted(),
            "counters": [
                "pbu_sent": c.pbuSent, "pbu_received": c.pbuReceived, "pba_sent": c.pbaSent, "pba_received": c.pbaReceived,
                "retransmissions": c.retransmissions, "advertisements": c.advertisements,
                "bindings_established": c.bindingsEstablished, "releases": c.releases, "held_back": c.heldBack,
                "rule_changes": rules.changes,
            ],
            "rejected": Dictionary(uniqueKeysWithValues: c.rejected.map { ($0.key.name, $0.value) }),
            "malformed": malformed,
        ].merging(agent.map { ["agent": $0.state(name: config.name)] } ?? [:]) { a, _ in a })
    }
}
