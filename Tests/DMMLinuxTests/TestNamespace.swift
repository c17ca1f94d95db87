import Foundation
import Testing

/// A network namespace of one test's own, deleted when the test ends, pass
/// or fail. Building it uses iproute2, which the tests (unlike the daemons)
/// may use.
final class TestNamespace {
    let name: String
    nonisolated(unsafe) static var counter = 0

    /// Root can make namespaces; CI runs as root, so there a missing
    /// privilege is a failure, not a skip.
    static var available: Bool { getuid() == 0 }
    static let skipReason: Comment = "needs root to create network namespaces; CI runs it as root"

    init(_ label: String) throws {
        Self.counter += 1
        name = "dmmt-\(label)-\(getpid())-\(Self.counter)"
        try Self.ip(["netns", "add", name])
    }

    deinit { _ = try? Self.ip(["netns", "del", name]) }

    /// Runs `ip -n NAME ARGS...`.
    @discardableResult
    func ip(_ arguments: [String]) throws -> String { try Self.ip(["-n", name] + arguments) }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String { try run("/usr/sbin/ip", arguments) }

    struct CommandFailed: Error, CustomStringConvertible { var description: String }

    @discardableResult
    static func run(_ path: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: path) ? path : "/sbin/ip")
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CommandFailed(description: "\(path) \(arguments.joined(separator: " ")): \(String(decoding: e, as: UTF8.self))")
        }
        return String(decoding: o, as: UTF8.self)
    }
}
