import DMMDataPlane
import DMMTestSupport
import DMMWire
import Testing

@testable import DMMCore

struct TimerTableTests {
    @Test func expiresInDeadlineOrderAndHonoursResetAndCancel() {
        var t = TimerTable<String>()
        let base = Instant(seconds: 100)
        t.set("a", at: base + 3)
        t.set("b", at: base + 1)
        t.set("c", at: base + 2)
        t.set("a", at: base + 0.5)  // moved earlier
        t.cancel("c")
        #expect(t.next() == base + 0.5)
        #expect(t.expire(at: base + 0.4).isEmpty, "an early wake-up finds nothing")
        #expect(t.expire(at: base + 5) == ["a", "b"])
        #expect(t.next() == nil && t.count == 0)
    }

    @Test func manyResetsKeepTheHeapSmall() {
        var t = TimerTable<Int>()
        var largest = 0
        for i in 0..<100_000 {
            t.set(i % 10, at: Instant(seconds: Double(i)))
            largest = max(largest, t.heapSize)
        }
        // Stale entries are compacted away: the heap never outgrows the bound.
        #expect(largest <= 2 * 10 + 1024 + 1)
        #expect(t.count == 10)
        #expect(t.heapSize > 10, "stale entries are kept until they surface or pile up")
        #expect(t.expire(at: Instant(seconds: 1e9)).count == 10)
    }
}

struct DeadlineQueueTests {
    /// Taken entries are dropped as the queue goes, and order is kept
    /// across the compaction.
    @Test func keepsOrderAndDropsWhatWasTaken() {
        var q = DeadlineQueue<Int>()
        var taken: [Int] = []
        for i in 0..<5_000 {
            q.append(i, at: Instant(seconds: Double(i)))
            if i % 2 == 1, let (_, first) = q.first {
                taken.append(first)
                q.removeFirst()
            }
        }
        #expect(taken == Array(0..<2_500))
        #expect(q.count == 2_500 && q.first?.element == 2_500 && q.first?.at == Instant(seconds: 2_500))
        while !q.isEmpty { q.removeFirst() }
        #expect(q.first == nil)
    }
}

struct LinkIDTests {
    /// A Network Instance names a link by its octets, plain or as DNS
    /// labels, read without a text when they are plain ASCII: the same link
    /// either way, and none for what no interface is named.
    @Test func aNetworkInstanceNamesTheLinkItsTextNames() {
        for name in ["", "a", "acc0", "eight-ch", "nine-char", "fifteen-octets!", "ünïcødé", "\u{7F}del"] {
            #expect(LinkID(PFCPNetworkInstance(name)) == LinkID(name), "\(name)")
            #expect(LinkID(name).map { LinkID($0.networkInstance) } == LinkID(name), "\(name)")
            #expect(LinkID(name)?.networkInstance == PFCPNetworkInstance(name), "\(name)")
        }
        #expect(LinkID(PFCPNetworkInstance("\u{4}acc0")) == LinkID("acc0"))
        #expect(LinkID(PFCPNetworkInstance("\u{3}ims\u{7}example")) == LinkID("ims.example"))
        for name in ["sixteen-octets!!", "a\u{0}b", "acc0\u{0}", "\u{0}", "seven\u{0}\u{0}x", String(repeating: "x", count: 30)] {
            #expect(LinkID(PFCPNetworkInstance(name)) == nil, "\(Array(name.utf8))")
        }
        // Octets that are not UTF-8 name no link (the text would repair them).
        #expect(LinkID(PFCPNetworkInstance(octets: [0x61, 0xFF, 0x62])) == nil)
        #expect(LinkID(PFCPNetworkInstance(octets: [0x61, 0xC3])) == nil)
        // Every placement of a zero octet in every length, for the word test.
        for count in 1...15 {
            for zero in 0..<count {
                var octets = [UInt8](repeating: 0x61, count: count)
                octets[zero] = 0
                #expect(LinkID(PFCPNetworkInstance(octets: octets)) == nil, "\(count) octets, zero at \(zero)")
            }
            #expect(LinkID(PFCPNetworkInstance(octets: [UInt8](repeating: 0x61, count: count)))?.name == String(repeating: "a", count: count))
        }
    }

    /// A link holds an interface name of up to 15 octets, as it was given,
    /// and refuses anything else; equality, hashing and order are those
    /// of the names.
    @Test func holdsAnInterfaceNameAndRefusesOthers() {
        for name in ["", "a", "acc0", "mar1-mn1", "ar2-n1", "fifteen-octets!", "ünïcødé"] {
            #expect(LinkID(name)?.name == name, "\(name)")
        }
        for name in ["sixteen-octets!!", "a\u{0}b", String(repeating: "x", count: 300), "ünïcødé-nämé-x"] {
            #expect(LinkID(name) == nil, "\(name)")
        }
        let names = ["eth1", "acc0", "acc10", "acc1", "b", "a", "acc0"]
        let links = names.map { LinkID(interface: $0) }
        #expect(links.sorted().map(\.name) == names.sorted())
        for (a, x) in zip(names, links) {
            for (b, y) in zip(names, links) {
                #expect((x == y) == (a == b))
                if a == b { #expect(x.hashValue == y.hashValue) }
            }
        }
        #expect(Set(links).count == Set(names).count)
    }
}

struct OwnNumberTests {
    /// The cheap hash must keep what a table needs: every key found again,
    /// and counters spread over a table's buckets as a random hash would
    /// (no more than 12 of 1,024 keys in one of 1,024 buckets; a hash that
    /// ignored the low or the high half would put them all in one), whether
    /// they count in the low half, in the high half, or up from a SEID's
    /// recovery time stamp.
    @Test func everyKeyIsFoundAndCountersSpread() {
        let counts = (0..<UInt64(1024))
        let patterns = [counts.map { $0 }, counts.map { $0 << 32 }, counts.map { $0 << 10 }, counts.map { UInt64(3_970_000_000) << 32 | $0 }]
        for keys in patterns {
            for seed in [0, 12345, -77, 0x5EED_5EED] {
                var load = [Int](repeating: 0, count: 1024)
                for k in keys { load[OwnNumber(k)._rawHashValue(seed: seed) & 1023] += 1 }
                #expect(load.max()! <= 12, "\(load.max()!) keys in one bucket, seed \(seed), from \(keys[1])")
            }
        }
        var table: [OwnNumber: Int] = [:]
        for i in 0..<50_000 { table[OwnNumber(UInt64(i) << 32)] = i }
        #expect(table.count == 50_000)
        #expect((0..<50_000).allSatisfy { table[OwnNumber(UInt64($0) << 32)] == $0 })
        #expect(table[OwnNumber(UInt64(50_000) << 32)] == nil)
    }
}

struct GroupedHashTests {
    /// Numbers one after the other lie in runs of 8 buckets side by side,
    /// the runs spread: placed by linear probing in a table a quarter
    /// full, 16,384 numbers in a row (SEIDs, a pool's prefixes) make no
    /// cluster of over 1,024 buckets, where the numbers as they are made
    /// one cluster of all of them, which every removal would shift.
    @Test func consecutiveNumbersLieInRunsAndTheRunsSpread() {
        for seed in [0, 12345, -77] {
            let first = UInt64(0x5EED) << 32
            let hashes = (0..<UInt64(16_384)).map { groupedHash(first + $0, seed: seed) }
            for run in stride(from: 0, to: hashes.count, by: 8) {
                #expect((0..<8).allSatisfy { hashes[run + $0] == hashes[run] + $0 }, "run at \(run), seed \(seed)")
            }
            let mask = 65_535
            var occupied = [Bool](repeating: false, count: mask + 1)
            for h in hashes {
                var b = h & mask
                while occupied[b] { b = (b + 1) & mask }
                occupied[b] = true
            }
            var longest = 0, current = 0
            for o in occupied + occupied {  // twice: a cluster may wrap around
                current = o ? current + 1 : 0
                longest = max(longest, min(current, occupied.count))
            }
            #expect(longest <= 1024, "a cluster of \(longest) buckets, seed \(seed)")
        }
    }
}

struct OwnPrefixTests {
    /// As for own numbers: equal prefixes placed alike under every seed,
    /// and node prefixes, which count in the high half, spread over a
    /// table's buckets (in runs, `groupedHash`); prefixes that differ only
    /// in the low half or in their length are distinct keys.
    @Test func equalPrefixesHashAlikeAndNodePrefixesSpread() {
        let p = IPv6Prefix("2001:db8:0:7::/64")!
        for seed in [0, 1, -1, 0x5EED_5EED] {
            #expect(OwnPrefix(p)._rawHashValue(seed: seed) == OwnPrefix(IPv6Prefix("2001:db8:0:7::/64")!)._rawHashValue(seed: seed))
            var load = [Int](repeating: 0, count: 1024)
            for i in 0..<UInt64(1024) {
                let key = OwnPrefix(IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | i, low: 0), length: 64))
                load[key._rawHashValue(seed: seed) & 1023] += 1
            }
            #expect(load.max()! <= 12, "\(load.max()!) prefixes in one bucket, seed \(seed)")
        }
        var table: [OwnPrefix: Int] = [:]
        for i in 0..<50_000 {
            table[OwnPrefix(IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(i), low: 0), length: 64))] = i
        }
        table[OwnPrefix(IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1), length: 128))] = -1
        table[OwnPrefix(IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000, low: 0), length: 56))] = -2
        #expect(table.count == 50_002)
        #expect(table[OwnPrefix(IPv6Prefix(IPv6Address(high: 0x2001_0db8_0000_0000, low: 0), length: 64))] == 0)
    }
}

/// Requests found by sequence number in the order sent, against a plain
/// dictionary kept the obvious way: answered out of order, sent again,
/// given up, dropped by peer, and answered by the wrong peer, with the
/// wrong type or a number never sent, across the 24-bit wrap.
struct PFCPRequestsTests {
    @Test func matchADictionaryThroughRandomAnswersAcrossTheWrap() {
        let peers = (1...3).map { IPv6Address(high: 0x2001_0db8_ffff_0000, low: UInt64($0)) }
        var rng = SplitMix64(seed: 0x5EED)
        var requests = PFCPRequests(first: 0xFF_FF00)
        var model: [UInt32: (peer: IPv6Address, retransmissions: Int)] = [:]
        let now = Instant(seconds: 1)
        var sent: [UInt32] = []
        for step in 0..<20_000 {
            switch rng.next() % 8 {
            case 0, 1, 2:
                var m = PFCPMessage(.heartbeatRequest, sequence: 0)
                let peer = peers[Int(rng.next() % 3)]
                let (_, sequence) = requests.register(&m, to: peer, for: .heartbeat, due: now, into: [])!
                #expect(model[sequence] == nil && sequence <= 0xFF_FFFF)
                model[sequence] = (peer, 0)
                sent.append(sequence)
            case 3, 4:
                guard let sequence = sent.randomElement(using: &rng) else { continue }
                let peer = model[sequence]?.peer ?? peers[0]
                // The wrong type, then the wrong peer, answer nothing.
                #expect(requests.answered(by: PFCPMessage(.nodeReportResponse, sequence: sequence), from: peer) == nil)
                let other = peers.first { $0 != peer }!
                #expect(requests.answered(by: PFCPMessage(.heartbeatResponse, sequence: sequence), from: other) == nil)
                let answered = requests.answered(by: PFCPMessage(.heartbeatResponse, sequence: sequence), from: peer)
                #expect((answered != nil) == (model[sequence] != nil), "step \(step)")
                model[sequence] = nil
            case 5:
                guard let sequence = sent.randomElement(using: &rng) else { continue }
                switch requests.timedOut(sequence, n1: 2, due: now) {
                case .again(let p)?:
                    #expect(model[sequence]!.retransmissions < 2)
                    model[sequence]!.retransmissions += 1
                    #expect(p.retransmissions == model[sequence]!.retransmissions)
                case .givenUp?:
                    #expect(model[sequence]!.retransmissions == 2)
                    model[sequence] = nil
                case nil: #expect(model[sequence] == nil)
                }
            case 6:
                let never = (sent.last.map { $0 + 1 } ?? 0) & 0xFF_FFFF
                #expect(requests.answered(by: PFCPMessage(.heartbeatResponse, sequence: never), from: peers[0]) == nil)
            default:
                guard rng.next() % 16 == 0 else { continue }
                let peer = peers[Int(rng.next() % 3)]
                requests.drop(peer: peer)
                model = model.filter { $0.value.peer != peer }
            }
            #expect(requests.count == model.count)
            if sent.count > 4096 { sent.removeFirst(2048) }
        }
        #expect(sent.contains { $0 < 0xFF_FF00 }, "the numbers wrapped")
        for (sequence, entry) in model { #expect(requests.request(sequence)?.peer == entry.peer) }
    }
}

/// The datagrams an exchange is done with are encoded into again; one the
/// caller still holds is never written over.
struct PFCPExchangeTests {
    let peer = IPv6Address("2001:db8:ffff::1")!
    let now = Instant(seconds: 1_795_000_000)

    func heartbeat(_ stamp: UInt32) -> PFCPMessage {
        var m = PFCPMessage(.heartbeatRequest, sequence: 0)
        m.recoveryTimeStamp = stamp
        return m
    }

    /// The peer's answer to the request `datagram`.
    func response(to datagram: [UInt8]) throws -> [UInt8] {
        var r = PFCPMessage(.heartbeatResponse, sequence: try PFCPMessage.decode(datagram).sequence)
        r.recoveryTimeStamp = 7
        return try r.encode()
    }

    static func address(_ d: [UInt8]) -> UnsafeRawPointer? { d.withUnsafeBytes { $0.baseAddress } }

    @Test func aRequestAnsweredLendsItsDatagramToTheNextUnlessItIsHeld() throws {
        var exchange = PFCPExchange(node: IPv6Address("2001:db8:ffff::100")!, timing: PFCPTiming(), recoveryTimeStamp: 1, start: 0)
        // Held by the caller: the next request is written elsewhere.
        var request1 = heartbeat(11)
        let held = exchange.request(&request1, to: peer, for: .heartbeat, at: now)!
        let heldBytes = held.map { $0 }  // a copy of its own
        guard case .response = exchange.receive(try response(to: held), from: peer, at: now, seid: { _ in nil }) else {
            Issue.record("the response did not match its request")
            return
        }
        var request2 = heartbeat(22)
        let second = exchange.request(&request2, to: peer, for: .heartbeat, at: now)!
        #expect(held == heldBytes, "a datagram the caller holds is left as it was")
        #expect(try PFCPMessage.decode(second).recoveryTimeStamp == 22)
        #expect(Self.address(second) != Self.address(held))
        // Let go of by the caller: the next request is written where it was.
        let address = Self.address(second)
        let answer = try response(to: second)
        _ = consume second
        _ = exchange.receive(answer, from: peer, at: now, seid: { _ in nil })
        var request3 = heartbeat(33)
        let third = exchange.request(&request3, to: peer, for: .heartbeat, at: now)!
        #expect(Self.address(third) == address, "the answered request's storage is used again")
        #expect(try PFCPMessage.decode(third).recoveryTimeStamp == 33)
        #expect(try PFCPMessage.decode(third).sequence == PFCPMessage.decode(answer).sequence + 1)
    }

    @Test func anAnswerForgottenLendsItsDatagramToTheNext() throws {
        var exchange = PFCPExchange(node: IPv6Address("2001:db8:ffff::100")!, timing: PFCPTiming(), recoveryTimeStamp: 1, start: 0)
        var r = PFCPMessage(.heartbeatResponse, sequence: 5)
        r.recoveryTimeStamp = 1
        let first = exchange.answer(r, to: peer, at: now)!
        let address = Self.address(first)
        let firstBytes = first.map { $0 }  // a copy of its own
        _ = consume first
        // Past the first's lifetime, the next answer is written where it was.
        r.header.sequence = 6
        let later = now + PFCPTiming().answerLifetime
        let second = exchange.answer(r, to: peer, at: later)!
        #expect(Self.address(second) == address)
        #expect(try PFCPMessage.decode(second).sequence == 6)
        #expect(second != firstBytes)
        // The first is no longer given to its request sent again; the second is.
        var again = PFCPMessage(.heartbeatRequest, sequence: 5)
        again.recoveryTimeStamp = 9
        guard case .request = exchange.receive(try again.encode(), from: peer, at: later, seid: { _ in nil }) else {
            Issue.record("a forgotten answer was given again")
            return
        }
        again.header.sequence = 6
        guard case .answer(let given) = exchange.receive(try again.encode(), from: peer, at: later, seid: { _ in nil }) else {
            Issue.record("a kept answer was not given again")
            return
        }
        #expect(given == second)
    }
}

/// Kept answers against a dictionary of the last answer to each request
/// and its time: requests numbered in order by three peers, numbers far
/// apart that land in a slot already held, the same request answered
/// again, bursts that make the slots grow, and time passing.
struct PFCPAnswersTests {
    /// Slots grown from none, or made at start for 100 answers (the
    /// bursts grow them past it).
    @Test(arguments: [0, 100])
    func matchADictionaryThroughRandomRequests(reserved: Int) {
        let peers = (1...3).map { IPv6Address(high: 0x2001_0db8_ffff_0000, low: UInt64($0)) }
        var rng = SplitMix64(seed: 0xA5)
        var answers = PFCPAnswers()
        answers.reserve(reserved, now: Instant(seconds: 1))
        #expect(answers.capacity == (reserved == 0 ? 0 : 256))
        var model: [PFCPAnswers.Key: (datagram: [UInt8], until: Instant)] = [:]
        var next: [UInt32] = [0xFF_FFF0, 7, 1 << 20]
        var now = Instant(seconds: 1)
        let lifetime: Seconds = 2
        var capacities: Set<Int> = []
        for step in 0..<20_000 {
            let p = Int(rng.next() % 3)
            let sequence: UInt32
            switch rng.next() % 10 {
            case 0: sequence = UInt32(truncatingIfNeeded: rng.next()) & 0xFF_FFFF  // anywhere
            case 1: sequence = (next[p] &- UInt32(rng.next() % 50)) & 0xFF_FFFF  // one answered before
            default:
                sequence = next[p]
                next[p] = (next[p] + 1) & 0xFF_FFFF
            }
            let key = PFCPAnswers.Key(peer: peers[p], sequence: sequence)
            if rng.next() % 3 == 0 {
                let expected = model[key].flatMap { $0.until > now ? $0.datagram : nil }
                #expect(answers.answer(to: peers[p], sequence, at: now) == expected, "step \(step)")
            } else {
                let datagram = [UInt8(step & 0xFF), UInt8(step >> 8 & 0xFF), UInt8(p)]
                var forgotten: [[UInt8]] = []
                answers.forget(at: now, into: &forgotten)
                answers.remember(datagram, sequence, to: peers[p], until: now + lifetime, now: now)
                // Handed back: the datagrams of the answers past their time,
                // each once; not one replaced by a later answer to its request.
                let expired = model.values.filter { $0.until <= now }.map(\.datagram)
                #expect(forgotten.sorted { $0.lexicographicallyPrecedes($1) } == expired.sorted { $0.lexicographicallyPrecedes($1) },
                        "step \(step)")
                model[key] = (datagram, now + lifetime)
                model = model.filter { $0.value.until > now }
                #expect(answers.count == model.count, "only answers still in time are kept, step \(step)")
                capacities.insert(answers.capacity)
            }
            // Mostly no time between requests (bursts), sometimes a lot.
            if rng.next() % 16 == 0 { now = now + Seconds(Double(rng.next() % 100) / 1000) }
        }
        #expect(capacities.count > (reserved == 0 ? 3 : 1), "the slots grew: \(capacities.sorted())")
        #expect(next[0] < 0xFF_FFF0, "a peer's numbers wrapped")
        for (key, kept) in model {
            #expect(answers.answer(to: key.peer, key.sequence, at: now) == (kept.until > now ? kept.datagram : nil))
        }
    }
}

/// The SEID table against a dictionary, through random sessions begun,
/// ended and restored with SEIDs another node gave; grown as sessions
/// come, or made at start for fewer or more sessions than come.
struct SEIDTableTests {
    @Test(arguments: [0, 512, 30_000])
    func matchesADictionaryThroughRandomInsertsRemovalsAndRestores(reserved: Int) {
        let base: UInt64 = 0xE000_0001 << 32
        var rng = SplitMix64(seed: 0x5E1D)
        var table = SEIDTable<Int>(base: base)
        table.reserve(reserved)
        var model: [UInt64: Int] = [:]
        /// The SEID each slot last gave, to check it is not given again at once.
        var lastGiven: [UInt64: UInt64] = [:]
        var restoredMoved = 0
        for step in 0..<20_000 {
            switch rng.next() % 10 {
            case 0..<5:
                let (i, seid) = table.insert(step)
                #expect(seid >> 32 == base >> 32 && table.seid(at: i) == seid, "step \(step)")
                #expect(model[seid] == nil, "an SEID in use given again, step \(step)")
                #expect(lastGiven[seid & SEIDTable<Int>.slotMask] != seid, "an SEID given again at once, step \(step)")
                lastGiven[seid & SEIDTable<Int>.slotMask] = seid
                model[seid] = step
            case 5..<9:
                guard let seid = model.keys.randomElement(using: &rng) else { continue }
                #expect(table.remove(seid) == model.removeValue(forKey: seid), "step \(step)")
                #expect(table.index(of: seid) == nil && table.remove(seid) == nil, "step \(step)")
            default:
                // Another node's SEID: its slot often taken, sometimes far out.
                let slot = rng.next() % 4 == 0 ? UInt64(200_000_000 + step) : rng.next() % 64
                let seid = 0xD000_0000 << 32 | UInt64(step) << 28 & 0xF000_0000 | slot
                if model[seid] != nil { continue }
                if model.keys.contains(where: { $0 & SEIDTable<Int>.slotMask == slot }) { restoredMoved += 1 }
                table.restore(step, as: seid)
                model[seid] = step
            }
            #expect(table.count == model.count, "step \(step)")
            #expect(table.slotCount < 1 << 20, "a far slot is not made, step \(step)")
        }
        #expect(restoredMoved > 10, "some restored sessions named a slot taken: \(restoredMoved)")
        for (seid, value) in model {
            #expect(table[seid] == value)
            #expect(table.index(of: seid).map { table.seid(at: $0) } == seid)
        }
        #expect(table.seids == model.keys.sorted())
        #expect(table.values.sorted() == model.values.sorted())
        // Another node's SEID naming a slot in use, and one of this node's never given, find nothing.
        #expect(table[0xD000_0000 << 32 | 1] == model[0xD000_0000 << 32 | 1])
        #expect(table[base | 0xF000_0000 | 0x0FFF_FFFF] == nil)
    }

    /// Slots made at start, or part way with slots freed, give the SEIDs a
    /// table grown as sessions come gives, in the same order.
    @Test func slotsMadeAheadGiveTheSEIDsAGrownTableGives() {
        var grown = SEIDTable<Int>(base: 0xE000_0001 << 32)
        var atStart = grown
        atStart.reserve(300)
        var partWay = grown
        var rng = SplitMix64(seed: 0x5E1E)
        var live: [UInt64] = []
        for step in 0..<5_000 {
            if step == 700 { partWay.reserve(2_000) }
            if live.isEmpty || rng.next() % 5 < 3 {
                let seid = grown.insert(step).seid
                #expect(atStart.insert(step).seid == seid && partWay.insert(step).seid == seid, "step \(step)")
                live.append(seid)
            } else {
                let seid = live.remove(at: Int(rng.next() % UInt64(live.count)))
                #expect(grown.remove(seid) != nil && atStart.remove(seid) != nil && partWay.remove(seid) != nil, "step \(step)")
            }
        }
        #expect(grown.slotCount > 300 && grown.slotCount < 2_000, "grew past the first reservation only: \(grown.slotCount)")
        #expect(atStart.slotCount == grown.slotCount && partWay.slotCount == 2_000)
    }
}

/// The sessions of a prefix against a plain list of (agent, SEID) kept
/// the obvious way, through every sequence of sets over three agents.
struct PrefixSessionsTests {
    @Test func matchesAnOrderedListThroughEverySequenceOfSets() {
        let agents = (1...3).map { IPv6Address(high: 0x2001_0db8_ffff_0000, low: UInt64($0)) }
        // Each step: an agent and what to set (nil ends its session).
        let steps = agents.flatMap { a in [(a, UInt64?.none), (a, UInt64(a.low * 10)), (a, UInt64(a.low * 100))] }
        var sequences = 0
        for first in steps {
            for second in steps {
                for third in steps {
                    for fourth in steps {
                        var sessions: PrefixSessions = [:]
                        var expected: [(agent: IPv6Address, seid: UInt64)] = []
                        for (agent, seid) in [first, second, third, fourth] {
                            sessions[agent] = seid
                            if let i = expected.firstIndex(where: { $0.agent == agent }) {
                                if let seid { expected[i].seid = seid } else { expected.remove(at: i) }
                            } else if let seid {
                                expected.append((agent, seid))
                            }
                            #expect(sessions.map(\.agent) == expected.map(\.agent))
                            #expect(sessions.map(\.seid) == expected.map(\.seid))
                            #expect(sessions.isEmpty == expected.isEmpty)
                            for a in agents { #expect(sessions[a] == expected.first { $0.agent == a }?.seid) }
                        }
                        sequences += 1
                    }
                }
            }
        }
        #expect(sequences == 9 * 9 * 9 * 9)
    }
}

struct PrefixPoolTests {
    @Test func allocatesDistinctSixtyFoursAndReusesReleasedOnes() throws {
        var pool = PrefixPool(block: IPv6Prefix("2001:db8:1::/62")!)
        let all = (0..<4).compactMap { _ in pool.allocate() }
        #expect(all.map(\.description) == ["2001:db8:1::/64", "2001:db8:1:1::/64", "2001:db8:1:2::/64", "2001:db8:1:3::/64"])
        #expect(pool.allocate() == nil, "exhausted")
        pool.release(all[2])
        pool.release(all[2])  // twice: no double entry
        #expect(pool.allocate() == all[2])
        #expect(pool.allocate() == nil)
        pool.release(IPv6Prefix("2001:db8:9::/64")!)  // not ours: ignored
        #expect(pool.assignedCount == 4)
    }

    /// A restarted MAR reserves the prefixes it had handed out; allocation
    /// then skips them.
    @Test func reservedPrefixesAreNeverHandedOut() throws {
        var pool = PrefixPool(block: IPv6Prefix("2001:db8:1::/62")!)
        let reserved = [pool.reserve(IPv6Prefix("2001:db8:1:1::/64")!), pool.reserve(IPv6Prefix("2001:db8:1:3::/64")!),
                        pool.reserve(IPv6Prefix("2001:db8:1:1::/64")!), pool.reserve(IPv6Prefix("2001:db8:2::/64")!)]
        #expect(reserved == [true, true, false, false], "the third is taken already, the fourth not the block's")
        let handed = (0..<3).compactMap { _ in pool.allocate() }
        #expect(handed.map(\.description) == ["2001:db8:1::/64", "2001:db8:1:2::/64"])
        pool.release(IPv6Prefix("2001:db8:1:3::/64")!)
        #expect(pool.allocate()?.description == "2001:db8:1:3::/64")
    }
}

struct LocationServerTests {
    static let mar1 = IPv6Address("2001:db8:ffff::1")!, mar2 = IPv6Address("2001:db8:ffff::2")!
    static let p = IPv6Prefix("2001:db8:1::/64")!, node = MobileNodeID("mn1@dmm.example")

    func ask(_ s: inout LocationServer<InMemoryLocationStore>, _ r: LocationRequest, from: IPv6Address,
             at now: Instant = Instant(seconds: 0)) -> LocationReply {
        s.handle(LocationEnvelope(id: 7, r), from: from, at: now).body
    }

    /// An anchor reads back exactly its own records, a page at a time.
    @Test func recoveryPagesThroughTheAnchorsRecordsOnly() {
        var s = LocationServer(store: InMemoryLocationStore(), knownMARs: [Self.mar1, Self.mar2])
        for i in 0..<40 {
            let anchor = i % 4 == 3 ? Self.mar2 : Self.mar1
            let prefix = IPv6Prefix(IPv6Address(high: 0x2001_0db8_0001_0000 | UInt64(i), low: 0), length: 64)
            #expect(ask(&s, .register(PrefixRecord(mobileNode: MobileNodeID("mn\(i)"), prefix: prefix, anchor: anchor)), from: anchor) == .done)
        }
        var seen: [PrefixRecord] = [], cursor: IPv6Prefix?, pages = 0
        repeat {
            guard case .page(let records, let next) = ask(&s, .recover(after: cursor), from: Self.mar1) else {
                Issue.record("not a page")
                return
            }
            seen += records
            cursor = next
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 2 && seen.count == 30 && Set(seen.map(\.prefix)).count == 30)
        #expect(seen.allSatisfy { $0.anchor == Self.mar1 })
        #expect(s.counters.recoveries == 1)
    }

    @Test func aBindingThatRanOutIsReportedUnserved() {
        var s = LocationServer(store: InMemoryLocationStore(), knownMARs: [Self.mar1, Self.mar2])
        let record = PrefixRecord(mobileNode: Self.node, prefix: Self.p, anchor: Self.mar1)
        #expect(ask(&s, .register(record), from: Self.mar1) == .done)
        #expect(ask(&s, .update(Self.p, serving: Self.mar2, active: true, expires: Instant(seconds: 300)), from: Self.mar2) == .done)
        guard case .records(_, let before) = ask(&s, .query(Self.node), from: Self.mar1, at: Instant(seconds: 299)) else {
            Issue.record("no records")
            return
        }
        #expect(before.first?.serving == Self.mar2 && before.first?.active == true)
        #expect(ask(&s, .query(Self.node), from: Self.mar1, at: Instant(seconds: 300)) == .records(Self.node, [record]))
        #expect(s.counters.lapsed == 1)
    }

    @Test func registerQueryUpdateRelease() {
        var s = LocationServer(store: InMemoryLocationStore(), knownMARs: [Self.mar1, Self.mar2])
        let record = PrefixRecord(mobileNode: Self.node, prefix: Self.p, anchor: Self.mar1, serving: Self.mar1)
        #expect(ask(&s, .register(record), from: Self.mar1) == .done)
        #expect(ask(&s, .update(Self.p, serving: Self.mar2, active: true), from: Self.mar2) == .done)
        var expected = record
        expected.serving = Self.mar2
        expected.active = true
        #expect(ask(&s, .query(Self.node), from: Self.mar2) == .records(Self.node, [expected]))
        #expect(ask(&s, .release(Self.p), from: Self.mar1) == .done)
        #expect(ask(&s, .query(Self.node), from: Self.mar2) == .records(Self.node, []))
        #expect(ask(&s, .release(Self.p), from: Self.mar1) == .done, "idempotent")
    }

    @Test func refusalsChangeNothing() {
        var s = LocationServer(store: InMemoryLocationStore(), knownMARs: [Self.mar1, Self.mar2])
        let record = PrefixRecord(mobileNode: Self.node, prefix: Self.p, anchor: Self.mar1)
        #expect(ask(&s, .register(record), from: Self.mar2) == .refused("registration by a MAR that is not the anchor"))
        #expect(ask(&s, .query(Self.node), from: IPv6Address("2001:db8::bad")!) == .refused("unknown MAR"))
        #expect(ask(&s, .update(Self.p, serving: Self.mar2, active: true), from: Self.mar2) == .refused("no such prefix"))
        #expect(s.store.count() == 0)
        #expect(ask(&s, .register(record), from: Self.mar1) == .done)
        var other = record
        other.mobileNode = MobileNodeID("mn2@dmm.example")
        #expect(ask(&s, .register(other), from: Self.mar1) == .refused("prefix held by another node or anchor"))
        #expect(ask(&s, .release(Self.p), from: Self.mar2) == .refused("release by a MAR that is not the anchor"))
        #expect(s.store.record(for: Self.p) == record)
        #expect(s.counters.refused.values.reduce(0, +) == 5)
    }
}

/// A store whose writes fail, like a full disk.
struct FailingStore: LocationStore {
    var inner = InMemoryLocationStore()
    struct DiskFull: Error {}
    func records(of node: MobileNodeID) throws -> [PrefixRecord] { inner.records(of: node) }
    func record(for prefix: IPv6Prefix) throws -> PrefixRecord? { inner.record(for: prefix) }
    mutating func put(_ record: PrefixRecord) throws { throw DiskFull() }
    mutating func remove(_ prefix: IPv6Prefix) throws -> PrefixRecord? { throw DiskFull() }
    func count() throws -> Int { inner.count() }
    func records(anchoredAt anchor: IPv6Address, after: IPv6Prefix?, limit: Int) throws -> [PrefixRecord] {
        inner.records(anchoredAt: anchor, after: after, limit: limit)
    }
}

struct LocationServerStoreFailureTests {
    @Test func aFailingStoreIsARefusalThatChangesNothing() {
        let mar1 = LocationServerTests.mar1
        var s = LocationServer(store: FailingStore(), knownMARs: [mar1])
        let record = PrefixRecord(mobileNode: LocationServerTests.node, prefix: LocationServerTests.p, anchor: mar1)
        #expect(s.handle(LocationEnvelope(id: 3, .register(record)), from: mar1, at: Instant(seconds: 0)).body
                == .refused("store error: DiskFull()"))
        #expect(s.store.inner.count() == 0 && s.counters.refused.values.reduce(0, +) == 1)
    }
}

struct NetworkModelTests {
    static func network() -> NetworkModel {
        var n = NetworkModel()
        n.addRouter("R1", address: IPv6Address("2001:db8:ffff::1")!, block: IPv6Prefix("2001:db8:1::/48")!)
        n.addRouter("R2", address: IPv6Address("2001:db8:ffff::2")!, block: IPv6Prefix("2001:db8:2::/48")!)
        n.addHost("CN", address: IPv6Address("2001:db8:cc::1")!)
        n.addNode("MN")
        return n
    }
    static let p = IPv6Prefix("2001:db8:1:5::/64")!, a = IPv6Address("2001:db8:1:5::1")!

    @Test func reportsLoops() {
        var n = Self.network()
        n.install(.encapsulate(Self.p, endpoint: IPv6Address("2001:db8:ffff::2")!, mode: .ipv6InIPv6), at: "R1")
        n.install(.decapsulate(endpoint: IPv6Address("2001:db8:ffff::2")!), at: "R2")
        // R2 has no route for the prefix: after decapsulation it goes back to R1, which tunnels again.
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome == .loop)
    }

    @Test func reportsBlackHoles() {
        var n = Self.network()
        // With no route for its own block, R1 sends the packet back to the core, which routes the block to R1.
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome == .loop)
        n.install(.unreachable(IPv6Prefix("2001:db8:1::/48")!), at: "R1")
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome == .blackHole(at: "R1", reason: "unreachable: \(Self.a) is in 2001:db8:1::/48"))
        n.install(.deliver(Self.p, link: "l1"), at: "R1")
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome == .blackHole(at: "R1", reason: "nothing attached on l1"))
        n.nodes["MN"]!.attachment = ("R1", "l1")
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome == .blackHole(at: "MN", reason: "node has no address \(Self.a)"))
        n.nodes["MN"]!.prefixes[Self.p] = true
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome == .delivered(to: "MN"))
        n.install(.encapsulate(Self.p, endpoint: IPv6Address("2001:db8:ffff::2")!, mode: .ipv6InIPv6), at: "R1")
        #expect(n.trace(fromHost: "CN", to: Self.a).outcome
                == .blackHole(at: "R2", reason: "no decapsulation at 2001:db8:ffff::2"))
        #expect(n.trace(fromHost: "CN", to: IPv6Address("2001:db8:77::1")!).outcome == .blackHole(at: "core", reason: "no route to 2001:db8:77::1"))
        #expect(n.rules(mentioning: Self.p) == ["R1: encapsulate \(Self.p) toward 2001:db8:ffff::2 (ipv6-in-ipv6)"])
    }
}
