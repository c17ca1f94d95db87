import ArgumentParser
import DMMCore
import DMMWire
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: print figures, assert nothing. Build with -c release.",
        subcommands: [Wire.self, Engine.self, ControllerBench.self, Recovery.self, Kernel.self, Handover.self, Throughput.self]
    )

    /// The anchoring MAR the engine benchmarks drive, with the one peer its
    /// bindings go to and its location server.
    static let anchor = IPv6Address("2001:db8:ffff::1")!, visited = IPv6Address("2001:db8:ffff::2")!
    static let locationServer = IPv6Address("2001:db8:ffff::100")!
    static var anchoringMAR: AccessRouterConfig {
        AccessRouterConfig(address: anchor, prefixBlock: IPv6Prefix("2001:db8:100::/40")!, peers: [anchor, visited],
                           locationServer: locationServer)
    }

    struct Wire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode and decode a PBU, a PBA and a PFCP Session Modification Request on one core."
        )

        @Option(help: "Seconds to run each measurement.")
        var seconds: Double = 1.0

        func run() throws {
            let mag = IPv6Address("2001:db8:ffff::2")!, lma = IPv6Address("2001:db8:ffff::1")!
            let options: [MobilityOption] = [
                .mobileNodeIdentifier(.nai("mn1@dmm.example")),
                .homeNetworkPrefix(IPv6Prefix("2001:db8:1:1::/64")!),
                .handoffIndicator(.handoffSameInterface),
                .accessTechnologyType(.ieee8023),
                .mobileNodeLinkLayerIdentifier([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
                .linkLocalAddress(IPv6Address("fe80::1")!),
                .timestamp(Timestamp(unixSeconds: 1_795_000_000.25)),
            ]
            let pbu = MobilityHeader(.bindingUpdate(BindingUpdate(
                sequence: 7, flags: [.acknowledge, .homeRegistration, .proxyRegistration], lifetime: 900, options: options)))
            let pba = MobilityHeader(.bindingAcknowledgement(BindingAcknowledgement(
                status: .accepted, flags: [.proxyRegistration], sequence: 7, lifetime: 900, options: options)))
            print("dmm bench wire: one thread, \(seconds) s per figure in a hundred rounds, the median round's rate, and in brackets the median of the rounds with the machine's gauge at full speed before and after; checksums computed and verified")
            // Printed at the end, against the gauge's highest reading of the whole run.
            var gauge = MachineGauge()
            var lines: [(label: String, encodes: [MachineGauge.Part], decodes: [MachineGauge.Part])] = []
            for (name, message) in [("PBU", pbu), ("PBA", pba)] {
                let bytes = try message.encode(source: mag, destination: lma)
                let encodes = measure(seconds, &gauge) { i in
                    var m = message
                    if case .bindingUpdate(var bu) = m.message { bu.sequence = UInt16(truncatingIfNeeded: i); m.message = .bindingUpdate(bu) }
                    return (try? m.encode(source: mag, destination: lma).count) ?? 0
                }
                let decodes = measure(seconds, &gauge) { _ in
                    guard let m = try? MobilityHeader.decode(bytes, checksum: .verify(source: mag, destination: lma)) else { return 0 }
                    return m.message.options.count
                }
                lines.append(("\(name) (\(bytes.count) bytes)", encodes, decodes))
            }
            let modification = Self.move
            let bytes = try modification.encode()
            let encodes = measure(seconds, &gauge) { i in
                var m = modification
                m.header.sequence = UInt32(truncatingIfNeeded: i) & 0xFF_FFFF
                return (try? m.encode().count) ?? 0
            }
            let decodes = measure(seconds, &gauge) { _ in (try? PFCPMessage.decode(bytes).updateFAR.count) ?? 0 }
            lines.append(("PFCP Session Modification Request (\(bytes.count) bytes)", encodes, decodes))
            // The engines write each datagram into storage they reuse and
            // read each message into one they keep (PFCPExchange), so
            // neither allocates once it has grown.
            var buffer: [UInt8] = [], kept = PFCPMessage(.heartbeatRequest, sequence: 0)
            let keptEncodes = measure(seconds, &gauge) { i in
                var m = modification
                m.header.sequence = UInt32(truncatingIfNeeded: i) & 0xFF_FFFF
                return (try? m.encode(into: &buffer)) == nil ? 0 : buffer.count
            }
            let keptDecodes = measure(seconds, &gauge) { _ in (try? kept.read(bytes)) == nil ? 0 : kept.updateFAR.count }
            lines.append(("  the same into kept storage, as the engines", keptEncodes, keptDecodes))
            for (label, encodes, decodes) in lines {
                print("\(label): encode \(Rates(encodes, gauge)), decode \(Rates(decodes, gauge))")
            }
            print(String(format: "the machine's gauge: highest reading %.2fM decodes/s", gauge.top / 1e6))
        }

        /// What an anchor receives when its node moves: the downlink FAR now
        /// tunnels to the new far end, and a PDR takes the uplink out of the
        /// reverse tunnel.
        static var move: PFCPMessage {
            var m = PFCPMessage(.sessionModificationRequest, sequence: 1, seid: 0x10_0000_0001)
            let prefix = IPv6Prefix("2001:db8:1:5::/64")!
            m.updateFAR = [PFCPFAR(id: 1, applyAction: .forward, forwarding: PFCPForwardingParameters(
                destinationInterface: .core, outerHeaderCreation: .ipv6(toward: IPv6Address("fc00:2::d6")!)))]
            m.createPDR = [PFCPPDR(id: 2, precedence: 100, pdi: PFCPPDI(sourceInterface: .core, ueIPAddresses: [
                PFCPUEIPAddress(prefix: prefix, isDestination: false)]), outerHeaderRemoval: .ipv6, farID: 2)]
            m.createFAR = [PFCPFAR(id: 2, applyAction: .forward, forwarding: PFCPForwardingParameters(destinationInterface: .core))]
            return m
        }

        /// Runs `body` in a hundred rounds of a hundredth of `seconds` each,
        /// in batches, with the machine's gauge read after each, outside
        /// its time.
        func measure(_ seconds: Double, _ gauge: inout MachineGauge, _ body: (Int) -> Int) -> [MachineGauge.Part] {
            var sink = 0, calls = 0
            var rounds: [MachineGauge.Part] = []
            gauge.read()
            for _ in 0..<100 {
                let start = DispatchTime.now().uptimeNanoseconds
                var elapsed: UInt64 = 0, n = 0
                repeat {
                    for i in 0..<1_000 { sink &+= body(calls + i) }
                    calls += 1_000
                    n += 1_000
                    elapsed = DispatchTime.now().uptimeNanoseconds - start
                } while Double(elapsed) < seconds * 1e7
                rounds.append(gauge.part(n, seconds: Double(elapsed) / 1e9))
            }
            if sink == 42 { print("") }  // keeps the work observable to the optimizer
            return rounds
        }

        /// A measurement's median round, over all rounds and over those
        /// with the gauge at full speed on both sides. A round slowed by the
        /// rest of the machine (this virtual machine's speed halves for
        /// milliseconds at a time) moves the first little, the second not.
        struct Rates: CustomStringConvertible {
            var median: Double, atFullSpeed: Double?

            init(_ rounds: [MachineGauge.Part], _ gauge: MachineGauge) {
                func median(_ parts: [MachineGauge.Part]) -> Double? {
                    parts.isEmpty ? nil : parts.map(\.rate).sorted()[parts.count / 2]
                }
                self.median = median(rounds) ?? 0
                atFullSpeed = median(rounds.filter(gauge.atFullSpeed))
            }

            var description: String {
                String(format: "%.2fM msg/s", median / 1e6) + (atFullSpeed.map { String(format: " (%.2fM at full speed)", $0 / 1e6) } ?? " (no round at full speed)")
            }
        }
    }
}
