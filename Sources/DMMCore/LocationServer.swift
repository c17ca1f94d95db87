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
        public var queries = 0, registrations = 0, updates = 0, releases = 0, lapsed = 0
        /// Refusals by reason.
        public var refused: [String: Int] = [:]
    }

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
    mutating func lapse(_ record: PrefixRecord, at now: Instant) {
        guard let expires = record.expires, expires <= now else { return }
        var r = record
        r.serving = nil
        r.active = false
        r.expires = nil
        store.put(r)
        counters.lapsed += 1
    }

    mutating func answer(_ request: LocationRequest, from sender: IPv6Address, at now: Instant) -> LocationReply {
        guard knownMARs.contains(sender) else { return refuse("unknown MAR") }
        switch request {
        case .query(let node):
            counters.queries += 1
            for record in store.records(of: node) { lapse(record, at: now) }
            return .records(node, store.records(of: node))
        case .register(let record):
            guard record.anchor == sender else { return refuse("registration by a MAR that is not the anchor") }
            if let old = store.record(for: record.prefix), old.mobileNode != record.mobileNode || old.anchor != record.anchor {
                return refuse("prefix held by another node or anchor")
            }
            counters.registrations += 1
            store.put(record)
            return .done
        case .update(let prefix, let serving, let active, let expires):
            guard var record = store.record(for: prefix) else { return refuse("no such prefix") }
            counters.updates += 1
            record.serving = serving
            record.active = active
            record.expires = expires
            store.put(record)
            return .done
        case .release(let prefix):
            guard let record = store.record(for: prefix) else { return .done }  // already gone: idempotent
            guard record.anchor == sender else { return refuse("release by a MAR that is not the anchor") }
            counters.releases += 1
            store.remove(prefix)
            return .done
        }
    }

    mutating func refuse(_ reason: String) -> LocationReply {
        counters.refused[reason, default: 0] += 1
        return .refused(reason)
    }
}
