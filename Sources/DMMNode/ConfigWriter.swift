import DMMCore
import Yams

/// Writes typed configuration values as YAML, key by key, the reverse of
/// `ConfigReader`: a configuration another program needs (the lab's daemons)
/// is encoded from the values the daemon will decode, never pieced together
/// from text.
struct ConfigWriter {
    private var pairs: [(Yams.Node, Yams.Node)] = []

    mutating func set(_ key: String, _ value: (some CustomStringConvertible)?) {
        if let value { pairs.append((Yams.Node(key), Yams.Node("\(value)"))) }
    }

    mutating func set(_ key: String, _ seconds: Seconds) { set(key, seconds.seconds) }

    mutating func set(_ key: String, list: [String]) {
        pairs.append((Yams.Node(key), Yams.Node.sequence(Yams.Node.Sequence(list.map { Yams.Node($0) }))))
    }

    mutating func set(_ key: String, section: ConfigWriter) { pairs.append((Yams.Node(key), section.node)) }

    mutating func set(_ key: String, sections: [ConfigWriter]) {
        pairs.append((Yams.Node(key), Yams.Node.sequence(Yams.Node.Sequence(sections.map(\.node)))))
    }

    var node: Yams.Node { Yams.Node.mapping(Yams.Node.Mapping(pairs)) }

    /// The YAML text; serializing plain strings cannot fail.
    var text: String { (try? Yams.serialize(node: node)) ?? "" }
}
