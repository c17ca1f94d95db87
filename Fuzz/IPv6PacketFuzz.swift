// libFuzzer target: the IPv6 packet decoder, with checksums verified, so the
// fuzzer also reaches the checksum paths. Accepted packets must round-trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIPv6Packet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let p = try? IPv6Packet.decode(bytes, verifyChecksum: size % 2 == 0) else { return 0 }
    guard let again = try? IPv6Packet.decode(try p.encode()), again == p else {
        fatalError("IPv6 packet does not round-trip: \(p)")
    }
    _ = p.fields.json
    return 0
}
