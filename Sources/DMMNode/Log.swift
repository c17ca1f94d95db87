import Foundation

/// Structured logs: one line per event on standard error, logfmt
/// (`time=... level=info daemon=mar1 event=attach link=mn1 ...`), so that
/// both people and tools can read them.
public struct Log: Sendable {
    public let daemon: String
    public var debug = false

    public init(daemon: String) { self.daemon = daemon }

    public func info(_ event: String, _ fields: KeyValuePairs<String, Any> = [:]) { write("info", event, fields) }
    public func warning(_ event: String, _ fields: KeyValuePairs<String, Any> = [:]) { write("warning", event, fields) }
    public func error(_ event: String, _ fields: KeyValuePairs<String, Any> = [:]) { write("error", event, fields) }
    public func trace(_ event: String, _ fields: KeyValuePairs<String, Any> = [:]) { if debug { write("debug", event, fields) } }

    func write(_ level: String, _ event: String, _ fields: KeyValuePairs<String, Any>) {
        var line = "time=\(Self.timestamp()) level=\(level) daemon=\(daemon) event=\(event)"
        for (k, v) in fields { line += " \(k)=\(Self.quoted("\(v)"))" }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func quoted(_ s: String) -> String {
        s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || s.isEmpty
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : s
    }

    static func timestamp() -> String { String(format: "%.6f", wallClock().seconds) }
}
