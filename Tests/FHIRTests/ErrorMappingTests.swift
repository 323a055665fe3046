import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@Suite struct ErrorMappingTests {
    struct LeakyError: Error, CustomStringConvertible {
        var description: String { "constraint failed on row for patient Jane Doe" }
    }

    final class LogBox: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test func unexpectedErrorsBecomeA500OutcomeWithOnlyTheRequestID() async throws {
        let box = LogBox()
        let logger = Logger(label: "test") { _ in BoxedHandler(box: box) }
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.group("fhir").add(middleware: FHIRErrorMiddleware()).get("boom") { _, _ -> String in throw LeakyError() }
        defer {
            let logged = box.lines.withLock { $0 }
            #expect(logged.contains { $0.contains("fhir.unexpected-error") && $0.contains("LeakyError") })
            #expect(!logged.contains { $0.contains("Jane") })
        }
        try await Application(router: router, logger: logger).test(.router) { client in
            try await client.execute(uri: "/fhir/boom", method: .get, headers: [.requestID: "req-42"]) { response in
                let body = String(buffer: response.body)
                #expect(response.status == .internalServerError)
                #expect(body.contains("OperationOutcome"))
                #expect(body.contains("req-42"))
                #expect(!body.contains("Jane"))
                #expect(response.headers[.requestID] == "req-42")
            }
        }
    }
}

/// Writes log lines into a shared box the test can read.
struct BoxedHandler: LogHandler {
    let box: ErrorMappingTests.LogBox
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let all = self.metadata.merging(metadata ?? [:]) { $1 }
        box.lines.withLock { $0.append("\(message) \(all)") }
    }
}
