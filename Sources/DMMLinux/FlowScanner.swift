import Foundation
import Glibc

/// Reads connection tracking in full on a thread of its own. The kernel
/// walks its whole connection table, every namespace's (262,144 buckets on
/// a machine with 24 GiB), inside the dump request: about 9 ms here, which
/// on a daemon's one thread held every message behind it once a second.
/// `request` starts a dump; `fd` turns readable when its result waits in
/// `take`. The thread holds the scanner until `stop()`.
public final class FlowScanner: @unchecked Sendable {
    private let monitor: FlowMonitor
    private let condition = NSCondition()
    private var requested = false, stopped = false
    private var result: Result<[FlowMonitor.Event], Error>?
    private let ready: (read: Int32, write: Int32)

    /// Opens its socket in `namespace` (nil: the caller's) and starts the thread.
    public init(namespace: String? = nil) throws {
        monitor = try FlowMonitor(namespace: namespace, events: false)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw NetlinkSocket.Failure(description: "pipe: \(NetlinkSocket.errorText(errno))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        ready = (fds[0], fds[1])
        let thread = Thread { [self] in scanLoop() }
        thread.name = "dmm-flow-scan"
        thread.start()
    }

    deinit {
        close(ready.read)
        close(ready.write)
    }

    /// Readable when a result waits.
    public var fd: Int32 { ready.read }

    /// Asks for a dump; one already asked for and not yet taken is enough.
    public func request() {
        condition.withLock {
            requested = true
            condition.signal()
        }
    }

    /// The finished dump's flows, or its failure; nil while none waits.
    public func take() -> Result<[FlowMonitor.Event], Error>? {
        var byte: UInt8 = 0
        while read(ready.read, &byte, 1) == 1 {}
        return condition.withLock {
            defer { result = nil }
            return result
        }
    }

    /// Ends the thread after the dump in progress, if any.
    public func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    private func scanLoop() {
        while true {
            condition.lock()
            while !requested && !stopped { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            requested = false
            condition.unlock()
            let dump = Result { try monitor.current() }
            condition.withLock { result = dump }
            var byte: UInt8 = 1
            _ = write(ready.write, &byte, 1)
        }
    }
}
