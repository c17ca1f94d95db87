extension Array {
    /// Hands each element to `perform` in order, then empties the array
    /// keeping its room (`clear`): how every engine's `pollActions(_:)`
    /// gives out its actions in hot loops (a batch of requests grew the list
    /// anew each time otherwise). A daemon takes one or two actions after
    /// each datagram. Lent where they lie (`lend`), they are not copied:
    /// iterated and emptied by `removeAll(keepingCapacity:)`, they cost
    /// 500 instructions a change more, and lent as values, each was still
    /// copied and destroyed around the call, 670 more (`dmm bench
    /// controller`, stops 33 and 41).
    mutating func drain<E: Error>(_ perform: (Element) throws(E) -> Void) throws(E) {
        guard !isEmpty else { return }
        defer { clear() }
        _ = try lend { (action: inout Element) throws(E) -> Void? in
            try perform(action)
            return nil
        }
    }
}
