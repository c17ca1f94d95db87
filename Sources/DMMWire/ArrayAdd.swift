extension Array {
    /// `append`, with the first element through an array literal: growing
    /// an empty array takes the general path, a literal allocates at once.
    /// Every layer's short lists (a message's rule IEs, a session's rules)
    /// grow this way; `package` and inlinable, or it is a call across
    /// modules.
    @inlinable @inline(__always)
    package mutating func add(_ element: Element) {
        if isEmpty { self = [element] } else { append(element) }
    }
}
