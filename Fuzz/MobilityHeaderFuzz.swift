// libFuzzer target: the Mobility Header decoder. Any accepted input must
// encode and decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMobilityHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let m = try? MobilityHeader.decode(bytes, checksum: .skip) else { return 0 }
    guard let again = try? MobilityHeader.decode(try m.encode(), checksum: .skip), again == m else {
        fatalError("Mobility Header does not round-trip: \(m)")
    }
    return 0
}
