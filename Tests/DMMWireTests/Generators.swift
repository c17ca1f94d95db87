import DMMTestSupport
@testable import DMMWire

/// Random valid values of every wire type.
struct Generate {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func u8() -> UInt8 { UInt8.random(in: 0...255, using: &rng) }
    mutating func u16() -> UInt16 { UInt16.random(in: 0...UInt16.max, using: &rng) }
    mutating func u32() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &rng) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }
    mutating func bytes(_ r: ClosedRange<Int>) -> [UInt8] { (0..<int(r)).map { _ in u8() } }
    mutating func exactly(_ n: Int) -> [UInt8] { bytes(n...n) }
    mutating func address() -> IPv6Address { IPv6Address(high: rng.next(), low: rng.next()) }
    mutating func prefix() -> IPv6Prefix { IPv6Prefix(address(), length: UInt8(int(0...128))) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }

    mutating func unknownType(excluding known: Set<UInt8>) -> UInt8 {
        while true { let t = u8(); if !known.contains(t) { return t } }
    }

    mutating func mobilityOption() -> MobilityOption {
        switch int(0...10) {
        case 0: return .mobileNetworkPrefix(prefix())
        case 1: return .vendorSpecific(VendorSpecificOption(vendorID: u32(), subtype: u8(), data: bytes(0...40)))
        case 2: return .mobileNodeIdentifier(MobileNodeIdentifier(subtype: .init(rawValue: u8()), identifier: bytes(1...60)))
        case 3: return .authentication(MobilityAuthentication(subtype: .init(rawValue: u8()), spi: u32(), authenticator: bytes(0...32)))
        case 4: return .homeNetworkPrefix(prefix())
        case 5: return .handoffIndicator(HandoffIndicator(rawValue: u8()))
        case 6: return .accessTechnologyType(AccessTechnologyType(rawValue: u8()))
        case 7: return .mobileNodeLinkLayerIdentifier(bytes(1...20))
        case 8: return .linkLocalAddress(address())
        case 9: return .timestamp(Timestamp(rawValue: rng.next()))
        default:
            let known: Set<UInt8> = [0, 1, 6, 8, 9, 19, 22, 23, 24, 25, 26, 27]
            return .unknown(type: unknownType(excluding: known), data: bytes(0...30))
        }
    }

    mutating func mobilityOptions() -> [MobilityOption] { (0..<int(0...8)).map { _ in mobilityOption() } }

    mutating func mobilityHeader() -> MobilityHeader {
        let message: MobilityMessage
        switch int(0...5) {
        case 0: message = .bindingUpdate(BindingUpdate(sequence: u16(), flags: .init(rawValue: u16()), lifetime: u16(), options: mobilityOptions()))
        case 1: message = .bindingAcknowledgement(BindingAcknowledgement(
            status: BindingAckStatus(rawValue: u8()), flags: .init(rawValue: u8()), sequence: u16(), lifetime: u16(), options: mobilityOptions()))
        case 2: message = .bindingError(BindingError(status: .init(rawValue: u8()), homeAddress: address(), options: mobilityOptions()))
        case 3: message = .updateNotification(UpdateNotification(
            sequence: u16(), reason: .init(rawValue: u8()), acknowledgeRequested: bool(), deregistration: bool(), options: mobilityOptions()))
        case 4: message = .updateNotificationAcknowledgement(UpdateNotificationAcknowledgement(
            sequence: u16(), status: .init(rawValue: u8()), options: mobilityOptions()))
        default:
            // The data of an unknown type includes its padding: 8k+2 bytes.
            message = .unknown(type: unknownType(excluding: [5, 6, 7, 19, 20]), data: bytes(2...2) + exactly(8 * int(0...5)))
        }
        return MobilityHeader(message, payloadProto: bool() ? 59 : u8())
    }

    mutating func ndOption() -> NDOption {
        switch int(0...5) {
        case 0: return .sourceLinkLayerAddress(bytes(6...6))
        case 1: return .targetLinkLayerAddress(bytes(14...14))
        case 2: return .prefixInformation(PrefixInformation(
            prefix: prefix(), onLink: bool(), autonomous: bool(), routerAddress: bool(), validLifetime: u32(), preferredLifetime: u32()))
        case 3: return .mtu(u32())
        case 4:
            let p = prefix()
            return .routeInformation(RouteInformation(prefix: IPv6Prefix(p.address.masked(to: Int(p.length)), length: p.length),
                                                      preference: RouterPreference(bits: u8()), lifetime: u32()))
        default:
            let n = 8 * int(1...3) - 2
            return .unknown(type: unknownType(excluding: [1, 2, 3, 5, 24]), data: bytes(n...n))
        }
    }

    mutating func icmpv6() -> ICMPv6Message {
        let options = (0..<int(0...6)).map { _ in ndOption() }
        switch int(0...4) {
        case 0: return .routerSolicitation(RouterSolicitation(options: options))
        case 1: return .routerAdvertisement(RouterAdvertisement(
            curHopLimit: u8(), managed: bool(), otherConfiguration: bool(), homeAgent: bool(),
            preference: RouterPreference(bits: u8()), proxy: bool(), routerLifetime: u16(), reachableTime: u32(),
            retransTimer: u32(), options: options))
        case 2: return .neighborSolicitation(NeighborSolicitation(target: address(), options: options))
        case 3: return .neighborAdvertisement(NeighborAdvertisement(
            router: bool(), solicited: bool(), override: bool(), target: address(), options: options))
        default: return .other(type: unknownType(excluding: [133, 134, 135, 136]), code: u8(), body: bytes(0...40))
        }
    }

    mutating func packet() -> IPv6Packet {
        let extensions = (0..<int(0...2)).map { _ in
            let units = int(0...2)
            return IPv6ExtensionHeader(type: pick([0, 43, 60]), data: [UInt8(units)] + exactly(units * 8 + 6))
        }
        let payload: IPv6Payload
        switch int(0...3) {
        case 0: payload = .mobility(mobilityHeader())
        case 1: payload = .icmpv6(icmpv6())
        case 2:
            let drawn = u16()
            let port = drawn == 8805 ? 8806 : drawn  // 8805 on either side is read as PFCP
            payload = .udp(bool() ? UDPDatagram(sourcePort: 8805, destinationPort: 8805, payload: .pfcp(pick(PFCPSamples.all)))
                                  : UDPDatagram(sourcePort: port, destinationPort: port, payload: .data(bytes(0...64))))
        default: payload = .other(protocol: unknownType(excluding: [0, 43, 60, 58, 135, UDPDatagram.protocolNumber]), bytes: bytes(0...64))
        }
        return IPv6Packet(source: address(), destination: address(), hopLimit: u8(), trafficClass: u8(),
                          flowLabel: u32() & 0xFFFFF, extensionHeaders: extensions, payload: payload)
    }
}
