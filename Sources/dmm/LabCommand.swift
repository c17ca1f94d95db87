import ArgumentParser
import DMMLab
import DMMLinux
import DMMWire
import Foundation

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "Network-namespace testbeds (needs root).",
        subcommands: [Demo.self, Run.self, Topology.self, Traffic.self])

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the demo scenario (--print shows it, to start your own).")
        @Flag(help: "Print the demo scenario's YAML instead of running it.")
        var print = false
        func run() throws {
            let text = try Scenario.demoText()
            if print {
                Swift.print(text, terminator: "")
                return
            }
            try runScenario(text)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a scenario from a YAML file.")
        @Argument(help: "The scenario file.")
        var scenario: String
        func run() throws {
            guard let data = FileManager.default.contents(atPath: scenario) else { fail("cannot read \(scenario)") }
            try runScenario(String(decoding: data, as: UTF8.self), directory: URL(fileURLWithPath: scenario).deletingLastPathComponent().path)
        }
    }

    struct Topology: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a shipped topology (\(Scenario.shippedTopologies.joined(separator: ", "))), to start your own.")
        @Argument(help: "The topology's name.")
        var name: String
        func validate() throws {
            guard Scenario.shippedTopologies.contains(name) else {
                throw ValidationError("'\(name)' is not one of \(Scenario.shippedTopologies.joined(separator: ", "))")
            }
        }
        func run() throws { Swift.print(try Scenario.resource(name), terminator: "") }
    }

    struct Traffic: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Traffic tools the lab runs inside namespaces.",
                                                        subcommands: [Serve.self, Stream.self, Ping.self, Solicit.self])
        struct Serve: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A TCP echo server.")
            @Option var address: String
            @Option var port: UInt16 = Lab.echoPort
            func run() throws {
                guard let a = IPv6Address(address) else { throw ValidationError("--address '\(address)' is not an IPv6 address") }
                try DMMLab.Traffic.serve(address: a, port: port)
            }
        }
        struct Stream: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "A TCP stream of numbered lines; prints JSON of the echoes.")
            @Option var to: String
            @Option var port: UInt16 = Lab.echoPort
            @Option var interval = 0.01
            @Option var duration = 10.0
            @Option(help: "Stop early when this file appears.") var stopFile: String?
            func run() throws {
                guard let a = IPv6Address(to) else { throw ValidationError("--to '\(to)' is not an IPv6 address") }
                let log = try DMMLab.Traffic.stream(to: a, port: port, interval: interval, duration: duration, stopFile: stopFile)
                Swift.print(String(decoding: try JSONEncoder().encode(log), as: UTF8.self))
            }
        }
        struct Solicit: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Each time the interface gets carrier, a Router Solicitation listing the prefixes of its global addresses (I-D.jhlee-dmm-dnpp); prints JSON of what was sent.")
            @Option var interface = "eth0"
            @Option var duration = 10.0
            @Option(help: "Stop early when this file appears.") var stopFile: String?
            func run() throws {
                let log = try DMMLab.Traffic.solicit(interface: interface, duration: duration, stopFile: stopFile)
                Swift.print(String(decoding: try JSONEncoder().encode(log), as: UTF8.self))
            }
        }
        struct Ping: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "ICMPv6 echo over a raw socket; prints JSON of the replies.")
            @Option var to: String
            @Option var interval = 0.02
            @Option var duration = 10.0
            @Option(help: "Stop early when this file appears.") var stopFile: String?
            func run() throws {
                guard let a = IPv6Address(to) else { throw ValidationError("--to '\(to)' is not an IPv6 address") }
                let log = try DMMLab.Traffic.ping(to: a, interval: interval, duration: duration, stopFile: stopFile)
                Swift.print(String(decoding: try JSONEncoder().encode(log), as: UTF8.self))
            }
        }
    }
}

/// Runs a scenario, prints the timeline and summary, writes the results;
/// exits non-zero if any check failed.
func runScenario(_ yaml: String, directory: String? = nil) throws {
    require(Lab.prerequisites)
    let scenario = try Scenario(yaml: yaml, directory: directory)
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    let result = LabRun.run(scenario, executable: executable.hasPrefix("/") ? executable : FileManager.default.currentDirectoryPath + "/" + executable)
    print(result.summary)
    let directory = URL(fileURLWithPath: scenario.output)
    try result.write(to: directory)
    print("\nresults: \(directory.path)/result.json, report.html, captures mar*.pcapng, daemon logs *.log")
    if !result.passed { throw ExitCode(1) }
}
