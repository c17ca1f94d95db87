import DMMWire

/// The location server (LMs) engine: the session database of seite section 5
/// behind request and reply (LM-db:1, 2, 4). It answers only the MARs it is
/// configured to know, and lets only a prefix's anchor create or remove its
/// record. Push notification (LM-db:3) and a pool of servers (LM-svr) fit in
/// as further requests to this same engine.
public struct LocationServer<Store: LocationStore> {
    public private(set) var store: Store
    public var knownMARs: Set<IPv6Address>
    public private(set) var counters = Counters()

    public struct Counters: Sendable, Hashable {
        public var queries = 0, registrations = 0, updates = 0, releases = 0, lapsed = 0, recoveries = 0
        /// Refusals by reason.
        public var refused: [Refusal: Int] = [:]
    }

    /// Why a request was refused: a closed set, for counting; the reply
    /// carries the details as text.
    public enum Refusal: String, CaseIterable, Sendable {
        case unknownMAR = "unknown MAR"
        case notTheAnchor = "not the prefix's anchor"
        case heldByAnother = "prefix held by another node or anchor"
        case noSuchPrefix = "no such prefix"
        case storeError = "store error"
        case centralOnly = "a central controller's request"
    }

    /// Records per `recover` page; the codec may send fewer when long node
    /// identifiers would not fit one message.
    public static var pageSize: Int { 16 }

    public init(store: Store, knownMARs: Set<IPv6Address>) {
        self.store = store
        self.knownMARs = knownMARs
    }

    public mutating func handle(_ request: LocationEnvelope<LocationRequest>, from sender: IPv6Address, at now: Instant)
        -> LocationEnvelope<LocationReply>
    {
        LocationEnvelope(id: request.id, answer(request.body, from: sender, at: now))
    }

    /// A record whose binding ran out is no longer served: the serving MAR
    /// stopped refreshing, so the anchor has released the prefix.
    mutating func lapse(_ record: PrefixRecord, at now: Instant) throws -> PrefixRecord {
        guard let expires = record.expires, expires <= now else { return record }
        var r = record
        r.serving = nil
        r.active = false
        r.expires = nil
        try store.put(r)
        counters.lapsed += 1
        return r
    }

    mutating func answer(_ request: LocationRequest, from sender: IPv6Address, at now: Instant) -> LocationReply {
        guard knownMARs.contains(sender) else { return refuse(.unknownMAR, "unknown MAR") }
        do {
            return try answer(request, from: sender, now: now)
        } catch {
            // The store refused (disk full, I/O error): nothing was changed,
            // and the MAR retries.
            return refuse(.storeError, "store error: \(error)")
        }
    }

    mutating func answer(_ request: LocationRequest, from sender: IPv6Address, now: Instant) throws -> LocationReply {
        switch request {
        case .query(let node):
            counters.queries += 1
            let records = try store.records(of: node).map { try lapse($0, at: now) }
            return .records(node, records)
        case .register(let record):
            guard record.anchor == sender else { return refuse(.notTheAnchor, "registration by a MAR that is not the anchor") }
            if let old = try store.record(for: record.prefix), old.mobileNode != record.mobileNode || old.anchor != record.anchor {
                return refuse(.heldByAnother, "prefix held by another node or anchor")
            }
            counters.registrations += 1
            try store.put(record)
            return .done
        case .update(let prefix, let serving, let active, let expires):
            guard var record = try store.record(for: prefix) else { return refuse(.noSuchPrefix, "no such prefix") }
            counters.updates += 1
            record.serving = serving
            record.active = active
            record.expires = expires
            try store.put(record)
            return .done
        case .release(let prefix):
            guard let record = try store.record(for: prefix) else { return .done }  // already gone: idempotent
            guard record.anchor == sender else { return refuse(.notTheAnchor, "release by a MAR that is not the anchor") }
            counters.releases += 1
            try store.remove(prefix)
            return .done
        case .recover(let after):
            if after == nil { counters.recoveries += 1 }
            let page = try store.records(anchoredAt: sender, after: after, limit: Self.pageSize).map { try lapse($0, at: now) }
            return .page(page, next: page.count == Self.pageSize ? page.last?.prefix : nil)
        case .attached, .detached:
            return refuse(.centralOnly, "attachments are reported to a central controller, not to a location server")
        }
    }

    mutating func refuse(_ refusal: Refusal, _ details: String) -> LocationReply {
        counters.refused[refusal, default: 0] += 1
        return .refused(details)
    }
}
