import ArgumentParser
import DMMCore
import DMMLinux
import DMMWire
import Foundation

extension BenchCommand {
    struct ControllerBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "controller",
            abstract: "Forwarding changes through the controller and agent engines over encoded PFCP; print changes per second, in memory and through to one agent's kernel (root).",
            discussion: """
                One controller and one agent. Each round changes the rule of every prefix at the agent \
                (FM-cpdp:1): delivered on the access link, then tunnelled toward far ends that alternate, \
                then removed. Every change is a PFCP request encoded by the controller, decoded and carried \
                out by the agent, whose answer is encoded and decoded back: a Session Establishment, \
                Modifications, a Deletion. Each round runs in parts (--parts; 100 by default), each carried through before \
                the next is asked for, as a socket's buffer would have it. With --kernel the agent's rule changes \
                are also written, per part, through rtnetlink into a scratch namespace. The rounds run several times (--passes): \
                first from no session, then on a heap the earlier ones left scattered. Both engines are \
                configured, as their daemons' reserve-sessions key does, with tables made at start for \
                every prefix's session (--reserve-sessions 0: grown as sessions come). The store's share of \
                each round (taking what changed) is done after the clock stops, as the daemon's store does. \
                Before each part and after the last, outside the time, a gauge times the same fixed work (PFCP \
                decodes into kept storage, as `dmm bench wire`'s last figure): it falls when the machine, not \
                the code, runs slow (on a virtual machine, presumably its core shared with other guests). Each round prints the \
                gauge's range beside its rate, and at the end the rate over its parts with the gauge at full \
                speed on both sides (at least 85 % of its highest reading in the run).
                """
        )

        @Option(help: "Prefixes, one session each.")
        var prefixes = 100_000

        @Option(help: "Rounds of tunnel moves between the delivery round and the removal round.")
        var moves = 2

        @Option(help: "Times to run every round (the first from no session).")
        var passes = 3

        @Option(help: "Sessions the controller's and the agent's tables are made for at start (their daemons' reserve-sessions); by default as many as --prefixes.")
        var reserveSessions: Int?

        @Option(help: "Parts each round runs in, each carried through before the next is asked for, with the machine's gauge read between them; by default 100, or --prefixes if fewer.")
        var parts: Int?

        @Flag(help: "Change the prefixes in a new random order each round, as a network would, rather than in the order their sessions were set up (in which sessions given out one after the other lie one after the other).")
        var shuffle = false

        @Flag(inversion: .prefixedNo, help: "Also write the agent's rule changes to a kernel in a scratch namespace (root).")
        var kernel = true

        static let controllerAddress = IPv6Address("2001:db8:ffff::100")!
        static let agentAddress = IPv6Address("2001:db8:ffff::1")!
        static let link = LinkID("acc0")

        func validate() throws {
            // The agent's pool, 2001:db8::/32, holds 2^32 /64 prefixes.
            guard prefixes >= 1, prefixes <= 1 << 32 else { throw ValidationError("--prefixes must be from 1 to \(1 << 32)") }
            guard moves >= 0 else { throw ValidationError("--moves must be 0 or more") }
            guard passes >= 1 else { throw ValidationError("--passes must be 1 or more") }
            guard (1...prefixes).contains(partCount) else { throw ValidationError("--parts must be from 1 to --prefixes") }
            guard (0...10_000_000).contains(reserved) else { throw ValidationError("--reserve-sessions must be from 0 to 10000000") }
        }

        var reserved: Int { reserveSessions ?? min(prefixes, 10_000_000) }
        var partCount: Int { parts ?? min(prefixes, 100) }

        func run() throws {
            print("dmm bench controller: \(prefixes) prefixes, one session each, one controller and one agent, one core, prefixes changed \(shuffle ? "in a random order each round" : "in order"), tables made at start for \(reserved) sessions")
            try measure(kernel: nil)
            guard kernel else { return }
            require([.root, .tunnels, .program("ip", package: "iproute2")])
            // The access link: a veth (this kernel has no dummy links).
            let ns = try ScratchNamespace("ctl", accessLinks: [(Self.link.name, "node0")])
            defer { withExtendedLifetime(ns) {} }  // deleted only after the measurements
            try measure(kernel: ns.dataPlane())
        }

        /// Every round's rules: deliver, then tunnels, then nothing.
        func rounds() -> [(name: String, rule: (IPv6Prefix) -> ForwardingRule?)] {
            let farEnds = [IPv6Address("fc00:2::d6")!, IPv6Address("fc00:3::d6")!]
            return [("deliver", { .deliver($0, link: Self.link) })]
                + (0..<moves).map { m in ("tunnel \(m + 1)", { .encapsulate($0, endpoint: farEnds[m % 2], mode: .ipv6InIPv6) }) }
                + [("remove", { _ in nil })]
        }

        /// What the engines send each other, and what a round counts.
        struct Carried {
            var toAgent: [[UInt8]] = [], toController: [[UInt8]] = []
            var changes: [LinuxDataPlane.Change] = []
            var ruleChanges = 0, messages = 0
        }

        /// A round's rate over its parts run at full speed.
        static func atFullSpeed(_ parts: [MachineGauge.Part], _ gauge: MachineGauge) -> String {
            let clean = parts.filter(gauge.atFullSpeed)
            guard !clean.isEmpty else { return "no part at full speed" }
            return String(format: "%d of %d parts, %.0f changes/s", clean.count, parts.count, clean.rate)
        }

        func measure(kernel dataPlane: LinuxDataPlane?) throws {
            var now = Instant(seconds: 1_795_000_000)
            // T1 and N1 as a daemon's (the agent keeps each answer 2 s, two
            // rounds, and forgets it within the rounds); no heartbeat falls
            // in the rounds. Nothing is sent again: every request is
            // answered at the instant it is sent.
            let timing = PFCPTiming(heartbeatInterval: 3600)
            var controller = Controller(config: .init(address: Self.controllerAddress, timing: timing, reservedSessions: reserved),
                                        startedAt: now)
            var agent = DataPlaneAgent(config: .init(address: Self.agentAddress, controller: Self.controllerAddress,
                                                     pools: [IPv6Prefix("2001:db8::/32")!], poolIdentity: "bench", timing: timing,
                                                     reservedSessions: reserved),
                                       startedAt: now)
            var carried = Carried()
            var gauge = MachineGauge()
            // Each engine's actions are taken after each thing it handles, as
            // its daemon's loop takes them: what it sends is queued for the
            // other, as a socket would. What they touch is passed in (`inout`),
            // not captured: a captured variable is checked for exclusive
            // access at run time, 358 instructions a change (stop 34).
            func fromController(_ c: inout Carried) {
                controller.pollActions { a in if case .send(let datagram, _) = a { c.toAgent.append(datagram) } }
            }
            func fromAgent(_ c: inout Carried) {
                agent.pollActions { a in
                    switch a {
                    case .send(let datagram, _): c.toController.append(datagram)
                    case .install(let r):
                        c.ruleChanges += 1
                        if dataPlane != nil { c.changes.append(.install(r)) }
                    case .remove(let r):
                        c.ruleChanges += 1
                        if dataPlane != nil { c.changes.append(.remove(r)) }
                    default: break
                    }
                }
            }
            /// Carries every datagram until both are quiet.
            func pump(_ c: inout Carried) {
                fromController(&c)
                while !c.toAgent.isEmpty || !c.toController.isEmpty {
                    for bytes in c.toAgent {
                        agent.handle(.pfcp(bytes, from: Self.controllerAddress), at: now)
                        fromAgent(&c)
                    }
                    c.messages += c.toAgent.count
                    c.toAgent.removeAll(keepingCapacity: true)
                    for bytes in c.toController {
                        controller.handle(.pfcp(bytes, from: Self.agentAddress), at: now)
                        fromController(&c)
                    }
                    c.messages += c.toController.count
                    c.toController.removeAll(keepingCapacity: true)
                }
            }

            agent.start(at: now)
            for a in agent.pollActions() {
                if case .send(let datagram, _) = a { controller.handle(.pfcp(datagram, from: Self.agentAddress), at: now) }
            }
            pump(&carried)
            guard agent.isAssociated else { throw ValidationError("the agent did not associate") }
            // The steady state, as a daemon's loop runs it: the agent's
            // resynchronization after associating is over (its timer fired),
            // so the rounds change sessions rather than confirm them.
            now = now + agent.config.resynchronization
            agent.handleTimeout(at: now)
            controller.handleTimeout(at: now)
            pump(&carried)

            let all = (0..<prefixes).map { i in
                IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(i), low: 0), length: 64)
            }
            print(dataPlane == nil ? "in memory (encode, decode, carry out, answer):" : "through to the kernel (the same, then rtnetlink):")
            // Several passes: the first starts from no session, so its rounds
            // also grow every table to its size, touch memory for the first
            // time and find what they allocate in the order they allocated
            // it; later ones run on a heap that earlier rounds left scattered,
            // as a controller that has run a while does.
            var measured: [(name: String, parts: [MachineGauge.Part])] = []
            for pass in 1...passes {
                print("  pass \(pass)\(pass == 1 ? ", from no session" : ""):")
                for (name, rule) in rounds() {
                    now = now + 1
                    carried.ruleChanges = 0
                    carried.messages = 0
                    let wanted = (shuffle ? all.shuffled() : all).map { p in (p, rule(p).map { [$0] } ?? []) }
                    // The round in parts, each timed; the gauge is read
                    // before each and after the last, outside the time.
                    var timed: [MachineGauge.Part] = [], failures = 0
                    gauge.read()
                    for part in 0..<partCount {
                        let changesBefore = carried.ruleChanges
                        let start = DispatchTime.now().uptimeNanoseconds
                        for (p, rules) in wanted[part * wanted.count / partCount..<(part + 1) * wanted.count / partCount] {
                            controller.program(rules, at: Self.agentAddress, for: p, at: now)
                            fromController(&carried)
                        }
                        pump(&carried)
                        failures += try dataPlane?.apply(carried.changes).count ?? 0
                        carried.changes.removeAll(keepingCapacity: true)
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        timed.append(gauge.part(carried.ruleChanges - changesBefore, seconds: seconds))
                    }
                    // The wanted rules are the bench's, not the engines': freed
                    // after the clock stops (they would be freed after their last
                    // use, inside the timed span).
                    withExtendedLifetime(wanted) {}
                    // What the daemon's store takes after each step, taken
                    // here after the clock stops (the store is not timed).
                    _ = controller.takeChanges()
                    print(String(format: "    %@: %d rule changes, %d PFCP messages in %.2f s: %.0f changes/s%@; %@",
                                 name, carried.ruleChanges, carried.messages, timed.seconds, timed.rate,
                                 failures > 0 ? ", \(failures) kernel writes failed" : "", gauge.range(timed)))
                    measured.append(("pass \(pass) \(name)", timed))
                }
            }
            // Against the gauge's highest reading of the whole run: a run
            // that starts in a slow spell finds the machine's speed later.
            print(String(format: "  at full speed (the gauge at %.0f %% of its highest reading, %.2fM, or more before and after a part):",
                         MachineGauge.fullSpeed * 100, gauge.top / 1e6))
            for (name, parts) in measured { print("    \(name): \(Self.atFullSpeed(parts, gauge))") }
            if controller.sessions.count != 0 || agent.sessionCount != 0 {
                throw ValidationError("sessions left after the removal round: \(controller.sessions.count) at the controller, \(agent.sessionCount) at the agent")
            }
        }
    }
}
