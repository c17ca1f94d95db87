import CSockets

/// Whether `fd` becomes readable within `seconds`, timed to the nanosecond:
/// poll(2) counts whole milliseconds, so a wait shorter than one would
/// become a busy loop that takes a core from the daemons on a small machine.
public func isReadable(_ fd: Int32, within seconds: Double) -> Bool {
    csock_wait_readable(fd, Int64(max(0, seconds) * 1e9)) > 0
}
