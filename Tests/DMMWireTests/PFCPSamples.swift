@testable import DMMWire

/// One message of every kind this system speaks, each with every IE it reads,
/// for the round-trip, tshark and fuzz-seed tests.
enum PFCPSamples {
    static let controller = IPv6Address("2001:db8:ffff::100")!
    static let agent = IPv6Address("2001:db8:ffff::2")!
    static let farEnd = IPv6Address("fc00:1::d6")!
    static let prefix = IPv6Prefix("2001:db8:1:5::/64")!
    /// 2026-12-02 00:00:00 UTC in NTP seconds.
    static let recovery: UInt32 = 4_005_158_400

    static func message(_ type: PFCPMessageType, sequence: UInt32 = 7, seid: UInt64? = nil,
                        _ fill: (inout PFCPMessage) -> Void) -> PFCPMessage {
        var m = PFCPMessage(type, sequence: sequence, seid: seid)
        fill(&m)
        return m
    }

    static let pools = [PFCPPoolInformation(identity: "mar2", prefixes: [IPv6Prefix("2001:db8:2::/48")!, IPv6Prefix("2001:db8:22::/48")!])]

    static var downlinkPDR: PFCPPDR {
        PFCPPDR(id: 1, precedence: 100,
                pdi: PFCPPDI(sourceInterface: .core, ueIPAddresses: [PFCPUEIPAddress(prefix: prefix, isDestination: true)],
                             sdfFilters: [PFCPSDFFilter(flowDescription: "permit out 6 from 2001:db8:cc::1 80 to 2001:db8:1:5::/64", filterID: 9)]),
                farID: 1)
    }

    static var uplinkPDR: PFCPPDR {
        PFCPPDR(id: 2, precedence: 200,
                pdi: PFCPPDI(sourceInterface: .access, networkInstance: "eth1",
                             ueIPAddresses: [PFCPUEIPAddress(prefix: prefix, isDestination: false)]),
                outerHeaderRemoval: .ipv6, farID: 2)
    }

    static var tunnelFAR: PFCPFAR {
        PFCPFAR(id: 1, applyAction: .forward,
                forwarding: PFCPForwardingParameters(destinationInterface: .access, outerHeaderCreation: .ipv6(toward: farEnd)))
    }

    /// A switched prefix's host route through a neighbour: the Next Hop IE.
    static var routedFAR: PFCPFAR {
        PFCPFAR(id: 5, applyAction: .forward,
                forwarding: PFCPForwardingParameters(destinationInterface: .core, networkInstance: "eth0",
                                                     nextHop: IPv6Address("fe80::2")!))
    }

    static var all: [PFCPMessage] {
        [
            message(.heartbeatRequest, sequence: 1) { $0.recoveryTimeStamp = recovery },
            message(.heartbeatResponse, sequence: 1) { $0.recoveryTimeStamp = recovery + 5 },
            message(.associationSetupRequest, sequence: 2) {
                $0.nodeID = .ipv6(agent)
                $0.recoveryTimeStamp = recovery
                $0.poolInformation = pools
            },
            message(.associationSetupResponse, sequence: 2) {
                $0.nodeID = .fqdn("controller.dmm.example")
                $0.cause = .requestAccepted
                $0.recoveryTimeStamp = recovery + 1
                $0.poolInformation = pools
                $0.resynchronization = 2
            },
            message(.associationUpdateRequest, sequence: 3) {
                $0.nodeID = .ipv6(agent)
                $0.poolInformation = pools
                $0.resynchronization = 0xAB_CDEF
            },
            message(.associationUpdateResponse, sequence: 3) {
                $0.nodeID = .ipv6(controller)
                $0.cause = .mandatoryIEMissing
                $0.offendingIE = .nodeID
            },
            message(.associationReleaseRequest, sequence: 4) { $0.nodeID = .ipv4(0xC000_0201) },
            message(.associationReleaseResponse, sequence: 4) {
                $0.nodeID = .ipv6(controller)
                $0.cause = .requestAccepted
            },
            message(.nodeReportRequest, sequence: 5) {
                $0.nodeID = .ipv6(agent)
                $0.nodeReportType = .vendorSpecific
                $0.loadControl = PFCPLoadControl(sequence: 12, metric: 42)
            },
            message(.nodeReportResponse, sequence: 5) {
                $0.nodeID = .ipv6(controller)
                $0.cause = .requestAccepted
            },
            message(.sessionEstablishmentRequest, sequence: 6, seid: 0) {
                $0.nodeID = .ipv6(controller)
                $0.fSEID = PFCPFSEID(seid: 0x1122_3344_5566_7788, ipv6: controller)
                $0.createPDR = [downlinkPDR, uplinkPDR]
                $0.createFAR = [tunnelFAR, PFCPFAR(id: 2, applyAction: .buffer, barID: 3), routedFAR]
                $0.createBAR = PFCPBAR(id: 3, packetCount: 64)
                $0.resynchronization = 0x10
            },
            message(.sessionEstablishmentResponse, sequence: 6, seid: 0x1122_3344_5566_7788) {
                $0.nodeID = .ipv6(agent)
                $0.cause = .requestAccepted
                $0.fSEID = PFCPFSEID(seid: 0x99, ipv6: agent, ipv4: 0x0A00_0001)
                $0.createdPDR = [PFCPRuleReference(id: 1), PFCPRuleReference(id: 2)]
                $0.loadControl = PFCPLoadControl(sequence: 13, metric: 7)
            },
            message(.sessionModificationRequest, sequence: 8, seid: 0x99) {
                $0.removePDR = [PFCPRuleReference(id: 2)]
                $0.removeFAR = [PFCPRuleReference(id: 2)]
                $0.removeBAR = PFCPRuleReference(id: 3)
                $0.createPDR = [PFCPPDR(id: 3, precedence: 50, pdi: PFCPPDI(sourceInterface: .core, ueIPAddresses: []), farID: 4)]
                $0.createFAR = [PFCPFAR(id: 4, applyAction: [.drop])]
                $0.createBAR = PFCPBAR(id: 4, packetCount: nil)
                $0.updatePDR = [PFCPPDR(id: 1, precedence: 90, pdi: nil, farID: 4)]
                $0.updateFAR = [PFCPFAR(id: 1, applyAction: [.buffer, .notifyCP],
                                        forwarding: PFCPForwardingParameters(destinationInterface: nil, networkInstance: "eth2",
                                                                             outerHeaderCreation: .ipv6(toward: IPv6Address("fc00:3::d6")!)),
                                        barID: 4)]
                $0.updateBAR = PFCPBAR(id: 4, packetCount: 200)
                $0.resynchronization = 0x11
            },
            message(.sessionModificationResponse, sequence: 8, seid: 0x1122_3344_5566_7788) {
                $0.cause = .ruleCreationModificationFailure
                $0.offendingIE = .createPDR
                $0.createdPDR = [PFCPRuleReference(id: 3)]
                $0.loadControl = PFCPLoadControl(sequence: 14, metric: 100)
            },
            message(.sessionDeletionRequest, sequence: 9, seid: 0x99) { $0.resynchronization = 0xFF_FFFF },
            message(.sessionDeletionResponse, sequence: 9, seid: 0x1122_3344_5566_7788) {
                $0.cause = .sessionContextNotFound
                $0.loadControl = PFCPLoadControl(sequence: 15, metric: 0)
            },
            message(.sessionReportRequest, sequence: 10, seid: 0x1122_3344_5566_7788) {
                $0.reportType = [.downlinkData, .inactivity]
                $0.downlinkDataReport = PFCPDownlinkDataReport(pdrIDs: [1, 3])
                $0.loadControl = PFCPLoadControl(sequence: 16, metric: 3)
            },
            message(.sessionReportResponse, sequence: 10, seid: 0x99) {
                $0.cause = .requestAccepted
            },
        ]
    }
}
