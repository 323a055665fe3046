import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The stylesheet and scripts of HealthHub's pages (`Static/`), served by the binary itself at
/// `/static/<name>` so that the pages' CSP allows styles and scripts from `'self'` only, never
/// `unsafe-inline`. The files are read once at start-up; each answer carries a strong ETag of
/// its bytes, and a browser revalidates after an hour.
package struct StaticAssets: Sendable {
    package struct Asset: Sendable {
        package let bytes: [UInt8]
        package let contentType: String
        package let etag: String
    }

    package static let bundled = try! StaticAssets(folder: Bundle.module.url(forResource: "Static", withExtension: nil)!)

    package let assets: [String: Asset]

    package init(folder: URL) throws {
        var assets: [String: Asset] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            guard let type = Self.types[(name as NSString).pathExtension] else { continue }
            let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            assets[name] = Asset(bytes: bytes, contentType: type, etag: "\"\(String(Self.fingerprint(bytes), radix: 16))\"")
        }
        self.assets = assets
    }

    /// FNV-1a over the bytes: a cache validator, not a security measure.
    static func fingerprint(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    static let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"]

    /// `GET /static/:name`, public: the files hold no data of anyone.
    package func register(on routes: RouteTable) {
        routes.publicRoutes.get("static/:name") { request, context in
            guard let name = context.parameters.get("name"), let asset = assets[name] else { throw HTTPError(.notFound) }
            var headers: HTTPFields = [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "public, max-age=3600"]
            if request.headers[.ifNoneMatch] == asset.etag {
                headers[.contentType] = nil
                return Response(status: .notModified, headers: headers)
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
        }
    }
}
