import CNftables

/// The router's nftables table `inet dmm`, written through libnftables in the
/// daemon's own namespace (no `nft` process). Connection tracking runs in a
/// namespace only while some rule uses it, and the flow counts that drive
/// mobility only when needed (RFC 8818 section 4) come from it, so the table
/// holds one `ct` rule on the forward path. Tunnel packets (IPv6 in IPv6,
/// next header 41) are not tracked: the flows that matter are inside them,
/// tracked where they enter.
public enum ConnectionTracking {
    public static let table = "inet dmm"

    /// The whole table in one transaction: adding the table first makes the
    /// delete succeed when it is not there, so a restart replaces what a
    /// killed predecessor left.
    static let ruleset = """
        add table \(table)
        delete table \(table)
        table \(table) {
            chain track {
                type filter hook forward priority 0;
                ct state new counter
            }
            chain raw {
                type filter hook prerouting priority raw;
                meta l4proto 41 notrack
            }
        }
        """

    /// Installs the table, replacing any earlier one.
    public static func install() throws { try run(ruleset) }

    /// Removes the table, if it is there.
    public static func remove() throws { try run("add table \(table)\ndelete table \(table)") }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs nftables commands; returns their output or throws with nftables'
    /// own error text.
    @discardableResult
    static func run(_ commands: String) throws -> String {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { throw Failure(description: "nftables: cannot create a context") }
        defer { nft_ctx_free(context) }
        nft_ctx_buffer_output(context)
        nft_ctx_buffer_error(context)
        let status = nft_run_cmd_from_buffer(context, commands)
        guard status == 0 else {
            let error = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? ""
            throw Failure(description: "nftables: \(error.isEmpty ? "status \(status)" : error)")
        }
        return nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
    }
}
