import DMMTestSupport
import Foundation
import Testing

@testable import DMMLab
import DMMNode

struct ScenarioTests {
    @Test func theShippedDemoReads() throws {
        let s = try Scenario(yaml: try Scenario.demoText())
        #expect(s.mars == 3 && s.start == "mar1" && s.moves == ["mar2", "mar3", "mar1"])
    }

    @Test func badScenariosNameTheProblem() {
        #expect(throws: DMMNode.ConfigReader.Invalid(description: "key 'node': 'mar4' is not one of mar1 to mar3")) {
            try Scenario(yaml: "mars: 3\nnode:\n  moves: [mar2, mar4]")
        }
        #expect(throws: DMMNode.ConfigReader.Invalid(description: "key 'node' is required")) { try Scenario(yaml: "mars: 3") }
    }
}

/// The demo scenario, for real, as CI runs it: the daemons on namespaces, a
/// long TCP connection and a ping through three moves and back home.
@Suite(.serialized, .enabled(if: TestNamespace.available || ProcessInfo.processInfo.environment["CI"] != nil, TestNamespace.skipReason))
struct LabDemoTests {
    static let dmm = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dmm").path

    @Test func theDemoScenarioPasses() throws {
        var text = try Scenario.demoText()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-lab-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        text = text.replacingOccurrences(of: "output: lab-output", with: "output: \(output)")
            .replacingOccurrences(of: "dwell: 3", with: "dwell: 1.5")
        let result = LabRun.run(try Scenario(yaml: text), executable: Self.dmm)
        try #require(result.passed, "\(result.summary)\n\(result.timeline.joined(separator: "\n"))")
        #expect(result.moves.count == 3 && result.moves.allSatisfy { $0.newConnectionUsedNewestPrefix })
        #expect(result.moves.allSatisfy { $0.interruptionMilliseconds != nil })
        let stream = try #require(result.stream)
        #expect(stream.error == "none" && stream.sent == stream.echoed && stream.sent > 100)
        try result.write(to: URL(fileURLWithPath: output))
        let html = try String(contentsOfFile: output + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("mar1 &rarr; mar2"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/result.json"))) as? [String: Any]
        #expect(json?["passed"] as? Bool == true)
    }
}
