// libFuzzer target: the PFCP decoder. Any accepted input must encode and
// decode to the same value, and a refusal must point inside the input.
// Every input is also read into one message used again and again, as the
// engines read each datagram (`PFCPMessage.read`): it must take and refuse
// what `decode` does and hold what `decode` gives, whatever it held before,
// a message read halfway included.
nonisolated(unsafe) var reused = PFCPMessage(.heartbeatRequest, sequence: 0)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPFCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let m: PFCPMessage
    do { m = try PFCPMessage.decode(bytes) } catch {
        if error.offset < 0 || error.offset > size { fatalError("PFCP error offset \(error.offset) outside \(size) bytes") }
        if (try? reused.read(bytes)) != nil { fatalError("read takes what decode refuses") }
        return 0
    }
    do { try reused.read(bytes) } catch { fatalError("read refuses what decode takes: \(error)") }
    if reused != m { fatalError("read into a used message differs from decode: \(reused) against \(m)") }
    guard let again = try? PFCPMessage.decode(try m.encode()), again == m else {
        fatalError("PFCP message does not round-trip: \(m)")
    }
    return 0
}
