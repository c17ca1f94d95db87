import Testing

@testable import DMMWire

struct AddressTests {
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // RFC 5952 4.2.3: the first of equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // 4.2.2: one zero group is not shortened
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func parsesAndPrintsInRFC5952Form(_ input: String, _ canonical: String) throws {
        let a = try #require(IPv6Address(input))
        #expect(a.description == canonical)
        #expect(IPv6Address(canonical) == a)
        #expect(IPv6Address(bytes: a.bytes) == a)
    }

    @Test(arguments: ["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "1:2:3:4:5:6:7", "::1.2.3",
                      "1.2.3.4", "::256.0.0.1", "1:2:3:4:5:6:7::8"])
    func refusesMalformedText(_ input: String) {
        #expect(IPv6Address(input) == nil)
    }

    @Test func prefixesMaskAndContain() throws {
        let p = try #require(IPv6Prefix("2001:db8:1:1::/64"))
        #expect(p.contains(IPv6Address("2001:db8:1:1:a:b:c:d")!))
        #expect(!p.contains(IPv6Address("2001:db8:1:2::1")!))
        #expect(IPv6Address("2001:db8:ffff:ffff::1")!.masked(to: 36).description == "2001:db8:f000::")
        #expect(IPv6Prefix(covering: IPv6Address("2001:db8:1:1:a:b:c:d")!, length: 64) == p)
        #expect(IPv6Prefix(covering: IPv6Address("2001:db8:ffff:ffff::1")!, length: 36).description == "2001:db8:f000::/36")
        #expect(IPv6Prefix("::/129") == nil)
        #expect(IPv6Address("fe80::1")!.isLinkLocal && !IPv6Address("2001:db8::1")!.isLinkLocal)
    }
}
