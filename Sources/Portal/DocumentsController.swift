import AI
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel

/// A patient's documents in the clinician's console (`/console/patients/{id}/documents`):
/// dictate a note (an audio file or a recording, transcribed by the transcription engine into
/// a draft), add a scanned letter or a photo of one (the image kept, its text read by the OCR
/// engine), then read the draft, correct it and sign it. Each is a FHIR `DocumentReference`
/// written through `FHIRService` under the clinician's access (so only for a patient in their
/// care): `docStatus` `preliminary` until signed, `final` with the clinician as `authenticator`
/// after. The audio is not kept, only its transcript.
package struct DocumentsController: Sendable {
    let kit: PageKit
    let ai: AIServices

    package init(kit: PageKit, ai: AIServices) {
        self.kit = kit
        self.ai = ai
    }

    static let doneKeys: Set<String> = ["documents.drafted", "documents.scanned", "documents.signed"]
    static let base = "/console/patients"

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("console/patients/:id/documents") { r, c in try await staff(r, c) { v, p in try await list(v, p) } }
        pages.post("console/patients/:id/documents/dictation") { r, c in try await staff(r, c) { v, p in try await dictation(v, p) } }
        pages.post("console/patients/:id/documents/scan") { r, c in try await staff(r, c) { v, p in try await scan(v, p) } }
        pages.post("console/patients/:id/documents/:doc/sign") { r, c in try await staff(r, c) { v, p in try await sign(v, p) } }
    }

    /// A page for practitioners, with the Practitioner their account is linked to.
    func staff(_ request: Request, _ context: IdentifiedRequestContext, _ page: (PageKit.Visit, String) async throws -> Response) async throws -> Response {
        try await kit.page(request, context, for: .practitioner, linked: \.practitioner, page)
    }

    // MARK: The list

    func list(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit) { record in
            guard let patient = visit.context.parameters.get("id"), ResourceID.isValid(patient) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            record.patients = ["Patient/\(patient)"]
            let person = try await kit.service.read("Patient", patient, access: kit.access(visit))
            let name = PageKit.objects([person]).first.map { PageKit.name($0.1) } ?? ""
            let documents = PageKit.objects(try await kit.search(visit, "DocumentReference", "patient=\(patient)&_sort=-date&_count=50").matches)
            record.resources = documents.map { "DocumentReference/\($0.0.id)" }
            let rows: [[String: Any]] = documents.map { version, d in
                let draft = d["docStatus"]?.stringValue != "final"
                var row: [String: Any] = [
                    "when": kit.when(d["date"]?.stringValue, visit), "kind": PageKit.text(d["type"]), "description": d["description"]?.stringValue ?? "",
                    "status": visit.t(draft ? "documents.draft" : "documents.final"), "text": Self.text(of: d),
                    "paragraphs": Self.text(of: d).split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
                    "image": Self.image(of: d).map { "\($0.type), \(max(1, $0.bytes / 1024)) KB" } ?? "",
                ]
                if draft {
                    row["sign"] = ["action": "\(Self.base)/\(patient)/documents/\(version.id)/sign", "version": String(version.version), "id": version.id]
                }
                return row
            }
            var values: [String: Any] = [
                "t": visit.strings(
                    "documents", ["dictate", "dictateHelp", "audio", "scan", "scanHelp", "image", "add", "none", "sign", "edit", "machine", "when", "kind", "status"]),
                "documents": rows, "name": name, "chart": "\(Self.base)/\(patient)",
                "dictateAction": "\(Self.base)/\(patient)/documents/dictation", "scanAction": "\(Self.base)/\(patient)/documents/scan",
            ]
            if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            return try await kit.page(visit, title: visit.t("documents.title"), template: "console-documents", values: values, section: "/console/patients")
        }
    }

    // MARK: Adding

    /// A dictation: the audio transcribed into a draft note.
    func dictation(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit, action: .execute, interaction: "ai-transcribe") { record in
            guard let patient = visit.context.parameters.get("id"), ResourceID.isValid(patient) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            record.patients = ["Patient/\(patient)"]
            let form = try await PageForm.read(visit.request, limit: ai.configuration.audioBytes + (64 << 10))
            guard let audio = form.files.first(where: { !$0.bytes.isEmpty })?.bytes else {
                record.outcome = .minorFailure
                return try await kit.problem(visit, .badRequest, visit.t("documents.bad.audio"))
            }
            // The patient must be one the clinician may write for before any engine runs.
            _ = try await kit.service.read("Patient", patient, access: kit.access(visit))
            let transcript: Transcript
            do {
                transcript = try await ai.transcribe(audio, language: visit.language, prompt: form["prompt"])
            } catch let error as EngineError {
                record.outcome = .minorFailure
                record.outcomeCode = error.code
                return try await kit.problem(visit, error.status, Self.explain(error, visit))
            }
            let note = Self.document(
                patient: patient, practitioner: practitioner, type: ("11506-3", "Progress note"),
                description: "Dictated note: machine transcription (\(transcript.engine)), to be read and corrected before signing",
                content: [Self.attachment(text: transcript.text, language: transcript.language, title: "Transcript")])
            let version = try await create(visit, note)
            record.resources = ["DocumentReference/\(version.id)"]
            return PageKit.redirect("\(Self.base)/\(patient)/documents", done: "documents.drafted")
        }
    }

    /// A scanned document or a photo of one: the image kept, its text read into a draft.
    func scan(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit, action: .execute, interaction: "ai-ocr") { record in
            guard let patient = visit.context.parameters.get("id"), ResourceID.isValid(patient) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            record.patients = ["Patient/\(patient)"]
            let form = try await PageForm.read(visit.request, limit: ai.configuration.imageBytes + (64 << 10))
            guard let image = form.files.first(where: { !$0.bytes.isEmpty })?.bytes, let format = ImageFormat(sniffing: image) else {
                record.outcome = .minorFailure
                return try await kit.problem(visit, .badRequest, visit.t("documents.bad.image"))
            }
            _ = try await kit.service.read("Patient", patient, access: kit.access(visit))
            let read: RecognizedText
            do {
                read = try await ai.recognize(image, language: "eng")
            } catch let error as EngineError {
                record.outcome = .minorFailure
                record.outcomeCode = error.code
                return try await kit.problem(visit, error.status, Self.explain(error, visit))
            }
            let imageAttachment: JSONObject = [
                "contentType": .string(format.contentType), "data": .string(Data(image).base64EncodedString()), "title": "Scanned image",
                "size": .int(image.count), "creation": .string(Instant.format(millis: Instant.millis(Now.date))),
            ]
            let confidence = read.confidence.map { " (mean word confidence \(Int($0.rounded()))%)" } ?? ""
            let document = Self.document(
                patient: patient, practitioner: practitioner, type: nil,
                description: "Scanned document: text read by \(read.engine)\(confidence), to be checked against the image before signing",
                content: [Self.attachment(text: read.text, language: "en", title: "Text read from the image"), ["attachment": .object(imageAttachment)]])
            let version = try await create(visit, document)
            record.resources = ["DocumentReference/\(version.id)"]
            return PageKit.redirect("\(Self.base)/\(patient)/documents", done: "documents.scanned")
        }
    }

    /// A draft read, corrected and signed: its text as the clinician left it, `docStatus` final.
    func sign(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            guard let patient = visit.context.parameters.get("id"), let id = visit.context.parameters.get("doc"), ResourceID.isValid(patient), ResourceID.isValid(id) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            record.patients = ["Patient/\(patient)"]
            record.resources = ["DocumentReference/\(id)"]
            let form = try await PageForm.read(visit.request, limit: PageSession.formLimit)
            let current = try await kit.service.read("DocumentReference", id, access: kit.access(visit))
            guard var document = PageKit.objects([current]).first?.1, document["subject"]?["reference"]?.stringValue == "Patient/\(patient)",
                document["docStatus"]?.stringValue != "final"
            else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            guard let raw = form["text"], !raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, raw.count <= 50_000 else {
                record.outcome = .minorFailure
                return try await kit.problem(visit, .badRequest, visit.t("documents.bad.text"))
            }
            guard form["version"] == String(current.version) else {
                record.outcome = .minorFailure
                return try await kit.problem(visit, .conflict, visit.t("documents.bad.changed"))
            }
            // control characters (a NUL) have no place in a note; line breaks and tabs stay
            let text = String(String.UnicodeScalarView(raw.unicodeScalars.filter { $0.properties.generalCategory != .control || $0 == "\n" || $0 == "\t" || $0 == "\r" }))
            var content = document["content"]?.arrayValue ?? []
            if let first = content.first?.objectValue, first["attachment"]?["contentType"]?.stringValue?.hasPrefix("text/plain") == true {
                content[0] = .object(Self.attachment(text: text, language: first["attachment"]?["language"]?.stringValue ?? visit.language, title: "Note"))
            }
            document["content"] = .array(content)
            document["docStatus"] = "final"
            document["authenticator"] = ["reference": .string("Practitioner/\(practitioner)")]
            let resource = try kit.service.checkResource(.object(document), type: "DocumentReference", location: "DocumentReference")
            _ = try await kit.service.update(
                resource, type: "DocumentReference", id: id, ifMatch: current.version, access: kit.access(visit), audit: kit.record(visit, .update, "update"))
            return PageKit.redirect("\(Self.base)/\(patient)/documents", done: "documents.signed")
        }
    }

    // MARK: Helpers

    func create(_ visit: PageKit.Visit, _ document: JSONObject) async throws -> ResourceVersion {
        let resource = try kit.service.checkResource(.object(document), type: "DocumentReference", location: "DocumentReference")
        return try await kit.service.create(resource, type: "DocumentReference", ifNoneExist: nil, access: kit.access(visit), audit: kit.record(visit, .create, "create")).0
    }

    static func document(patient: String, practitioner: String, type: (code: String, display: String)?, description: String, content: [JSONObject]) -> JSONObject {
        var d: JSONObject = [
            "resourceType": "DocumentReference", "status": "current", "docStatus": "preliminary",
            "subject": ["reference": .string("Patient/\(patient)")], "date": .string(Instant.format(millis: Instant.millis(Now.date))),
            "author": [["reference": .string("Practitioner/\(practitioner)")]], "description": .string(description),
            "content": .array(content.map(JSON.object)),
        ]
        d["type"] =
            type.map { ["coding": [["system": "http://loinc.org", "code": .string($0.code), "display": .string($0.display)]], "text": .string($0.display)] }
            ?? ["text": "Scanned document"]
        return d
    }

    static func attachment(text: String, language: String, title: String) -> JSONObject {
        [
            "attachment": [
                "contentType": "text/plain; charset=utf-8", "language": .string(language), "data": .string(Data(text.utf8).base64EncodedString()), "title": .string(title),
            ]
        ]
    }

    /// The text of a document: its first plain-text attachment.
    static func text(of document: JSONObject) -> String {
        for c in document["content"]?.arrayValue ?? [] {
            guard let a = c["attachment"], a["contentType"]?.stringValue?.hasPrefix("text/plain") == true, let data = a["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
            else { continue }
            return String(decoding: data, as: UTF8.self)
        }
        return ""
    }

    static func image(of document: JSONObject) -> (type: String, bytes: Int)? {
        for c in document["content"]?.arrayValue ?? [] {
            guard let a = c["attachment"], let type = a["contentType"]?.stringValue, type.hasPrefix("image/") else { continue }
            return (type, a["size"]?.numberText.flatMap { Int($0) } ?? 0)
        }
        return nil
    }

    /// What the page says when an engine could not do it: the reason, never the engine's words.
    static func explain(_ error: EngineError, _ visit: PageKit.Visit) -> String {
        switch error {
        case .invalid, .tooLarge: "\(visit.t("documents.bad.input")) \(error.description)"
        case .unavailable, .busy, .timedOut, .failed: visit.t("documents.unavailable")
        }
    }
}
