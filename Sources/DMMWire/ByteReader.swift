/// A bounds-checked cursor over a byte buffer. Every read either succeeds or
/// throws a `WireError` naming the offset, so decoders built on it cannot trap.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    /// Offset of the next byte to read, counted from the start of `bytes`.
    public private(set) var offset: Int
    /// One past the last readable byte.
    public let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = min(max(start, 0), bytes.count)
        self.end = min(max(end ?? bytes.count, self.offset), bytes.count)
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    @inline(__always)
    func need(_ count: Int, _ what: @autoclosure () -> String) throws(WireError) {
        if count > end - offset {
            throw WireError(.truncated, "truncated \(what()): need \(count) bytes, \(end - offset) left", at: offset)
        }
    }

    @inline(__always)
    public mutating func u8(_ what: @autoclosure () -> String) throws(WireError) -> UInt8 {
        try need(1, what())
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    public mutating func u16(_ what: @autoclosure () -> String) throws(WireError) -> UInt16 {
        try need(2, what())
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    @inline(__always)
    public mutating func u32(_ what: @autoclosure () -> String) throws(WireError) -> UInt32 {
        try need(4, what())
        defer { offset += 4 }
        return bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    @inline(__always)
    public mutating func u64(_ what: @autoclosure () -> String) throws(WireError) -> UInt64 {
        try need(8, what())
        defer { offset += 8 }
        return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    public mutating func address(_ what: @autoclosure () -> String) throws(WireError) -> IPv6Address {
        let hi = try u64(what())
        let lo = try u64(what())
        return IPv6Address(high: hi, low: lo)
    }

    public mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(WireError) -> [UInt8] {
        try need(count, what())
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws(WireError) {
        try need(count, what())
        offset += count
    }
}

/// Appends big-endian fields to a growing byte buffer.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inline(__always) public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    @inline(__always) public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }
    @inline(__always) public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func address(_ a: IPv6Address) {
        u64(a.high)
        u64(a.low)
    }
    public mutating func append<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }
    public mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }

    /// Overwrites a 16-bit field already written at `offset`.
    public mutating func set16(_ v: UInt16, at offset: Int) {
        bytes[offset] = UInt8(v >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v)
    }
}
