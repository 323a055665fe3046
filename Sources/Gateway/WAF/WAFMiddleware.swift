import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Telemetry

/// In the gateway, before authentication: resolves the client address (`X-Forwarded-For` only
/// from trusted proxies) and country (the proxy's country header only from trusted proxies, else
/// the geo database), refuses a declared body size over the route's limit, then lets the WAF
/// look at the request line and headers. A block is a 403 with the request id and nothing about
/// the rule; an oversized body a 413; the rule goes to the log and the counters. The body is
/// inspected after authentication, by `WAFBodyMiddleware`.
package struct WAFMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let runtime: WAFRuntime
    let trustedProxies: [IPRange]
    let telemetry: Telemetry?

    package init(runtime: WAFRuntime, trustedProxies: [IPRange], telemetry: Telemetry? = nil) {
        self.runtime = runtime
        self.trustedProxies = trustedProxies
        self.telemetry = telemetry
    }

    static let skippedHeaders: Set<HTTPField.Name> = [.authorization, .cookie]

    package func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        let (waf, geo) = runtime.current
        var context = context
        let peer = context.remoteAddress
        context.remoteAddress = Self.client(peer: peer, forwardedFor: request.headers[values: .xForwardedFor], trusted: trustedProxies)
        // A body is never read here, before authentication: a declared size over the route's
        // limit is refused at once, and the body itself is inspected by `WAFBodyMiddleware` as
        // the route's handler reads it.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > waf.configuration.limits(for: request.uri.path).maxBodyBytes {
            throw refuse(waf, "protocol-body-size", request, context)
        }
        var headerBytes = 0
        var values: [String] = []
        for field in request.headers {
            headerBytes += field.name.rawName.utf8.count + field.value.utf8.count + 4
            if !Self.skippedHeaders.contains(field.name) && field.name != .userAgent { values.append(field.value) }
        }
        let country =
            waf.configuration.geo.enabled
            ? Self.country(
                header: HTTPField.Name(waf.configuration.geo.header).flatMap { request.headers[$0] }, peer: peer, client: context.remoteAddress,
                trusted: trustedProxies, database: geo)
            : nil
        let verdict = waf.inspect(
            .init(
                client: context.remoteAddress, path: request.uri.path, query: request.uri.query ?? "",
                userAgent: request.headers[.userAgent] ?? "", headerBytes: headerBytes, headerValues: values,
                country: country))
        if let rule = verdict.rule, verdict.action != .allow {
            let group = waf.rules.first { $0.id == rule }?.group ?? "address-or-protocol"
            context.logger.warning("waf match", metadata: ["rule": .string(rule), "group": .string(group), "action": .string(verdict.action.rawValue)])
        }
        if verdict.action == .block {
            telemetry?.wafBlocked(rule: verdict.rule ?? "unknown")
            throw Self.blocked(request, context)
        }
        context.wafAllowed = verdict.action == .allow && verdict.rule != nil
        return try await next(request, context)
    }

    /// The country header when the peer is a trusted proxy (from anyone else it is ignored), or
    /// the geo database's answer for the client.
    package static func country(header: String?, peer: String?, client: String?, trusted: [IPRange], database: MMDBReader?) -> String? {
        if let peer, trusted.contains(where: { $0.contains(peer) }), let value = header?.trimmingCharacters(in: .whitespaces).uppercased(),
            value.count == 2, value.allSatisfy({ $0.isASCII && $0.isLetter })
        {
            return value
        }
        guard let client else { return nil }
        return database?.country(client)
    }

    /// A body declared over the route's limit.
    func refuse(_ waf: WAF, _ rule: String, _ request: Request, _ context: AppRequestContext) -> Refusal {
        _ = waf.matched(rule, .block)
        telemetry?.wafBlocked(rule: rule)
        context.logger.warning("waf match", metadata: ["rule": .string(rule), "group": "protocol", "action": "block"])
        return Self.tooLarge(request, context)
    }

    static func blocked(_ request: Request, _ context: some GatewayRequestContext) -> Refusal {
        Refusal(.forbidden, code: "blocked", "The request was refused by the web application firewall", for: request, context)
    }

    static func tooLarge(_ request: Request, _ context: some GatewayRequestContext) -> Refusal {
        Refusal(.contentTooLarge, code: "too_large", "The body is larger than this URL takes", for: request, context)
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
