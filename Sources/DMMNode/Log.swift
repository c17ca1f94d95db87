import DMMCore
import Foundation
import Logging

/// swift-log's output for the daemons: one line per event on standard error,
/// logfmt (`time=... level=info daemon=mar1 event=attach link=mn1 ...`), so
/// that both people and tools can read them. The message is the event's
/// name; the metadata, in key order, are its fields.
public struct LogfmtLogHandler: LogHandler {
    public let daemon: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Where the lines go: standard error, or a test's buffer.
    let output: @Sendable (String) -> Void

    public init(daemon: String, output: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.daemon = daemon
        self.output = output
    }

    /// A logger for a daemon, at `.debug` when `debug` is set.
    public static func logger(daemon: String, debug: Bool = false) -> Logger {
        var logger = Logger(label: daemon) { _ in LogfmtLogHandler(daemon: daemon) }
        logger.logLevel = debug ? .debug : .info
        return logger
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Written by hand, without Foundation's String(format:) or an enum's
        // description (reflection): a line is written while the controller's
        // message for the same handover may be waiting (15 to 18 us a line
        // measured after this change).
        var line = "time=\(Self.time(wallClock())) level=\(event.level.rawValue) daemon=\(daemon) event=\(event.message)"
        if let provided = metadataProvider?.get() { for (k, v) in provided.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(Self.quoted("\(v)"))" } }
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(Self.quoted("\(v)"))" }
        output(line + "\n")
    }

    /// Seconds since 1970 with six decimals.
    static func time(_ t: Instant) -> String {
        let micros = t.nanoseconds / 1000, fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    static func quoted(_ s: String) -> String {
        s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || s.isEmpty
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : s
    }
}
