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

/// One IE found while walking a group: its type and where its value lies.
struct PFCPElement {
    var type: PFCPIEType
    var enterpriseID: UInt16?
    /// Offset of the IE's first octet (its type), for errors.
    var start: Int
    /// A reader over the value alone.
    var value: ByteReader

    var raw: PFCPRawIE {
        PFCPRawIE(type: type, enterpriseID: enterpriseID, value: Array(value.bytes[value.offset..<value.end]))
    }

    /// Decodes the value with `body`; a fault inside names this IE.
    func decode<T>(_ body: (inout ByteReader) throws(WireError) -> T) throws(WireError) -> T {
        var r = value
        do { return try body(&r) } catch {
            var e = error
            if e.element == nil { e.element = type.rawValue }
            throw e
        }
    }
}

/// Walks the IEs of a message or grouped IE in order.
struct PFCPElements {
    var reader: ByteReader

    init(_ bytes: [UInt8], from start: Int, to end: Int) {
        reader = ByteReader(bytes, from: start, to: end)
    }

    mutating func next() throws(WireError) -> PFCPElement? {
        if reader.isAtEnd { return nil }
        let start = reader.offset
        let type = PFCPIEType(rawValue: try reader.u16("IE type"))
        let length = Int(try reader.u16("IE length"))
        if length > reader.remaining {
            var e = WireError(.badLength, "\(type.name) IE length \(length) exceeds the \(reader.remaining) bytes left", at: start + 2)
            e.element = type.rawValue
            throw e
        }
        var enterpriseID: UInt16?
        var valueStart = reader.offset
        if type.isEnterprise {
            if length < 2 {
                var e = WireError(.badLength, "enterprise-specific IE \(type.rawValue) of length \(length) has no Enterprise ID", at: start + 2)
                e.element = type.rawValue
                throw e
            }
            enterpriseID = try reader.u16("Enterprise ID")
            valueStart += 2
        }
        let end = start + 4 + length
        try reader.skip(end - reader.offset, "IE value")
        return PFCPElement(type: type, enterpriseID: enterpriseID, start: start,
                           value: ByteReader(reader.bytes, from: valueStart, to: end))
    }
}

extension ByteWriter {
    /// Writes one IE: its header, then `body`, then the length that `body` made.
    @inline(__always)
    mutating func ie(_ type: PFCPIEType, _ body: (inout ByteWriter) -> Void) {
        u16(type.rawValue)
        let lengthAt = count
        u16(0)
        if type.isEnterprise { u16(dmmEnterpriseID) }
        body(&self)
        set16(UInt16(truncatingIfNeeded: count - lengthAt - 2), at: lengthAt)
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
        let at = offset
        guard let s = String(validating: try take(count, what()), as: UTF8.self) else {
            throw WireError(.badValue, "\(what()) is not UTF-8 text", at: at)
        }
        return s
    }
}
