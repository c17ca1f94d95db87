import DMMCore
import DMMLinux
import DMMWire
import Testing

@testable import DMMNode

struct ConfigTests {
    static let mar = """
        name: mar1
        address: 2001:db8:ffff::1
        tunnel-endpoint: fc00:1::d6
        prefix-block: 2001:db8:1::/48
        location-server: 2001:db8:ffff::100
        uplink: up0
        access-interfaces: [mn*]
        peers:
          - address: 2001:db8:ffff::2
            tunnel-endpoint: fc00:2::d6
          - address: 2001:db8:ffff::3
        uplink-mode: reverse-tunnel
        freshness: sequence-numbers
        decapsulation: end.dx6
        proxy-neighbours: true
        advertisement:
          retrans-timer: 10
          link-mtu: 1500
        """

    @Test func readsAMARConfiguration() throws {
        let c = try MARConfig(yaml: Self.mar)
        #expect(c.name == "mar1" && c.router.address == IPv6Address("2001:db8:ffff::1")!)
        #expect(c.router.endpoint(of: IPv6Address("2001:db8:ffff::2")!) == IPv6Address("fc00:2::d6")!)
        #expect(c.router.endpoint(of: IPv6Address("2001:db8:ffff::3")!) == IPv6Address("2001:db8:ffff::3")!)
        #expect(c.router.uplink == .reverseTunnel && c.router.freshness == .sequenceNumbers)
        #expect(c.router.decapsulation == .endDX6 && c.dataPlane.proxyNeighbours)
        #expect(c.router.advertisement.retransTimer == 10 && c.router.advertisement.preferredLifetime == 1800)
        #expect(c.router.peers.count == 3 && c.dataPlane.uplink == "up0" && c.dataPlane.routeProtocol == 177)
        #expect(c.isAccess("mn7") && !c.isAccess("up0"))
        #expect(c.nodeIdentity == .linkLayerAddress, "the default")
        #expect(c.controlSocket == "/run/dmm/mar1.sock" && c.metrics == nil)
        #expect(c.dataPlane.tunnelSource == c.router.address, "tunnels leave from the signalling address by default")
    }

    @Test func readsTheTunnelSource() throws {
        let other = try MARConfig(yaml: Self.mar + "\ntunnel-source: 2001:db8:ffff::99")
        #expect(other.dataPlane.tunnelSource == IPv6Address("2001:db8:ffff::99")!)
        #expect(try MARConfig(yaml: Self.mar + "\ntunnel-source: kernel").dataPlane.tunnelSource == nil)
        for bad in ["ff02::1", "::", "somewhere"] {
            #expect(throws: ConfigReader.Invalid(description: "key 'tunnel-source': '\(bad)' is not a unicast IPv6 address or 'kernel'")) {
                try MARConfig(yaml: Self.mar + "\ntunnel-source: \"\(bad)\"")
            }
        }
    }

    @Test(arguments: [
        ("address: 2001:db8:ffff::1", "address: 2001:zz::1", "key 'address': '2001:zz::1' is not an IPv6 address"),
        ("uplink-mode: reverse-tunnel", "uplink-mode: sideways", "key 'uplink-mode': 'sideways' is not one of direct, reverse-tunnel"),
        ("  - address: 2001:db8:ffff::3", "  - address: nope", "key 'peers[1].address': 'nope' is not an IPv6 address"),
        ("  retrans-timer: 10", "  retrans-timer: -4", "key 'advertisement.retrans-timer': '-4' is not a whole number from 0 to 3600000"),
        ("freshness: sequence-numbers", "freshnes: sequence-numbers", "unknown key 'freshnes'"),
        ("decapsulation: end.dx6", "decapsulation: end.dx4", "key 'decapsulation': 'end.dx4' is not one of end.dt6, end.dx6"),
        ("proxy-neighbours: true", "proxy-neighbours: maybe", "key 'proxy-neighbours': 'maybe' is not true or false"),
        ("uplink: up0\n", "", "key 'uplink' is required"),
        ("tunnel-endpoint: fc00:1::d6", "tunnel-endpoint: 2001:db8:ffff::1",
         "key 'tunnel-endpoint' must differ from 'address': a local address cannot end a tunnel on Linux"),
        ("prefix-block: 2001:db8:1::/48", "prefix-block: 2001:db8:1::/60", "key 'prefix-block': '2001:db8:1::/60' leaves fewer than 256 /64s; use /56 or shorter"),
    ])
    func namesTheBadKeyAndValue(_ good: String, _ bad: String, _ message: String) {
        #expect(throws: ConfigReader.Invalid(description: message)) { try MARConfig(yaml: Self.mar.replacingOccurrences(of: good, with: bad)) }
    }

    @Test func refusesWhatIsNotAMapping() {
        #expect(throws: ConfigReader.Invalid.self) { try MARConfig(yaml: "- a\n- b") }
        #expect(throws: ConfigReader.Invalid.self) { try MARConfig(yaml: "a: [unclosed") }
        #expect(throws: ConfigReader.Invalid.self) { try MARConfig(yaml: "") }
    }

    @Test func readsALocationServerConfiguration() throws {
        let c = try LMSConfig(yaml: """
            address: 2001:db8:ffff::100
            database: /tmp/lms.sqlite
            mars: [2001:db8:ffff::1, 2001:db8:ffff::2]
            """)
        #expect(c.name == "lms" && c.mars.count == 2 && c.database == "/tmp/lms.sqlite")
        #expect(throws: ConfigReader.Invalid(description: "key 'mars[1]': 'x' is not an IPv6 address")) {
            try LMSConfig(yaml: "address: \"::1\"\ndatabase: d\nmars: [\"::2\", x]")
        }
    }
}

/// Daemon configurations written from typed values read back as the same
/// values (the lab writes its daemons' files this way).
/// The controller's reports in words, through its control socket.
struct ControllerCommandTests {
    @Test func anAttachmentListsThePreviousPrefixesAfterTheLink() throws {
        let agent = IPv6Address("2001:db8:ffff::2")!, p = IPv6Prefix("2001:db8:1::/64")!
        guard case .success(let (request, from)) = ControllerDaemon.report(["attach", "mn1", "\(agent)", "acc0", "\(p)"], LocationManagement())
        else { Issue.record("refused"); return }
        #expect(request == .attached(MobileNodeID("mn1"), link: "acc0", previous: [p]) && from == agent)
        guard case .success(let (plain, _)) = ControllerDaemon.report(["attach", "mn1", "\(agent)", "acc0"], LocationManagement())
        else { Issue.record("refused"); return }
        #expect(plain == .attached(MobileNodeID("mn1"), link: "acc0"))
        guard case .failure(let e) = ControllerDaemon.report(["attach", "mn1", "\(agent)", "acc0", "2001:db8:1::"], LocationManagement())
        else { Issue.record("a prefix without a length was taken"); return }
        #expect(e.description == "'2001:db8:1::' is not an IPv6 prefix")
        guard case .failure = ControllerDaemon.report(["detach", "mn1", "\(agent)", "acc0", "\(p)"], LocationManagement())
        else { Issue.record("a detachment with prefixes was taken"); return }
    }
}

struct ConfigWritingTests {
    @Test func aMARConfigurationReadsBackUnchanged() throws {
        var router = AccessRouterConfig(address: IPv6Address("2001:db8:ffff::1")!, prefixBlock: IPv6Prefix("2001:db8:1::/48")!,
                                        peers: [IPv6Address("2001:db8:ffff::1")!, IPv6Address("2001:db8:ffff::2")!, IPv6Address("2001:db8:ffff::3")!],
                                        locationServer: IPv6Address("2001:db8:ffff::100")!)
        router.tunnelEndpoint = IPv6Address("fc00:1::d6")!
        router.peerEndpoints[IPv6Address("2001:db8:ffff::2")!] = IPv6Address("fc00:2::d6")!
        router.uplink = .reverseTunnel
        router.decapsulation = .endDX6
        router.freshness = .sequenceNumbers
        router.idleGrace = 2.5
        router.initialBindAckTimeout = 0.2
        router.advertisement.retransTimer = 10
        router.advertisement.linkLayerAddress = [2, 0, 0, 0, 0xd3, 0x0a]
        var dataPlane = LinuxDataPlane.Config(uplink: "eth0")
        dataPlane.tunnelSource = nil
        let config = MARConfig(name: "mar1", router: router, dataPlane: dataPlane, accessInterfaces: ["mn*", "wlan0"],
                               nodeIdentity: .interfaceName, metrics: "[::1]:9460", controlSocket: "/tmp/mar1.sock")
        let back = try MARConfig(yaml: config.yaml)
        #expect(back.yaml == config.yaml)
        #expect(back.router.peers == router.peers && back.router.peerEndpoints == router.peerEndpoints)
        #expect(back.router.freshness == .sequenceNumbers && back.router.idleGrace == 2.5 && back.router.decapsulation == .endDX6)
        #expect(back.router.advertisement.linkLayerAddress == [2, 0, 0, 0, 0xd3, 0x0a] && back.router.advertisement.retransTimer == 10)
        #expect(back.dataPlane.tunnelSource == nil && back.dataPlane.uplink == "eth0")
        #expect(back.nodeIdentity == .interfaceName && back.metrics == "[::1]:9460" && back.isAccess("wlan0"))
    }

    @Test func anLMSConfigurationReadsBackUnchanged() throws {
        let config = LMSConfig(address: IPv6Address("2001:db8:ffff::100")!, database: "/tmp/lms.sqlite",
                               mars: [IPv6Address("2001:db8:ffff::1")!, IPv6Address("2001:db8:ffff::2")!], controlSocket: "/tmp/lms.sock")
        let back = try LMSConfig(yaml: config.yaml)
        #expect(back.yaml == config.yaml && back.mars == config.mars && back.database == config.database && back.metrics == nil)
    }

    @Test func theCentralControlConfigurationsReadBackUnchanged() throws {
        let agent = AgentConfig(
            name: "ar2",
            agent: DataPlaneAgent.Config(address: IPv6Address("2001:db8:ffff::2")!, controller: IPv6Address("2001:db8:ffff::100")!,
                                         pools: [IPv6Prefix("2001:db8:2::/48")!, IPv6Prefix("2001:db8:22::/48")!], poolIdentity: "ar2",
                                         tunnelMode: .srv6, timing: PFCPTiming(t1: 0.25, n1: 4, heartbeatInterval: 2), resynchronization: 3, resynchronizationLimit: 90,
                                         reservedSessions: 2000),
            tunnelEndpoint: IPv6Address("fc00:2::d6")!, dataPlane: LinuxDataPlane.Config(uplink: "up0"), capacity: 500, controlSocket: "/tmp/ar2.sock")
        let agentBack = try AgentConfig(yaml: agent.yaml)
        #expect(agentBack.yaml == agent.yaml && agentBack.agent == agent.agent && agentBack.capacity == 500)
        #expect(agentBack.agent.resynchronizationLimit == 90 && agentBack.agent.reservedSessions == 2000)
        for wrong in ["-1", "10000001", "many"] {
            #expect(throws: ConfigReader.Invalid.self, "reserve-sessions: \(wrong)") {
                try AgentConfig(yaml: agent.yaml.replacingOccurrences(of: "reserve-sessions: 2000", with: "reserve-sessions: \(wrong)"))
            }
        }
        #expect(throws: ConfigReader.Invalid(description: "key 'resynchronization-limit' (1.0) is under 'resynchronization' (3.0)")) {
            try AgentConfig(yaml: agent.yaml.replacingOccurrences(of: "resynchronization-limit: 90", with: "resynchronization-limit: 1"))
        }
        // More pools than one Association Setup Request carries.
        var crowded = agent
        crowded.agent.pools = (0..<4000).map { IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64($0) << 16, low: 0), length: 48) }
        #expect(throws: ConfigReader.Invalid(description: "key 'pools' lists 4000 prefix blocks, more than one PFCP Association Setup Request carries (64 KiB)")) {
            try AgentConfig(yaml: crowded.yaml)
        }
        let controller = ControllerConfig(
            controller: Controller.Config(address: IPv6Address("2001:db8:ffff::100")!, timing: PFCPTiming(t1: 0.3, n1: 2, heartbeatInterval: 1),
                                          loadLimit: 70, tunnelMode: .srv6,
                                          endpoints: [IPv6Address("2001:db8:ffff::2")!: IPv6Address("fc00:2::d6")!],
                                          agents: [IPv6Address("2001:db8:ffff::2")!], uplink: .reverseTunnel, window: 16,
                                          totalWindow: 1000, reservedSessions: 10_000_000),
            database: "/tmp/controller.sqlite", metrics: "[::1]:9471", controlSocket: "/tmp/controller.sock")
        let controllerBack = try ControllerConfig(yaml: controller.yaml)
        #expect(controllerBack.yaml == controller.yaml && controllerBack.controller == controller.controller)
        #expect(controllerBack.controller.window == 16 && controllerBack.controller.totalWindow == 1000)
        #expect(controllerBack.controller.reservedSessions == 10_000_000)
        #expect(throws: ConfigReader.Invalid.self) {
            try ControllerConfig(yaml: controller.yaml.replacingOccurrences(of: "reserve-sessions: 10000000", with: "reserve-sessions: 10000001"))
        }
        #expect(try ControllerConfig(yaml: controller.yaml.replacingOccurrences(of: "reserve-sessions: 10000000\n", with: "")).controller.reservedSessions == 0)
        #expect(throws: ConfigReader.Invalid.self) {
            try ControllerConfig(yaml: controller.yaml.replacingOccurrences(of: "session-window-total: 1000", with: "session-window-total: 0"))
        }

        // Anchor switching reads the network from a topology file.
        let switching = controller.yaml.replacingOccurrences(of: "forwarding: indirection\n", with: "forwarding: anchor-switching\ntopology: /etc/dmm/tree.yaml\n")
            .replacingOccurrences(of: "buffering: true", with: "buffering: false")
        var read = try ControllerConfig(yaml: switching)
        #expect(read.controller.forwarding == .anchorSwitching && !read.controller.buffering && read.topologyFile == "/etc/dmm/tree.yaml")
        #expect(try ControllerConfig(yaml: read.yaml).yaml == read.yaml)
        try read.loadTopology { path in
            #expect(path == "/etc/dmm/tree.yaml")
            return "name: t\nnodes:\n  - {name: r, kind: router}\n  - {name: ar1, kind: access-router}\nlinks:\n  - {between: [r, ar1]}"
        }
        #expect(read.controller.topology?.nextHop(from: "r", to: "ar1")?.interface == "eth0")
        #expect(throws: ConfigReader.Invalid(description: "key 'topology': anchor-switching needs the network's topology file")) {
            try ControllerConfig(yaml: controller.yaml.replacingOccurrences(of: "forwarding: indirection", with: "forwarding: anchor-switching"))
        }
    }

    @Test func anAccessRouterUnderCentralControlNeedsNoPeers() throws {
        let yaml = ConfigTests.mar.replacingOccurrences(of: "decapsulation: end.dx6", with: "decapsulation: end.dt6")
            .replacingOccurrences(of: "peers:\n  - address: 2001:db8:ffff::2\n    tunnel-endpoint: fc00:2::d6\n  - address: 2001:db8:ffff::3\n", with: "")
        #expect(throws: ConfigReader.Invalid(description: "key 'peers' is required")) { try MARConfig(yaml: yaml) }
        let central = try MARConfig(yaml: yaml + "\ncontrol: central\nagent:\n  heartbeat-interval: 1\n  capacity: 64\n  resynchronization-limit: 30\n  reserve-sessions: 64")
        #expect(central.router.control == .central && central.router.peers == [central.router.address])
        #expect(central.agent.controller == IPv6Address("2001:db8:ffff::100")! && central.agent.pools == [IPv6Prefix("2001:db8:1::/48")!])
        #expect(central.agentTiming.heartbeatInterval == 1 && central.capacity == 64 && central.agent.poolIdentity == "mar1")
        #expect(central.agent.resynchronization == 2 && central.agent.resynchronizationLimit == 30 && central.agent.reservedSessions == 64)
        #expect(try MARConfig(yaml: central.yaml).yaml == central.yaml)
    }

    @Test func topologyFilesNameTheirErrors() {
        #expect(throws: ConfigReader.Invalid(description: "topology 't': link 1: no node 'x'")) {
            try Topology(yaml: "name: t\nnodes:\n  - {name: r, kind: router}\nlinks:\n  - {between: [r, x]}")
        }
        #expect(throws: ConfigReader.Invalid(description: "key 'nodes[0].kind': 'switch' is not one of correspondent, router, access-router, location-server, mobile-node")) {
            try Topology(yaml: "nodes:\n  - {name: r, kind: switch}")
        }
        #expect(throws: ConfigReader.Invalid(description: "key 'links[0].between': a link is between two nodes")) {
            try Topology(yaml: "nodes:\n  - {name: r, kind: router}\nlinks:\n  - {between: [r]}")
        }
    }
}
