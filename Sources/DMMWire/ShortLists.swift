/// How every layer keeps its short lists (a message's rule IEs, a
/// session's rules): most hold nothing or one element. `package` and
/// inlinable, or each is a call across modules.
extension Array {
    /// `append`, with the first element through an array literal: growing
    /// an array without storage takes the general path, a literal allocates
    /// at once. A list emptied by `clear` keeps its storage and appends.
    /// The element is taken consuming, so moved in: taken borrowed, a
    /// shared blank rule IE was copied twice, once to a temporary.
    @inlinable @inline(__always)
    package mutating func add(_ element: consuming Element) {
        if capacity == 0 { self = [element] } else { append(element) }
    }

    /// Adds `blank` and fills it where it lies: a value made and then
    /// added is copied whole (a rule IE, field by field).
    @inlinable @inline(__always)
    package mutating func add<E: Error>(_ blank: consuming Element, filling fill: (inout Element) throws(E) -> Void) throws(E) {
        add(blank)
        try fill(&self[count - 1])
    }

    /// Lends each element in order to `body` where it lies, until `body`
    /// returns something, and returns that. `inout`, but never to be
    /// written: lent as a value, even from its place through a pointer,
    /// each element was copied whole and destroyed around the call (the
    /// compiler cannot tell that the call leaves the list alone), about
    /// 150 instructions for each rule IE encoded or carried out.
    @inlinable @inline(__always)
    package func lend<R, E: Error>(_ body: (inout Element) throws(E) -> R?) throws(E) -> R? {
        try withUnsafeBufferPointer { items throws(E) in
            guard let first = UnsafeMutablePointer(mutating: items.baseAddress) else { return nil }
            for i in items.indices {
                if let result = try body(&first[i]) { return result }
            }
            return nil
        }
    }

    /// `removeAll(keepingCapacity: true)` for a short list: that replaces
    /// a subrange, about 200 instructions even for one element, where
    /// taking elements off the end costs a few each.
    @inlinable @inline(__always)
    package mutating func clear() {
        while !isEmpty { removeLast() }
    }
}

/// A value that is mostly empty (`NilWhileEmpty`).
public protocol MostlyEmpty {
    init()
    var isEmpty: Bool { get }
}

extension Array: MostlyEmpty {}

/// A value held as nil while empty: a list held in place, even empty, is
/// a reference counted at every copy of what holds it, and rule IEs are
/// copied several times a change. Changed in place, taken out meanwhile
/// (so not shared, and not copied), and nil again if left empty, so that
/// equal holders hold it alike.
@propertyWrapper
public struct NilWhileEmpty<Value: MostlyEmpty & Hashable & Sendable>: Hashable, Sendable {
    /// The value; nil when empty.
    public private(set) var stored: Value?

    public init(wrappedValue: Value) { stored = wrappedValue.isEmpty ? nil : wrappedValue }

    public var wrappedValue: Value {
        get { stored ?? Value() }
        _modify {
            var value = stored.take() ?? Value()
            defer { stored = value.isEmpty ? nil : value }
            yield &value
        }
    }
}
