import DMMWire

/// The IPv6 addresses of the caller's network namespace, from
/// /proc/net/if_inet6: one line per address, its 32 hex digits, the
/// interface index, prefix length, scope and flags in hex, and the
/// interface's name. Read through /proc/thread-self, which follows a thread
/// that entered another namespace.
public struct InterfaceAddress: Sendable, Hashable {
    public var address: IPv6Address
    public var prefixLength: UInt8
    /// 0 global, 0x20 link-local (the kernel's IPV6_ADDR_* scope bits).
    public var scope: UInt8
    public var interface: String

    public var isGlobal: Bool { scope == 0 }

    /// Every address; none if the file cannot be read.
    public static func current() -> [InterfaceAddress] {
        let table = (try? String(contentsOfFile: "/proc/thread-self/net/if_inet6", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count == 6, f[0].count == 32, let high = UInt64(f[0].prefix(16), radix: 16), let low = UInt64(f[0].suffix(16), radix: 16),
                let length = UInt8(f[2], radix: 16), length <= 128, let scope = UInt8(f[3], radix: 16)
            else { return nil }
            return InterfaceAddress(address: IPv6Address(high: high, low: low), prefixLength: length, scope: scope, interface: String(f[5]))
        }
    }
}
