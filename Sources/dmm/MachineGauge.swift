import DMMWire
import Foundation

/// How fast this machine runs one core at a moment: the same fixed work,
/// `dmm bench wire`'s PFCP Session Modification decoded into kept storage
/// (its last figure), timed. A benchmark reads it between the parts of a
/// measurement, outside their time, to tell a part slowed by the machine
/// from one slowed by the code: the gauge falls with the first, not with
/// the second. On this project's machine (a virtual machine, presumably
/// sharing its core with other guests) it reads up to about 4.4M a second
/// and falls, in nearly every round of a benchmark, to half that or less,
/// mostly for a few milliseconds at a time, now and then for a second or
/// more (BENCHMARKS.md, stop 43).
struct MachineGauge {
    private let bytes: [UInt8]
    private var kept = PFCPMessage(.heartbeatRequest, sequence: 0)
    /// Decodes per reading: about 0.5 ms at this machine's full speed.
    private let decodes = 2_000
    /// The highest reading so far: the machine at full speed.
    private(set) var top = 0.0
    /// The last reading, the one before the next part.
    private var last = 0.0
    /// A reading at least this share of `top` is at full speed. A choice:
    /// the readings do not fall into two clean groups, but those at this
    /// share or more had their median at 95 % of `top` in six runs of
    /// `dmm bench controller` (BENCHMARKS.md, stop 43).
    static let fullSpeed = 0.85

    /// A part of a measurement: what it did, its time, and the gauge's
    /// readings before and after it.
    struct Part {
        var count: Int, seconds: Double, before: Double, after: Double
        var rate: Double { Double(count) / seconds }
    }

    /// Reads the gauge 100 times (50 ms) to find `top`.
    init() {
        // The message is the bench's own, which encodes.
        bytes = try! BenchCommand.Wire.move.encode()
        for _ in 0..<100 { read() }
    }

    /// Decodes per second now, kept in `last`.
    @discardableResult
    mutating func read() -> Double {
        var sink = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<decodes {
            if (try? kept.read(bytes)) != nil { sink &+= kept.updateFAR.count }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if sink == 42 { print("") }  // keeps the work observable to the optimizer
        last = Double(decodes) / seconds
        top = max(top, last)
        return last
    }

    /// A part that did `count` things in `seconds` since the last reading,
    /// with a reading taken now.
    mutating func part(_ count: Int, seconds: Double) -> Part {
        let before = last
        return Part(count: count, seconds: seconds, before: before, after: read())
    }

    /// Whether the machine ran at full speed on both sides of `part` (by
    /// the highest reading yet).
    func atFullSpeed(_ part: Part) -> Bool { min(part.before, part.after) >= top * Self.fullSpeed }

    /// The lowest and highest readings around `parts`, and the top.
    func range(_ parts: [Part]) -> String {
        let readings = parts.flatMap { [$0.before, $0.after] }
        return String(format: "gauge %.2fM to %.2fM (top %.2fM)", (readings.min() ?? 0) / 1e6, (readings.max() ?? 0) / 1e6, top / 1e6)
    }
}

extension [MachineGauge.Part] {
    /// The parts' time together.
    var seconds: Double { map(\.seconds).reduce(0, +) }
    /// What the parts did together, per second.
    var rate: Double { Double(map(\.count).reduce(0, +)) / seconds }
}
