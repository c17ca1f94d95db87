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

/// The name of an access link on a MAR (an interface in the daemon): up to
/// 15 octets of UTF-8 with no zero octet, as Linux names an interface
/// (IFNAMSIZ less its terminating zero).
///
/// Held inline as octets, not as a String: a link is in forwarding rules,
/// the actions that carry them and the detections and treatments PFCP
/// rules are compared by, all copied several times a change, and a String
/// made each of them a value whose every copy and destroy goes through
/// reference counting.
public struct LinkID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public static let maximumLength = 15
    /// What is said of a name that does not fit, after the name.
    public static let misfit = "is not an interface name (up to 15 octets, none zero)"

    /// The name's octets in order, then zeros.
    private var octets: (low: UInt64, high: UInt64) = (0, 0)

    /// Nil for a name of more than 15 octets or with a zero octet.
    public init?(_ name: borrowing String) {
        // Copied at once from the name's octets where they lie together (a
        // native string's do): read one by one through the UTF-8 view, a
        // rule's link cost an agent about 200 instructions. Borrowed: taken
        // as its own, the name made the rule mapping copy each FAR.
        var octets: (low: UInt64, high: UInt64) = (0, 0)
        let fits = name.utf8.withContiguousStorageIfAvailable { Self.copy($0, into: &octets) }
            ?? Self.copy(name.utf8, into: &octets)
        guard fits else { return nil }
        self.octets = octets
    }

    private static func copy(_ utf8: some Collection<UInt8>, into octets: inout (low: UInt64, high: UInt64)) -> Bool {
        guard utf8.count <= maximumLength, !utf8.contains(0) else { return false }
        withUnsafeMutableBytes(of: &octets) { $0.copyBytes(from: utf8) }
        return true
    }

    /// A name known to fit: a kernel interface's (the kernel holds at most
    /// 15 octets), or one in the source.
    public init(interface name: String) {
        guard let link = LinkID(name) else { preconditionFailure("'\(name)' \(Self.misfit)") }
        self = link
    }

    public init(stringLiteral name: String) { self.init(interface: name) }

    public var name: String {
        // Measured, then copied at once: decoding the octets up to the
        // first zero as a sequence cost the controller 40 instructions more
        // for each rule that names a link.
        let count = count
        return withUnsafeBytes(of: octets) { octets in
            String(unsafeUninitializedCapacity: count) { _ = $0.initialize(from: octets[..<count]); return count }
        }
    }

    /// The name's length: its octets up to the first zero.
    private var count: Int { withUnsafeBytes(of: octets) { $0.firstIndex(of: 0) ?? $0.count } }

    /// The link a Network Instance names: its octets as they are when
    /// they are plain ASCII (most often, and without making a text), else
    /// its name as text (DNS labels, dotted), which must be UTF-8.
    public init?(_ instance: PFCPNetworkInstance) {
        if let (words, count) = instance.octetsInPlace, count <= Self.maximumLength, Self.isPlainName(words, count: count) {
            self.init(octets: words)
            return
        }
        guard let name = instance.name else { return nil }
        self.init(name)
    }

    private init(octets: (low: UInt64, high: UInt64)) { self.octets = octets }

    /// Whether the first `count` octets of `words` (in memory order) are
    /// ASCII, start with a printable one (not a DNS label's length) and
    /// hold no zero: a word at a time, by the "has a zero byte" test on the
    /// words with the octets past `count` set to 0xFF (a zero octet, and
    /// only a zero octet, borrows into its top bit).
    private static func isPlainName(_ words: (low: UInt64, high: UInt64), count: Int) -> Bool {
        guard count > 0 else { return true }
        let low = UInt64(littleEndian: words.low), high = UInt64(littleEndian: words.high)
        let ones: UInt64 = 0x0101_0101_0101_0101, tops: UInt64 = 0x8080_8080_8080_8080
        let beyondLow: UInt64 = count >= 8 ? 0 : ~0 << (8 * count)
        let beyondHigh: UInt64 = count <= 8 ? ~0 : ~0 << (8 * (count - 8))
        let l = low | beyondLow, h = high | beyondHigh
        let ascii = (low & ~beyondLow | high & ~beyondHigh) & tops == 0
        return ascii && low & 0xFF >= 0x20 && (l &- ones) & ~l & tops == 0 && (h &- ones) & ~h & tops == 0
    }

    /// The name as a Network Instance, its octets copied in place.
    public var networkInstance: PFCPNetworkInstance {
        PFCPNetworkInstance(inPlace: octets, count: count)
    }

    public var description: String { name }
    public static func < (a: LinkID, b: LinkID) -> Bool { a.name < b.name }
    public static func == (a: LinkID, b: LinkID) -> Bool { a.octets == b.octets }
    public func hash(into h: inout Hasher) {
        h.combine(octets.low)
        h.combine(octets.high)
    }
}
