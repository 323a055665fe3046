import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Telemetry

/// The route's body limit and the WAF's body rules, applied while the handler reads the body,
/// with no copy of it: attached after authentication on identified routes (so a stranger's
/// body is never read at all) and before the handler on public ones (whose limits are small).
/// Handlers read the whole body before acting on it, so a refusal in the last chunk still comes
/// before anything is done. Bodies over `LargeBodies.threshold` (and those of unknown size) are
/// read a few at a time: the others get 503 with `Retry-After`.
package struct WAFBodyMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let runtime: WAFRuntime
    let telemetry: Telemetry?
    let large: LargeBodies

    package init(runtime: WAFRuntime, telemetry: Telemetry? = nil, large: LargeBodies = LargeBodies()) {
        self.runtime = runtime
        self.telemetry = telemetry
        self.large = large
    }

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap(Int.init)
        // Any request that says it has a body (whatever the method) is limited and inspected.
        guard (declared ?? 0) > 0 || request.headers[.transferEncoding] != nil || [.post, .put, .patch].contains(request.method) else {
            return try await next(request, context)
        }
        let (waf, _) = runtime.current
        let limit = waf.configuration.limits(for: request.uri.path).maxBodyBytes
        if let declared, declared > limit {
            _ = waf.matched("protocol-body-size", .block)
            throw WAFMiddleware.tooLarge(request, context)
        }
        let isLarge = declared.map { $0 > LargeBodies.threshold } ?? true
        if isLarge, !large.enter() {
            throw Refusal(.serviceUnavailable, code: "busy", "Too many large bodies are being received; retry in a second", for: request, context, headers: [.retryAfter: "1"])
        }
        defer { if isLarge { large.leave() } }
        var request = request
        request.body = RequestBody(
            asyncSequence: InspectedBody(
                base: request.body, scanner: context.wafAllowed ? nil : BodyScanner(waf: waf),
                limit: limit, tooLarge: WAFMiddleware.tooLarge(request, context),
                blocked: WAFMiddleware.blocked(request, context), logger: context.logger, telemetry: telemetry))
        return try await next(request, context)
    }
}

/// At most `capacity` large bodies being read at once, across the instance.
package final class LargeBodies: Sendable {
    /// Bodies above 1 MiB are large (a FHIR resource rarely is; a Binary or a patient's bundle is).
    package static let threshold = 1 << 20
    let capacity: Int
    private let inUse = Mutex(0)

    package init(capacity: Int = 4) { self.capacity = capacity }

    func enter() -> Bool {
        inUse.withLock { n in
            guard n < capacity else { return false }
            n += 1
            return true
        }
    }

    func leave() { inUse.withLock { $0 -= 1 } }
}

/// The body as the handler reads it, chunk by chunk, counted against the limit and scanned.
struct InspectedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let scanner: BodyScanner?
    let limit: Int
    /// What the handler's read throws when the body grows past the limit, or a rule blocks it.
    let tooLarge: Refusal
    let blocked: Refusal
    let logger: Logger
    let telemetry: Telemetry?

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var scanner: BodyScanner?
        var remaining: Int
        let owner: InspectedBody

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else {
                if let counted = scanner?.countedMatch, let rule = counted.rule {
                    owner.logger.warning("waf match", metadata: ["rule": .string(rule), "group": "body", "action": "count"])
                }
                return nil
            }
            remaining -= chunk.readableBytes
            if remaining < 0 { throw owner.refusal(owner.tooLarge, "protocol-body-size") }
            if let verdict = scanner?.feed(chunk.readableBytesView), let rule = verdict.rule {
                throw owner.refusal(owner.blocked, rule)
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), scanner: scanner, remaining: limit, owner: self)
    }

    func refusal(_ refusal: Refusal, _ rule: String) -> Refusal {
        telemetry?.wafBlocked(rule: rule)
        logger.warning("waf match", metadata: ["rule": .string(rule), "group": "body", "action": "block"])
        return refusal
    }
}
