import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Ops
import ServerApp
import Synchronization
import TestSupport
import Testing
import Traces

/// A local stand-in of an OTLP/HTTP collector: keeps the JSON bodies posted to /v1/traces.
final class CollectorStandIn: Sendable {
    let raw = Mutex<[Data]>([])

    var bodies: [[String: Any]] { raw.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } }

    var spans: [[String: Any]] {
        bodies.flatMap { body in
            ((body["resourceSpans"] as? [[String: Any]]) ?? []).flatMap { rs in
                ((rs["scopeSpans"] as? [[String: Any]]) ?? []).flatMap { ($0["spans"] as? [[String: Any]]) ?? [] }
            }
        }
    }

    func run(_ body: @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.post("v1/traces") { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 16 << 20)
            let data = Data(bytes.readableBytesView)
            guard request.headers[.contentType] == "application/json", (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
                return Response(status: .badRequest)
            }
            self.raw.withLock { $0.append(data) }
            return Response(status: .ok)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "collector") { _ in SwiftLogNoOpLogHandler() })
        try await app.test(.live) { client in try await body("http://127.0.0.1:\(client.port!)") }
    }
}

@Suite struct TracingTests {
    @Test(arguments: TestDatabaseKind.allCases)
    func requestSpansContinueTheCallersTraceAndCarryNoPatientData(_ kind: TestDatabaseKind) async throws {
        let collector = CollectorStandIn()
        try await collector.run { endpoint in
            var config = HealthHubConfiguration()
            config.ops.otlpEndpoint = endpoint
            config.ops.instance = "trace-node"
            try await TestServer.run(kind, configuration: config) { s in
                let id = try await s.create(j(#"{"resourceType":"Patient","name":[{"family":"Tracewell"}]}"#))
                let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                #expect(try await s.get("/fhir/Patient/\(id)", headers: [HTTPField.Name("traceparent")!: traceparent]).code == 200)
                #expect(try await s.get("/fhir/Patient?family=Tracewell").code == 200)
                #expect(try await s.get("/fhir/Patient/missing").code == 404)
                let exporter = try #require(s.operations.traceExporter)
                await exporter.exportPending()
                let spans = collector.spans
                #expect(spans.count == 4)
                let read = try #require(spans.first { ($0["traceId"] as? String) == "4bf92f3577b34da6a3ce929d0e0e4736" })
                #expect(read["parentSpanId"] as? String == "00f067aa0ba902b7")
                #expect(read["name"] as? String == "GET /fhir/{type}/{id}")
                #expect(read["kind"] as? Int == 2)
                #expect((read["spanId"] as? String)?.count == 16)
                let attributes = Dictionary(
                    uniqueKeysWithValues: ((read["attributes"] as? [[String: Any]]) ?? []).compactMap { a -> (String, [String: Any])? in
                        guard let k = a["key"] as? String, let v = a["value"] as? [String: Any] else { return nil }
                        return (k, v)
                    })
                #expect(attributes["http.route"]?["stringValue"] as? String == "/fhir/{type}/{id}")
                #expect(attributes["http.response.status_code"]?["intValue"] as? String == "200")
                #expect(Set(attributes.keys) == ["http.request.method", "http.route", "http.response.status_code", "healthhub.request_id"])
                // other requests start their own traces
                #expect(Set(spans.compactMap { $0["traceId"] as? String }).count == 4)
                #expect(exporter.counts.exported == 4)
                // no ids, names or search terms anywhere in what left the process
                let everything = String(decoding: try JSONSerialization.data(withJSONObject: collector.bodies), as: UTF8.self)
                #expect(!everything.contains(id))
                #expect(!everything.contains("Tracewell"))
                #expect(everything.contains(#""service.instance.id""#) && everything.contains("trace-node"))
            }
        }
    }

    @Test func aDeadCollectorDropsBatchesInsteadOfGrowing() async throws {
        var config = HealthHubConfiguration()
        config.ops.otlpEndpoint = "http://127.0.0.1:9"
        try await TestServer.run(.sqlite, configuration: config) { s in
            for _ in 0..<3 { #expect(try await s.get("/fhir/metadata", as: .anonymous).code == 200) }
            let exporter = try #require(s.operations.traceExporter)
            await exporter.exportPending()
            #expect(exporter.counts.dropped == 3)
            #expect(exporter.counts.exported == 0)
        }
    }
}
