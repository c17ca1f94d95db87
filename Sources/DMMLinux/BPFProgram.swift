import CNetlink
import Glibc

/// A small eBPF assembler and loader: the instructions the tunnel programs
/// need (`BPFTunnels.swift`), with jumps to named labels, encoded as the
/// kernel's `struct bpf_insn` (opcode, dst and src registers in one byte,
/// signed 16-bit offset, signed 32-bit immediate; linux/bpf.h). Written by
/// hand so the build needs no BPF compiler and the daemon no object files.
struct BPFProgram {
    enum Register: UInt8 { case r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, fp }
    enum Size: UInt8 { case word = 0x00, half = 0x08, byte = 0x10 }
    enum Condition: UInt8 { case equal = 0x10, notEqual = 0x50 }

    private struct Instruction {
        var code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, offset: Int16 = 0, immediate: Int32 = 0
        var target: String? = nil
    }

    private var instructions: [Instruction] = []
    private var labels: [String: Int] = [:]

    // Classes, modes and operations (linux/bpf_common.h, linux/bpf.h).
    private static let ld: UInt8 = 0x00, ldx: UInt8 = 0x01, st: UInt8 = 0x02, stx: UInt8 = 0x03, alu: UInt8 = 0x04
    private static let jmp: UInt8 = 0x05, alu64: UInt8 = 0x07, mem: UInt8 = 0x60, dw: UInt8 = 0x18, x: UInt8 = 0x08

    mutating func move(_ dst: Register, _ src: Register) {
        instructions.append(Instruction(code: Self.alu64 | 0xb0 | Self.x, dst: dst.rawValue, src: src.rawValue))
    }

    mutating func move(_ dst: Register, _ value: Int32) {
        instructions.append(Instruction(code: Self.alu64 | 0xb0, dst: dst.rawValue, immediate: value))
    }

    mutating func add(_ dst: Register, _ value: Int32) {
        instructions.append(Instruction(code: Self.alu64 | 0x00, dst: dst.rawValue, immediate: value))
    }

    /// Byte-swaps the low `bits` of a register to network order.
    mutating func toBigEndian(_ dst: Register, bits: Int32) {
        instructions.append(Instruction(code: Self.alu | 0xd0 | Self.x, dst: dst.rawValue, immediate: bits))
    }

    mutating func load(_ dst: Register, _ size: Size, from base: Register, _ offset: Int16) {
        instructions.append(Instruction(code: Self.ldx | Self.mem | size.rawValue, dst: dst.rawValue, src: base.rawValue, offset: offset))
    }

    mutating func store(_ size: Size, to base: Register, _ offset: Int16, _ src: Register) {
        instructions.append(Instruction(code: Self.stx | Self.mem | size.rawValue, dst: base.rawValue, src: src.rawValue, offset: offset))
    }

    mutating func store(_ size: Size, to base: Register, _ offset: Int16, value: Int32) {
        instructions.append(Instruction(code: Self.st | Self.mem | size.rawValue, dst: base.rawValue, offset: offset, immediate: value))
    }

    /// Stores `bytes` on the stack from `offset` as they are (wire order).
    mutating func store(bytes: [UInt8], at offset: Int16) {
        for i in stride(from: 0, to: bytes.count, by: 4) {
            let word = bytes[i..<i + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            store(.word, to: .fp, offset + Int16(i), value: Int32(bitPattern: word))
        }
    }

    /// A map's descriptor as a 64-bit immediate the loader turns into the map.
    mutating func loadMap(_ dst: Register, descriptor: Int32) {
        instructions.append(Instruction(code: Self.ld | Self.dw, dst: dst.rawValue, src: 1, immediate: descriptor))  // BPF_PSEUDO_MAP_FD
        instructions.append(Instruction(code: 0))
    }

    mutating func jump(if condition: Condition, _ register: Register, _ value: Int32, to label: String) {
        instructions.append(Instruction(code: Self.jmp | condition.rawValue, dst: register.rawValue, immediate: value, target: label))
    }

    mutating func call(_ helper: Int32) { instructions.append(Instruction(code: Self.jmp | 0x80, immediate: helper)) }

    mutating func exit() { instructions.append(Instruction(code: Self.jmp | 0x90)) }

    mutating func label(_ name: String) { labels[name] = instructions.count }

    /// `r0 = value; exit`.
    mutating func `return`(_ value: Int32) {
        move(.r0, value)
        exit()
    }

    /// The instructions as the kernel reads them.
    var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(instructions.count * 8)
        for (i, var insn) in instructions.enumerated() {
            if let t = insn.target, let at = labels[t] { insn.offset = Int16(at - i - 1) }
            out.append(insn.code)
            out.append(insn.src << 4 | insn.dst)
            withUnsafeBytes(of: insn.offset.littleEndian) { out += $0 }
            withUnsafeBytes(of: insn.immediate.littleEndian) { out += $0 }
        }
        return out
    }

    /// Loads the program; the verifier's log is in the error when it refuses.
    func load(type: UInt32, name: String) throws -> Int32 {
        let code = encoded
        var log = [CChar](repeating: 0, count: 1 << 16)
        let fd = code.withUnsafeBytes { insns in
            cnl_bpf_prog_load(type, insns.baseAddress!.assumingMemoryBound(to: bpf_insn.self), UInt32(code.count / 8), name,
                              &log, UInt32(log.count))
        }
        guard fd >= 0 else {
            let e = errno
            let verifier = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw NetlinkSocket.Failure(description: "the kernel refused BPF program \(name): \(String(cString: strerror(e)))"
                                        + (verifier.isEmpty ? "" : "\n\(verifier)"))
        }
        return fd
    }
}
