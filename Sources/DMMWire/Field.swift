/// A decoded message as a tree of named fields, the shape `tshark -V` prints.
/// The same tree renders as indented text and as JSON, so both outputs of
/// `dmm wire decode` always agree.
public struct Field: Sendable, Hashable {
    /// Words for a person: "Sequence number".
    public var label: String
    /// A JSON key: "sequence".
    public var key: String
    public var value: Value?
    /// The registry name of a code point, or a unit: printed after the value,
    /// and in JSON as `<key>_name`.
    public var note: String?
    public var children: [Field]
    /// Children are repeated items (options): a JSON array, not an object.
    public var isList: Bool

    public enum Value: Sendable, Hashable {
        case int(Int64)
        case bool(Bool)
        case string(String)
    }

    public init(_ label: String, key: String, _ value: Value? = nil, note: String? = nil,
                children: [Field] = [], isList: Bool = false) {
        self.label = label
        self.key = key
        self.value = value
        self.note = note
        self.children = children
        self.isList = isList
    }

    public static func int<I: BinaryInteger>(_ label: String, _ key: String, _ v: I, note: String? = nil) -> Field {
        Field(label, key: key, .int(Int64(v)), note: note)
    }
    public static func bool(_ label: String, _ key: String, _ v: Bool) -> Field { Field(label, key: key, .bool(v)) }
    public static func string(_ label: String, _ key: String, _ v: String) -> Field { Field(label, key: key, .string(v)) }
    public static func hex(_ label: String, _ key: String, _ bytes: [UInt8]) -> Field {
        Field(label, key: key, .string(bytes.map { h2($0) }.joined(separator: ":")))
    }

    // MARK: Rendering

    public func text(indent: Int = 0) -> String {
        var line = String(repeating: "    ", count: indent) + label
        if let value {
            line += ": " + value.text
            if let note { line += " (\(note))" }
        }
        return ([line] + children.map { $0.text(indent: indent + 1) }).joined(separator: "\n")
    }

    /// The tree as one JSON object: `{"<key>": ...}`.
    public var json: String { "{" + member + "}" }

    var member: String {
        var parts = [Self.quote(key) + ":" + body]
        if let note, value != nil { parts.append(Self.quote(key + "_name") + ":" + Self.quote(note)) }
        return parts.joined(separator: ",")
    }

    var body: String {
        if children.isEmpty { return value?.json ?? "null" }
        if isList { return "[" + children.map { "{" + $0.member + "}" }.joined(separator: ",") + "]" }
        var members = children.map(\.member)
        if let value { members.insert(Self.quote("value") + ":" + value.json, at: 0) }
        return "{" + members.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                out += "\\u00" + h2(UInt8(u.value))
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

extension Field.Value {
    var text: String {
        switch self {
        case .int(let v): String(v)
        case .bool(let b): b ? "Set" : "Not set"
        case .string(let s): s
        }
    }
    var json: String {
        switch self {
        case .int(let v): String(v)
        case .bool(let b): b ? "true" : "false"
        case .string(let s): Field.quote(s)
        }
    }
}

/// Two lower-case hex digits.
@inline(__always) func h2(_ b: UInt8) -> String {
    let digits: [Character] = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 0xF)]])
}
