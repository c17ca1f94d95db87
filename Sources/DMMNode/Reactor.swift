import DMMCore
import DMMLinux
import Glibc

/// The daemon's one thread: waits with poll(2) on every socket and the next
/// engine deadline, and runs the handler of whatever is ready. SIGTERM and
/// SIGINT arrive through a pipe, so shutdown happens between two events.
public final class Reactor {
    private var handlers: [Int32: () throws -> Void] = [:]
    public private(set) var stopping = false
    private let signalPipe: (read: Int32, write: Int32)

    public init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ReactorFailure(description: "pipe: errno \(errno)") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        signalPipe = (fds[0], fds[1])
        reactorSignalFD = fds[1]
        // A parent may have spawned us with these blocked (a test runner's
        // worker thread does): unblock them, or SIGTERM would never arrive.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGTERM) { _ in _ = write(reactorSignalFD, "t", 1) }
        signal(SIGINT) { _ in _ = write(reactorSignalFD, "i", 1) }
        signal(SIGPIPE, SIG_IGN)
        let readEnd = fds[0]
        handlers[signalPipe.read] = { [unowned self] in
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) == 1 {}
            self.stopping = true
        }
    }

    deinit {
        close(signalPipe.read)
        close(signalPipe.write)
    }

    public func watch(_ fd: Int32, _ handler: @escaping () throws -> Void) { handlers[fd] = handler }
    public func unwatch(_ fd: Int32) { handlers[fd] = nil }
    public func stop() { stopping = true }

    /// Runs until a signal or `stop()`. `timeout` gives the milliseconds to
    /// the next deadline (nil: none); `tick` runs after every wake-up, once
    /// what was waiting is read (`drain`).
    public func run(timeout: () -> Int32?, tick: () throws -> Void, onError: (Error) -> Void) {
        while !stopping {
            var fds = handlers.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let wait = timeout().map { max(0, min($0, 60_000)) } ?? 60_000
            let n = poll(&fds, nfds_t(fds.count), wait)
            if n < 0 && errno != EINTR { onError(ReactorFailure(description: "poll: errno \(errno)")); return }
            for p in fds where p.revents != 0 { drain(p.fd, onError: onError) }
            do { try tick() } catch { onError(error) }
        }
    }

    /// Runs `fd`'s handler, and again while more is waiting, up to
    /// `batch` times, before the engines' timers are looked at (`tick`): a
    /// process that was not scheduled for a while (a loaded machine) wakes
    /// to timers run out and a socket holding what they waited for. Read
    /// one datagram per wake-up, an agent could take a heartbeat whose
    /// answer waited behind others for lost, or release at its
    /// resynchronization sessions whose pushes were still in its socket.
    /// The bound gives the other sockets their turn under a flood.
    private func drain(_ fd: Int32, onError: (Error) -> Void) {
        for _ in 0..<Self.batch {
            guard let handler = handlers[fd] else { return }
            do { try handler() } catch {
                onError(error)
                return
            }
            guard isReadable(fd, within: 0) else { return }
        }
    }

    /// Handler runs for one socket between two looks at the timers.
    public static let batch = 1024
}

/// The time the daemons hand their engines: the system's wall clock, since
/// PMIPv6 timestamps carry it (engines never read a clock themselves).
public func wallClock() -> Instant {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Instant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
}

struct ReactorFailure: Error, CustomStringConvertible { var description: String }

/// Written from the signal handler, which can capture nothing.
nonisolated(unsafe) var reactorSignalFD: Int32 = -1
