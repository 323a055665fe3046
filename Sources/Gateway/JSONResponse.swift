import HTTPTypes
import Hummingbird
import Kernel
import NIOCore

extension Response {
    /// A JSON answer of the API, OAuth and operations surfaces, written by the one JSON writer
    /// (`JSON.serialized`). Not cached unless the caller says otherwise (discovery documents):
    /// these answers carry tokens, states and identities.
    package static func json(_ value: JSON, status: HTTPResponse.Status = .ok, contentType: String = "application/json", headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = contentType
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }
}
