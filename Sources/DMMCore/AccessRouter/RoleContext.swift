import DMMWire

/// What the roles of one access router share: its configuration, and what
/// they ask of the world, in order: actions, timers, counters, and requests
/// to the location server. Each role keeps its own state and writes here;
/// the access router composes them.
struct RoleContext: Sendable {
    let config: AccessRouterConfig
    var actions: [AccessRouterAction] = []
    var timers = TimerTable<AccessRouter.Timer>()
    var counters = AccessRouter.Counters()
    /// Flows per prefix, as the data plane reports them.
    var flowCounts: [IPv6Prefix: Int] = [:]
    var location = LocationClient()

    init(config: AccessRouterConfig) { self.config = config }

    func flows(_ prefix: IPv6Prefix) -> Int { flowCounts[prefix, default: 0] }

    /// Asks the location server; the answer comes as a `.location` event.
    @discardableResult
    mutating func ask(_ request: LocationRequest, at now: Instant) -> UInt32 {
        let id = location.register(request, timeout: config.initialBindAckTimeout)
        actions.append(.location(LocationEnvelope(id: id, request)))
        timers.set(.location(id), at: now + config.initialBindAckTimeout)
        return id
    }

    /// A Binding Acknowledgement for `bu` (RFC 6275 section 6.1.8; RFC 5213
    /// section 5.3.6 for a proxy registration): its sequence number (or the
    /// one given, for status 135) and the identifying options echoed.
    mutating func acknowledge(_ bu: BindingUpdate, with status: BindingAckStatus, lifetime: UInt16, to sender: IPv6Address,
                              sequence: UInt16? = nil) {
        if !status.isAccepted { counters.rejected[status, default: 0] += 1 }
        func echoes(_ o: MobilityOption) -> Bool {
            switch o {
            case .mobileNodeIdentifier, .homeNetworkPrefix, .handoffIndicator, .accessTechnologyType,
                .mobileNodeLinkLayerIdentifier, .linkLocalAddress, .timestamp: true
            default: false
            }
        }
        // Usually every option is echoed: share the BU's array then.
        let echoed = bu.options.allSatisfy(echoes) ? bu.options : bu.options.filter(echoes)
        let flags: BindingAcknowledgement.Flags = bu.flags.contains(.proxyRegistration) ? .proxyRegistration : []
        let ba = BindingAcknowledgement(status: status, flags: flags, sequence: sequence ?? bu.sequence,
                                        lifetime: status.isAccepted ? lifetime : 0, options: echoed)
        actions.append(.sendMobility(MobilityHeader(.bindingAcknowledgement(ba)), to: sender))
        counters.pbaSent += 1
    }
}

/// The location client (LMc of RFC 8818): requests to the location server,
/// each sent again with its timeout doubled (RFC 6275 section 11.8's rule,
/// as for PBUs) until the maximum, then given up.
struct LocationClient: Sendable {
    struct Pending: Sendable {
        var request: LocationRequest
        var timeout: Seconds
    }

    private var pending: [UInt32: Pending] = [:]
    /// Request ids; recovery starts them from the clock, so that a reply
    /// meant for a killed predecessor matches no request of this process.
    var nextID: UInt32 = 0

    mutating func register(_ request: LocationRequest, timeout: Seconds) -> UInt32 {
        nextID &+= 1
        pending[nextID] = Pending(request: request, timeout: timeout)
        return nextID
    }

    /// The request a reply answers, no longer pending; nil if none is.
    mutating func answered(_ id: UInt32) -> LocationRequest? { pending.removeValue(forKey: id)?.request }

    enum Retry {
        case again(LocationRequest, timeout: Seconds)
        case givenUp(LocationRequest)
    }

    /// A request's timeout ran out: send it again, or give it up past
    /// `maximum`. Nil if it is no longer pending.
    mutating func timedOut(_ id: UInt32, maximum: Seconds) -> Retry? {
        guard var p = pending[id] else { return nil }
        p.timeout = p.timeout * 2
        guard p.timeout <= maximum else {
            pending[id] = nil
            return .givenUp(p.request)
        }
        pending[id] = p
        return .again(p.request, timeout: p.timeout)
    }
}
