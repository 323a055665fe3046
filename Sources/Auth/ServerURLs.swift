import Hummingbird

/// The public URLs of this server: the OAuth issuer (its root) and the FHIR base (the audience
/// of its tokens). Configured with `--public-base-url`; otherwise derived from the request's Host,
/// which suits a laptop but means a token is only good for the host name it was issued under.
package struct ServerURLs: Sendable {
    /// The configured FHIR base (`https://example.org/fhir`), if any.
    let fhirBaseURL: String?

    package init(fhirBaseURL: String?) {
        self.fhirBaseURL = fhirBaseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    package func fhirBase(_ request: Request) -> String { fhirBaseURL ?? "http://\(request.head.authority ?? "localhost")/fhir" }

    package func issuer(_ request: Request) -> String {
        let base = fhirBase(request)
        return base.hasSuffix("/fhir") ? String(base.dropLast(5)) : base
    }

    package func isHTTPS(_ request: Request) -> Bool { fhirBase(request).hasPrefix("https://") }
}
