import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore

/// The AI services' API, behind a token like the rest of `/api`:
/// - `GET /api/v1/speech/voices`; `POST /api/v1/speech` `{"text", "language", "voice", "rate",
///   "format": "wav"|"ogg"}` → the audio;
/// - `GET /api/v1/translations/languages`; `POST /api/v1/translations` `{"text", "source",
///   "target"}` → the translation with its machine-translation label and engine;
/// - `GET /api/v1/ocr/languages`; `POST /api/v1/ocr?language=eng` with the image as the body
///   → its text, word count and mean confidence;
/// - `POST /api/v1/transcriptions?language=en&prompt=...` with the audio as the body → its
///   text, language, duration and timed segments.
///
/// People use them (patients, proxies, practitioners, admins); backend clients and auditors
/// do not. Every call is audited (who, which capability, the outcome; never the text, audio or
/// image, which can be patient data), and every error is an RFC 9457 problem.
package struct AIController: Sendable {
    let services: AIServices
    let audit: SecurityAudit
    static let users: Set<Role> = [.patient, .practitioner, .admin]

    package init(services: AIServices, audit: SecurityAudit) {
        self.services = services
        self.audit = audit
    }

    package func register(on routes: RouteTable) {
        let router = routes.identified
        router.get("api/v1/speech/voices") { _, context in
            try await answer(context) { .json(["engine": .string(services.configuration.speech.rawValue), "voices": .array(try await services.voices().map(Self.json))]) }
        }
        router.post("api/v1/speech") { request, context in
            try await audited("ai-speech", request, context) { body in
                let format = try body["format"].map { value -> SpeechRequest.Format in
                    guard let text = value.stringValue, let f = SpeechRequest.Format(rawValue: text) else { throw EngineError.invalid("format must be wav or ogg") }
                    return f
                }
                let speech = SpeechRequest(
                    text: try Self.text(body, "text"), language: try Self.optionalText(body, "language") ?? "en", voice: try Self.optionalText(body, "voice"),
                    rate: try body["rate"].map { value -> Int in
                        // (checked before converting: Int(1e300) would stop the process)
                        guard let d = value.doubleValue, let n = Int(exactly: d) else {
                            throw EngineError.invalid("rate must be a whole number of words a minute, \(SpeechRequest.rates.lowerBound)-\(SpeechRequest.rates.upperBound)")
                        }
                        return n
                    } ?? 160, format: format ?? .wav)
                let audio = try await services.speak(speech)
                var headers = HTTPFields()
                headers[.contentType] = audio.contentType
                headers[.cacheControl] = "no-store"
                headers[HTTPField.Name("X-Engine")!] = audio.engine
                headers[HTTPField.Name("X-Voice")!] = audio.voice
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: audio.bytes)))
            }
        }
        router.get("api/v1/translations/languages") { _, context in
            try await answer(context) {
                let (engine, pairs) = try await services.languagePairs()
                return .json(["engine": .string(engine), "pairs": .array(pairs.map { ["source": .string($0.source), "target": .string($0.target)] })])
            }
        }
        router.post("api/v1/translations") { request, context in
            try await audited("ai-translate", request, context) { body in
                guard let source = try Self.optionalText(body, "source"), let target = try Self.optionalText(body, "target") else {
                    throw EngineError.invalid("\"source\" and \"target\" are required: language tags such as en and es")
                }
                let result = try await services.translate(try Self.text(body, "text"), from: source, to: target)
                return .json([
                    "text": .string(result.text), "source": .string(result.source), "target": .string(result.target), "engine": .string(result.engine),
                    "machineTranslation": true, "label": .string(result.label),
                ])
            }
        }
        router.post("api/v1/transcriptions") { request, context in
            var request = request
            return try await answer(context) {
                let audio = try await Self.body(&request, limit: services.configuration.audioBytes, context)
                let query = request.uri.queryParameters
                return try await recorded("ai-transcribe", context) {
                    let result = try await services.transcribe(
                        Array(audio.readableBytesView), language: query["language"].map(String.init), prompt: query["prompt"].map(String.init))
                    return .json([
                        "text": .string(result.text), "language": .string(result.language), "duration": .double(result.duration), "engine": .string(result.engine),
                        "segments": .array(result.segments.map { ["start": .double($0.start), "end": .double($0.end), "text": .string($0.text)] }),
                    ])
                }
            }
        }
        router.get("api/v1/ocr/languages") { _, context in
            try await answer(context) { .json(["engine": .string(services.configuration.recognition.rawValue), "languages": .strings(try await services.recognitionLanguages())]) }
        }
        router.post("api/v1/ocr") { request, context in
            var request = request
            return try await answer(context) {
                let image = try await Self.body(&request, limit: services.configuration.imageBytes, context)
                let language = request.uri.queryParameters["language"].map(String.init) ?? "eng"
                return try await recorded(
                    "ai-ocr", context,
                    {
                        let result = try await services.recognize(Array(image.readableBytesView), language: language)
                        return .json([
                            "text": .string(result.text), "words": .int(result.words), "confidence": result.confidence.map(JSON.double) ?? .null,
                            "engine": .string(result.engine),
                        ])
                    })
            }
        }
    }

    /// Runs `body` for a permitted caller, turning engine errors into problem documents.
    func answer(_ context: IdentifiedRequestContext, _ body: () async throws -> Response) async throws -> Response {
        guard Self.users.contains(context.principal.role) else {
            throw Refusal(.forbidden, code: "forbidden", "The AI services are for patients, practitioners and admins", surface: .api, requestID: context.requestID)
        }
        do { return try await body() } catch let error as EngineError { throw Self.refusal(error, context) }
    }

    /// A call with a JSON body, audited under `interaction`.
    func audited(_ interaction: String, _ request: Request, _ context: IdentifiedRequestContext, _ body: (JSON) async throws -> Response) async throws -> Response {
        var request = request
        return try await answer(context) {
            // room for the text escaped in JSON (\uXXXX pairs are 12 bytes for one character)
            let bytes = try await Self.body(&request, limit: 12 * services.configuration.textLimit + 4096, context)
            guard let json = try? JSON.parse(bytes.readableBytesView), json.objectValue != nil else {
                throw EngineError.invalid("The body must be a JSON object")
            }
            return try await recorded(interaction, context) { try await body(json) }
        }
    }

    /// Records the use, whether it succeeded or not, with the error's code as the outcome.
    func recorded(_ interaction: String, _ context: IdentifiedRequestContext, _ body: () async throws -> Response) async throws -> Response {
        do {
            let response = try await body()
            await audit.operation(interaction, context, success: true)
            return response
        } catch let error as EngineError {
            await audit.operation(interaction, context, success: false, code: error.code)
            throw error
        }
    }

    static func body(_ request: inout Request, limit: Int, _ context: IdentifiedRequestContext) async throws -> ByteBuffer {
        do { return try await request.collectBody(upTo: limit) } catch let refusal as Refusal {
            // the gateway's own answer (its body limit, a WAF rule), as it gave it
            throw refusal
        } catch {
            throw EngineError.tooLarge("The body is over \(limit >> 10) KB")
        }
    }

    static func text(_ body: JSON, _ key: String) throws -> String {
        guard let text = body[key]?.stringValue else { throw EngineError.invalid("\"\(key)\" is required and must be a string") }
        return text
    }

    /// A field that may be left out, but is a string when given.
    static func optionalText(_ body: JSON, _ key: String) throws -> String? {
        guard let value = body[key], value != .null else { return nil }
        guard let text = value.stringValue, text.count <= 100 else { throw EngineError.invalid("\"\(key)\" must be a string of at most 100 characters") }
        return text
    }

    static func json(_ voice: Voice) -> JSON {
        ["id": .string(voice.id), "language": .string(voice.language), "name": .string(voice.name)]
    }

    static func refusal(_ error: EngineError, _ context: IdentifiedRequestContext) -> Refusal {
        var headers = HTTPFields()
        if case .busy(_, let seconds) = error { headers[.retryAfter] = String(seconds) }
        return Refusal(error.status, code: error.code, error.description, surface: .api, requestID: context.requestID, headers: headers)
    }
}
