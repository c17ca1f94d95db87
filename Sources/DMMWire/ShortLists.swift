/// How every layer keeps its short lists (a message's rule IEs, a
/// session's rules): most hold nothing or one element. `package` and
/// inlinable, or each is a call across modules.
extension Array {
    /// `append`, with the first element through an array literal: growing
    /// an array without storage takes the general path, a literal allocates
    /// at once. A list emptied by `clear` keeps its storage and appends.
    @inlinable @inline(__always)
    package mutating func add(_ element: Element) {
        if capacity == 0 { self = [element] } else { append(element) }
    }

    /// `removeAll(keepingCapacity: true)` for the cost of a test on an
    /// empty list: the general path replaces a subrange, and makes an
    /// empty list anew.
    @inlinable @inline(__always)
    package mutating func clear() {
        if !isEmpty { removeAll(keepingCapacity: true) }
    }
}
