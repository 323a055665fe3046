import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Ops
import ServerApp
import Telemetry
import TestSupport
import Testing

/// Runs a command, returns its exit status and combined output.
@discardableResult
func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    let stdin = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = stdin
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A self-signed P-256 certificate for 127.0.0.1 with common name `name`, valid `days` days.
func makeCertificate(in dir: URL, name: String, days: Int) throws -> (cert: String, key: String) {
    let cert = dir.appendingPathComponent("\(name).crt").path
    let key = dir.appendingPathComponent("\(name).key").path
    let result = try run([
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", String(days),
        "-subj", "/CN=\(name)", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
    ])
    guard result.status == 0 else { throw TestDatabaseError(description: "openssl req failed: \(result.output)") }
    return (cert, key)
}

@Suite struct TLSTests {
    @Test func servesTLS12AndUpOnlyAndPicksUpARenewedCertificate() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try makeCertificate(in: dir, name: "first", days: 30)
        let live = (cert: dir.appendingPathComponent("live.crt").path, key: dir.appendingPathComponent("live.key").path)
        try FileManager.default.copyItem(atPath: first.cert, toPath: live.cert)
        try FileManager.default.copyItem(atPath: first.key, toPath: live.key)
        var config = HealthHubConfiguration()
        config.port = 0
        config.ops.tls = (live.cert, live.key)
        try await TestServer.run(.sqlite, configuration: config) { s in
            let reply = try await s.get("/fhir/metadata", as: .anonymous)
            #expect(reply.code == 200)
            #expect(reply.headers[HTTPField.Name("Strict-Transport-Security")!] == "max-age=31536000; includeSubDomains")
            let port = try #require(s.client.port)
            func handshake(_ options: [String]) throws -> (Int32, String) {
                let r = try run(["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-brief"] + options)
                return (r.status, r.output)
            }
            let old = try handshake(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(old.0 != 0, "TLS 1.1 must be refused: \(old.1)")
            let tls12 = try handshake(["-tls1_2"])
            #expect(tls12.0 == 0 && (tls12.1.contains("CN = first") || tls12.1.contains("CN=first")), "\(tls12.1)")
            let tls13 = try handshake(["-tls1_3"])
            #expect(tls13.1.contains("TLSv1.3"), "\(tls13.1)")
            let expiry = try #require(s.services.telemetry.snapshot()[.certificateExpiry])
            #expect(abs(expiry - (Date().timeIntervalSince1970 + 30 * 86400)) < 3600)

            // renewal: new files, reloaded; the next handshake gets the new certificate
            let second = try makeCertificate(in: dir, name: "second", days: 7)
            try FileManager.default.removeItem(atPath: live.cert)
            try FileManager.default.removeItem(atPath: live.key)
            try FileManager.default.copyItem(atPath: second.cert, toPath: live.cert)
            try FileManager.default.copyItem(atPath: second.key, toPath: live.key)
            let certificates = try #require(s.operations.certificates)
            #expect(try certificates.reload(force: false))
            let renewed = try handshake(["-tls1_2"])
            #expect(renewed.1.contains("CN = second") || renewed.1.contains("CN=second"), "\(renewed.1)")
            #expect(abs((s.services.telemetry.snapshot()[.certificateExpiry] ?? 0) - (Date().timeIntervalSince1970 + 7 * 86400)) < 3600)
            // a broken renewal is refused and the served certificate stays
            try "not a certificate".write(toFile: live.cert, atomically: true, encoding: .utf8)
            #expect(throws: TLSCertificates.LoadError.self) { try certificates.reload() }
            #expect(try handshake(["-tls1_2"]).1.contains("second"))
            // a key that is not the certificate's is refused too
            try FileManager.default.removeItem(atPath: live.cert)
            try FileManager.default.copyItem(atPath: first.cert, toPath: live.cert)
            #expect(throws: TLSCertificates.LoadError.self) { try certificates.reload() }
            #expect(try await s.get("/fhir/metadata", as: .anonymous).code == 200)
        }
    }
}
