/// The information element framing of PFCP (TS 29.244 section 8.1.1):
///
///    octets 1-2   Type (bit 15 set: enterprise-specific)
///    octets 3-4   Length of what follows octet 4
///    octets 5-6   Enterprise ID (enterprise-specific types only)
///    then         the value: fixed fields, or further IEs (a grouped IE)
public struct PFCPRawIE: Hashable, Sendable {
    public var type: PFCPIEType
    /// Present exactly when the type is enterprise-specific.
    public var enterpriseID: UInt16?
    public var value: [UInt8]

    public init(type: PFCPIEType, enterpriseID: UInt16? = nil, value: [UInt8]) {
        self.type = type
        self.enterpriseID = enterpriseID
        self.value = value
    }
}

/// The Enterprise ID this project's own IEs carry: 32473, the number IANA
/// set aside for documentation (RFC 5612), as the project has no number of its own.
public let dmmEnterpriseID: UInt16 = 32473

/// One IE found while walking a group: its type and where it lies in the
/// message. Offsets only, so that walking a message copies no buffer: every
/// decoder is handed the message's bytes beside the element.
struct PFCPElement {
    var type: PFCPIEType
    var enterpriseID: UInt16?
    /// Offset of the IE's first octet (its type), for errors.
    var start: Int
    /// The value: from after the header (and Enterprise ID) to the IE's end.
    var valueStart: Int
    var end: Int

    func raw(in bytes: [UInt8]) -> PFCPRawIE {
        PFCPRawIE(type: type, enterpriseID: enterpriseID, value: Array(bytes[valueStart..<end]))
    }

    /// The IEs inside this one, a grouped IE.
    var children: PFCPElements { PFCPElements(from: valueStart, to: end) }

    /// The value's leading big-endian integer of 1, 2 or 4 octets (most IEs
    /// are one), read straight from the message: a reader per IE would
    /// retain and release the message's buffer.
    @inline(__always)
    func integer<T: FixedWidthInteger & UnsignedInteger>(_ bytes: [UInt8], _ what: @autoclosure () -> String) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard end - valueStart >= size else {
            var e = WireError(.truncated, "truncated \(what()): need \(size) bytes, \(end - valueStart) left", at: valueStart)
            e.element = type.rawValue
            throw e
        }
        var value: T = 0
        var i = valueStart
        while i < valueStart &+ size {
            value = value << 8 | T(bytes[i])
            i &+= 1
        }
        return value
    }

    /// Decodes the value with `body`; a fault inside names this IE.
    @inline(__always)
    func decode<T>(_ bytes: [UInt8], _ body: (inout ByteReader) throws(WireError) -> T) throws(WireError) -> T {
        var r = ByteReader(bytes, from: valueStart, to: end)
        do { return try body(&r) } catch {
            var e = error
            if e.element == nil { e.element = type.rawValue }
            throw e
        }
    }
}

/// Walks the IEs of a message or grouped IE in order, between two offsets of
/// the bytes each call is handed (always the same message's).
struct PFCPElements {
    private var offset: Int
    private let end: Int

    /// `end` must not exceed the message's length, which the header checked.
    init(from start: Int, to end: Int) {
        offset = start
        self.end = max(end, start)
    }

    @inline(__always)
    mutating func next(in bytes: [UInt8]) throws(WireError) -> PFCPElement? {
        if offset >= end { return nil }
        // Offsets lie within the message and lengths are 16 bits: no sum
        // below overflows, so none is checked.
        let start = offset
        let left = min(end, bytes.count) &- start
        // The faults a field-by-field read would report.
        if left < 2 { throw WireError(.truncated, "truncated IE type: need 2 bytes, \(left) left", at: start) }
        if left < 4 { throw WireError(.truncated, "truncated IE length: need 2 bytes, \(left - 2) left", at: start + 2) }
        // Type and length in one load; `left` says the four octets are there.
        let word = bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
        let type = PFCPIEType(rawValue: UInt16(truncatingIfNeeded: word >> 16))
        let length = Int(word & 0xFFFF)
        if length > left &- 4 {
            var e = WireError(.badLength, "\(type.name) IE length \(length) exceeds the \(left - 4) bytes left", at: start + 2)
            e.element = type.rawValue
            throw e
        }
        var enterpriseID: UInt16?
        var valueStart = start &+ 4
        if type.isEnterprise {
            if length < 2 {
                var e = WireError(.badLength, "enterprise-specific IE \(type.rawValue) of length \(length) has no Enterprise ID", at: start + 2)
                e.element = type.rawValue
                throw e
            }
            enterpriseID = UInt16(bytes[start &+ 4]) << 8 | UInt16(bytes[start &+ 5])
            valueStart &+= 2
        }
        offset = start &+ 4 &+ length
        return PFCPElement(type: type, enterpriseID: enterpriseID, start: start, valueStart: valueStart, end: offset)
    }
}

extension ByteWriter {
    /// Writes one IE: its header, then `body`, then the length that `body` made.
    @inline(__always)
    mutating func ie(_ type: PFCPIEType, _ body: (inout ByteWriter) -> Void) {
        // Type and a length to set below, in one store.
        u32(UInt32(type.rawValue) << 16)
        let lengthAt = count &- 2
        if type.isEnterprise { u16(dmmEnterpriseID) }
        body(&self)
        set16(UInt16(truncatingIfNeeded: count &- lengthAt &- 2), at: lengthAt)
    }

    /// An IE whose value is one big-endian integer of the width of `T`:
    /// room made once, the header written in one store.
    @inline(__always)
    mutating func ie<T: FixedWidthInteger>(_ type: PFCPIEType, _ value: T) {
        guard !type.isEnterprise else { return ie(type) { $0.store(value) } }
        let size = MemoryLayout<T>.size
        reserve(4 + size)
        put(UInt32(type.rawValue) << 16 | UInt32(size))
        put(value)
    }

    mutating func ie(_ raw: PFCPRawIE) {
        u16(raw.type.rawValue)
        u16(UInt16(truncatingIfNeeded: raw.value.count + (raw.enterpriseID == nil ? 0 : 2)))
        if let id = raw.enterpriseID { u16(id) }
        append(raw.value)
    }

    mutating func ies(_ raws: [PFCPRawIE]) {
        for raw in raws { ie(raw) }
    }

    /// One IE of `type` per element, each encoded where it lies (`lend`):
    /// iterating an array, or reading it by subscript, copies each element whole.
    @inline(__always)
    mutating func ies<T>(_ type: PFCPIEType, _ elements: [T], _ body: (inout T, inout ByteWriter) -> Void) {
        _ = elements.lend { (element: inout T) -> Void? in
            ie(type) { body(&element, &$0) }
            return nil
        }
    }
}

/// A mandatory IE that a group or message lacks.
func missing(_ type: PFCPIEType, in what: String, at offset: Int) -> WireError {
    var e = WireError(.missing, "\(what) lacks its mandatory \(type.name) IE", at: offset)
    e.element = type.rawValue
    return e
}

extension ByteReader {
    /// `count` octets of UTF-8 text; anything else is refused, so that text
    /// read from the wire is written back as the same octets.
    mutating func text(_ count: Int, _ what: @autoclosure () -> String) throws(WireError) -> String {
        try need(count, what())
        let at = offset
        // Validated where it lies: no copy of the octets on the way. ASCII
        // (a link's name) is decoded at once: validation takes the general
        // path, a thousand instructions for a name.
        let text = bytes.withUnsafeBufferPointer { all -> String? in
            let octets = UnsafeBufferPointer(rebasing: all[at..<at + count])
            if octets.allSatisfy({ $0 < 0x80 }) { return String(decoding: octets, as: UTF8.self) }
            return String(validating: octets, as: UTF8.self)
        }
        guard let s = text else {
            throw WireError(.badValue, "\(what()) is not UTF-8 text", at: at)
        }
        try skip(count, what())
        return s
    }
}
