import DMMCore
import DMMLinux
import DMMWire

/// The I/O of naming a node by its link-layer address; the decisions are the
/// engine's (`AccessLinkRole`): it asks for a link's frames to be watched
/// and for Echo Requests, and is told each frame's source.
extension MARDaemon {
    /// Identifier of the Echo Requests (RFC 4443 section 4.1).
    static let probeIdentifier: UInt16 = 0x444D

    /// Opens a packet socket on the link, whose queue is read when the link
    /// comes up and whenever it holds a frame.
    func watchFrames(_ link: String) {
        stopWatchingFrames(link)
        guard let index = accessIndexes[link] else { return }
        do {
            let source = try FrameSource(interface: index)
            frameSources[link] = source
            reactor.watch(source.fd) { [unowned self] in framesArrived(on: link) }
        } catch {
            log.error("node-naming", metadata: ["link": "\(link)", "error": "\(error)", "waiting_for": "a Router Solicitation"])
        }
    }

    /// Closed off this thread (see `csock_frames_close`).
    func stopWatchingFrames(_ link: String) {
        guard let source = frameSources.removeValue(forKey: link) else { return }
        reactor.unwatch(source.fd)
    }

    /// Tells the engine the source of the first frame queued on the link.
    func framesArrived(on link: String) {
        guard let mac = frameSources[link]?.nextSender() else { return }
        engine.handle(.frame(link: LinkID(interface: link), source: mac), at: wallClock())
        perform()
    }

    func sendEchoRequest(on link: String, sequence: UInt16) {
        guard accessUp.contains(link), let interface = accessIndexes[link] else { return }
        let id = Self.probeIdentifier
        let request = ICMPv6Message.other(type: 128, code: 0, body: [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(sequence >> 8), UInt8(sequence & 0xFF)])
        do {
            try icmp.send(try request.encode(source: .unspecified, destination: .unspecified), to: IPv6Address("ff02::1")!,
                          from: config.router.advertisement.linkLocalAddress, interface: interface, hopLimit: 255)
        } catch {
            log.warning("probe", metadata: ["link": "\(link)", "error": "\(error)"])
        }
    }
}
