// libFuzzer target: the ICMPv6 / Neighbor Discovery decoder. Any accepted
// input must encode and decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzICMPv6(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let m = try? ICMPv6Message.decode(bytes, checksum: .skip) else { return 0 }
    let encoded = try? m.encode(source: .unspecified, destination: .unspecified)
    guard let encoded, let again = try? ICMPv6Message.decode(encoded, checksum: .skip), again == m else {
        fatalError("ICMPv6 message does not round-trip: \(m)")
    }
    return 0
}
