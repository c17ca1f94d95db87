import DMMTestSupport
import Foundation
import Glibc
import Testing

@testable import DMMLab

/// Ctrl-C in the middle of a lab run: the terminal sends SIGINT to the whole
/// foreground process group (the lab, its daemons, its traffic, tshark). The
/// lab stops, deletes every namespace it made, and leaves no process behind.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct InterruptTests {
    /// Starts a program in a process group of its own, as a shell starts a
    /// foreground job, with no signal blocked and its output in `log`.
    static func spawnJob(_ arguments: [String], log: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&files, 1, 2)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &files, &attributes, &argv, environ)
        guard rc == 0 else { throw Command.Failed(description: "posix_spawn \(arguments[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    @Test func ctrlCTearsTheLabDown() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-interrupt-\(getpid())").path
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let scenario = output + "/scenario.yaml", log = output + "/lab.log"
        try "mars: 2\noutput: \(output)\nnode:\n  moves: [mar2]\n  dwell: 120\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let pid = try Self.spawnJob([LabDemoTests.dmm, "lab", "run", scenario], log: log)
        let tag = "dmm\(pid % 100_000)-"
        func namespaces() throws -> [String] { try TestNamespace.ip(["netns", "list"]).split(separator: "\n").filter { $0.hasPrefix(tag) }.map(String.init) }
        func text() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        var exitStatus: Int32 = -1
        defer {
            // Whatever happened, nothing of this test's lab survives it.
            if exitStatus == -1 {
                killpg(pid, SIGKILL)
                waitpid(pid, nil, 0)
            }
            for ns in (try? namespaces()) ?? [] { _ = try? TestNamespace.ip(["netns", "del", ns]) }
        }

        // Mid-run: the daemons and the traffic are up, the node dwells at mar1.
        let end = Date().addingTimeInterval(30)
        while !text().contains("started a TCP stream") && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        try #require(text().contains("started a TCP stream"), "\(text())")
        #expect(try namespaces().count == 6)
        killpg(pid, SIGINT)

        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(30)
        while waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try #require(Date() < deadline, "the lab did not stop within 30 s of Ctrl-C: \(text())")
        exitStatus = status
        #expect(status != 0, "an interrupted run is not a pass")
        #expect(text().contains("interrupted"), "\(text())")
        #expect(try namespaces().isEmpty)
        let left = try Command.run("/usr/bin/pgrep", ["-f", output]).out
        #expect(left.isEmpty, "processes left: \(left)")
    }
}
