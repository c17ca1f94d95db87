import DMMCore
import DMMLinux
import DMMWire

/// How a MAR names the node that appears on an access link by its
/// link-layer address (`node-identity: link-layer-address`, the default).
/// A node that boots sends a Router Solicitation with its address in it. A
/// node that moves does not: when carrier returns on an interface it has
/// configured, Linux only repeats its MLD reports. So at link up the MAR
/// watches the link's frames (a packet socket, open until the node is
/// named) and asks, so that a frame comes even from a node with nothing to send:
///
///     Echo Request to ff02::1 --> Echo Reply from the node: its frame's source address --> attached
///
/// the Echo Request repeated every `probeInterval` until answered,
/// `probeCount` times in all. Without a packet socket the Echo Reply's
/// sender is asked for its address instead, one exchange more:
///
///     Neighbor Solicitation for it --> Neighbor Advertisement with its link-layer address --> attached
///
/// A Router Solicitation with a source link-layer address attaches the node
/// at any point.
extension MARDaemon {
    struct Probe {
        var interface: Int32
        var sent = 0
        var next: Instant
        /// The link's frames, while the node is unnamed.
        var frames: FrameSource?
        /// The node's link-local address, once its Echo Reply came (asked
        /// for its link-layer address when there are no frames to read).
        var node: IPv6Address?
    }

    static let probeInterval: Seconds = 0.01
    static let probeCount = 100
    /// Identifier of our Echo Requests (RFC 4443 section 4.1).
    static let probeIdentifier: UInt16 = 0x444D

    /// Opens the link's frames before the Router Advertisement goes out, so
    /// that the node's answer to it names the node; the first Echo Request
    /// is due at once.
    func startProbing(_ link: String, interface: Int32) {
        endProbe(link)
        var probe = Probe(interface: interface, next: wallClock())
        do {
            let frames = try FrameSource(interface: interface)
            reactor.watch(frames.fd) { [unowned self] in framesArrived(on: link) }
            probe.frames = frames
        } catch {
            log.warning("probe-frames", ["link": link, "error": error])
        }
        probes[link] = probe
    }

    /// Names the node from the first frame it sent, if one came.
    func framesArrived(on link: String) {
        guard let mac = probes[link]?.frames?.nextSender() else { return }
        attachNode(MobileNodeID(linkLayerAddress: mac), on: link, linkLayerAddress: mac)
    }

    func endProbe(_ link: String) {
        if let frames = probes.removeValue(forKey: link)?.frames { reactor.unwatch(frames.fd) }
    }

    /// Sends what is due: an Echo Request, or a Neighbor Solicitation once
    /// the node's link-local address is known.
    func sendProbes(at now: Instant) {
        let a = config.router.advertisement
        for (link, var probe) in probes where probe.next <= now {
            guard probe.sent < Self.probeCount else {
                endProbe(link)
                log.warning("node-unanswered", ["link": link, "probes": probe.sent])
                continue
            }
            let message: ICMPv6Message, destination: IPv6Address
            if let node = probe.node {
                message = .neighborSolicitation(NeighborSolicitation(target: node, options: [.sourceLinkLayerAddress(a.linkLayerAddress)]))
                destination = IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | node.low & 0xFF_FFFF)
            } else {
                let id = Self.probeIdentifier
                message = .other(type: 128, code: 0, body: [UInt8(id >> 8), UInt8(id & 0xFF), 0, UInt8(truncatingIfNeeded: probe.sent)])
                destination = IPv6Address("ff02::1")!
            }
            do {
                try icmp.send(try message.encode(source: .unspecified, destination: .unspecified), to: destination,
                              from: a.linkLocalAddress, interface: probe.interface, hopLimit: 255)
            } catch {
                log.warning("probe", ["link": link, "error": error])
            }
            probe.sent += 1
            probe.next = now + Self.probeInterval
            probes[link] = probe
        }
    }

    /// The earliest probe due, for the reactor's timeout.
    var nextProbe: Instant? { probes.values.map(\.next).min() }

    /// An answer to a probe on an access link whose node is not attached.
    func probeAnswered(_ message: ICMPv6Message, from source: IPv6Address, hopLimit: Int32, link: String) {
        guard var probe = probes[link], source.isLinkLocal, source != config.router.advertisement.linkLocalAddress else { return }
        switch message {
        case .other(type: 129, code: 0, let body) where body.count >= 2 && UInt16(body[0]) << 8 | UInt16(body[1]) == Self.probeIdentifier:
            guard probe.node == nil, probe.frames == nil else { return }
            probe.node = source
            probe.next = wallClock()
            probes[link] = probe
            sendProbes(at: probe.next)
        case .neighborAdvertisement(let na) where na.target == probe.node:
            // RFC 4861 section 7.1.2: not from the link unless hop limit 255.
            guard hopLimit == 255 else { return refuse("hop limit not 255") }
            guard let mac = na.options.lazy.compactMap({ if case .targetLinkLayerAddress(let a) = $0 { a } else { nil } }).first
            else { return }
            attachNode(MobileNodeID(linkLayerAddress: mac), on: link, linkLayerAddress: mac)
        default:
            break
        }
    }

    /// The location query goes out before the log line is written.
    func attachNode(_ node: MobileNodeID, on link: String, linkLayerAddress: [UInt8]) {
        endProbe(link)
        engine.handle(.attached(node, link: LinkID(link), linkLayerAddress: linkLayerAddress), at: wallClock())
        perform()
        log.info("attach", ["link": link, "node": node])
        metrics.add("dmm_attachments_total")
    }
}
