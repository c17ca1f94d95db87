import CNetlink
import DMMCore
import DMMWire
import Glibc

/// Tunnels through eBPF, for kernels built without SRv6 tunnels
/// (`CONFIG_IPV6_SEG6_LWTUNNEL` off, as on kernel 6.18 in these machines:
/// every seg6 route fails with "lwt encapsulation type not supported").
/// The packets on the wire are the same as the seg6 driver's:
///
///     encapsulate(P, E, mode)  route P encap bpf xmit "dmm MODE E from S" headroom N
///                              a program per far end that pushes an outer IPv6
///                              header S -> E (and for srv6 an SRH with segment E),
///                              then has the kernel route the packet again
///     decapsulate(E)           key E -> 0 in the uplink's SID map
///     crossConnect(E, link)    key E -> LINK's index
///
/// One program at the tcx ingress of every interface reads the SID map (a
/// seg6local route matches whatever link a packet came in on, so the
/// decapsulator must see every link; a packet from a backbone link missed
/// it when it sat on the uplink alone): a packet IPv6-in-IPv6 to a SID in
/// it loses its outer header and goes to the main table (End.DT6) or out of
/// its link to the inner destination as the neighbour (End.DX6 with next hop
/// ::). Route, program and map belong to the kernel, not to the daemon: they
/// outlive it, and a restarted daemon finds the map again through the
/// program attached to the uplink.
final class BPFTunnels {
    /// The outer source of every encapsulation.
    let source: IPv6Address
    /// The SID map: 16-byte address -> 4-byte interface index.
    let sids: Int32
    /// The decapsulator, attached to each interface in `attached`.
    let decapsulator: Int32
    private(set) var attached: Set<Int32> = []
    /// Encapsulation programs by route name; a route holds its own reference.
    private var encapsulators: [String: Int32] = [:]

    static let decapsulatorName = "dmm_decap"
    /// Room for the SID map; entries are allocated as they come.
    static let sidCapacity: UInt32 = 1 << 20

    // linux/bpf.h
    static let schedCls: UInt32 = 3, lwtXmit: UInt32 = 12, hashMap: UInt32 = 1, noPrealloc: UInt32 = 1

    /// Run in the uplink's namespace: bpf(2) reads `uplink` as an index there.
    init(uplink: Int32, source: IPv6Address) throws {
        self.source = source
        if let found = try Self.attachedDecapsulator(uplink) {
            (decapsulator, sids) = found
            return
        }
        sids = cnl_bpf_map_create(Self.hashMap, 16, 4, Self.sidCapacity, Self.noPrealloc, "dmm_sids")
        guard sids >= 0 else { throw Self.failure("creating the SID map") }
        do {
            decapsulator = try Self.decapsulator(map: sids).load(type: Self.schedCls, name: Self.decapsulatorName)
        } catch {
            close(sids)
            throw error
        }
    }

    deinit {
        close(sids)
        close(decapsulator)
        for fd in encapsulators.values { close(fd) }
    }

    static func failure(_ what: String) -> NetlinkSocket.Failure {
        NetlinkSocket.Failure(description: "\(what): \(String(cString: strerror(errno)))")
    }

    /// The decapsulator a previous run attached to an interface, and its SID map.
    static func attachedDecapsulator(_ interface: Int32) throws -> (program: Int32, map: Int32)? {
        var ids = [UInt32](repeating: 0, count: 64)
        let count = cnl_bpf_tcx_query(interface, &ids, UInt32(ids.count))
        guard count >= 0 else { throw failure("reading the programs at tcx ingress of interface \(interface)") }
        for id in ids.prefix(Int(count)) {
            let program = cnl_bpf_prog_fd(id)
            guard program >= 0 else { continue }
            var name = [CChar](repeating: 0, count: 17)
            var map: UInt32 = 0
            if cnl_bpf_prog_info(program, &name, &map) == 0, map != 0,
               String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == decapsulatorName {
                let fd = cnl_bpf_map_fd(map)
                if fd >= 0 { return (program, fd) }
            }
            close(program)
        }
        return nil
    }

    /// Attaches the decapsulator to every interface of `interfaces` that has
    /// none yet, and forgets those gone (an index may come back as another
    /// device). An interface that fails (one that left the namespace
    /// meanwhile, as a moving node's link does) is tried again at the next
    /// call. Run in the interfaces' namespace.
    func attach(to interfaces: Set<Int32>) {
        attached.formIntersection(interfaces)
        for interface in interfaces.subtracting(attached).sorted() {
            if let found = try? Self.attachedDecapsulator(interface) {
                close(found.program)
                close(found.map)
            } else if cnl_bpf_tcx_attach(decapsulator, interface) != 0 {
                continue
            }
            attached.insert(interface)
        }
    }

    // MARK: Encapsulation

    /// The route name that says what the program pushes; read back, it gives
    /// the rule again.
    func name(_ endpoint: IPv6Address, _ mode: TunnelMode) -> String { "dmm \(mode) \(endpoint) from \(source)" }

    static func parse(name: String) -> (endpoint: IPv6Address, mode: TunnelMode)? {
        let words = name.split(separator: " ")
        guard words.count == 5, words[0] == "dmm", let mode = TunnelMode(rawValue: String(words[1])),
            let endpoint = IPv6Address(String(words[2]))
        else { return nil }
        return (endpoint, mode)
    }

    /// The program, its route name and the headroom it needs.
    func encapsulator(_ endpoint: IPv6Address, _ mode: TunnelMode) throws -> (program: Int32, name: String, headroom: UInt32) {
        let name = name(endpoint, mode)
        let headroom = UInt32(mode == .srv6 ? 64 : 40)
        if let fd = encapsulators[name] { return (fd, name, headroom) }
        let fd = try Self.encapsulator(source: source, endpoint: endpoint, mode: mode).load(type: Self.lwtXmit, name: "dmm_encap")
        encapsulators[name] = fd
        return (fd, name, headroom)
    }

    /// Pushes [IPv6 S -> E][SRH with E, for srv6] in front of the packet.
    /// The payload length is the packet's (skb->len at the IPv6 header) plus
    /// the SRH; the kernel sets GSO up for IPv6-in-IPv6 itself.
    static func encapsulator(source: IPv6Address, endpoint: IPv6Address, mode: TunnelMode) -> BPFProgram {
        let srh: [UInt8] = mode == .srv6 ? [41, 2, 4, 0, 0, 0, 0, 0] + endpoint.bytes : []
        let header = [0x60, 0, 0, 0, 0, 0, srh.isEmpty ? 41 : 43, 64] + source.bytes + endpoint.bytes + srh
        let at = -Int16(header.count)
        var p = BPFProgram()
        p.move(.r6, .r1)
        p.store(bytes: header, at: at)
        p.load(.r2, .word, from: .r6, 0)  // __sk_buff.len
        p.add(.r2, Int32(srh.count))
        p.toBigEndian(.r2, bits: 16)
        p.store(.half, to: .fp, at + 4, .r2)
        p.move(.r1, .r6)
        p.move(.r2, 2)  // BPF_LWT_ENCAP_IP
        p.move(.r3, .fp)
        p.add(.r3, Int32(at))
        p.move(.r4, Int32(header.count))
        p.call(73)  // bpf_lwt_push_encap
        p.jump(if: .notEqual, .r0, 0, to: "drop")
        p.return(128)  // BPF_LWT_REROUTE: route by the new destination
        p.label("drop")
        p.return(2)  // BPF_DROP
        return p
    }

    // MARK: Decapsulation

    /// At tcx ingress on an Ethernet link: an IPv6 packet whose next header
    /// is IPv6 (41) and whose destination is in the SID map loses its outer
    /// 40 bytes; anything else goes on to the next program untouched.
    static func decapsulator(map: Int32) -> BPFProgram {
        var p = BPFProgram()
        p.move(.r6, .r1)
        p.load(.r2, .word, from: .r6, 16)  // __sk_buff.protocol, network order
        p.jump(if: .notEqual, .r2, 0xdd86, to: "next")
        p.move(.r1, .r6)
        p.move(.r2, 14)  // after the Ethernet header
        p.move(.r3, .fp)
        p.add(.r3, -40)
        p.move(.r4, 40)
        p.call(26)  // bpf_skb_load_bytes
        p.jump(if: .notEqual, .r0, 0, to: "next")
        p.load(.r2, .byte, from: .fp, -34)  // next header
        p.jump(if: .notEqual, .r2, 41, to: "next")
        p.loadMap(.r1, descriptor: map)
        p.move(.r2, .fp)
        p.add(.r2, -16)  // destination address
        p.call(1)  // bpf_map_lookup_elem
        p.jump(if: .equal, .r0, 0, to: "next")
        p.load(.r7, .word, from: .r0, 0)
        p.move(.r1, .r6)
        p.move(.r2, -40)
        p.move(.r3, 1)  // BPF_ADJ_ROOM_MAC: the bytes after the Ethernet header
        p.move(.r4, 1 << 8)  // BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (kernel 6.3): the inner header is IPv6
        p.call(50)  // bpf_skb_adjust_room
        p.jump(if: .notEqual, .r0, 0, to: "drop")
        p.jump(if: .equal, .r7, 0, to: "pass")
        // End.DX6: out of the link to the inner destination as the next hop
        // (struct bpf_redir_neigh: family, then the address). Without it the
        // helper would look the destination up in the routing table, which
        // has no route for it on that link.
        p.store(.word, to: .fp, -64, value: 10)  // AF_INET6
        p.move(.r1, .r6)
        p.move(.r2, 14 + 24)  // the inner destination
        p.move(.r3, .fp)
        p.add(.r3, -60)
        p.move(.r4, 16)
        p.call(26)  // bpf_skb_load_bytes
        p.jump(if: .notEqual, .r0, 0, to: "drop")
        p.move(.r1, .r7)
        p.move(.r2, .fp)
        p.add(.r2, -64)
        p.move(.r3, 20)
        p.move(.r4, 0)
        p.call(152)  // bpf_redirect_neigh
        p.exit()
        p.label("next")
        p.return(-1)  // TCX_NEXT: to the next program, if any
        p.label("pass")
        p.return(0)  // TCX_PASS: decapsulated, on into the stack
        p.label("drop")
        p.return(2)  // TCX_DROP
        return p
    }

    /// Decapsulates at `endpoint`, into the main table (interface 0) or onto a link.
    func setEndpoint(_ endpoint: IPv6Address, interface: Int32) -> Int32 {
        var value = UInt32(bitPattern: interface)
        return endpoint.bytes.withUnsafeBytes { key in cnl_bpf_map_update(sids, key.baseAddress, &value) == 0 ? 0 : errno }
    }

    /// Stops decapsulating at `endpoint`; ENOENT when it was not there.
    func removeEndpoint(_ endpoint: IPv6Address) -> Int32 {
        endpoint.bytes.withUnsafeBytes { key in cnl_bpf_map_delete(sids, key.baseAddress) == 0 ? 0 : errno }
    }

    /// Every SID in the map with its interface (0: the main table).
    func endpoints() -> [IPv6Address: Int32] {
        var out: [IPv6Address: Int32] = [:]
        var key = [UInt8](repeating: 0, count: 16), next = [UInt8](repeating: 0, count: 16)
        var first = true
        while (first ? cnl_bpf_map_next_key(sids, nil, &next) : cnl_bpf_map_next_key(sids, key, &next)) == 0 {
            first = false
            var value: UInt32 = 0
            if cnl_bpf_map_lookup(sids, next, &value) == 0, let e = IPv6Address(bytes: next) { out[e] = Int32(bitPattern: value) }
            key = next
        }
        return out
    }
}
