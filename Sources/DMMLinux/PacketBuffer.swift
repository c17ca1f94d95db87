import CNetlink
import DMMWire
import Foundation
import Glibc

/// Buffering in the kernel path (RFC 8818 FM-buffer): a prefix being
/// buffered is routed into a TUN device of the driver's (`buffer(P)` is
/// `P dev dmmbuf`), whose packets a thread of this class reads and holds,
/// per prefix, in arrival order. Released (the rule replaced or removed, so
/// that the route now says where the prefix goes), the held packets are
/// written back into the device in that order, and the kernel routes them
/// again by the new route. Each prefix holds at most `packets` packets for
/// at most `seconds`; what comes beyond is dropped and counted.
///
/// Why a TUN device and not NFQUEUE: the route that diverts a prefix is
/// one rtnetlink write like every other rule (atomic, read back, reconciled),
/// it needs no netfilter rule (this kernel's nf_tables has no queue
/// statement), and a released packet is routed afresh, where a queued one
/// would keep the route looked up before it was held. Packets that arrive
/// between the route's change and the end of the release may overtake held
/// ones; TCP takes such reordering in its stride.
///
/// The device goes with the descriptor: a daemon that dies loses what it
/// held (at most `seconds` of packets), and the kernel drops the routes
/// through the device with it; a restarted daemon makes both again.
public final class PacketBuffer: @unchecked Sendable {
    public static let deviceName = "dmmbuf"

    public struct Limits: Sendable, Hashable {
        public var packets: Int
        public var seconds: Double
        public init(packets: Int = 1000, seconds: Double = 1) {
            self.packets = packets
            self.seconds = seconds
        }
    }

    public struct Counters: Sendable, Hashable {
        /// Packets held, released in order, and dropped over a limit.
        public var held = 0, released = 0, dropped = 0
        /// Packets the device got for no prefix being buffered (the
        /// kernel's own, such as its MLD reports on the device), dropped.
        public var stray = 0
    }

    let fd: Int32
    let limits: Limits
    private let lock = NSLock()
    /// Prefixes being buffered, with what each holds: (arrival, packet).
    private var held: [IPv6Prefix: [(at: Double, packet: [UInt8])]] = [:]
    private var counts = Counters()
    private var stopped = false

    /// Opens the device in the namespace `namespace` (nil: the thread's).
    public init(namespace: String?, limits: Limits) throws {
        self.limits = limits
        let opened = try inNetworkNamespace(namespace) { (cnl_tun_open(Self.deviceName), errno) }
        guard opened.0 >= 0 else {
            throw NetlinkSocket.Failure(description: "cannot open the buffer device \(Self.deviceName): \(NetlinkSocket.errorText(opened.1))")
        }
        fd = opened.0
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        // The thread holds the buffer until `stop()`.
        let thread = Thread { self.readLoop() }
        thread.name = "dmm-buffer"
        thread.start()
    }

    deinit { close(fd) }

    /// Stops reading within a tenth of a second; what is held is dropped.
    public func stop() { lock.withLock { stopped = true } }

    public var counters: Counters { lock.withLock { counts } }

    /// How many packets `prefix` holds now.
    public func holding(_ prefix: IPv6Prefix) -> Int { lock.withLock { held[prefix]?.count ?? 0 } }

    func isHolding(_ prefix: IPv6Prefix) -> Bool { lock.withLock { held[prefix] != nil } }

    /// Starts holding packets for `prefix` (before its route points here).
    func hold(_ prefix: IPv6Prefix) {
        lock.withLock { if held[prefix] == nil { held[prefix] = [] } }
    }

    /// Writes what `prefix` holds back into the device, in order, and stops
    /// holding it.
    func release(_ prefix: IPv6Prefix) {
        let packets = lock.withLock { () -> [(at: Double, packet: [UInt8])] in
            held.removeValue(forKey: prefix) ?? []
        }
        let now = Self.clock()
        var sent = 0, dropped = 0
        for p in packets {
            if now - p.at > limits.seconds || write(fd, p.packet, p.packet.count) != p.packet.count { dropped += 1 } else { sent += 1 }
        }
        lock.withLock {
            counts.released += sent
            counts.dropped += dropped
        }
    }

    func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !lock.withLock({ stopped }) {
            guard poll(&ready, 1, 100) > 0 else { continue }
            while true {
                let n = read(fd, &buffer, buffer.count)
                guard n > 0 else { break }
                take(Array(buffer[0..<n]), at: Self.clock())
            }
        }
    }

    /// One packet from the device: held under its prefix, within the limits.
    func take(_ packet: [UInt8], at now: Double) {
        guard packet.count >= 40, packet[0] >> 4 == 6 else {
            lock.withLock { counts.stray += 1 }
            return
        }
        let destination = IPv6Address(bytes: Array(packet[24..<40]))!
        lock.withLock {
            guard let prefix = held.keys.filter({ $0.contains(destination) }).max(by: { $0.length < $1.length }) else {
                counts.stray += 1
                return
            }
            // Packets over the time limit go first, then the count decides.
            let expired = held[prefix]!.prefix { now - $0.at > limits.seconds }.count
            held[prefix]!.removeFirst(expired)
            counts.dropped += expired
            guard held[prefix]!.count < limits.packets else {
                counts.dropped += 1
                return
            }
            held[prefix]!.append((now, packet))
            counts.held += 1
        }
    }

    static func clock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
