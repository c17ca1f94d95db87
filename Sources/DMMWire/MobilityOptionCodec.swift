/// Encoding and decoding of a Mobility Header's option area, with the padding
/// rules of RFC 6275 section 6.2: each option starts at its `xn+y` alignment
/// (counted from the start of the Mobility Header) and the whole header is a
/// multiple of 8 bytes. Pad1 (type 0) is one zero byte; PadN (type 1) is a
/// type, a length and that many bytes.
enum MobilityOptionCodec {
    /// Writes `options` after the fixed part already in `w`, where `w` began at
    /// the first byte of the Mobility Header, then pads to a multiple of 8.
    static func encode(_ options: [MobilityOption], into w: inout ByteWriter) throws(WireError) {
        for option in options {
            let (x, y) = option.alignment
            pad(&w, count: (y - w.count % x + x) % x)
            if option.dataLength > 255 {
                throw WireError(.tooLong, "option type \(option.type) has \(option.dataLength) data bytes, at most 255 fit", at: w.count)
            }
            w.u8(option.type)
            w.u8(UInt8(truncatingIfNeeded: option.dataLength))
            switch option {
            case .mobileNetworkPrefix(let p), .homeNetworkPrefix(let p):
                w.u8(0)  // Reserved
                w.u8(p.length)
                w.address(p.address)
            case .vendorSpecific(let v):
                w.u32(v.vendorID)
                w.u8(v.subtype)
                w.append(v.data)
            case .mobileNodeIdentifier(let m):
                w.u8(m.subtype.rawValue)
                w.append(m.identifier)
            case .authentication(let a):
                w.u8(a.subtype.rawValue)
                w.u32(a.spi)
                w.append(a.authenticator)
            case .handoffIndicator(let hi):
                w.u8(0)
                w.u8(hi.rawValue)
            case .accessTechnologyType(let att):
                w.u8(0)
                w.u8(att.rawValue)
            case .mobileNodeLinkLayerIdentifier(let id):
                w.u16(0)
                w.append(id)
            case .linkLocalAddress(let a):
                w.address(a)
            case .timestamp(let t):
                w.u64(t.rawValue)
            case .unknown(_, let data):
                w.append(data)
            }
        }
        pad(&w, count: (8 - w.count % 8) % 8)
    }

    /// Pad1 for one byte, PadN with zero content for more.
    static func pad(_ w: inout ByteWriter, count: Int) {
        if count == 1 {
            w.u8(MobilityOption.Kind.pad1.rawValue)
        } else if count >= 2 {
            w.u8(MobilityOption.Kind.padN.rawValue)
            w.u8(UInt8(count - 2))
            for _ in 0..<(count - 2) { w.u8(0) }
        }
    }

    /// Reads options until the reader's end. Each known option must have the
    /// length its RFC gives; the reader's offsets are those of the whole
    /// buffer, so errors name absolute offsets.
    static func decode(_ r: inout ByteReader) throws(WireError) -> [MobilityOption] {
        var options: [MobilityOption] = []
        options.reserveCapacity(8)  // a PBU carries six or seven: one allocation
        while !r.isAtEnd {
            let start = r.offset
            let type = try r.u8("option type")
            if type == MobilityOption.Kind.pad1.rawValue { continue }
            let length = Int(try r.u8("option length"))
            try r.need(length, "option type \(type) data")
            var body = ByteReader(r.bytes, from: r.offset, to: r.offset + length)
            try r.skip(length, "option data")
            func expect(_ n: Int, _ name: String) throws(WireError) {
                if length != n { throw WireError(.badLength, "\(name) option length \(length), expected \(n)", at: start + 1) }
            }
            func atLeast(_ n: Int, _ name: String) throws(WireError) {
                if length < n { throw WireError(.badLength, "\(name) option length \(length), expected at least \(n)", at: start + 1) }
            }
            switch MobilityOption.Kind(rawValue: type) {
            case .pad1: continue
            case .padN: continue  // content is ignored on receipt (RFC 6275 section 6.2.2)
            case .mobileNetworkPrefix, .homeNetworkPrefix:
                let name = type == MobilityOption.Kind.homeNetworkPrefix.rawValue ? "Home Network Prefix" : "Mobile Network Prefix"
                try expect(18, name)
                try body.skip(1, "reserved")
                let len = try body.u8("prefix length")
                if len > 128 { throw WireError(.badValue, "\(name) prefix length \(len) exceeds 128", at: start + 3) }
                let prefix = IPv6Prefix(try body.address("prefix"), length: len)
                options.append(type == MobilityOption.Kind.homeNetworkPrefix.rawValue ? .homeNetworkPrefix(prefix) : .mobileNetworkPrefix(prefix))
            case .vendorSpecific:
                try atLeast(5, "Vendor-Specific")
                let vendor = try body.u32("vendor ID")
                let sub = try body.u8("sub-type")
                options.append(.vendorSpecific(VendorSpecificOption(vendorID: vendor, subtype: sub, data: try body.take(body.remaining, "data"))))
            case .mobileNodeIdentifier:
                try atLeast(2, "Mobile Node Identifier")
                let sub = try body.u8("subtype")
                options.append(.mobileNodeIdentifier(MobileNodeIdentifier(
                    subtype: .init(rawValue: sub), identifier: try body.take(body.remaining, "identifier"))))
            case .authentication:
                try atLeast(5, "Mobility Message Authentication")
                let sub = try body.u8("subtype")
                let spi = try body.u32("mobility SPI")
                options.append(.authentication(MobilityAuthentication(
                    subtype: .init(rawValue: sub), spi: spi, authenticator: try body.take(body.remaining, "authentication data"))))
            case .handoffIndicator:
                try expect(2, "Handoff Indicator")
                try body.skip(1, "reserved")
                options.append(.handoffIndicator(HandoffIndicator(rawValue: try body.u8("handoff indicator"))))
            case .accessTechnologyType:
                try expect(2, "Access Technology Type")
                try body.skip(1, "reserved")
                options.append(.accessTechnologyType(AccessTechnologyType(rawValue: try body.u8("access technology type"))))
            case .mobileNodeLinkLayerIdentifier:
                try atLeast(3, "Mobile Node Link-layer Identifier")
                try body.skip(2, "reserved")
                options.append(.mobileNodeLinkLayerIdentifier(try body.take(body.remaining, "link-layer identifier")))
            case .linkLocalAddress:
                try expect(16, "Link-local Address")
                options.append(.linkLocalAddress(try body.address("link-local address")))
            case .timestamp:
                try expect(8, "Timestamp")
                options.append(.timestamp(Timestamp(rawValue: try body.u64("timestamp"))))
            case nil:
                options.append(.unknown(type: type, data: try body.take(length, "option data")))
            }
        }
        return options
    }
}
