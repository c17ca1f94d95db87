import Foundation

/// Runs a program to its end and returns its exit status and output: the one
/// way the project runs a command (iproute2 in the lab and the benchmarks;
/// tshark and the dmm executable in the tests). The daemons run none.
public enum Command {
    public struct Result: Sendable {
        public var status: Int32
        public var out: String
        public var err: String
    }

    public static func run(_ path: String, _ arguments: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// The path of a program on PATH (the usual one when PATH is unset).
    public static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The path of a program that must be there.
    public static func require(_ name: String) throws -> String {
        guard let p = locate(name) else { throw Failed(description: "\(name) is not installed (not found on PATH)") }
        return p
    }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The output of a command that must succeed.
    public static func output(_ path: String, _ arguments: [String]) throws -> String {
        let r = try run(path, arguments)
        guard r.status == 0 else { throw Failed(description: "\(path) \(arguments.joined(separator: " ")) exited \(r.status): \(r.err)") }
        return r.out
    }
}
