// libFuzzer target: the PFCP decoder. Any accepted input must encode and
// decode to the same value, and a refusal must point inside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPFCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let m: PFCPMessage
    do { m = try PFCPMessage.decode(bytes) } catch {
        if error.offset < 0 || error.offset > size { fatalError("PFCP error offset \(error.offset) outside \(size) bytes") }
        return 0
    }
    guard let again = try? PFCPMessage.decode(try m.encode()), again == m else {
        fatalError("PFCP message does not round-trip: \(m)")
    }
    return 0
}
