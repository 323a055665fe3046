import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ErrorMappingTests {
    struct LeakyError: Error, CustomStringConvertible {
        var description: String { "constraint failed on row for patient Jane Doe" }
    }

    @Test func unexpectedErrorsBecomeA500OutcomeWithOnlyTheRequestID() async throws {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.group("fhir").add(middleware: FHIRErrorMiddleware()).get("boom") { _, _ -> String in throw LeakyError() }
        try await Application(router: router).test(.router) { client in
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
