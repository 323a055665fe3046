import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Third in the gateway: resolves the client address (`X-Forwarded-For` only from trusted
/// proxies), then lets the WAF look at the request, body included. A block is a 403 with the
/// request id and nothing about the rule; the rule goes to the log and the counters.
package struct WAFMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let waf: WAF
    let trustedProxies: [IPRange]
    let maxBody: Int

    package init(waf: WAF, trustedProxies: [IPRange], maxBody: Int = 64 * 1024 * 1024) {
        self.waf = waf
        self.trustedProxies = trustedProxies
        self.maxBody = maxBody
    }

    static let skippedHeaders: Set<HTTPField.Name> = [.authorization, .cookie]

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.remoteAddress = Self.client(peer: context.remoteAddress, forwardedFor: request.headers[values: .xForwardedFor], trusted: trustedProxies)
        var request = request
        var body: [UInt8] = []
        if [.post, .put, .patch].contains(request.method) {
            let buffer = try await request.collectBody(upTo: maxBody)
            body = Array(buffer.readableBytesView)
        }
        var headerBytes = 0
        var values: [String] = []
        for field in request.headers {
            headerBytes += field.name.rawName.utf8.count + field.value.utf8.count + 4
            if !Self.skippedHeaders.contains(field.name) && field.name != .userAgent { values.append(field.value) }
        }
        let verdict = waf.inspect(.init(client: context.remoteAddress, path: request.uri.path, query: request.uri.query ?? "",
                                        userAgent: request.headers[.userAgent] ?? "", headerBytes: headerBytes, headerValues: values, body: body))
        if let rule = verdict.rule, verdict.action != .allow {
            let group = waf.rules.first { $0.id == rule }?.group ?? "address-or-protocol"
            context.logger.warning("waf match", metadata: ["rule": .string(rule), "group": .string(group), "action": .string(verdict.action.rawValue)])
        }
        if verdict.action == .block {
            let text = "{\"error\":\"blocked\",\"request_id\":\"\(context.requestID)\"}"
            return Response(status: .forbidden, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return try await next(request, context)
    }

    /// The peer, unless it is a trusted proxy: then the right-most forwarded address that is not
    /// itself a trusted proxy (the left part of the header is whatever the client claimed).
    package static func client(peer: String?, forwardedFor: [String], trusted: [IPRange]) -> String? {
        guard let peer, trusted.contains(where: { $0.contains(peer) }) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !trusted.contains(where: { $0.contains(hop) }) {
            return IPRange.parse(hop) != nil ? hop : peer
        }
        return hops.first ?? peer
    }
}

extension HTTPField.Name {
    package static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
