import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@Suite struct ErrorPageTests {
    /// A refused page request answers with the error page template, its message escaped.
    @Test func refusedPagesGetTheErrorPage() async throws {
        let router = Router()
        router.get("login") { _, _ -> Response in
            throw Refusal(.tooManyRequests, code: "rate_limited", "Slow down <b>now</b>", surface: .page, requestID: "req-1")
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/login", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                Snapshot.expect(String(buffer: response.body), named: "error-page")
            }
        }
    }
}
