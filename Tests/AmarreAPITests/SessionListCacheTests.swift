import AmarreAPI
import AmarreCore
import Synchronization
import Testing

@Suite("GET /sessions cache")
struct SessionListCacheTests {
    private final class Counter: Sendable {
        let calls = Mutex(0)
        func fetch(_ text: String) -> [UInt8] {
            calls.withLock { $0 += 1 }
            return Array(text.utf8)
        }
        var count: Int { calls.withLock { $0 } }
    }

    @Test("a list fetched within the time to live is served without asking the host again")
    func servesWithinTTL() throws {
        let cache = SessionListCache(ttlMs: 60_000)
        let counter = Counter()
        let first = try cache.list { counter.fetch("[1]") }
        let second = try cache.list { counter.fetch("[2]") }
        #expect(first == Array("[1]".utf8))
        #expect(second == first)
        #expect(counter.count == 1)
    }

    @Test("a change through the API makes the next list come from the host")
    func invalidation() throws {
        let cache = SessionListCache(ttlMs: 60_000)
        let counter = Counter()
        _ = try cache.list { counter.fetch("[1]") }
        cache.invalidate()
        #expect(try cache.list { counter.fetch("[2]") } == Array("[2]".utf8))
        #expect(counter.count == 2)
    }

    @Test("a list fetched while a change went through is not kept")
    func racedFetchIsNotKept() throws {
        let cache = SessionListCache(ttlMs: 60_000)
        let counter = Counter()
        _ = try cache.list { () -> [UInt8] in
            cache.invalidate()
            return counter.fetch("[old]")
        }
        #expect(try cache.list { counter.fetch("[new]") } == Array("[new]".utf8))
    }

    @Test("a time to live of zero always asks the host")
    func disabled() throws {
        let cache = SessionListCache(ttlMs: 0)
        let counter = Counter()
        for _ in 0..<3 { _ = try cache.list { counter.fetch("[]") } }
        #expect(counter.count == 3)
    }
}
