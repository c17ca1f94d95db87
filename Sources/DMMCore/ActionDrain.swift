extension Array {
    /// Hands each element to `perform` in order, then empties the array
    /// keeping its room (`clear`): how every engine's `pollActions(_:)`
    /// gives out its actions in hot loops (a batch of requests grew the list
    /// anew each time otherwise). A daemon takes one or two actions after
    /// each datagram; lent in place rather than iterated, they are not
    /// copied (`dmm bench controller`: with `clear`, 500 instructions a
    /// change fewer than iterating and `removeAll(keepingCapacity:)`).
    mutating func drain(_ perform: (Element) throws -> Void) rethrows {
        guard !isEmpty else { return }
        defer { clear() }
        try withUnsafeBufferPointer { elements in
            for i in elements.indices { try perform(elements[i]) }
        }
    }
}
