import DMMWire

/// The identity of a mobile node in the signalling (RFC 5213 section 2.2,
/// MN-Identifier): the bytes of a Mobile Node Identifier option (RFC 4283),
/// a NAI or one derived from the node's link-layer address. Kept as bytes so
/// that a PBU's identifier is compared without decoding text.
public struct MobileNodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var identifier: [UInt8]

    public init(_ nai: String) { identifier = Array(nai.utf8) }
    public init(identifier: [UInt8]) { self.identifier = identifier }

    /// The identity a MAR gives a node it knows only by link-layer address.
    public init(linkLayerAddress: [UInt8]) {
        self.init(linkLayerAddress.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":"))
    }

    public var option: MobilityOption { .mobileNodeIdentifier(MobileNodeIdentifier(subtype: .nai, identifier: identifier)) }
    public var description: String { String(decoding: identifier, as: UTF8.self) }
    public static func < (a: MobileNodeID, b: MobileNodeID) -> Bool { a.identifier.lexicographicallyPrecedes(b.identifier) }
}

/// The name of an access link on a MAR (an interface in the daemon).
public struct LinkID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }
    public var description: String { name }
    public static func < (a: LinkID, b: LinkID) -> Bool { a.name < b.name }
}
