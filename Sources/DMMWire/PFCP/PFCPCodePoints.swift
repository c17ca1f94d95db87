/// Registry values of PFCP (3GPP TS 29.244): message types (section 7.3),
/// information element types (section 8.1.2), causes (section 8.2.1) and the
/// interface values (sections 8.2.2 and 8.2.24). Each is a plain raw value
/// with names for the known ones, so that an unknown value decodes, is kept,
/// and is printed as "unknown".

public struct PFCPMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    // Node related messages (section 7.4).
    public static let heartbeatRequest = Self(rawValue: 1)
    public static let heartbeatResponse = Self(rawValue: 2)
    public static let associationSetupRequest = Self(rawValue: 5)
    public static let associationSetupResponse = Self(rawValue: 6)
    public static let associationUpdateRequest = Self(rawValue: 7)
    public static let associationUpdateResponse = Self(rawValue: 8)
    public static let associationReleaseRequest = Self(rawValue: 9)
    public static let associationReleaseResponse = Self(rawValue: 10)
    public static let versionNotSupportedResponse = Self(rawValue: 11)
    public static let nodeReportRequest = Self(rawValue: 12)
    public static let nodeReportResponse = Self(rawValue: 13)
    // Session related messages (section 7.5): these carry a SEID.
    public static let sessionEstablishmentRequest = Self(rawValue: 50)
    public static let sessionEstablishmentResponse = Self(rawValue: 51)
    public static let sessionModificationRequest = Self(rawValue: 52)
    public static let sessionModificationResponse = Self(rawValue: 53)
    public static let sessionDeletionRequest = Self(rawValue: 54)
    public static let sessionDeletionResponse = Self(rawValue: 55)
    public static let sessionReportRequest = Self(rawValue: 56)
    public static let sessionReportResponse = Self(rawValue: 57)

    static let names: [UInt8: String] = [
        1: "Heartbeat Request", 2: "Heartbeat Response",
        5: "Association Setup Request", 6: "Association Setup Response",
        7: "Association Update Request", 8: "Association Update Response",
        9: "Association Release Request", 10: "Association Release Response",
        11: "Version Not Supported Response", 12: "Node Report Request", 13: "Node Report Response",
        50: "Session Establishment Request", 51: "Session Establishment Response",
        52: "Session Modification Request", 53: "Session Modification Response",
        54: "Session Deletion Request", 55: "Session Deletion Response",
        56: "Session Report Request", 57: "Session Report Response",
    ]

    public var name: String { Self.names[rawValue] ?? "unknown" }
    public var description: String { name }
    /// Session messages (types 50 to 99) carry a SEID in the header (section 7.2.2.4).
    public var isSessionMessage: Bool { rawValue >= 50 && rawValue < 100 }
    /// Each request's response has the next type (section 7.3).
    public var isRequest: Bool { [1, 3, 5, 7, 9, 12, 14, 50, 52, 54, 56].contains(rawValue) }
    /// The response type of a request.
    public var response: PFCPMessageType { Self(rawValue: rawValue &+ 1) }
    public static var known: [PFCPMessageType] { names.keys.sorted().map(Self.init(rawValue:)) }
}

public struct PFCPIEType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let createPDR = Self(rawValue: 1)
    public static let pdi = Self(rawValue: 2)
    public static let createFAR = Self(rawValue: 3)
    public static let forwardingParameters = Self(rawValue: 4)
    public static let createdPDR = Self(rawValue: 8)
    public static let updatePDR = Self(rawValue: 9)
    public static let updateFAR = Self(rawValue: 10)
    public static let updateForwardingParameters = Self(rawValue: 11)
    public static let removePDR = Self(rawValue: 15)
    public static let removeFAR = Self(rawValue: 16)
    public static let cause = Self(rawValue: 19)
    public static let sourceInterface = Self(rawValue: 20)
    public static let networkInstance = Self(rawValue: 22)
    public static let sdfFilter = Self(rawValue: 23)
    public static let precedence = Self(rawValue: 29)
    public static let reportType = Self(rawValue: 39)
    public static let offendingIE = Self(rawValue: 40)
    public static let destinationInterface = Self(rawValue: 42)
    public static let applyAction = Self(rawValue: 44)
    public static let loadControlInformation = Self(rawValue: 51)
    public static let sequenceNumber = Self(rawValue: 52)
    public static let metric = Self(rawValue: 53)
    public static let pdrID = Self(rawValue: 56)
    public static let fSEID = Self(rawValue: 57)
    public static let nodeID = Self(rawValue: 60)
    public static let downlinkDataReport = Self(rawValue: 83)
    public static let outerHeaderCreation = Self(rawValue: 84)
    public static let createBAR = Self(rawValue: 85)
    public static let updateBAR = Self(rawValue: 86)
    public static let removeBAR = Self(rawValue: 87)
    public static let barID = Self(rawValue: 88)
    public static let ueIPAddress = Self(rawValue: 93)
    public static let outerHeaderRemoval = Self(rawValue: 95)
    public static let recoveryTimeStamp = Self(rawValue: 96)
    public static let nodeReportType = Self(rawValue: 101)
    public static let farID = Self(rawValue: 108)
    public static let suggestedBufferingPacketsCount = Self(rawValue: 140)
    public static let ueIPAddressPoolIdentity = Self(rawValue: 177)
    public static let ueIPAddressPoolInformation = Self(rawValue: 233)
    /// This project's enterprise-specific IE (bit 15 set, section 8.1.1):
    /// an IPv6 prefix of a pool (see `PFCPPoolInformation`).
    public static let poolPrefix = Self(rawValue: 0x8001)
    /// This project's enterprise-specific IE: the IPv6 address of the
    /// neighbour a Forwarding Parameters' packets go to (see
    /// `PFCPForwardingParameters.nextHop`).
    public static let nextHop = Self(rawValue: 0x8002)
    /// This project's enterprise-specific IE: the Sequence Number of the
    /// Association Setup Request an association was set up by, naming the
    /// resynchronization that follows it (see `PFCPMessage.resynchronization`).
    public static let resynchronization = Self(rawValue: 0x8003)

    static let names: [UInt16: String] = [
        1: "Create PDR", 2: "PDI", 3: "Create FAR", 4: "Forwarding Parameters", 8: "Created PDR",
        9: "Update PDR", 10: "Update FAR", 11: "Update Forwarding Parameters", 15: "Remove PDR",
        16: "Remove FAR", 19: "Cause", 20: "Source Interface", 22: "Network Instance", 23: "SDF Filter",
        29: "Precedence", 39: "Report Type", 40: "Offending IE", 42: "Destination Interface",
        44: "Apply Action", 51: "Load Control Information", 52: "Sequence Number", 53: "Metric",
        56: "PDR ID", 57: "F-SEID", 60: "Node ID", 83: "Downlink Data Report",
        84: "Outer Header Creation", 85: "Create BAR", 86: "Update BAR", 87: "Remove BAR", 88: "BAR ID",
        93: "UE IP Address", 95: "Outer Header Removal", 96: "Recovery Time Stamp", 101: "Node Report Type",
        108: "FAR ID", 140: "Suggested Buffering Packets Count", 177: "UE IP address Pool Identity",
        233: "UE IP address Pool Information", 0x8001: "Pool Prefix (DMM)",
        0x8002: "Next Hop (DMM)", 0x8003: "Resynchronization (DMM)",
    ]

    public var name: String { Self.names[rawValue] ?? (isEnterprise ? "enterprise-specific" : "unknown") }
    public var description: String { name }
    /// Types 32768 to 65535 are vendor-specific and carry an Enterprise ID.
    public var isEnterprise: Bool { rawValue & 0x8000 != 0 }
}

/// Cause (section 8.2.1): the outcome of a request.
public struct PFCPCause: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let requestAccepted = Self(rawValue: 1)
    public static let requestRejected = Self(rawValue: 64)
    public static let sessionContextNotFound = Self(rawValue: 65)
    public static let mandatoryIEMissing = Self(rawValue: 66)
    public static let conditionalIEMissing = Self(rawValue: 67)
    public static let invalidLength = Self(rawValue: 68)
    public static let mandatoryIEIncorrect = Self(rawValue: 69)
    public static let noEstablishedAssociation = Self(rawValue: 72)
    public static let ruleCreationModificationFailure = Self(rawValue: 73)
    public static let entityInCongestion = Self(rawValue: 74)
    public static let noResourcesAvailable = Self(rawValue: 75)
    public static let serviceNotSupported = Self(rawValue: 76)
    public static let systemFailure = Self(rawValue: 77)

    static let names: [UInt8: String] = [
        1: "Request accepted", 64: "Request rejected", 65: "Session context not found",
        66: "Mandatory IE missing", 67: "Conditional IE missing", 68: "Invalid length",
        69: "Mandatory IE incorrect", 72: "No established PFCP Association",
        73: "Rule creation/modification Failure", 74: "PFCP entity in congestion",
        75: "No resources available", 76: "Service not supported", 77: "System failure",
    ]

    public var name: String { Self.names[rawValue] ?? "unknown" }
    public var description: String { name }
    /// Values 1 to 63 are acceptances (section 8.2.1).
    public var isAcceptance: Bool { rawValue >= 1 && rawValue < 64 }
    public static var known: [PFCPCause] { names.keys.sorted().map(Self.init(rawValue:)) }
}

/// Source Interface and Destination Interface values (sections 8.2.2 and
/// 8.2.24): the direction a packet comes from or goes to.
public struct PFCPInterface: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    /// Toward the mobile nodes (the access links).
    public static let access = Self(rawValue: 0)
    /// Toward the network (the backbone and the correspondents).
    public static let core = Self(rawValue: 1)
    public static let cpFunction = Self(rawValue: 3)

    public var name: String {
        switch rawValue {
        case 0: "Access"
        case 1: "Core"
        case 2: "SGi-LAN/N6-LAN"
        case 3: "CP-function"
        case 4: "LI function"
        default: "unknown"
        }
    }
    public var description: String { name }
}
