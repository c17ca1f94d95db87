/// Network Instance (type 22, section 8.2.4): an octet string, which peers
/// may fill with a name in DNS labels (TS 23.003 section 9.1, as an APN:
/// "\u{4}acc0" for "acc0"). This system writes plain text and reads either
/// (`text`). The octets are kept as they came, and written back unchanged.
///
/// Up to 16 octets (an interface's name holds 15) are held in place: held
/// as a `String`, the name of a rule's link was made as text by the
/// controller, and read as text and then as a link by the agent, at every
/// rule that names one (`dmm bench controller`, stop 41).
public struct PFCPNetworkInstance: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// Up to 16 octets in memory order, then zeros; `count` of them.
    private var words: (low: UInt64, high: UInt64) = (0, 0)
    private var count: UInt8 = 0
    /// More than 16 octets. A list beside the words rather than an enum of
    /// the two: every copy of such an enum went through a function of its own.
    private var long: [UInt8]?

    public init(octets: some Collection<UInt8>) {
        guard octets.count <= 16 else {
            long = Array(octets)
            return
        }
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: octets) }
        count = UInt8(octets.count)
    }

    /// The name as plain text.
    public init(_ text: String) { self.init(octets: text.utf8) }

    public init(stringLiteral text: String) { self.init(text) }

    /// Up to 16 octets in place, as `octetsInPlace` gives them.
    package init(inPlace words: (low: UInt64, high: UInt64), count: Int) {
        self.words = words
        self.count = UInt8(count)
    }

    /// The octets in memory order then zeros, and how many, if 16 or fewer.
    package var octetsInPlace: (words: (low: UInt64, high: UInt64), count: Int)? {
        long == nil ? (words, Int(count)) : nil
    }

    public var bytes: [UInt8] { long ?? withUnsafeBytes(of: words) { Array($0.prefix(Int(count))) } }

    /// The name: dotted DNS labels when the octets start with a control
    /// character and split exactly into labels, the octets as UTF-8
    /// otherwise; nil for octets that are neither (`text` repairs those).
    public var name: String? {
        let bytes = bytes
        return Self.dnsLabels(bytes) ?? String(validating: bytes, as: UTF8.self)
    }

    /// The name, or for display the octets as UTF-8 with what is not
    /// repaired.
    public var text: String { name ?? String(decoding: bytes, as: UTF8.self) }

    public var description: String { text }

    /// `bytes` as dotted DNS labels, or nil if they are not a sequence of them.
    static func dnsLabels(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first, first < 0x20 else { return nil }
        var labels: [String] = [], i = 0
        while i < bytes.count {
            let length = Int(bytes[i])
            guard length > 0, i + 1 + length <= bytes.count else { return nil }
            let label = bytes[(i + 1)..<(i + 1 + length)]
            guard label.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { return nil }
            labels.append(String(decoding: label, as: UTF8.self))
            i += 1 + length
        }
        return labels.joined(separator: ".")
    }

    /// The value of the IE `e`, read straight from the message (a reader
    /// or a slice would retain it).
    init(_ bytes: [UInt8], _ e: PFCPElement) {
        self = bytes.withUnsafeBufferPointer { Self(octets: UnsafeBufferPointer(rebasing: $0[e.valueStart..<e.end])) }
    }

    func encode(into w: inout ByteWriter) {
        if let long { w.append(long) } else { w.octets(of: words, count: Int(count)) }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.words == b.words && a.count == b.count && a.long == b.long
    }

    public func hash(into h: inout Hasher) {
        h.combine(words.low)
        h.combine(words.high)
        h.combine(count)
        h.combine(long)
    }
}
