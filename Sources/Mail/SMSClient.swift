import AsyncHTTPClient
import Foundation
import Kernel
import NIOCore
import NIOHTTP1

/// Text messages through a Twilio-compatible API (Twilio itself, or any provider that speaks
/// its `Messages` resource): `POST {base}/2010-04-01/Accounts/{account}/Messages.json` with
/// HTTP Basic authentication (the account and its token) and the form `To`, `From`, `Body`;
/// 201 and a JSON body with its `sid` when accepted.
///
/// Configured by `HEALTHHUB_SMS_URL`: `twilio://ACCOUNT:TOKEN@api.twilio.com` (HTTPS), or, for a
/// provider or stand-in on this machine only, `twilio+http://ACCOUNT:TOKEN@127.0.0.1:PORT`; and
/// `HEALTHHUB_SMS_FROM`, the sending number (E.164).
package struct SMSClient: Sendable {
    package let base: String
    package let account: String
    let token: String
    package let from: String
    let client: HTTPClient

    package enum SMSError: Error, Equatable, CustomStringConvertible {
        case badURL(String)
        case badNumber
        /// The provider refused the message (its status and its error code, if it gave one).
        case refused(status: Int, code: Int?)

        package var description: String {
            switch self {
            case .badURL(let why): "bad SMS URL: \(why)"
            case .badNumber: "not a phone number in E.164 form (+ and 8 to 15 digits)"
            case .refused(let status, let code): "the SMS provider refused the message (HTTP \(status)\(code.map { ", code \($0)" } ?? ""))"
            }
        }
    }

    package init(url: String, from: String, client: HTTPClient = .shared) throws {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host, !host.isEmpty else {
            throw SMSError.badURL("expected twilio://ACCOUNT:TOKEN@host")
        }
        guard let account = parts.user, let token = parts.password, !account.isEmpty, !token.isEmpty else {
            throw SMSError.badURL("the account and its token go before the host (twilio://ACCOUNT:TOKEN@host)")
        }
        switch scheme {
        case "twilio": base = "https://\(host)\(parts.port.map { ":\($0)" } ?? "")"
        case "twilio+http":
            // A token is never sent in the clear beyond this machine.
            guard ["127.0.0.1", "localhost", "::1"].contains(host) else { throw SMSError.badURL("twilio+http is for a provider on this machine only") }
            base = "http://\(host)\(parts.port.map { ":\($0)" } ?? "")"
        default: throw SMSError.badURL("the scheme is twilio:// (or twilio+http:// to this machine)")
        }
        guard let sender = Self.number(from) else { throw SMSError.badNumber }
        self.account = account.removingPercentEncoding ?? account
        self.token = token.removingPercentEncoding ?? token
        self.from = sender
        self.client = client
    }

    /// A phone number in E.164 form (`+15551234567`), from what a person typed (spaces, dashes,
    /// dots and brackets dropped), or nil.
    package static func number(_ text: String) -> String? {
        let kept = text.filter { !" -.()".contains($0) }
        guard kept.hasPrefix("+"), (9...16).contains(kept.count), kept.dropFirst().allSatisfy(\.isASCII), kept.dropFirst().allSatisfy(\.isNumber),
            kept.dropFirst().first != "0"
        else { return nil }
        return kept
    }

    /// Sends one message; returns the provider's id of it. Messages are cut at 640 characters
    /// (four segments): notifications are short.
    @discardableResult
    package func send(to number: String, _ text: String) async throws -> String {
        guard let to = Self.number(number) else { throw SMSError.badNumber }
        var request = HTTPClientRequest(url: "\(base)/2010-04-01/Accounts/\(account)/Messages.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(account):\(token)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "User-Agent", value: "HealthHub")
        request.body = .bytes(ByteBuffer(string: QueryString.encode([("To", to), ("From", from), ("Body", String(text.prefix(640)))])))
        let response = try await client.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 64 * 1024)
        let reply = try? JSON.parse(body.readableBytesView)
        guard response.status.code == 201 || response.status.code == 200, let sid = reply?["sid"]?.stringValue else {
            throw SMSError.refused(status: Int(response.status.code), code: reply?["code"]?.doubleValue.flatMap { Int(exactly: $0) })
        }
        return sid
    }
}
