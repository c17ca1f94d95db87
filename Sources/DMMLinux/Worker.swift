import Foundation
import Glibc

/// Work that would block a daemon's one thread (a full read of connection
/// tracking, a commit that waits for the disk), done on a thread of its own,
/// one job at a time in the order submitted. `fd` turns readable when a
/// result waits in `take`. The thread holds the worker until `stop()`.
public final class Worker<Job, Outcome>: @unchecked Sendable {
    private let work: (Job) -> Outcome
    private let condition = NSCondition()
    private var jobs: [Job] = [], outcomes: [Outcome] = []
    private var stopped = false
    private let ready: (read: Int32, write: Int32)

    /// Starts the thread, named `name`.
    public init(name: String, _ work: @escaping (Job) -> Outcome) throws {
        self.work = work
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw NetlinkSocket.Failure(description: "pipe: \(NetlinkSocket.errorText(errno))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        ready = (fds[0], fds[1])
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    deinit {
        close(ready.read)
        close(ready.write)
    }

    /// Readable when a result waits.
    public var fd: Int32 { ready.read }

    public func submit(_ job: Job) {
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// The results finished since the last call, in order.
    public func take() -> [Outcome] {
        var byte: UInt8 = 0
        while read(ready.read, &byte, 1) == 1 {}
        return condition.withLock {
            defer { outcomes = [] }
            return outcomes
        }
    }

    /// Ends the thread once the jobs already submitted are done.
    public func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            guard !jobs.isEmpty else {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            let outcome = work(job)
            condition.withLock { outcomes.append(outcome) }
            var byte: UInt8 = 1
            _ = write(ready.write, &byte, 1)
        }
    }
}
