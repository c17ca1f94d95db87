import DMMLinux
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

    /// The live processes below `pid`, from the parent links in /proc.
    static func descendants(of pid: pid_t) -> Set<pid_t> {
        var children: [pid_t: [pid_t]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "(comm)": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, fields[0] != "Z", let parent = pid_t(fields[1]) { children[parent, default: []].append(child) }
        }
        var found: Set<pid_t> = [], queue = [pid]
        while let p = queue.popLast() {
            for c in children[p] ?? [] where found.insert(c).inserted { queue.append(c) }
        }
        return found
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// A lab run of its own in the middle of its scenario: the daemons and
    /// the traffic up, the node dwelling at mar1. `body` gets the lab's pid,
    /// its processes and its namespaces; whatever happens, nothing of the
    /// run survives the test.
    static func midRun(_ label: String, _ body: (pid_t, Set<pid_t>, () throws -> [String], () -> String) throws -> Void) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-\(label)-\(getpid())").path
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let scenario = output + "/scenario.yaml", log = output + "/lab.log"
        try "topology: pair\noutput: \(output)\nnode:\n  moves: [mar2]\n  dwell: 120\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let pid = try spawnJob([LabDemoTests.dmm, "lab", "run", scenario], log: log)
        let tag = "dmm\(pid)-"
        func namespaces() throws -> [String] { try TestNamespace.ip(["netns", "list"]).split(separator: "\n").filter { $0.hasPrefix(tag) }.map(String.init) }
        func text() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        var lab: Set<pid_t> = []
        defer {
            lab.formUnion(descendants(of: pid))
            killpg(pid, SIGKILL)
            waitpid(pid, nil, 0)
            for p in lab where isAlive(p) { kill(p, SIGKILL) }
            for ns in (try? namespaces()) ?? [] { _ = try? TestNamespace.ip(["netns", "del", String(ns.split(separator: " ")[0])]) }
        }
        let end = Date().addingTimeInterval(30)
        while !text().contains("started a TCP stream") && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        try #require(text().contains("started a TCP stream"), "\(text())")
        #expect(try namespaces().count == 6)
        lab = descendants(of: pid)
        #expect(lab.count >= 8, "the daemons, the traffic and the captures: \(lab.count)")
        try body(pid, lab, namespaces, text)
    }

    static func commandLines(_ pids: some Sequence<pid_t>) -> [String] {
        pids.map { (try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8))?.replacingOccurrences(of: "\0", with: " ") ?? "\($0)" }
    }

    @Test func ctrlCTearsTheLabDown() throws {
        try Self.midRun("interrupt") { pid, lab, namespaces, text in
            killpg(pid, SIGINT)
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(30)
            while waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            try #require(Date() < deadline, "the lab did not stop within 30 s of Ctrl-C: \(text())")
            #expect(status != 0, "an interrupted run is not a pass")
            #expect(text().contains("interrupted"), "\(text())")
            #expect(try namespaces().isEmpty)
            let left = lab.filter(Self.isAlive)
            #expect(left.isEmpty, "processes left: \(Self.commandLines(left))")
        }
    }

    /// SIGKILL gives the lab no chance to tear down: every process it
    /// started dies with it, and the next run removes the namespaces left.
    @Test func aLabKilledWithSIGKILLLeavesNoProcessAndTheNextRunClearsUp() throws {
        try Self.midRun("sigkill") { pid, lab, namespaces, _ in
            kill(pid, SIGKILL)
            waitpid(pid, nil, 0)
            let deadline = Date().addingTimeInterval(5)
            while !lab.filter(Self.isAlive).isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            let left = lab.filter(Self.isAlive)
            #expect(left.isEmpty, "processes left: \(Self.commandLines(left))")
            // Its namespaces stay until the next run, which removes them: here
            // this one, or a lab another test starts meanwhile.
            let stranded = try namespaces()
            let removed = try Lab.removeLeftovers().filter { $0.contains("left by a lab (pid \(pid))") }
            #expect(removed.count <= stranded.count && stranded.count <= 6, "\(stranded) \(removed)")
            #expect(try namespaces().isEmpty)
        }
    }
}
