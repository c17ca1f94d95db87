import ArgumentParser
import DMMLinux
import DMMWire
import Foundation

struct WireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Work with messages on the wire.",
        subcommands: [Decode.self]
    )

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print Mobility Header, Neighbor Discovery and PFCP messages field by field.",
            discussion: """
                HEX is one message in hexadecimal (spaces and colons allowed): a whole IPv6
                packet, or a bare Mobility Header, ICMPv6 or PFCP message (PFCP also inside
                IPv6 and UDP, on port 8805). Checksums are verified
                when the IPv6 addresses are known: from the packet, or from --source and
                --destination. Exits non-zero on any malformed input.
                """
        )

        enum Layer: String, ExpressibleByArgument, CaseIterable {
            case auto, ipv6, mh, icmpv6, pfcp
        }

        @Argument(help: "The message in hexadecimal.")
        var hex: String?

        @Option(help: "Decode every packet of a pcap or pcapng capture file.")
        var pcap: String?

        @Option(help: "What HEX holds: auto, ipv6, mh, icmpv6 or pfcp.")
        var layer: Layer = .auto

        @Option(help: "Source address, to verify the checksum of a bare message.")
        var source: String?

        @Option(help: "Destination address, to verify the checksum of a bare message.")
        var destination: String?

        @Flag(help: "Do not verify checksums.")
        var noChecksum = false

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func validate() throws {
            if (hex == nil) == (pcap == nil) { throw ValidationError("give either HEX or --pcap FILE") }
            for (name, value) in [("--source", source), ("--destination", destination)] {
                if let value, IPv6Address(value) == nil { throw ValidationError("\(name) '\(value)' is not an IPv6 address") }
            }
            if (source == nil) != (destination == nil) {
                throw ValidationError("--source and --destination go together")
            }
        }

        func run() throws {
            if let pcap { try decodeCapture(pcap) } else if let hex { try decodeHex(hex) }
        }

        func decodeHex(_ text: String) throws {
            let bytes: [UInt8]
            do { bytes = try Hex.decode(text) } catch { fail("\(error)") }
            do {
                let field = try decodeBytes(bytes)
                print(json ? field.json : field.text())
            } catch {
                fail("malformed message: \(error)")
            }
        }

        func decodeBytes(_ bytes: [UInt8]) throws(WireError) -> Field {
            var policy = Checksum.Policy.skip
            if !noChecksum, let s = source.flatMap(IPv6Address.init), let d = destination.flatMap(IPv6Address.init) {
                policy = .verify(source: s, destination: d)
            }
            switch layer == .auto ? Self.guessLayer(bytes) : layer {
            case .ipv6, .auto: return try IPv6Packet.decode(bytes, verifyChecksum: !noChecksum).fields
            case .mh: return try MobilityHeader.decode(bytes, checksum: policy).fields
            case .icmpv6: return try ICMPv6Message.decode(bytes, checksum: policy).fields
            case .pfcp: return try PFCPMessage.decode(bytes).fields
            }
        }

        /// An IPv6 packet if the header fits the length exactly; a Mobility
        /// Header if its Header Len does; PFCP if version 1 and its Message
        /// Length do; otherwise ICMPv6.
        static func guessLayer(_ b: [UInt8]) -> Layer {
            if b.count >= 40, b[0] >> 4 == 6, 40 + (Int(b[4]) << 8 | Int(b[5])) == b.count { return .ipv6 }
            if b.count >= 8, (Int(b[1]) + 1) * 8 == b.count, b[0] == 59 { return .mh }
            if b.count >= 8, b[0] >> 5 == 1, 4 + (Int(b[2]) << 8 | Int(b[3])) == b.count { return .pfcp }
            return b.first.map { $0 >= 128 } == true ? .icmpv6 : .mh
        }

        func decodeCapture(_ path: String) throws {
            guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
            let records: [PcapRecord]
            do { records = try PcapReader.read(Array(data)) } catch { fail("\(path): \(error)") }
            var failures = 0
            var out: [String] = []
            for record in records {
                var frame = Field("Frame", key: "frame", .int(Int64(record.number)),
                                  children: [.string("Time", "time", String(format: "%.6f", record.time))])
                if let packet = record.ipv6 {
                    do {
                        frame.children.append(try IPv6Packet.decode(packet, verifyChecksum: !noChecksum).fields)
                    } catch {
                        failures += 1
                        frame.children.append(.string("Error", "error", "malformed packet: \(error)"))
                    }
                } else {
                    frame.children.append(.string("Skipped", "skipped", record.skipped ?? "not IPv6"))
                }
                out.append(json ? frame.json : frame.text())
            }
            print(json ? "[" + out.joined(separator: ",\n") + "]" : out.joined(separator: "\n\n"))
            if failures > 0 { fail("\(failures) of \(records.count) packets in \(path) are malformed") }
        }
    }
}

/// Prints an error on standard error and exits with status 1.
/// Exits naming every prerequisite the machine lacks, before anything is built.
func require(_ prerequisites: [Prerequisite]) {
    do { try Prerequisite.check(prerequisites) } catch { fail("\(error)") }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    exit(1)
}

enum Hex {
    struct BadHex: Error, CustomStringConvertible {
        var description: String
    }

    /// Hex digits, with any whitespace, colons or a leading 0x ignored.
    static func decode(_ text: String) throws -> [UInt8] {
        var digits = text.filter { !$0.isWhitespace && $0 != ":" }
        if digits.hasPrefix("0x") { digits.removeFirst(2) }
        guard !digits.isEmpty else { throw BadHex(description: "no hex digits given") }
        var out: [UInt8] = []
        var high: UInt8?
        for (i, c) in digits.enumerated() {
            guard let v = c.hexDigitValue else { throw BadHex(description: "'\(c)' at position \(i) is not a hex digit") }
            if let h = high { out.append(h << 4 | UInt8(v)); high = nil } else { high = UInt8(v) }
        }
        if high != nil { throw BadHex(description: "odd number of hex digits (\(digits.count))") }
        return out
    }
}
