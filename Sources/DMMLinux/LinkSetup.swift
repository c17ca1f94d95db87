import CNetlink
import DMMWire
import Glibc

/// What an access link of a MAR needs before it serves a node, done through
/// rtnetlink and /proc/sys (never by running ip or sysctl): the link-layer and
/// link-local addresses every MAR shares (RFC 5213 sections 6.8 and 6.9.3), so
/// a moving node keeps its default router; and no DAD on the router's side, so
/// the link-local address can send the first Router Advertisement at once.
extension LinuxDataPlane {
    public func prepareAccessLink(_ name: String, linkLayerAddress: [UInt8], linkLocal: IPv6Address) throws {
        try setSysctl("net/ipv6/conf/\(name)/accept_dad", "0")
        // A link that appears may carry another index than the one the
        // driver last saw under its name (it left and came back): the names
        // are read again.
        try refreshInterfaces()
        let index = try index(of: name)
        var w = NetlinkWriter()
        w.u8(UInt8(AF_UNSPEC))
        w.u8(0)
        w.u16(0)
        w.u32(UInt32(bitPattern: index))
        w.u32(0)  // flags
        w.u32(0)  // change mask
        w.attribute(c16(IFLA_ADDRESS), linkLayerAddress)
        var a = NetlinkWriter()
        a.u8(UInt8(AF_INET6))
        a.u8(64)  // prefix length
        a.u8(UInt8(IFA_F_NODAD))
        a.u8(UInt8(RT_SCOPE_LINK.rawValue))
        a.u32(UInt32(bitPattern: index))
        a.attribute(c16(IFA_LOCAL), address: linkLocal)
        a.attribute(c16(IFA_ADDRESS), address: linkLocal)
        let results = try netlink.transact([
            NetlinkMessage(type: UInt16(RTM_NEWLINK), flags: 0, payload: w.bytes),
            NetlinkMessage(type: UInt16(RTM_NEWADDR), flags: UInt16(NLM_F_CREATE | NLM_F_REPLACE), payload: a.bytes),
        ])
        for (what, code) in zip(["link-layer address", "link-local address"], results) where code != 0 && code != EEXIST {
            throw NetlinkSocket.Failure(description: "\(name): cannot set the \(what): \(NetlinkSocket.errorText(code))")
        }
    }

    /// Forwarding on, and SRv6 processing on the uplink, where tunnels end;
    /// with proxy neighbours, proxy answers on the uplink, sent at once (by
    /// default the kernel delays each by up to 0.8 s); the tunnel source.
    public func prepareRouter() throws {
        try setSysctl("net/ipv6/conf/all/forwarding", "1")
        try setSysctl("net/ipv6/conf/all/seg6_enabled", "1")
        try setSysctl("net/ipv6/conf/\(config.uplink)/seg6_enabled", "1")
        if config.proxyNeighbours {
            try setSysctl("net/ipv6/conf/\(config.uplink)/proxy_ndp", "1")
            try setSysctl("net/ipv6/neigh/\(config.uplink)/proxy_delay", "0")
        }
        if let source = config.tunnelSource { try TunnelSource().set(source) }
        try ConnectionTracking.install()
    }

    /// Writes /proc/sys/KEY. The daemon runs in the router's namespace, so
    /// these are that namespace's settings.
    func setSysctl(_ key: String, _ value: String) throws {
        let fd = open("/proc/sys/\(key)", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkSocket.Failure(description: "cannot open /proc/sys/\(key): \(NetlinkSocket.errorText(errno))") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw NetlinkSocket.Failure(description: "cannot set /proc/sys/\(key): \(NetlinkSocket.errorText(errno))")
        }
    }

    /// The name of an interface index, if it exists.
    public func name(ofInterface index: Int32) -> String? {
        // Called per received packet: a search, not a reverse map built each time.
        func lookUp() -> String? { interfaceIndexes.first { $0.value == index }?.key }
        if let n = lookUp() { return n }
        try? refreshInterfaces()
        return lookUp()
    }
}

extension NetlinkSocket {
    /// Sets a link administratively up by name, as `ip link set NAME up`
    /// does; returns once the kernel has done it (the lab times a move's
    /// link-up with this, to the microsecond).
    public func setUp(link name: String) throws {
        var w = NetlinkWriter()
        w.u8(UInt8(AF_UNSPEC))
        w.u8(0)
        w.u16(0)
        w.u32(0)  // index 0: the link is named by IFLA_IFNAME
        w.u32(c32(IFF_UP))
        w.u32(c32(IFF_UP))  // change mask
        w.attribute(c16(IFLA_IFNAME), string: name)
        let code = try transact([NetlinkMessage(type: UInt16(RTM_NEWLINK), flags: 0, payload: w.bytes)])[0]
        guard code == 0 else { throw Failure(description: "\(name): cannot set it up: \(Self.errorText(code))") }
    }
}
