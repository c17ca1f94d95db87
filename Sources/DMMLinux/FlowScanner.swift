/// Reads connection tracking in full on a thread of its own (a `Worker`).
/// The kernel walks its whole connection table, every namespace's (262,144
/// buckets on a machine with 24 GiB), inside the dump request: about 9 ms
/// here, which on a daemon's one thread held every message behind it once a
/// second. `request` starts a dump; `fd` turns readable when its result
/// waits in `take`.
public final class FlowScanner {
    private let worker: Worker<Void, Result<[FlowMonitor.Event], Error>>
    /// A dump was asked for and its result not yet taken.
    public private(set) var isScanning = false

    /// Opens its socket in `namespace` (nil: the caller's) and starts the thread.
    public init(namespace: String? = nil) throws {
        let monitor = try FlowMonitor(namespace: namespace, events: false)
        worker = try Worker(name: "dmm-flow-scan") { Result { try monitor.current() } }
    }

    /// Readable when a result waits.
    public var fd: Int32 { worker.fd }

    /// Asks for a dump; one already asked for and not yet taken is enough.
    public func request() {
        guard !isScanning else { return }
        isScanning = true
        worker.submit(())
    }

    /// The finished dump's flows, or its failure; nil while none waits.
    public func take() -> Result<[FlowMonitor.Event], Error>? {
        guard let last = worker.take().last else { return nil }
        isScanning = false
        return last
    }

    /// Ends the thread after the dump in progress, if any.
    public func stop() { worker.stop() }
}
