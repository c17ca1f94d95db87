import DMMCore

/// The rules a router wants, one per key, and the one place that decides what
/// an engine's rule actions do to them. Every data plane (the Linux driver,
/// the network model, the test bed) makes true the changes this table
/// returns, and hands back the ones it could not make, which are retried with
/// backoff for as long as they still matter (BIRD's `krt` keeps such a list).
///
///     install(R)  -> R is the rule under its key (replacing any other): install R
///     remove(R)   -> only if R is the rule under its key: remove R; else nothing
///                    (a rule replaced under its key must not take its successor with it)
///     failed(C)   -> C again after 0.1 s, 0.2 s, ... 30 s, until it is made or a
///                    later change at its key supersedes it
public struct RuleTable: Sendable {
    public enum Change: Hashable, Sendable, CustomStringConvertible {
        case install(ForwardingRule)
        case remove(ForwardingRule)

        public var rule: ForwardingRule {
            switch self {
            case .install(let r), .remove(let r): r
            }
        }

        public var description: String {
            switch self {
            case .install(let r): "install \(r)"
            case .remove(let r): "remove \(r)"
            }
        }
    }

    /// A change that failed, and when to try it again.
    struct Retry: Sendable {
        var change: Change
        var attempts: Int
    }

    private var wanted: [ForwardingRule.Key: ForwardingRule] = [:]
    private var retries: [ForwardingRule.Key: Retry] = [:]
    private var retryTimers = TimerTable<ForwardingRule.Key>()
    /// The first retry's delay; each next one doubles, up to `maximumBackoff`.
    public var initialBackoff: Seconds = 0.1
    public var maximumBackoff: Seconds = 30

    public init() {}

    public subscript(key: ForwardingRule.Key) -> ForwardingRule? { wanted[key] }

    /// Every wanted rule, in no particular order.
    public var rules: Dictionary<ForwardingRule.Key, ForwardingRule>.Values { wanted.values }

    public var count: Int { wanted.count }

    /// Failed changes waiting for another attempt.
    public var pendingRetries: Int { retries.count }

    /// Wants `rule` under its key; returns the change that makes it true.
    public mutating func install(_ rule: ForwardingRule) -> Change {
        wanted[rule.key] = rule
        supersede(rule.key)
        return .install(rule)
    }

    /// Stops wanting `rule` if it is the rule under its key; returns the
    /// change that makes that true, or nil when nothing changes.
    public mutating func remove(_ rule: ForwardingRule) -> Change? {
        guard wanted[rule.key] == rule else { return nil }
        wanted[rule.key] = nil
        supersede(rule.key)
        return .remove(rule)
    }

    /// Wants exactly `rules` from now on, as a reconciliation after a restart
    /// does; pending retries end, since the reconciliation makes the whole
    /// table true.
    public mutating func replaceAll(with rules: some Sequence<ForwardingRule>) {
        wanted = Dictionary(rules.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        for key in Array(retries.keys) { supersede(key) }
    }

    /// Records that the data plane could not make `change`; it comes back
    /// from `dueRetries` after a backoff while it still matters.
    public mutating func failed(_ change: Change, at now: Instant) {
        guard matters(change) else { return }
        let key = change.rule.key
        let attempts = (retries[key].map { $0.change == change ? $0.attempts : 0 } ?? 0) + 1
        retries[key] = Retry(change: change, attempts: attempts)
        var delay = initialBackoff
        for _ in 1..<attempts where delay < maximumBackoff { delay = delay * 2 }
        retryTimers.set(key, at: now + min(delay, maximumBackoff))
    }

    /// The failed changes due for another attempt at `now`, in the order
    /// their backoffs ran out. Each is tried once; report how it went with
    /// `succeeded` or `failed` (which doubles its backoff).
    public mutating func dueRetries(at now: Instant) -> [Change] {
        retryTimers.expire(at: now).compactMap { key in
            guard let retry = retries[key], matters(retry.change) else { return nil }
            return retry.change
        }
    }

    /// A change that was made: its retry, if any, is done.
    public mutating func succeeded(_ change: Change) {
        if retries[change.rule.key]?.change == change { supersede(change.rule.key) }
    }

    /// When the next retry is due.
    public mutating func nextRetry() -> Instant? { retryTimers.next() }

    /// An install matters while its rule is wanted, a remove while nothing is
    /// wanted under its key.
    private func matters(_ change: Change) -> Bool {
        switch change {
        case .install(let r): wanted[r.key] == r
        case .remove(let r): wanted[r.key] == nil
        }
    }

    private mutating func supersede(_ key: ForwardingRule.Key) {
        if retries.removeValue(forKey: key) != nil { retryTimers.cancel(key) }
    }
}
