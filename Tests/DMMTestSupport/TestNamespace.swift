import DMMLinux
import Foundation
import Testing

/// A network namespace of one test's own, deleted when the test ends, pass
/// or fail. Building it uses iproute2, which the tests (unlike the daemons)
/// may use.
public final class TestNamespace {
    public let name: String
    nonisolated(unsafe) static var counter = 0

    /// Root can make namespaces; CI runs as root, so there a missing
    /// privilege is a failure, not a skip.
    public static var available: Bool { getuid() == 0 }
    public static let skipReason: Comment = "needs root to create network namespaces; CI runs it as root"

    public init(_ label: String) throws {
        Self.counter += 1
        name = "dmmt-\(label)-\(getpid())-\(Self.counter)"
        try Self.ip(["netns", "add", name])
    }

    deinit { _ = try? Self.ip(["netns", "del", name]) }

    /// Runs `ip -n NAME ARGS...`.
    @discardableResult
    public func ip(_ arguments: [String]) throws -> String { try Self.ip(["-n", name] + arguments) }

    @discardableResult
    public static func ip(_ arguments: [String]) throws -> String { try run("/usr/sbin/ip", arguments) }

    /// Runs a command inside the namespace.
    @discardableResult
    public func exec(_ command: [String]) throws -> String { try Self.run("/usr/sbin/ip", ["netns", "exec", name] + command) }

    @discardableResult
    public static func run(_ path: String, _ arguments: [String]) throws -> String { try Command.output(path, arguments) }
}
