/// A UDP datagram (RFC 768) over IPv6, as far as this system reads it: PFCP
/// on port 8805, other payloads as bytes.
///
///    |          Source Port          |       Destination Port        |  offset 0
///    |            Length             |           Checksum            |  offset 4
public struct UDPDatagram: Hashable, Sendable {
    public static let protocolNumber: UInt8 = 17
    public static let headerLength = 8
    static let checksumOffset = 6

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payload: Payload

    public enum Payload: Hashable, Sendable {
        case pfcp(PFCPMessage)
        case data([UInt8])
    }

    public init(sourcePort: UInt16, destinationPort: UInt16, payload: Payload) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payload = payload
    }

    public func encode(source: IPv6Address, destination: IPv6Address) throws(WireError) -> [UInt8] {
        let data: [UInt8]
        switch payload {
        case .pfcp(let m): data = try m.encode()
        case .data(let d): data = d
        }
        guard data.count + Self.headerLength <= 0xFFFF else { throw WireError(.tooLong, "UDP payload of \(data.count) bytes", at: 4) }
        var w = ByteWriter(capacity: Self.headerLength + data.count)
        w.u16(sourcePort)
        w.u16(destinationPort)
        w.u16(UInt16(Self.headerLength + data.count))
        w.u16(0)
        w.append(data)
        w.set16(Checksum.compute(w.bytes, range: 0..<w.count, checksumOffset: Self.checksumOffset, source: source,
                                 destination: destination, nextHeader: Self.protocolNumber), at: Self.checksumOffset)
        return w.bytes
    }

    /// Decodes the datagram filling `bytes[start..<end]`; the payload is PFCP
    /// when either port is 8805.
    public static func decode(_ bytes: [UInt8], from start: Int, to end: Int, checksum: Checksum.Policy) throws(WireError) -> UDPDatagram {
        var r = ByteReader(bytes, from: start, to: end)
        let sourcePort = try r.u16("source port")
        let destinationPort = try r.u16("destination port")
        let length = Int(try r.u16("UDP length"))
        let stored = try r.u16("UDP checksum")
        if length != end - start {
            throw WireError(.badLength, "UDP length \(length) but \(end - start) bytes present", at: start + 4)
        }
        if case .verify(let s, let d) = checksum {
            let computed = Checksum.compute(bytes, range: start..<end, checksumOffset: checksumOffset, source: s,
                                            destination: d, nextHeader: protocolNumber)
            if computed != stored {
                throw WireError(.badChecksum, "bad UDP checksum 0x\(String(stored, radix: 16)), expected 0x\(String(computed, radix: 16))",
                                at: start + checksumOffset)
            }
        }
        let data = try r.take(r.remaining, "UDP payload")
        if sourcePort == PFCPHeader.udpPort || destinationPort == PFCPHeader.udpPort {
            do {
                return UDPDatagram(sourcePort: sourcePort, destinationPort: destinationPort, payload: .pfcp(try PFCPMessage.decode(data)))
            } catch {
                var e = error
                e.offset += start + headerLength
                throw e
            }
        }
        return UDPDatagram(sourcePort: sourcePort, destinationPort: destinationPort, payload: .data(data))
    }

    public var fields: Field {
        var c: [Field] = [.int("Source port", "source_port", sourcePort), .int("Destination port", "destination_port", destinationPort)]
        switch payload {
        case .pfcp(let m): c.append(m.fields)
        case .data(let d): c.append(.hex("Data", "data", d))
        }
        return Field("User Datagram Protocol", key: "udp", children: c)
    }
}
