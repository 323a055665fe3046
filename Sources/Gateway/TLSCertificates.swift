import Foundation
import Kernel
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import Telemetry

/// The certificate and key HealthHub serves TLS with (`HEALTHHUB_TLS_CERT`, `HEALTHHUB_TLS_KEY`,
/// PEM). TLS 1.2 and 1.3 only. Every handshake picks up the pair loaded last, so a renewed
/// certificate is served from the next connection on, without a restart: the files are
/// re-read when they change (checked every minute, for renewals by certbot and the like) and on
/// SIGHUP. A pair that does not load (unreadable, mismatched, expired) is refused and the one in
/// use stays.
package final class TLSCertificates: Sendable {
    package let certificatePath: String
    package let keyPath: String
    let telemetry: Telemetry
    private let current: Mutex<Loaded>

    struct Loaded: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var notAfter: Double
        var stamp: String
    }

    package struct LoadError: Error, CustomStringConvertible {
        package let description: String
    }

    package init(certificate: String, key: String, telemetry: Telemetry) throws {
        certificatePath = certificate
        keyPath = key
        self.telemetry = telemetry
        let loaded = try Self.load(certificate: certificate, key: key)
        current = Mutex(loaded)
        telemetry.set(.certificateExpiry, loaded.notAfter)
    }

    /// When the certificate in use expires (Unix seconds).
    package var notAfter: Double { current.withLock { $0.notAfter } }

    /// Re-reads the files; returns false when they have not changed since the last load.
    @discardableResult
    package func reload(force: Bool = true) throws -> Bool {
        if !force, Self.stamp(certificatePath, keyPath) == current.withLock({ $0.stamp }) { return false }
        let loaded = try Self.load(certificate: certificatePath, key: keyPath)
        current.withLock { $0 = loaded }
        telemetry.set(.certificateExpiry, loaded.notAfter)
        return true
    }

    /// The server configuration: TLS 1.2 minimum, the current pair at every handshake.
    package func serverConfiguration() -> TLSConfiguration {
        let loaded = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: loaded.chain.map { .certificate($0) }, privateKey: .privateKey(loaded.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [self] _, promise in
            let now = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = now.chain.map { .certificate($0) }
            override.privateKey = .privateKey(now.key)
            promise.succeed(override)
        }
        return configuration
    }

    static func stamp(_ paths: String...) -> String {
        paths.map { path in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            return "\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)/\((attributes?[.size] as? NSNumber)?.intValue ?? 0)"
        }.joined(separator: ",")
    }

    static func load(certificate: String, key: String) throws -> Loaded {
        let stamp = stamp(certificate, key)
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw LoadError(description: "cannot read the TLS certificate \(certificate) (PEM expected)")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw LoadError(description: "cannot read the TLS private key \(key) (PEM expected)")
        }
        guard let leaf = chain.first else { throw LoadError(description: "no certificate in \(certificate)") }
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)))
        } catch {
            throw LoadError(description: "the TLS private key \(key) does not go with the certificate \(certificate)")
        }
        let notAfter = Double(leaf.notValidAfter)
        guard notAfter > Now.date.timeIntervalSince1970 else { throw LoadError(description: "the TLS certificate \(certificate) has expired") }
        return Loaded(chain: chain, key: privateKey, notAfter: notAfter, stamp: stamp)
    }
}

/// Re-reads the TLS files when they change (checked every `interval`).
package struct TLSCertificateWatcher: Service {
    let certificates: TLSCertificates
    let interval: Duration
    let logger: Logger

    package init(certificates: TLSCertificates, interval: Duration, logger: Logger) {
        self.certificates = certificates
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                reload(force: false)
            }
        }
    }

    package func reload(force: Bool) {
        do {
            if try certificates.reload(force: force) {
                logger.notice("tls certificate reloaded", metadata: ["expires": .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: certificates.notAfter)))])
            }
        } catch {
            logger.error("tls certificate reload refused; the current one stays", metadata: ["problem": .string(String(describing: error))])
        }
    }
}
