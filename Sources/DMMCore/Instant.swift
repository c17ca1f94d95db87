/// A point in time given to the engines: nanoseconds since the Unix epoch.
/// Engines never read a clock; the daemon passes the system time, tests pass a
/// logical one. Wall-clock meaning matters only for PMIPv6 timestamps.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public init(seconds: Double) { nanoseconds = Int64((seconds * 1e9).rounded()) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: Instant, d: Seconds) -> Instant { Instant(nanoseconds: a.nanoseconds + d.nanoseconds) }
    public static func - (a: Instant, b: Instant) -> Seconds { Seconds(nanoseconds: a.nanoseconds - b.nanoseconds) }

    public var description: String { String(format3(seconds)) + "s" }
}

/// A duration, in the same nanoseconds.
public struct Seconds: Hashable, Comparable, Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public init(_ seconds: Double) { nanoseconds = Int64((seconds * 1e9).rounded()) }
    public init(floatLiteral v: Double) { self.init(v) }
    public init(integerLiteral v: Int) { nanoseconds = Int64(v) * 1_000_000_000 }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public static func < (a: Seconds, b: Seconds) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func * (a: Seconds, k: Double) -> Seconds { Seconds(a.seconds * k) }
    public var description: String { format3(seconds) + "s" }
}

/// Three decimals, without Foundation.
func format3(_ v: Double) -> String {
    let ms = Int64((v * 1000).rounded())
    let sign = ms < 0 ? "-" : ""
    let a = abs(ms)
    let frac = String(a % 1000)
    return sign + String(a / 1000) + "." + String(repeating: "0", count: 3 - frac.count) + frac
}
