/// A 128-bit IPv6 address held as two integers, so that it is cheap to copy,
/// hash and compare. Text form follows RFC 5952 (the form tshark prints).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let unspecified = IPv6Address(high: 0, low: 0)

    /// The address from 16 bytes in network order; nil unless exactly 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var r = ByteReader(bytes)
        guard let a = try? r.address("address") else { return nil }
        self = a
    }

    public var bytes: [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.address(self)
        return w.bytes
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { i in
            let word = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (i % 4)))
        }
    }

    public init(groups: [UInt16]) {
        precondition(groups.count == 8)
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(groups[i]) }
        self.init(high: h, low: l)
    }

    public var isLinkLocal: Bool { high >> 54 == 0x3FA }  // fe80::/10
    public var isMulticast: Bool { high >> 56 == 0xFF }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    /// Parses the RFC 4291 text forms, including `::` and an embedded IPv4 tail.
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        guard !s.isEmpty, s.utf8.count <= 45 else { return nil }
        let u = Array(s.utf8)
        let colon = UInt8(ascii: ":")
        let doubles = (0..<max(0, u.count - 1)).filter { u[$0] == colon && u[$0 + 1] == colon }
        guard doubles.count <= 1 else { return nil }
        let halves = doubles.first.map {
            [String(decoding: u[..<$0], as: UTF8.self), String(decoding: u[($0 + 2)...], as: UTF8.self)]
        } ?? [s]
        func parse(_ part: String, allowIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (i, f) in fields.enumerated() {
                if allowIPv4, i == fields.count - 1, f.contains(".") {
                    let octets = f.split(separator: ".", omittingEmptySubsequences: false)
                    guard octets.count == 4 else { return nil }
                    var v: [UInt16] = []
                    for o in octets {
                        guard (1...3).contains(o.count), o.allSatisfy(\.isASCII), let n = UInt8(o) else { return nil }
                        v.append(UInt16(n))
                    }
                    out.append(v[0] << 8 | v[1])
                    out.append(v[2] << 8 | v[3])
                } else {
                    guard (1...4).contains(f.count), f.allSatisfy(\.isHexDigit), let n = UInt16(f, radix: 16) else { return nil }
                    out.append(n)
                }
            }
            return out
        }
        if halves.count == 2 {
            guard let h = parse(halves[0], allowIPv4: false), let t = parse(halves[1], allowIPv4: true),
                h.count + t.count <= 7
            else { return nil }
            self.init(groups: h + Array(repeating: 0, count: 8 - h.count - t.count) + t)
        } else {
            guard let all = parse(halves[0], allowIPv4: true), all.count == 8 else { return nil }
            self.init(groups: all)
        }
    }

    /// RFC 5952: lower-case hex, no leading zeros, the longest run (first on a
    /// tie) of two or more zero groups shortened to `::`.
    public var description: String {
        let g = groups
        var bestStart = -1, bestLen = 1, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    /// The address with every bit past `length` cleared.
    public func masked(to length: Int) -> IPv6Address {
        let n = max(0, min(128, length))
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~0 << UInt64(64 - bits) }
        return IPv6Address(high: high & mask(n), low: low & mask(n - 64))
    }
}

/// An IPv6 prefix: an address and a length of 0 to 128 bits.
public struct IPv6Prefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv6Address
    public var length: UInt8

    public init(_ address: IPv6Address, length: UInt8) {
        self.address = address
        self.length = length
    }

    /// The prefix of `length` bits that contains `address`.
    public init(covering address: IPv6Address, length: UInt8) {
        self.init(address.masked(to: Int(length)), length: length)
    }

    /// Parses `ADDRESS/LENGTH`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv6Address(parts[0]), let n = UInt8(parts[1]), n <= 128 else { return nil }
        self.init(a, length: n)
    }

    public var description: String { "\(address)/\(length)" }

    public func contains(_ a: IPv6Address) -> Bool {
        a.masked(to: Int(length)) == address.masked(to: Int(length))
    }

    /// Whether `p` lies within this prefix (it is this one or longer).
    public func contains(_ p: IPv6Prefix) -> Bool { length <= p.length && contains(p.address) }
}
