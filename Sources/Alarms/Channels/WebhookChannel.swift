import AsyncHTTPClient
import Foundation
import Kernel
import NIOCore
import NIOHTTP1

/// POSTs the notification as JSON (`application/json`, the `AlarmNotification` fields) to a URL.
/// A 2xx is delivered; 408, 429 and 5xx and connection failures are retried by the notifier;
/// other 4xx are final (the receiver refuses this payload, retrying will not help).
package struct WebhookChannel: AlarmChannel {
    package let url: String
    let client: HTTPClient
    let timeout: TimeAmount

    package init(url: String, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.url = url
        self.client = client
        self.timeout = timeout
    }

    package var name: String { "webhook" }

    package struct Refused: Error, Equatable {
        package let status: Int
    }

    package func deliver(_ notification: AlarmNotification) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "HealthHub-Alarms")
        request.body = .bytes(ByteBuffer(bytes: try JSON(encoding: notification).serialized()))
        let response = try await client.execute(request, timeout: timeout)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else { throw Refused(status: Int(response.status.code)) }
    }

    package func isRetryable(_ error: any Error) -> Bool {
        guard let refused = error as? Refused else { return true }
        return refused.status >= 500 || refused.status == 408 || refused.status == 429
    }
}
