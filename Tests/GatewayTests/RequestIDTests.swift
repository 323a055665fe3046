import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RequestIDTests {
    func app() -> some ApplicationProtocol {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.get("echo") { _, context in context.requestID }
        return Application(router: router)
    }

    @Test func echoesAPlainCallerID() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/echo", method: .get, headers: [.requestID: "abc-123"]) { response in
                #expect(response.headers[.requestID] == "abc-123")
                #expect(String(buffer: response.body) == "abc-123")
            }
        }
    }

    @Test func replacesAnUnsafeCallerID() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/echo", method: .get, headers: [.requestID: "<script>"]) { response in
                let id = try #require(response.headers[.requestID])
                #expect(id != "<script>")
                // Hummingbird's request id: a random 64-bit prefix (no leading zeros) and a 16-digit counter
                #expect((17...32).contains(id.count) && id.allSatisfy(\.isHexDigit))
                #expect(String(buffer: response.body) == id)
            }
        }
    }

    @Test func generatesOneWhenMissing() async throws {
        try await app().test(.router) { client in
            let a = try await client.execute(uri: "/echo", method: .get).headers[.requestID]
            let b = try await client.execute(uri: "/echo", method: .get).headers[.requestID]
            #expect(a != nil && b != nil && a != b)
        }
    }
}
