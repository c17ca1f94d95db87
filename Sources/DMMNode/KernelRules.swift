import DMMCore
import DMMDataPlane
import DMMLinux
import Logging

/// The rules a daemon's engine asked for, made true in the kernel: changes
/// gather and are written in batches (`apply`), and what the kernel refuses
/// is tried again with backoff while it is still wanted (`RuleTable`).
final class KernelRules {
    let dataPlane: LinuxDataPlane
    let metrics: DaemonMetrics
    let log: Logger
    /// Rules asked for, one per key, and the failed writes to retry.
    private(set) var table = RuleTable()
    private var pending: [LinuxDataPlane.Change] = []
    /// Kernel rule changes made, for `dmm ctl`.
    private(set) var changes = 0

    init(dataPlane: LinuxDataPlane, metrics: DaemonMetrics, log: Logger) {
        self.dataPlane = dataPlane
        self.metrics = metrics
        self.log = log
    }

    var rules: [ForwardingRule] { Array(table.rules) }

    func install(_ rule: ForwardingRule) { pending.append(table.install(rule)) }

    func remove(_ rule: ForwardingRule) {
        if let change = table.remove(rule) { pending.append(change) }
    }

    /// Makes the pending changes true; what the kernel refuses is retried
    /// (see `retry`), and so is a whole batch lost to a netlink error.
    func apply() {
        guard !pending.isEmpty else { return }
        let now = wallClock()
        do {
            let failures = try dataPlane.apply(pending)
            for failure in failures {
                metrics.count("dmm_rule_failures_total")
                log.error("rule", metadata: ["change": "\(failure.change)", "error": "\(failure)"])
                table.failed(failure.change, at: now)
            }
            if table.pendingRetries > 0 {
                let failed = Set(failures.map(\.change))
                for change in pending where !failed.contains(change) { table.succeeded(change) }
            }
        } catch {
            log.error("netlink", metadata: ["error": "\(error)"])
            metrics.count("dmm_rule_failures_total", by: pending.count)
            for change in pending { table.failed(change, at: now) }
        }
        metrics.count("dmm_rule_changes_total", by: pending.count)
        changes += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// Failed kernel writes whose backoff ran out, tried again.
    func retry(at now: Instant) {
        pending += table.dueRetries(at: now)
        apply()
    }

    func nextRetry() -> Instant? { table.nextRetry() }

    /// Removes from the kernel what this daemon owns and no longer asks for,
    /// and adds what is missing.
    func reconcile() throws -> (added: Int, removed: Int, failures: [LinuxDataPlane.Failure]) { try dataPlane.reconcile(Set(table.rules)) }

    /// The gauges every daemon with rules exposes.
    func recordGauges() {
        metrics.gauge("dmm_rule_retries_pending", table.pendingRetries)
        metrics.gauge("dmm_tunnels", table.rules.filter { if case .encapsulate = $0 { true } else { false } }.count)
    }
}
