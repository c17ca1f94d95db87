/// Why a decoder refused its input: what is wrong and at which byte offset
/// (counted from the start of the buffer handed to the decoder).
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason) (at byte offset \(offset))" }
}
