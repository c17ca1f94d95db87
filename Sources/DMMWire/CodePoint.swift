/// A registry value on the wire (a status, a type, an indicator): every enum of
/// code points keeps unknown values as `.unknown(raw)` so that nothing is lost
/// and no input traps.
public protocol CodePoint: Hashable, Sendable {
    init(rawValue: UInt8)
    var rawValue: UInt8 { get }
    /// The registry's name for the value, or "unknown".
    var name: String { get }
}

extension CodePoint {
    static func lookup(_ raw: UInt8, in table: [(Self, UInt8, String)]) -> Self? {
        table.first { $0.1 == raw }?.0
    }
    static func code(of value: Self, in table: [(Self, UInt8, String)]) -> UInt8 {
        table.first { $0.0 == value }!.1
    }
    static func name(of raw: UInt8, in table: [(Self, UInt8, String)]) -> String {
        table.first { $0.1 == raw }?.2 ?? "unknown"
    }
}
