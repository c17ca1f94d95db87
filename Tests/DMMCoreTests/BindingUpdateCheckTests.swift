import DMMDataPlane
import DMMWire
import Testing

@testable import DMMCore

/// An anchor's checks of a PBU (RFC 5213 sections 5.3.1 and 5.5): each
/// rejection is answered with its status and changes nothing.
struct BindingUpdateCheckTests {
    /// MAR1 anchors HNP1 for MN1, which has moved to MAR2 with a flow.
    static func setUp(_ freshness: Freshness) throws -> (Testbed, IPv6Prefix) {
        var tb = Testbed { $0.freshness = freshness }
        let hnp1 = try tb.start("MN1", at: "MAR1")
        tb.move("MN1", to: "MAR2")
        tb.attach("MN2", to: "MAR1")
        tb.run(for: 0.1)
        return (tb, hnp1)
    }

    static func pbu(_ prefix: IPv6Prefix, node: String = "mn1@dmm.example", sequence: UInt16 = 100,
                    timestamp: Instant?, lifetime: UInt16 = 75, drop: Set<UInt8> = []) -> MobilityHeader {
        var options: [MobilityOption] = [
            .mobileNodeIdentifier(.nai(node)), .homeNetworkPrefix(prefix), .handoffIndicator(.handoffSameInterface),
            .accessTechnologyType(.ieee8023),
        ]
        if let timestamp { options.append(.timestamp(Timestamp(unixSeconds: timestamp.seconds))) }
        options.removeAll { drop.contains($0.type) }
        return MobilityHeader(.bindingUpdate(BindingUpdate(
            sequence: sequence, flags: [.acknowledge, .homeRegistration, .proxyRegistration], lifetime: lifetime, options: options)))
    }

    /// Sends `message` to MAR1 from `sender` and returns MAR1's answer; checks
    /// that the answer is its only action and that its state did not change.
    static func answer(_ tb: inout Testbed, _ message: MobilityHeader, from sender: IPv6Address,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> BindingAcknowledgement {
        let before = tb.mars["MAR1"]!
        tb.mars["MAR1"]!.handle(.mobility(message, from: sender), at: tb.now)
        let actions = tb.mars["MAR1"]!.pollActions()
        try #require(actions.count == 1, "\(actions)", sourceLocation: sourceLocation)
        guard case .sendMobility(let mh, let to) = actions[0], to == sender, case .bindingAcknowledgement(let pba) = mh.message else {
            Issue.record("not a PBA: \(actions[0])", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        let after = tb.mars["MAR1"]!
        #expect(after.anchored == before.anchored, sourceLocation: sourceLocation)
        #expect(after.visiting.count == before.visiting.count && after.pool.assignedCount == before.pool.assignedCount,
                sourceLocation: sourceLocation)
        return pba
    }

    static let mar2 = Testbed.marAddress(2), stranger = IPv6Address("2001:db8:bad::1")!

    @Test func fromAnUnknownMAR() throws {
        var (tb, hnp1) = try Self.setUp(.timestamps(window: 0.3))
        let pba = try Self.answer(&tb, Self.pbu(hnp1, timestamp: tb.now), from: Self.stranger)
        #expect(pba.status == .magNotAuthorizedForProxyRegistration && pba.lifetime == 0 && pba.sequence == 100)
        #expect(tb.mars["MAR1"]!.counters.rejected[.magNotAuthorizedForProxyRegistration] == 1)
    }

    @Test func forAnotherNodesPrefix() throws {
        var (tb, hnp1) = try Self.setUp(.timestamps(window: 0.3))
        let hnpOfMN2 = try #require(tb.preferred("MN2"))
        #expect(try Self.answer(&tb, Self.pbu(hnpOfMN2, timestamp: tb.now), from: Self.mar2).status == .notAuthorizedForHomeNetworkPrefix)
        #expect(try Self.answer(&tb, Self.pbu(hnp1, node: "mn2@dmm.example", timestamp: tb.now), from: Self.mar2).status
                == .notAuthorizedForHomeNetworkPrefix)
        // A prefix of MAR1's block that nobody holds, and one outside it.
        let unassigned = IPv6Prefix("2001:db8:1:ff::/64")!
        #expect(try Self.answer(&tb, Self.pbu(unassigned, timestamp: tb.now), from: Self.mar2).status == .notAuthorizedForHomeNetworkPrefix)
        let elsewhere = IPv6Prefix("2001:db8:3:1::/64")!
        #expect(try Self.answer(&tb, Self.pbu(elsewhere, timestamp: tb.now), from: Self.mar2).status == .notLMAForThisMobileNode)
        // The traffic of both nodes is unaffected.
        #expect(tb.traces("MN1", hnp1).down.delivered && tb.traces("MN2", hnpOfMN2).down.delivered)
    }

    @Test(arguments: [
        (MobilityOption.Kind.mobileNodeIdentifier, BindingAckStatus.missingMNIdentifierOption),
        (.homeNetworkPrefix, .missingHomeNetworkPrefixOption),
        (.handoffIndicator, .missingHandoffIndicatorOption),
        (.accessTechnologyType, .missingAccessTechTypeOption),
        (.timestamp, .timestampMismatch),
    ])
    func missingOption(_ kind: MobilityOption.Kind, _ status: BindingAckStatus) throws {
        var (tb, hnp1) = try Self.setUp(.timestamps(window: 0.3))
        #expect(try Self.answer(&tb, Self.pbu(hnp1, timestamp: tb.now, drop: [kind.rawValue]), from: Self.mar2).status == status)
    }

    @Test func staleOrFutureTimestamp() throws {
        var (tb, hnp1) = try Self.setUp(.timestamps(window: 0.3))
        #expect(try Self.answer(&tb, Self.pbu(hnp1, timestamp: tb.now + -1), from: Self.mar2).status == .timestampMismatch)
        #expect(try Self.answer(&tb, Self.pbu(hnp1, timestamp: tb.now + 1), from: Self.mar2).status == .timestampMismatch)
        // Within the window but older than the accepted PBU of the handover.
        let accepted = try #require(tb.mars["MAR1"]!.anchored[hnp1]?.lastTimestamp)
        let older = Instant(seconds: accepted.unixSeconds - 0.05)
        tb.now = Instant(seconds: accepted.unixSeconds + 0.1)
        #expect(try Self.answer(&tb, Self.pbu(hnp1, timestamp: older), from: Self.mar2).status == .timestampLowerThanPreviousAccepted)
    }

    @Test func staleSequenceNumber() throws {
        var (tb, hnp1) = try Self.setUp(.sequenceNumbers)
        let last = try #require(tb.pbus(from: "MAR2").last?.sequence)
        for stale in [last, last &- 1, last &- 0x7fff] {
            let pba = try Self.answer(&tb, Self.pbu(hnp1, sequence: stale, timestamp: nil), from: Self.mar2)
            // RFC 6275 section 9.5.1: the PBA carries the last accepted number.
            #expect(pba.status == .sequenceNumberOutOfWindow && pba.sequence == last)
        }
        // A newer one refreshes the binding; the rule is already right, so only the PBA goes out.
        tb.mars["MAR1"]!.handle(.mobility(Self.pbu(hnp1, sequence: last &+ 1, timestamp: nil), from: Self.mar2), at: tb.now)
        let actions = tb.mars["MAR1"]!.pollActions()
        #expect(actions.count == 1)
        if case .sendMobility(let mh, _) = actions.first, case .bindingAcknowledgement(let pba) = mh.message {
            #expect(pba.status == .accepted && pba.lifetime == 75)
        } else {
            Issue.record("no PBA: \(actions)")
        }
    }

    @Test func sequenceNumbersCompareModulo65536() {
        #expect(AnchorRole.isNewer(1, than: 0))
        #expect(AnchorRole.isNewer(0, than: 0xffff))
        #expect(!AnchorRole.isNewer(5, than: 5))
        #expect(!AnchorRole.isNewer(0x8005, than: 5))
        #expect(AnchorRole.isNewer(0x8004, than: 5))
    }

    /// Messages an anchor does not expect are counted and change nothing.
    @Test func unexpectedMessagesAreCountedAndIgnored() throws {
        var (tb, _) = try Self.setUp(.timestamps(window: 0.3))
        let before = tb.mars["MAR1"]!.anchored
        for message in [
            MobilityMessage.bindingAcknowledgement(BindingAcknowledgement(status: .accepted, flags: .proxyRegistration, sequence: 9, lifetime: 1)),
            .bindingError(BindingError(status: .unrecognizedMHType, homeAddress: .unspecified)),
            .updateNotification(UpdateNotification(sequence: 1, reason: .forceReregistration, acknowledgeRequested: true)),
            .unknown(type: 99, data: [0, 0]),
        ] {
            tb.mars["MAR1"]!.handle(.mobility(MobilityHeader(message), from: Self.mar2), at: tb.now)
            #expect(tb.mars["MAR1"]!.pollActions().isEmpty)
        }
        #expect(tb.mars["MAR1"]!.anchored == before)
        #expect(tb.mars["MAR1"]!.counters.ignored.values.reduce(0, +) == 4)
    }
}
