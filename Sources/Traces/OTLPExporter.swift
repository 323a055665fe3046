import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Tracing

/// A finished span, as exported.
struct SpanRecord: Sendable {
    var traceID: String
    var spanID: String
    var parentSpanID: String?
    var name: String
    var kind: SpanKind
    var start: UInt64
    var end: UInt64
    var attributes: SpanAttributes
    var status: SpanStatus?
    var events: [SpanEvent]
}

/// Sends finished spans to an OTLP/HTTP collector (`POST <endpoint>/v1/traces`, JSON encoding)
/// in batches: every `interval`, or sooner when 512 are waiting. At most `capacity` spans wait;
/// beyond that new spans are dropped and counted, so a dead collector never grows memory.
/// A failed batch is dropped (and logged) rather than retried: traces are best effort.
package final class OTLPExporter: Service, Sendable {
    package let endpoint: String
    let serviceName: String
    let instance: String
    let interval: Duration
    let capacity: Int
    let client: HTTPClient
    let logger: Logger
    private let state = Mutex<(queue: [SpanRecord], dropped: Int, exported: Int)>(([], 0, 0))
    private let wake: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    /// `endpoint`: the collector's base URL (`http://collector:4318`), as in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    package init(
        endpoint: String, serviceName: String = "healthhub", instance: String, interval: Duration = .seconds(5), capacity: Int = 10_000,
        client: HTTPClient = .shared, logger: Logger
    ) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.serviceName = serviceName
        self.instance = instance
        self.interval = interval
        self.capacity = capacity
        self.client = client
        self.logger = logger
        (wake, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Spans exported and dropped so far.
    package var counts: (exported: Int, dropped: Int) { state.withLock { ($0.exported, $0.dropped) } }

    func add(_ span: SpanRecord) {
        let full = state.withLock { s in
            guard s.queue.count < capacity else {
                s.dropped += 1
                return false
            }
            s.queue.append(span)
            return s.queue.count >= 512
        }
        if full { wakeUp.yield() }
    }

    package func flushSoon() { wakeUp.yield() }

    package func run() async throws {
        let ticks = wake
        try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                let (wakeUp, interval) = (self.wakeUp, self.interval)
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        wakeUp.yield()
                    }
                }
                for await _ in ticks {
                    await self.exportPending()
                    if Task.isCancelled { break }
                }
                group.cancelAll()
            }
        }
        await exportPending()
    }

    /// Sends everything waiting, in batches of up to 512.
    package func exportPending() async {
        while true {
            let batch = state.withLock { s -> [SpanRecord] in
                let n = min(512, s.queue.count)
                defer { s.queue.removeFirst(n) }
                return Array(s.queue.prefix(n))
            }
            if batch.isEmpty { return }
            do {
                var request = HTTPClientRequest(url: endpoint + "/v1/traces")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: try Self.encode(batch, serviceName: serviceName, instance: instance)))
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                guard (200..<300).contains(response.status.code) else { throw ExportError(status: Int(response.status.code)) }
                state.withLock { $0.exported += batch.count }
            } catch {
                state.withLock { $0.dropped += batch.count }
                logger.warning(
                    "trace export failed; batch dropped",
                    metadata: [
                        "spans": .stringConvertible(batch.count),
                        "error": .string(String(describing: error).prefix(200).description),
                    ])
                return
            }
        }
    }

    struct ExportError: Error { let status: Int }

    /// The OTLP/HTTP JSON body (`ExportTraceServiceRequest`, protobuf JSON mapping: hex ids,
    /// nanosecond times as strings, enums as numbers).
    static func encode(_ spans: [SpanRecord], serviceName: String, instance: String) throws -> Data {
        func value(_ a: SpanAttribute) -> [String: Any] {
            switch a {
            case .int32(let v): ["intValue": String(v)]
            case .int64(let v): ["intValue": String(v)]
            case .double(let v): ["doubleValue": v]
            case .bool(let v): ["boolValue": v]
            case .string(let v): ["stringValue": v]
            case .stringArray(let v): ["arrayValue": ["values": v.map { ["stringValue": $0] }]]
            default: ["stringValue": String(describing: a)]
            }
        }
        func attributes(_ a: SpanAttributes) -> [[String: Any]] {
            var out: [[String: Any]] = []
            // swift-format-ignore: ReplaceForEachWithForLoop
            // (SpanAttributes is not a Sequence.)
            a.forEach { key, v in out.append(["key": key, "value": value(v)]) }
            return out.sorted { ($0["key"] as? String ?? "") < ($1["key"] as? String ?? "") }
        }
        let kinds: [SpanKind: Int] = [.internal: 1, .server: 2, .client: 3, .producer: 4, .consumer: 5]
        let encoded: [[String: Any]] = spans.map { s in
            var span: [String: Any] = [
                "traceId": s.traceID, "spanId": s.spanID, "name": s.name, "kind": kinds[s.kind] ?? 1,
                "startTimeUnixNano": String(s.start), "endTimeUnixNano": String(s.end), "attributes": attributes(s.attributes),
            ]
            if let parent = s.parentSpanID { span["parentSpanId"] = parent }
            if let status = s.status {
                span["status"] = ["code": status.code == .ok ? 1 : 2, "message": status.message ?? ""] as [String: Any]
            }
            if !s.events.isEmpty {
                span["events"] = s.events.map { ["name": $0.name, "timeUnixNano": String($0.nanosecondsSinceEpoch), "attributes": attributes($0.attributes)] as [String: Any] }
            }
            return span
        }
        let body: [String: Any] = [
            "resourceSpans": [
                [
                    "resource": [
                        "attributes": [
                            ["key": "service.name", "value": ["stringValue": serviceName]],
                            ["key": "service.instance.id", "value": ["stringValue": instance]],
                        ]
                    ],
                    "scopeSpans": [["scope": ["name": "healthhub"], "spans": encoded]],
                ]
            ]
        ]
        return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    }
}
