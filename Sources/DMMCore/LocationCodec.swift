import DMMWire

/// Location requests and replies on the wire, between a MAR's LMc and the
/// LMs, as PBU and PBA (the PMIPv6 way of talking to a mobility database):
/// standard options where they fit (MN-Identifier, Home Network Prefix), the
/// rest in Vendor-Specific Mobility Options (RFC 5094) under the documentation
/// enterprise number 32473 (RFC 5612). Each message carries one `envelope`
/// option with the request id and kind; a reply carries the PBA status
/// (accepted, or 128 with a `reason` option) and one `record` option per
/// record, which belongs to the node of the nearest MN-Identifier option
/// before it. A cursor (`recover` and `page`) is a Home Network Prefix
/// option of its own; so is each previous prefix an `attached` report lists.
///
///     envelope (subtype 1):  id u32 | kind u8             kind: 1 query 2 register 3 update 4 release 5 records 6 done 7 refused
///                                                               8 recover 9 page 10 attached 11 detached 12 advertise
///     record   (subtype 2):  prefix length u8 | prefix 16 | anchor 16 | flags u8 (1 active, 2 serving, 4 expires)
///                            | serving 16 | expires ns i64
///     reason   (subtype 3):  UTF-8 text
///     link     (subtype 4):  the access link's name, UTF-8 text (attached, detached)
///     advertisement (subtype 5): prefix length u8 | prefix 16 | flags u8 (1 preferred), one per prefix, in order
public enum LocationCodec {
    public static let vendorID: UInt32 = 32473

    enum Subtype: UInt8 { case envelope = 1, record = 2, reason = 3, link = 4, advertisement = 5 }
    enum Kind: UInt8 { case query = 1, register, update, release, records, done, refused, recover, page, attached, detached, advertise }

    public struct Malformed: Error, CustomStringConvertible, Hashable {
        public var description: String
    }

    // MARK: Requests (PBU)

    public static func encode(_ e: LocationEnvelope<LocationRequest>) -> MobilityHeader {
        var options: [MobilityOption] = []
        let kind: Kind
        switch e.body {
        case .query(let node):
            kind = .query
            options = [node.option]
        case .register(let r):
            kind = .register
            options = [r.mobileNode.option, .homeNetworkPrefix(r.prefix), record(r)]
        case .update(let prefix, let serving, let active, let expires):
            kind = .update
            options = [.homeNetworkPrefix(prefix),
                       record(PrefixRecord(mobileNode: MobileNodeID(identifier: []), prefix: prefix, anchor: .unspecified,
                                           serving: serving, active: active, expires: expires))]
        case .release(let prefix):
            kind = .release
            options = [.homeNetworkPrefix(prefix)]
        case .recover(let after):
            kind = .recover
            options = after.map { [.homeNetworkPrefix($0)] } ?? []
        case .attached(let node, let link, let previous):
            kind = .attached
            options = [node.option, vendor(.link, Array(link.name.utf8))] + previous.map { .homeNetworkPrefix($0) }
        case .detached(let node, let link):
            kind = .detached
            options = [node.option, vendor(.link, Array(link.name.utf8))]
        }
        let pbu = BindingUpdate(sequence: UInt16(truncatingIfNeeded: e.id), flags: [.acknowledge, .proxyRegistration],
                                lifetime: 0, options: [envelope(e.id, kind)] + options)
        return MobilityHeader(.bindingUpdate(pbu))
    }

    public static func decodeRequest(_ mh: MobilityHeader) throws(Malformed) -> LocationEnvelope<LocationRequest> {
        guard case .bindingUpdate(let pbu) = mh.message else { throw Malformed(description: "not a PBU") }
        let (id, kind) = try envelope(in: pbu.options)
        let node = pbu.options.lazy.compactMap { if case .mobileNodeIdentifier(let m) = $0 { MobileNodeID(identifier: m.identifier) } else { nil } }.first
        let prefix = pbu.options.lazy.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } }.first
        let records = try records(in: pbu.options)
        switch kind {
        case .query:
            guard let node else { throw Malformed(description: "query without MN identifier") }
            return LocationEnvelope(id: id, .query(node))
        case .register:
            guard node != nil, let prefix, var r = records.first else { throw Malformed(description: "register without node, prefix or record") }
            r.prefix = prefix
            return LocationEnvelope(id: id, .register(r))
        case .update:
            guard let prefix, let r = records.first else { throw Malformed(description: "update without prefix or record") }
            return LocationEnvelope(id: id, .update(prefix, serving: r.serving, active: r.active, expires: r.expires))
        case .release:
            guard let prefix else { throw Malformed(description: "release without prefix") }
            return LocationEnvelope(id: id, .release(prefix))
        case .recover:
            return LocationEnvelope(id: id, .recover(after: prefix))
        case .attached, .detached:
            guard let node else { throw Malformed(description: "\(kind) without MN identifier") }
            guard let name = try text(.link, in: pbu.options), !name.isEmpty else { throw Malformed(description: "\(kind) without a link") }
            guard let link = LinkID(name) else { throw Malformed(description: "link '\(name)' \(LinkID.misfit)") }
            guard kind == .attached else { return LocationEnvelope(id: id, .detached(node, link: link)) }
            let previous = pbu.options.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } }
            return LocationEnvelope(id: id, .attached(node, link: link, previous: previous))
        default:
            throw Malformed(description: "reply kind \(kind) in a PBU")
        }
    }

    // MARK: Replies (PBA)

    public static func encode(_ e: LocationEnvelope<LocationReply>) -> MobilityHeader {
        var status = BindingAckStatus.accepted
        var options: [MobilityOption]
        switch e.body {
        case .records(let node, let records):
            // The records a PBA can carry: the header holds 2048 bytes.
            options = [envelope(e.id, .records), node.option] + records.prefix(24).map(record)
        case .done:
            options = [envelope(e.id, .done)]
        case .refused(let reason):
            status = .reasonUnspecified
            options = [envelope(e.id, .refused), vendor(.reason, Array(String(decoding: Array(reason.utf8.prefix(240)), as: UTF8.self).utf8))]
        case .advertise(let prefixes):
            // As many as one PBA holds (2048 bytes: far more than a node has).
            options = [envelope(e.id, .advertise)] + prefixes.prefix(64).map { a in
                var w = ByteWriter(capacity: 18)
                w.u8(a.prefix.length)
                w.address(a.prefix.address)
                w.u8(a.preferred ? 1 : 0)
                return vendor(.advertisement, w.bytes)
            }
        case .page(let records, let next):
            // As many records as fit; the cursor then points after the last one sent.
            var count = records.count
            while true {
                let cursor = count < records.count ? records[count - 1].prefix : next
                options = [envelope(e.id, .page)] + records.prefix(count).flatMap { [$0.mobileNode.option, record($0)] }
                    + (cursor.map { [.homeNetworkPrefix($0)] } ?? [])
                if count <= 1 || fits(options) { break }
                count -= 1
            }
        }
        return acknowledgement(e.id, status, options)
    }

    static func acknowledgement(_ id: UInt32, _ status: BindingAckStatus, _ options: [MobilityOption]) -> MobilityHeader {
        MobilityHeader(.bindingAcknowledgement(BindingAcknowledgement(
            status: status, flags: .proxyRegistration, sequence: UInt16(truncatingIfNeeded: id), lifetime: 0, options: options)))
    }

    static func fits(_ options: [MobilityOption]) -> Bool {
        (try? acknowledgement(0, .accepted, options).encode()) != nil
    }

    public static func decodeReply(_ mh: MobilityHeader) throws(Malformed) -> LocationEnvelope<LocationReply> {
        guard case .bindingAcknowledgement(let pba) = mh.message else { throw Malformed(description: "not a PBA") }
        let (id, kind) = try envelope(in: pba.options)
        switch kind {
        case .records:
            guard case .mobileNodeIdentifier(let m)? = pba.options.first(where: { $0.type == MobilityOption.Kind.mobileNodeIdentifier.rawValue })
            else { throw Malformed(description: "records without MN identifier") }
            return LocationEnvelope(id: id, .records(MobileNodeID(identifier: m.identifier), try records(in: pba.options)))
        case .done:
            return LocationEnvelope(id: id, .done)
        case .page:
            let cursor = pba.options.lazy.compactMap { if case .homeNetworkPrefix(let p) = $0 { p } else { nil } }.first
            return LocationEnvelope(id: id, .page(try records(in: pba.options), next: cursor))
        case .refused:
            return LocationEnvelope(id: id, .refused((try? text(.reason, in: pba.options)) ?? "refused"))
        case .advertise:
            var prefixes: [LocationManagement.Advertisement] = []
            for case .vendorSpecific(let v) in pba.options where v.vendorID == vendorID && v.subtype == Subtype.advertisement.rawValue {
                var r = ByteReader(v.data)
                guard v.data.count == 18, let length = try? r.u8("length"), length <= 128, let address = try? r.address("prefix"),
                      let flags = try? r.u8("flags")
                else { throw Malformed(description: "bad advertisement option") }
                prefixes.append(LocationManagement.Advertisement(prefix: IPv6Prefix(address, length: length), preferred: flags & 1 != 0))
            }
            return LocationEnvelope(id: id, .advertise(prefixes))
        default:
            throw Malformed(description: "request kind \(kind) in a PBA")
        }
    }

    // MARK: Options

    static func vendor(_ subtype: Subtype, _ data: [UInt8]) -> MobilityOption {
        .vendorSpecific(VendorSpecificOption(vendorID: vendorID, subtype: subtype.rawValue, data: data))
    }

    /// The text of the first option of `subtype`, nil if there is none; text
    /// that is not UTF-8 is refused.
    static func text(_ subtype: Subtype, in options: [MobilityOption]) throws(Malformed) -> String? {
        for case .vendorSpecific(let v) in options where v.vendorID == vendorID && v.subtype == subtype.rawValue {
            guard let s = String(validating: v.data, as: UTF8.self) else { throw Malformed(description: "\(subtype) option is not UTF-8 text") }
            return s
        }
        return nil
    }

    static func envelope(_ id: UInt32, _ kind: Kind) -> MobilityOption {
        var w = ByteWriter(capacity: 5)
        w.u32(id)
        w.u8(kind.rawValue)
        return vendor(.envelope, w.bytes)
    }

    static func envelope(in options: [MobilityOption]) throws(Malformed) -> (UInt32, Kind) {
        for case .vendorSpecific(let v) in options where v.vendorID == vendorID && v.subtype == Subtype.envelope.rawValue {
            var r = ByteReader(v.data)
            guard v.data.count == 5, let id = try? r.u32("id"), let raw = try? r.u8("kind"), let kind = Kind(rawValue: raw) else {
                throw Malformed(description: "bad envelope option")
            }
            return (id, kind)
        }
        throw Malformed(description: "no envelope option (vendor \(vendorID))")
    }

    static func record(_ r: PrefixRecord) -> MobilityOption {
        var w = ByteWriter(capacity: 66)
        w.u8(r.prefix.length)
        w.address(r.prefix.address)
        w.address(r.anchor)
        w.u8((r.active ? 1 : 0) | (r.serving != nil ? 2 : 0) | (r.expires != nil ? 4 : 0))
        w.address(r.serving ?? .unspecified)
        w.u64(UInt64(bitPattern: r.expires?.nanoseconds ?? 0))
        return vendor(.record, w.bytes)
    }

    /// Each record belongs to the node of the nearest MN-Identifier option before it.
    static func records(in options: [MobilityOption]) throws(Malformed) -> [PrefixRecord] {
        var out: [PrefixRecord] = [], node = MobileNodeID(identifier: [])
        for o in options {
            if case .mobileNodeIdentifier(let m) = o {
                node = MobileNodeID(identifier: m.identifier)
            } else if var r = try record(o) {
                r.mobileNode = node
                out.append(r)
            }
        }
        return out
    }

    static func record(_ o: MobilityOption) throws(Malformed) -> PrefixRecord? {
        guard case .vendorSpecific(let v) = o, v.vendorID == vendorID, v.subtype == Subtype.record.rawValue else { return nil }
        var r = ByteReader(v.data)
        do throws(WireError) {
            guard v.data.count == 58 else { throw WireError(.badLength, "record option of \(v.data.count) bytes, expected 58", at: 0) }
            let length = try r.u8("prefix length")
            guard length <= 128 else { throw WireError(.badValue, "prefix length \(length)", at: 0) }
            let prefix = IPv6Prefix(try r.address("prefix"), length: length)
            let anchor = try r.address("anchor")
            let flags = try r.u8("flags")
            let serving = try r.address("serving")
            let expires = Int64(bitPattern: try r.u64("expires"))
            return PrefixRecord(mobileNode: MobileNodeID(identifier: []), prefix: prefix, anchor: anchor,
                                serving: flags & 2 != 0 ? serving : nil, active: flags & 1 != 0,
                                expires: flags & 4 != 0 ? Instant(nanoseconds: expires) : nil)
        } catch {
            throw Malformed(description: "bad record option: \(error)")
        }
    }
}
