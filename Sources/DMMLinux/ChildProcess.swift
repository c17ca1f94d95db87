import CProcess
import Foundation
import Glibc

/// A long-running child (a daemon, a capture, a traffic tool) that dies with
/// this process, however it ends: even killed with SIGKILL, nothing it
/// started outlives it. Linux sends the parent-death signal when the
/// *thread* that forked the child ends, and a test runner's threads come and
/// go, so every child is forked from one thread that lives as long as the
/// process.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    private init(pid: pid_t) { self.pid = pid }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `path` with `arguments`; its standard output and error go to
    /// the given descriptors (the caller keeps and closes its own).
    public static func spawn(_ path: String, _ arguments: [String], output: Int32, error: Int32) throws -> ChildProcess {
        let pid = Spawner.shared.run {
            var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
            defer { for p in argv { free(p) } }
            return cpr_spawn(path, &argv, output, error)
        }
        guard pid > 0 else { throw Failure(description: "cannot start \(path): \(String(cString: strerror(-pid)))") }
        return ChildProcess(pid: pid)
    }

    /// Whether it has not exited yet (an exited child is reaped here).
    public var isRunning: Bool {
        lock.withLock {
            if exitStatus != nil { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
            return exitStatus == nil
        }
    }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for it to exit; returns its wait status.
    @discardableResult
    public func wait() -> Int32 {
        lock.withLock {
            if let s = exitStatus { return s }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            exitStatus = status
            return status
        }
    }

    /// Asks it to stop (SIGTERM), waits up to `grace` seconds, then kills it.
    public func stop(grace: Double = 5) {
        signal(SIGTERM)
        let end = Date().addingTimeInterval(grace)
        while isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.02) }
        signal(SIGKILL)
        wait()
    }
}

/// The one thread that forks children; it never ends.
private final class Spawner: @unchecked Sendable {
    static let shared = Spawner()
    private let condition = NSCondition()
    private let serial = NSLock()
    private var job: (() -> Void)?

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                condition.lock()
                while job == nil { condition.wait() }
                job!()
                job = nil
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.name = "dmm-spawner"
        thread.start()
    }

    /// Runs `body` on the spawner thread and returns its result.
    func run(_ body: @escaping () -> pid_t) -> pid_t {
        serial.withLock {
            var result: pid_t = 0
            condition.lock()
            job = { result = body() }
            condition.broadcast()
            while job != nil { condition.wait() }
            condition.unlock()
            return result
        }
    }
}
