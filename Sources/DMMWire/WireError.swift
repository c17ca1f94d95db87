/// Why a decoder refused its input: what kind of fault (a closed set, for
/// counting), what exactly is wrong, and at which byte offset (counted from
/// the start of the buffer handed to the decoder).
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable {
        /// Fewer bytes than the format needs.
        case truncated
        /// A length field that does not fit the format or the bytes present.
        case badLength = "bad length"
        /// A field with a value the format does not allow.
        case badValue = "bad value"
        case badChecksum = "bad checksum"
        /// More than the format can carry (when encoding).
        case tooLong = "too long"
        /// Not this format at all.
        case unknownFormat = "unknown format"
        /// A mandatory element is absent.
        case missing
    }

    public var kind: Kind
    public var reason: String
    public var offset: Int
    /// The type of the PFCP information element at fault, when there is one:
    /// PFCP answers such faults with it as the Offending IE.
    public var element: UInt16?

    public init(_ kind: Kind, _ reason: String, at offset: Int) {
        self.kind = kind
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason) (at byte offset \(offset))" }
}
