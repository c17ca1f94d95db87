/// The Internet checksum (RFC 1071) over the IPv6 pseudo-header (RFC 8200
/// section 8.1), used by both the Mobility Header and ICMPv6.
public enum Checksum {
    /// Whether a decoder verifies the checksum, given the IPv6 addresses it
    /// travelled between. Tests and fuzzing skip it; raw sockets whose kernel
    /// already checked it may too.
    public enum Policy: Sendable, Hashable {
        case verify(source: IPv6Address, destination: IPv6Address)
        case skip
    }

    /// Ones'-complement checksum of the pseudo-header and `bytes[range]`, with
    /// the 16-bit checksum field at `checksumOffset` (relative to the range)
    /// counted as zero. A result of 0 is sent as 0xFFFF.
    public static func compute(
        _ bytes: [UInt8], range: Range<Int>, checksumOffset: Int,
        source: IPv6Address, destination: IPv6Address, nextHeader: UInt8
    ) -> UInt16 {
        var sum: UInt64 = 0
        for word in [source.high, source.low, destination.high, destination.low] {
            sum += (word >> 32) + (word & 0xFFFF_FFFF)
        }
        sum += UInt64(range.count) + UInt64(nextHeader)
        // Ones'-complement sums fold to the same 16 bits whatever the word
        // size, so add 32-bit halves of 8-byte loads, then take the checksum
        // field back out (adding its complement subtracts it).
        bytes.withUnsafeBytes { raw in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let v = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                sum += (v >> 32) + (v & 0xFFFF_FFFF)
                i += 8
            }
            while i + 2 <= range.upperBound {
                sum += UInt64(raw[i]) << 8 | UInt64(raw[i + 1])
                i += 2
            }
            if i < range.upperBound { sum += UInt64(raw[i]) << 8 }
            let at = range.lowerBound + checksumOffset
            sum += 0xFFFF - (UInt64(raw[at]) << 8 | UInt64(raw[at + 1]))
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let result = ~UInt16(sum)
        return result == 0 ? 0xFFFF : result
    }
}
