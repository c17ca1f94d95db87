import DMMWire
import Yams

/// Reads a YAML mapping into typed values, naming the key path and the value
/// in every error, and refusing keys it does not know (a misspelt key would
/// otherwise silently fall back to a default).
public struct ConfigReader {
    let mapping: [String: Yams.Node]
    let path: String
    private var used: Set<String> = []

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public init(yaml text: String) throws {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw Invalid(description: "not valid YAML: \(error)")
        }
        guard let mapping = node?.mapping else { throw Invalid(description: "the configuration must be a YAML mapping of keys to values") }
        try self.init(mapping, path: "")
    }

    init(_ mapping: Yams.Node.Mapping, path: String) throws {
        var m: [String: Yams.Node] = [:]
        for (k, v) in mapping {
            guard let key = k.string else { throw Invalid(description: "\(path.isEmpty ? "a" : "in '\(path)', a") key is not text") }
            m[key] = v
        }
        self.mapping = m
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func fail(_ key: String, _ value: Yams.Node?, _ expected: String) -> Invalid {
        Invalid(description: "key '\(name(key))': '\(value?.string ?? value.map { "\($0)" } ?? "")' is not \(expected)")
    }

    mutating func node(_ key: String) -> Yams.Node? {
        used.insert(key)
        return mapping[key]
    }

    public mutating func string(_ key: String) throws -> String? {
        guard let n = node(key) else { return nil }
        guard let s = n.string, n.scalar != nil else { throw fail(key, n, "text") }
        return s
    }

    public mutating func required<T>(_ key: String, _ read: (inout ConfigReader, String) throws -> T?) throws -> T {
        guard let v = try read(&self, key) else { throw Invalid(description: "key '\(name(key))' is required") }
        return v
    }

    public mutating func address(_ key: String) throws -> IPv6Address? {
        guard let s = try string(key) else { return nil }
        guard let a = IPv6Address(s) else { throw fail(key, mapping[key], "an IPv6 address") }
        return a
    }

    public mutating func prefix(_ key: String) throws -> IPv6Prefix? {
        guard let s = try string(key) else { return nil }
        guard let p = IPv6Prefix(s) else { throw fail(key, mapping[key], "an IPv6 prefix such as 2001:db8:1::/48") }
        return p
    }

    public mutating func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let s = try string(key) else { return nil }
        guard let v = Double(s), range.contains(v) else { throw fail(key, mapping[key], "a number from \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    public mutating func bool(_ key: String) throws -> Bool? {
        guard let s = try string(key) else { return nil }
        switch s {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(key, mapping[key], "true or false")
        }
    }

    public mutating func integer<I: FixedWidthInteger>(_ key: String, in range: ClosedRange<I>) throws -> I? {
        guard let s = try string(key) else { return nil }
        guard let v = I(s), range.contains(v) else { throw fail(key, mapping[key], "a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    public mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E? where E.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let v = E(rawValue: s) else {
            throw fail(key, mapping[key], "one of " + E.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return v
    }

    public mutating func strings(_ key: String) throws -> [String]? {
        guard let n = node(key) else { return nil }
        guard let seq = n.sequence else { throw fail(key, n, "a list") }
        return try seq.enumerated().map { i, item in
            guard let s = item.string, item.scalar != nil else { throw fail("\(key)[\(i)]", item, "text") }
            return s
        }
    }

    public mutating func addresses(_ key: String) throws -> [IPv6Address]? { try items(key, "an IPv6 address", IPv6Address.init) }

    public mutating func prefixes(_ key: String) throws -> [IPv6Prefix]? { try items(key, "an IPv6 prefix", IPv6Prefix.init) }

    mutating func items<T>(_ key: String, _ what: String, _ parse: (String) -> T?) throws -> [T]? {
        try strings(key).map { list in
            try list.enumerated().map { i, s in
                guard let v = parse(s) else { throw Invalid(description: "key '\(name(key))[\(i)]': '\(s)' is not \(what)") }
                return v
            }
        }
    }

    /// A nested mapping, read by `body`.
    public mutating func section<T>(_ key: String, _ body: (inout ConfigReader) throws -> T) throws -> T? {
        guard let n = node(key) else { return nil }
        guard let m = n.mapping else { throw fail(key, n, "a mapping") }
        var inner = try ConfigReader(m, path: name(key))
        let v = try body(&inner)
        try inner.finish()
        return v
    }

    /// Each mapping of a list, read by `body`.
    public mutating func list<T>(_ key: String, _ body: (inout ConfigReader) throws -> T) throws -> [T]? {
        guard let n = node(key) else { return nil }
        guard let seq = n.sequence else { throw fail(key, n, "a list") }
        return try seq.enumerated().map { i, item in
            guard let m = item.mapping else { throw fail("\(key)[\(i)]", item, "a mapping") }
            var inner = try ConfigReader(m, path: "\(name(key))[\(i)]")
            let v = try body(&inner)
            try inner.finish()
            return v
        }
    }

    /// Refuses keys nobody read.
    public func finish() throws {
        if let unknown = mapping.keys.filter({ !used.contains($0) }).sorted().first {
            throw Invalid(description: "unknown key '\(name(unknown))'")
        }
    }
}
