import Gateway
import HTTPTypes
import Synchronization
import Testing

@Suite struct RateLimiterTests {
    final class FakeClock: Sendable {
        let t = Mutex<Double>(0)
        func advance(_ s: Double) { t.withLock { $0 += s } }
    }

    @Test func bucketsRefillUpToTheirCapacity() {
        let clock = FakeClock()
        let limiter = RateLimiter(configuration: .init(), now: { clock.t.withLock { $0 } })
        let budget = RateLimiter.Budget(capacity: 10, perSecond: 2)
        #expect(limiter.charge("k", cost: 10, budget: budget) == .init(allowed: true, limit: 10, remaining: 0, reset: 5, retryAfter: 0))
        let refused = limiter.charge("k", cost: 1, budget: budget)
        #expect(!refused.allowed && refused.retryAfter == 1)
        clock.advance(2)  // +4 tokens
        #expect(limiter.charge("k", cost: 4, budget: budget).allowed)
        #expect(!limiter.charge("k", cost: 1, budget: budget).allowed)
        clock.advance(100)  // full, not more
        #expect(limiter.charge("k", cost: 10, budget: budget).allowed)
        #expect(!limiter.charge("k", cost: 1, budget: budget).allowed)
        // keys are independent
        #expect(limiter.charge("other", cost: 10, budget: budget).allowed)
    }

    @Test(arguments: [
        (HTTPRequest.Method.get, "/fhir/Patient/1", RateLimiter.Interaction.read),
        (.get, "/fhir/Patient", .search), (.post, "/fhir/Patient/_search", .search),
        (.post, "/fhir/Patient", .create), (.put, "/fhir/Patient/1", .write), (.delete, "/fhir/Patient/1", .write),
        (.get, "/fhir/Patient/1/_history", .history), (.get, "/fhir/_history", .history), (.get, "/fhir/Patient/_history", .history),
        (.get, "/fhir/Patient/1/_history/2", .read), (.get, "/fhir/$export", .export), (.get, "/health", .other), (.post, "/fhir", .write),
    ])
    func interactionsAreClassifiedByMethodAndPath(_ method: HTTPRequest.Method, _ path: String, _ expected: RateLimiter.Interaction) {
        #expect(RateLimiter(configuration: .init()).interaction(method, path) == expected)
    }

    @Test func defaultCostsAreTheDocumentedOnes() {
        let limiter = RateLimiter(configuration: .init())
        #expect([.read, .search, .create, .write, .history, .export, .other].map(limiter.cost) == [1, 10, 10, 10, 50, 50, 1])
    }
}
