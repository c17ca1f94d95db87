import DMMWire

/// The identity of a mobile node in the signalling (RFC 5213 section 2.2,
/// MN-Identifier): a NAI, or one derived from its link-layer address.
public struct MobileNodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var value: String

    public init(_ value: String) { self.value = value }

    /// The identity a MAR gives a node it knows only by link-layer address.
    public init(linkLayerAddress: [UInt8]) {
        value = linkLayerAddress.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
            .joined(separator: ":")
    }

    public var option: MobilityOption { .mobileNodeIdentifier(.nai(value)) }
    public var description: String { value }
    public static func < (a: MobileNodeID, b: MobileNodeID) -> Bool { a.value < b.value }
}

/// The name of an access link on a MAR (an interface in the daemon).
public struct LinkID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }
    public var description: String { name }
    public static func < (a: LinkID, b: LinkID) -> Bool { a.name < b.name }
}
