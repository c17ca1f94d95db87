import DMMWire
import Testing

@testable import DMMCore

/// How rules travel in PFCP sessions (FM-cpdp:1): whatever rules a session
/// holds and whatever it is to hold next, the controller's modification,
/// through the wire, takes the agent's session exactly there, and carries
/// nothing when nothing changes.
@Suite struct PFCPRuleMappingTests {
    static let prefix = IPv6Prefix("2001:db8:1:5::/64")!
    static let far1 = IPv6Address("fc00:2::d6")!, far2 = IPv6Address("fc00:3::d6")!
    static let neighbour = IPv6Address("fe80::2")!

    /// Each slot's choices, nothing among them, at an agent that anchors
    /// the prefix or not (where it may only deliver, forward and tunnel back).
    static func choices(anchoredHere: Bool) -> [[ForwardingRule]] {
        let p = prefix
        let routes: [ForwardingRule?] = anchoredHere
            ? [nil, .deliver(p, link: "acc0"), .deliver(p, link: "acc1"), .encapsulate(p, endpoint: far1, mode: .ipv6InIPv6),
               .encapsulate(p, endpoint: far2, mode: .ipv6InIPv6), .unreachable(p), .forward(p, link: "core0", via: neighbour),
               .buffer(p)]
            : [nil, .deliver(p, link: "acc0"), .deliver(p, link: "acc1"), .forward(p, link: "core0", via: neighbour)]
        let sources: [ForwardingRule?] = [nil, .reverseTunnel(from: p, link: "acc0", endpoint: far1, mode: .ipv6InIPv6),
                                          .reverseTunnel(from: p, link: "acc1", endpoint: far2, mode: .ipv6InIPv6)]
        return routes.flatMap { r in sources.map { s in [r, s].compactMap { $0 } } }
    }

    /// `m` as the agent receives it: encoded and decoded.
    static func sent(_ m: PFCPMessage) throws -> PFCPMessage { try PFCPMessage.decode(m.encode()) }

    @Test(arguments: [true, false])
    func everyModificationTakesTheSessionWhereItIsWanted(anchoredHere: Bool) throws {
        let policy = AgentPolicy(tunnelMode: .ipv6InIPv6, pools: anchoredHere ? [IPv6Prefix("2001:db8:1::/48")!] : [])
        let sets = Self.choices(anchoredHere: anchoredHere)
        var pairs = 0
        // One draft for every change, as at an agent: what one session
        // left in it must not reach the next.
        var draft = AgentSession(controller: PFCPFSEID(seid: 0, ipv6: nil))
        for before in sets where !before.isEmpty {
            var establishment = PFCPMessage(.sessionEstablishmentRequest, sequence: 1, seid: 0)
            establishment.nodeID = .ipv6(Self.far1)
            establishment.fSEID = PFCPFSEID(seid: 7, ipv6: Self.far1)
            PFCPRuleMapping.write(before, anchoredHere: anchoredHere, into: &establishment)
            var session = AgentSession(controller: PFCPFSEID(seid: 7, ipv6: Self.far1))
            #expect(session.apply(try Self.sent(establishment), policy: policy, draft: &draft) == nil, "establishing \(before)")
            #expect(session.rules == before)
            for after in sets where !after.isEmpty {
                var modification = PFCPMessage(.sessionModificationRequest, sequence: 2, seid: 1)
                PFCPRuleMapping.describe(from: before, to: after, anchoredHere: anchoredHere, in: &modification)
                if before == after {
                    #expect(modification == PFCPMessage(.sessionModificationRequest, sequence: 2, seid: 1), "\(before) to itself")
                }
                var changed = session
                let refusal = changed.apply(try Self.sent(modification), policy: policy, draft: &draft)
                #expect(refusal == nil, "\(before) to \(after)")
                #expect(changed.rules == after, "\(before) to \(after)")
                #expect(draft.rules == before, "the rules before, which the agent removes: \(before) to \(after)")
                #expect((changed.bar != nil) == after.contains(.buffer(Self.prefix)), "\(before) to \(after)")
                pairs += 1
            }
        }
        #expect(pairs == (sets.count - 1) * (sets.count - 1))
    }

    /// A modification refused at any step (a missing rule, a taken ID, a
    /// PDR left naming no FAR, a rule the agent may not carry out) leaves
    /// the session exactly as it was, whatever the request changed before
    /// the step that failed: the agent works the change out in its draft
    /// and takes it over only whole. The draft, left half changed by each
    /// refusal, then serves a modification that is right.
    @Test func aRefusedModificationLeavesTheSessionAsItWas() throws {
        let policy = AgentPolicy(tunnelMode: .ipv6InIPv6, pools: [IPv6Prefix("2001:db8:1::/48")!])
        let rules: [ForwardingRule] = [.deliver(Self.prefix, link: "acc0"),
                                       .reverseTunnel(from: Self.prefix, link: "acc0", endpoint: Self.far1, mode: .ipv6InIPv6)]
        var establishment = PFCPMessage(.sessionEstablishmentRequest, sequence: 1, seid: 0)
        establishment.nodeID = .ipv6(Self.far1)
        establishment.fSEID = PFCPFSEID(seid: 7, ipv6: Self.far1)
        PFCPRuleMapping.write(rules, anchoredHere: true, into: &establishment)
        var session = AgentSession(controller: PFCPFSEID(seid: 7, ipv6: Self.far1))
        var draft = AgentSession(controller: PFCPFSEID(seid: 0, ipv6: nil))
        #expect(session.apply(try Self.sent(establishment), policy: policy, draft: &draft) == nil)
        var tunnel = PFCPFAR.blank, foreign = PFCPPDR.blank
        PFCPRuleMapping.fill(&tunnel, PFCPRuleMapping.Treatment(action: .forward, destination: .core, tunnel: Self.far2), for: .route(Self.prefix))
        PFCPRuleMapping.fill(&foreign, PFCPRuleMapping.Detection(source: .core, prefix: IPv6Prefix("2001:db8:9::/64")!), for: .route(Self.prefix))

        var missing = PFCPMessage(.sessionModificationRequest, sequence: 2, seid: 1)
        missing.removePDR = [PFCPRuleReference(id: 2)]
        missing.removeFAR = [PFCPRuleReference(id: 2), PFCPRuleReference(id: 9)]
        var taken = PFCPMessage(.sessionModificationRequest, sequence: 3, seid: 1)
        taken.updateFAR = [tunnel]
        taken.createFAR = [tunnel]
        var dangling = PFCPMessage(.sessionModificationRequest, sequence: 4, seid: 1)
        dangling.removeFAR = [PFCPRuleReference(id: 1)]
        var notOurs = PFCPMessage(.sessionModificationRequest, sequence: 5, seid: 1)
        notOurs.removePDR = [PFCPRuleReference(id: 2)]
        notOurs.removeFAR = [PFCPRuleReference(id: 2)]
        notOurs.updateFAR = [tunnel]
        notOurs.updatePDR = [foreign]
        // A link no interface can be named: a Network Instance of 16 octets.
        var deliverElsewhere = PFCPFAR.blank
        PFCPRuleMapping.fill(&deliverElsewhere, PFCPRuleMapping.Treatment(action: .forward, destination: .access, link: "acc0"),
                             for: .route(Self.prefix))
        deliverElsewhere.forwarding?.networkInstance = "sixteen-octets!!"
        var longLink = PFCPMessage(.sessionModificationRequest, sequence: 7, seid: 1)
        longLink.removeFAR = [PFCPRuleReference(id: 1)]
        longLink.createFAR = [deliverElsewhere]
        for (m, cause, offending) in [(missing, PFCPCause.ruleCreationModificationFailure, PFCPIEType.removeFAR),
                                      (taken, .ruleCreationModificationFailure, .createFAR), (dangling, .mandatoryIEIncorrect, .farID),
                                      (notOurs, .ruleCreationModificationFailure, .ueIPAddress),
                                      (longLink, .ruleCreationModificationFailure, .networkInstance)] {
            var changed = session
            let refusal = changed.apply(try Self.sent(m), policy: policy, draft: &draft)
            #expect(refusal?.cause == cause, "request \(m.sequence)")
            #expect(refusal?.offendingIE == offending, "request \(m.sequence): \(refusal?.reason ?? "accepted")")
            #expect(changed == session, "request \(m.sequence)")
        }
        // And the same session still takes a modification that is right.
        var right = PFCPMessage(.sessionModificationRequest, sequence: 6, seid: 1)
        PFCPRuleMapping.describe(from: rules, to: [.encapsulate(Self.prefix, endpoint: Self.far2, mode: .ipv6InIPv6)], anchoredHere: true, in: &right)
        #expect(session.apply(try Self.sent(right), policy: policy, draft: &draft) == nil)
        #expect(session.rules == [.encapsulate(Self.prefix, endpoint: Self.far2, mode: .ipv6InIPv6)])
    }

    /// A FAR's Network Instance is read only by the PDRs from Core that
    /// name it: one that names no interface is refused there, with the IE
    /// at fault, and left alone in a FAR that a PDR from Access names (its
    /// link is the PDI's). A PDI's own is refused from Access.
    @Test func aFARsNetworkInstanceIsReadFromCoreOnly() throws {
        let policy = AgentPolicy(tunnelMode: .ipv6InIPv6, pools: [IPv6Prefix("2001:db8:1::/48")!])
        let back: ForwardingRule = .reverseTunnel(from: Self.prefix, link: "acc0", endpoint: Self.far1, mode: .ipv6InIPv6)
        func establish(_ edit: (inout PFCPMessage) -> Void) throws -> (AgentSession, PFCPRuleMapping.Refusal?) {
            var m = PFCPMessage(.sessionEstablishmentRequest, sequence: 1, seid: 0)
            m.nodeID = .ipv6(Self.far1)
            m.fSEID = PFCPFSEID(seid: 7, ipv6: Self.far1)
            PFCPRuleMapping.write([back], anchoredHere: true, into: &m)
            edit(&m)
            var session = AgentSession(controller: PFCPFSEID(seid: 7, ipv6: Self.far1))
            var draft = AgentSession(controller: PFCPFSEID(seid: 0, ipv6: nil))
            let refusal = session.apply(try Self.sent(m), policy: policy, draft: &draft)
            return (session, refusal)
        }
        let (accepted, none) = try establish { $0.createFAR[0].forwarding!.networkInstance = "sixteen-octets!!" }
        #expect(none == nil)
        #expect(accepted.rules == [back])
        let (_, fromCore) = try establish {
            $0.createFAR[0].forwarding!.networkInstance = "sixteen-octets!!"
            $0.createPDR[0].pdi!.sourceInterface = .core
        }
        #expect(fromCore?.offendingIE == .networkInstance)
        #expect(fromCore?.reason.contains("FAR 2") == true, "\(fromCore?.reason ?? "accepted")")
        let (_, inPDI) = try establish { $0.createPDR[0].pdi!.networkInstance = "sixteen-octets!!" }
        #expect(inPDI?.offendingIE == .networkInstance)
        #expect(inPDI?.reason.contains("'sixteen-octets!!'") == true, "\(inPDI?.reason ?? "accepted")")
    }

    /// A PDI is read when its PDR comes in: two UE IP Addresses (the first
    /// held apart from the others) are refused with the UE IP Address at
    /// fault, and the session is not made.
    @Test func aPDIWithTwoUEIPAddressesIsRefused() throws {
        let policy = AgentPolicy(tunnelMode: .ipv6InIPv6, pools: [IPv6Prefix("2001:db8:1::/48")!])
        var m = PFCPMessage(.sessionEstablishmentRequest, sequence: 1, seid: 0)
        m.nodeID = .ipv6(Self.far1)
        m.fSEID = PFCPFSEID(seid: 7, ipv6: Self.far1)
        PFCPRuleMapping.write([.deliver(Self.prefix, link: "acc0")], anchoredHere: true, into: &m)
        m.createPDR[0].pdi!.ueIPAddresses.append(PFCPUEIPAddress(prefix: IPv6Prefix("2001:db8:1:6::/64")!, isDestination: true))
        var session = AgentSession(controller: PFCPFSEID(seid: 7, ipv6: Self.far1))
        var draft = AgentSession(controller: PFCPFSEID(seid: 0, ipv6: nil))
        let refusal = session.apply(try Self.sent(m), policy: policy, draft: &draft)
        #expect(refusal?.offendingIE == .ueIPAddress)
        #expect(refusal?.cause == .ruleCreationModificationFailure)
        #expect(session.rules.isEmpty && session.pdrs.isEmpty)
    }
}
