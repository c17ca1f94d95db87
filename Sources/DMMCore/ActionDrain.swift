extension Array {
    /// Hands each element to `perform` in order, then empties the array
    /// keeping its room: how every engine's `pollActions(_:)` gives out its
    /// actions in hot loops (a batch of requests grew the list anew each
    /// time otherwise).
    mutating func drain(_ perform: (Element) throws -> Void) rethrows {
        defer { removeAll(keepingCapacity: true) }
        for element in self { try perform(element) }
    }
}
