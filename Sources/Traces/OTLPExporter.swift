import AsyncHTTPClient
import Foundation
import Kernel
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
                request.body = .bytes(ByteBuffer(bytes: Self.encode(batch, serviceName: serviceName, instance: instance)))
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
    static func encode(_ spans: [SpanRecord], serviceName: String, instance: String) -> Data {
        func value(_ a: SpanAttribute) -> JSON {
            switch a {
            case .int32(let v): ["intValue": .string(String(v))]
            case .int64(let v): ["intValue": .string(String(v))]
            case .double(let v) where v.isFinite: ["doubleValue": .double(v)]
            case .bool(let v): ["boolValue": .bool(v)]
            case .string(let v): ["stringValue": .string(v)]
            case .stringArray(let v): ["arrayValue": ["values": .array(v.map { ["stringValue": .string($0)] })]]
            default: ["stringValue": .string(String(describing: a))]
            }
        }
        func attributes(_ a: SpanAttributes) -> JSON {
            var out: [(key: String, value: JSON)] = []
            // swift-format-ignore: ReplaceForEachWithForLoop
            // (SpanAttributes is not a Sequence.)
            a.forEach { key, v in out.append((key, value(v))) }
            return .array(out.sorted { $0.key < $1.key }.map { ["key": .string($0.key), "value": $0.value] })
        }
        let kinds: [SpanKind: Int] = [.internal: 1, .server: 2, .client: 3, .producer: 4, .consumer: 5]
        let encoded: [JSON] = spans.map { s in
            var span: JSONObject = [
                "traceId": .string(s.traceID), "spanId": .string(s.spanID), "name": .string(s.name), "kind": .int(kinds[s.kind] ?? 1),
                "startTimeUnixNano": .string(String(s.start)), "endTimeUnixNano": .string(String(s.end)), "attributes": attributes(s.attributes),
            ]
            if let parent = s.parentSpanID { span["parentSpanId"] = .string(parent) }
            if let status = s.status {
                span["status"] = ["code": status.code == .ok ? 1 : 2, "message": .string(status.message ?? "")]
            }
            if !s.events.isEmpty {
                span["events"] = .array(
                    s.events.map { ["name": .string($0.name), "timeUnixNano": .string(String($0.nanosecondsSinceEpoch)), "attributes": attributes($0.attributes)] })
            }
            return .object(span)
        }
        let body: JSON = [
            "resourceSpans": [
                [
                    "resource": [
                        "attributes": [
                            ["key": "service.name", "value": ["stringValue": .string(serviceName)]],
                            ["key": "service.instance.id", "value": ["stringValue": .string(instance)]],
                        ]
                    ],
                    "scopeSpans": [["scope": ["name": "healthhub"], "spans": .array(encoded)]],
                ]
            ]
        ]
        return Data(body.serialized())
    }
}
