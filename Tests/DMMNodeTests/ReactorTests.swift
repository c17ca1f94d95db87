import DMMNode
import Glibc
import Testing

/// The daemons' loop.
struct ReactorTests {
    /// Every byte waiting in a pipe is read, one per handler run, before the
    /// timers are looked at, up to the bound; the rest after them.
    @Test func whatIsWaitingIsReadBeforeTheTimersUpToTheBound() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let waiting = Reactor.batch + 3
        #expect(write(fds[1], [UInt8](repeating: 1, count: waiting), waiting) == waiting)
        let reactor = try Reactor()
        // The reactor takes SIGTERM and SIGINT; the test process gets them back.
        defer {
            signal(SIGTERM, SIG_DFL)
            signal(SIGINT, SIG_DFL)
        }
        var seen: [String] = []
        reactor.watch(fds[0]) {
            var byte: UInt8 = 0
            if read(fds[0], &byte, 1) == 1 { seen.append("read") }
        }
        var ticks = 0
        reactor.run(timeout: { 0 }, tick: {
            seen.append("tick")
            ticks += 1
            if ticks == 2 { reactor.stop() }
        }, onError: { Issue.record($0) })
        #expect(seen == Array(repeating: "read", count: Reactor.batch) + ["tick"] + Array(repeating: "read", count: 3) + ["tick"])
    }
}
