import DMMCore
import DMMWire
import Foundation
import Testing

@testable import DMMStore

struct SQLiteLocationStoreTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("dmm-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sqlite").path
    }

    static func cleanUp(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static let node = MobileNodeID("mn1@dmm.example"), mar1 = IPv6Address("2001:db8:ffff::1")!, mar2 = IPv6Address("2001:db8:ffff::2")!

    static func record(_ i: Int, serving: IPv6Address? = nil, expires: Instant? = nil) -> PrefixRecord {
        PrefixRecord(mobileNode: i % 2 == 0 ? node : MobileNodeID("mn\(i)@dmm.example"), prefix: IPv6Prefix("2001:db8:1:\(i)::/64")!,
                     anchor: mar1, serving: serving, active: i % 3 == 0, expires: expires)
    }

    @Test func storesQueriesReplacesAndRemoves() throws {
        let path = Self.temporaryPath("crud")
        defer { Self.cleanUp(path) }
        let store = try SQLiteLocationStore(path: path)
        let records = (0..<10).map { Self.record($0, serving: $0 == 4 ? Self.mar2 : nil, expires: $0 == 4 ? Instant(seconds: 1.5) : nil) }
        for r in records { try store.put(r) }
        #expect(try store.count() == 10)
        #expect(try store.records(of: Self.node) == records.filter { $0.mobileNode == Self.node })
        #expect(try store.record(for: records[4].prefix) == records[4])
        var changed = records[4]
        changed.active.toggle()
        changed.serving = nil
        try store.put(changed)
        #expect(try store.record(for: changed.prefix) == changed && store.count() == 10)
        #expect(try store.remove(changed.prefix) == changed)
        #expect(try store.remove(changed.prefix) == nil)
        #expect(try store.count() == 9)
    }

    /// Everything written survives closing and reopening, and a writer that
    /// never closed (its process crashed) loses nothing it committed.
    @Test func keepsEverythingAcrossReopening() throws {
        let path = Self.temporaryPath("reopen")
        defer { Self.cleanUp(path) }
        let records = (0..<50).map { Self.record($0) }
        do {
            let store = try SQLiteLocationStore(path: path)
            for r in records { try store.put(r) }
            try store.remove(records[7].prefix)
        }
        let abandoned = try SQLiteLocationStore(path: path)  // stays open, like a killed process's handle
        try abandoned.put(Self.record(99))
        let reopened = try SQLiteLocationStore(path: path)
        #expect(try reopened.count() == 50)
        #expect(try reopened.record(for: records[7].prefix) == nil)
        #expect(try reopened.record(for: Self.record(99).prefix) == Self.record(99))
        _ = abandoned
    }

    @Test func theLocationServerRunsOnIt() throws {
        let path = Self.temporaryPath("lms")
        defer { Self.cleanUp(path) }
        var lms = LocationServer(store: try SQLiteLocationStore(path: path), knownMARs: [Self.mar1, Self.mar2])
        let r = Self.record(2)
        #expect(lms.handle(LocationEnvelope(id: 1, .register(r)), from: Self.mar1, at: Instant(seconds: 0)).body == .done)
        #expect(lms.handle(LocationEnvelope(id: 2, .query(Self.node)), from: Self.mar2, at: Instant(seconds: 0)).body
                == .records(Self.node, [r]))
    }

    /// A restarted anchor pages through its own records: each exactly once.
    @Test func pagesThroughOneAnchorsRecords() throws {
        let path = Self.temporaryPath("pages")
        defer { Self.cleanUp(path) }
        let store = try SQLiteLocationStore(path: path)
        var mine: Set<IPv6Prefix> = []
        for i in 0..<50 {
            var r = Self.record(i)
            if i % 5 == 0 { r.anchor = Self.mar2 } else { mine.insert(r.prefix) }
            try store.put(r)
        }
        var seen: [PrefixRecord] = [], cursor: IPv6Prefix?
        for _ in 0..<20 {
            let page = try store.records(anchoredAt: Self.mar1, after: cursor, limit: 7)
            seen += page
            guard page.count == 7 else { break }
            cursor = page.last?.prefix
        }
        #expect(seen.count == mine.count && Set(seen.map(\.prefix)) == mine)
        #expect(seen.allSatisfy { $0.anchor == Self.mar1 })
    }

    @Test func aBadFileIsAClearError() throws {
        let path = Self.temporaryPath("bad")
        defer { Self.cleanUp(path) }
        try Data("this is not a database, it is text that goes on long enough to fill a header page".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SQLiteLocationStore.Failure.self) { try SQLiteLocationStore(path: path) }
        #expect(throws: SQLiteLocationStore.Failure.self) { try SQLiteLocationStore(path: "/nonexistent/dir/x.sqlite") }
    }
}
