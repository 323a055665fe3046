import AI
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Kernel
import Messaging
import NIOCore

/// Secure messaging on the pages: a patient's conversations with their care team
/// (`/portal/messages`) and the team inbox of the patients in a clinician's care
/// (`/console/inbox`): new threads go to the team, which can assign one to a clinician and mark
/// it done; read receipts and unread counts; attachments (images and PDFs, checked from their
/// bytes) stored as Binary resources with the message. Every message is a FHIR Communication
/// read and written through `FHIRService` under the visitor's access, so a patient can only ever
/// write to their own care team and a clinician sees only threads of patients in their care.
/// Each message can be listened to (text to speech) and a thread shown with machine
/// translations into the page's language beside the originals, labelled as such.
package struct MessagesController: Sendable {
    let kit: PageKit
    let center: MessageCenter
    let attachmentLimit: Int
    let ai: AIServices

    package init(kit: PageKit, center: MessageCenter, attachmentLimit: Int, ai: AIServices) {
        self.kit = kit
        self.center = center
        self.attachmentLimit = attachmentLimit
        self.ai = ai
    }

    /// Which side of the conversation a page is for.
    enum Side {
        case patient, staff
        var base: String { self == .patient ? "/portal/messages" : "/console/inbox" }
    }

    package func register(on routes: RouteTable) {
        let pages = routes.signedIn
        pages.get("portal/messages") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, p in try await patientList(v, p) } }
        pages.post("portal/messages") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, p in try await start(v, p) } }
        pages.get("portal/messages/:id") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, _ in try await thread(v, .patient) } }
        pages.post("portal/messages/:id") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, _ in try await reply(v, .patient) } }
        pages.get("portal/messages/:id/files/:binary") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, _ in try await file(v) } }
        pages.get("portal/messages/:id/listen/:message") { r, c in try await kit.page(r, c, for: .patient, linked: \.patient) { v, _ in try await listen(v) } }
        pages.get("console/inbox") { r, c in try await kit.page(r, c, for: .practitioner, linked: \.practitioner) { v, p in try await inbox(v, p) } }
        pages.get("console/inbox/:id") { r, c in try await kit.page(r, c, for: .practitioner, linked: \.practitioner) { v, _ in try await thread(v, .staff) } }
        pages.post("console/inbox/:id") { r, c in try await kit.page(r, c, for: .practitioner, linked: \.practitioner) { v, _ in try await reply(v, .staff) } }
        pages.get("console/inbox/:id/files/:binary") { r, c in try await kit.page(r, c, for: .practitioner, linked: \.practitioner) { v, _ in try await file(v) } }
        pages.get("console/inbox/:id/listen/:message") { r, c in
            try await kit.page(r, c, for: .practitioner, linked: \.practitioner) { v, _ in try await listen(v) }
        }
        for action in ["assign", "done", "reopen"] {
            pages.post(RouterPath("console/inbox/:id/\(action)")) { r, c in
                try await kit.page(r, c, for: .practitioner, linked: \.practitioner) { v, p in try await change(v, p, action) }
            }
        }
    }

    static let doneKeys: Set<String> = ["messages.sent", "inbox.changed"]

    // MARK: Lists

    func roots(_ visit: PageKit.Visit, _ query: String) async throws -> [String: JSONObject] { try await kit.threadStarts(visit, query) }

    /// The threads among `messages` with one the red-flag layer marked urgent, first or reply.
    /// (Communication has no priority search parameter in R4, so it is read off the messages.)
    static func urgentThreads(_ messages: [(ResourceVersion, JSONObject)]) -> Set<String> {
        Set(
            messages.filter { $0.1["priority"]?.stringValue == "urgent" }.map { version, m in
                (m["partOf"]?.arrayValue?.first?["reference"]?.stringValue).map { String($0.dropFirst("Communication/".count)) } ?? version.id
            })
    }

    func rows(
        _ visit: PageKit.Visit, _ threads: [MessageCenter.Thread], roots: [String: JSONObject], side: Side, names: [String: String] = [:], urgent: Set<String> = []
    ) -> [[String: Any]] {
        threads.map { t in
            var row: [String: Any] = [
                "href": "\(side.base)/\(t.id)", "topic": roots[t.id]?["topic"]?["text"]?.stringValue ?? visit.t("messages.kind.\(t.kind.rawValue)"),
                "kind": visit.t("messages.kind.\(t.kind.rawValue)"), "when": kit.when(Instant.format(millis: t.lastAt), visit),
                "status": visit.t("messages.status.\(t.status)"), "patient": names["Patient/\(t.patient)"] ?? "",
                "assigned": t.assignedTo.flatMap { names[$0] } ?? visit.t("inbox.team"),
            ]
            if t.unread > 0 { row["unread"] = t.unread }
            if side == .staff, urgent.contains(t.id) { row["urgent"] = visit.t("messages.urgent") }
            return row
        }
    }

    func listStrings(_ visit: PageKit.Visit) -> [String: String] {
        visit.strings("messages", ["topic", "kind", "last", "unread", "none", "new", "medication", "noMedication", "text", "file", "send"])
            .merging(["status": visit.t("records.status"), "patient": visit.t("inbox.patient"), "assigned": visit.t("inbox.assigned")], uniquingKeysWith: { a, _ in a })
    }

    func patientList(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit) { record in
            record.patients = ["Patient/\(patient)"]
            let roots = try await roots(visit, "subject=Patient/\(patient)")
            let threads = try await center.threads(Array(roots.keys), reader: Self.me(visit))
            let medications = PageKit.objects(try await kit.search(visit, "MedicationRequest", "patient=\(patient)&status=active&_count=100").matches)
            var values: [String: Any] = [
                "t": listStrings(visit).merging(["topic": visit.t("messages.topic")], uniquingKeysWith: { _, b in b }),
                "threads": rows(visit, threads, roots: roots, side: .patient),
                "kinds": MessagingVocabulary.Kind.allCases.map { ["code": $0.rawValue, "display": visit.t("messages.kind.\($0.rawValue)")] },
                "medications": medications.map { ["id": $0.0.id, "name": PageKit.text($0.1["medicationCodeableConcept"])] },
            ]
            if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            return try await kit.page(visit, title: visit.t("messages.title"), template: "portal-messages", values: values, section: "/portal/messages")
        }
    }

    func inbox(_ visit: PageKit.Visit, _ practitioner: String) async throws -> Response {
        try await kit.audited(visit) { record in
            let show = ["open", "mine", "done"].contains(visit.request.uri.queryParameters["show"] ?? "") ? String(visit.request.uri.queryParameters["show"]!) : "open"
            let me = "Practitioner/\(practitioner)"
            // one read of the team's messages gives the threads and which have an urgent message
            let messages = PageKit.objects(try await kit.search(visit, "Communication", "category=\(MessagingVocabulary.typeSystem)|&_count=1000").matches)
            let roots = PageKit.threadStarts(messages)
            let threads = try await center.threads(Array(roots.keys), reader: me).filter { t in
                switch show {
                case "mine": t.assignedTo == me && t.status == "open"
                case "done": t.status == "done"
                default: t.status == "open"
                }
            }
            record.patients = Array(Set(threads.map { "Patient/\($0.patient)" })).sorted()
            let names = try await people(visit, patients: Set(threads.map(\.patient)), practitioners: Set(threads.compactMap(\.assignedTo)))
            let filters: [[String: Any]] = ["open", "mine", "done"].enumerated().map { n, code in
                ["code": code, "label": visit.t("inbox.\(code)"), "current": code == show, "last": n == 2]
            }
            var values: [String: Any] = [
                "t": listStrings(visit).merging(["title": visit.t("inbox.title"), "topic": visit.t("messages.topic")], uniquingKeysWith: { _, b in b }),
                "threads": rows(visit, threads, roots: roots, side: .staff, names: names, urgent: Self.urgentThreads(messages)), "staff": true, "filters": filters,
            ]
            if let flash = kit.flash(visit, known: Self.doneKeys) { values["flash"] = flash }
            return try await kit.page(visit, title: visit.t("inbox.title"), template: "console-inbox", values: values, section: "/console/inbox")
        }
    }

    /// Display names of patients, proxies (RelatedPersons, both read under the visitor's access)
    /// and practitioners, by reference.
    func people(_ visit: PageKit.Visit, patients: Set<String>, practitioners: Set<String>) async throws -> [String: String] {
        var names: [String: String] = [:]
        if !patients.isEmpty {
            for (v, p) in PageKit.objects(try await kit.search(visit, "Patient", "_id=\(patients.sorted().joined(separator: ","))&_count=1000").matches) {
                names["Patient/\(v.id)"] = PageKit.name(p)
            }
        }
        let proxies = practitioners.compactMap { $0.hasPrefix("RelatedPerson/") ? String($0.dropFirst(14)) : nil }
        if !proxies.isEmpty {
            for (v, p) in PageKit.objects(try await kit.search(visit, "RelatedPerson", "_id=\(proxies.sorted().joined(separator: ","))&_count=100").matches) {
                names["RelatedPerson/\(v.id)"] = "\(PageKit.name(p)) (\(visit.t("proxies.proxy")))"
            }
        }
        let ids = practitioners.compactMap { $0.hasPrefix("Practitioner/") ? String($0.dropFirst(13)) : nil }
        if !ids.isEmpty {
            for (v, p) in PageKit.objects(try await kit.search(visit, "Practitioner", "_id=\(ids.sorted().joined(separator: ","))&_count=1000").matches) {
                names["Practitioner/\(v.id)"] = PageKit.name(p)
            }
        }
        return names
    }

    // MARK: A thread

    /// The visitor as a sender: `Patient/<id>`, `RelatedPerson/<id>` (a proxy) or `Practitioner/<id>`.
    static func me(_ visit: PageKit.Visit) -> String { visit.principal.reference }

    func thread(_ visit: PageKit.Visit, _ side: Side) async throws -> Response {
        try await kit.audited(visit) { record in
            guard let id = visit.context.parameters.get("id"), ResourceID.isValid(id) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            let access = kit.access(visit)
            let rootVersion = try await kit.service.read("Communication", id, access: access)
            guard let root = PageKit.objects([rootVersion]).first?.1, MessagingVocabulary.startsThread(root), let kind = MessagingVocabulary.kind(of: root),
                let patient = MessagingVocabulary.patient(of: root)
            else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            record.patients = ["Patient/\(patient)"]
            record.resources = ["Communication/\(id)"]
            let me = Self.me(visit)
            let replies = PageKit.objects(try await kit.search(visit, "Communication", "part-of=Communication/\(id)&_count=1000").matches)
            let messages = ([(rootVersion, root)] + replies).sorted { ($0.1["sent"]?.stringValue ?? "") < ($1.1["sent"]?.stringValue ?? "") }
            guard let state = try await center.threads([id], reader: me).first else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            let readers = try await center.readers(of: id)
            let senders = Set(messages.compactMap { MessagingVocabulary.sender(of: $0.1) })
            let names = try await people(
                visit, patients: [patient], practitioners: senders.union(state.assignedTo.map { [$0] } ?? []))
            // Messages in another language than the page's, with an installed pair, can be shown translated.
            let pairs = (try? await ai.languagePairs().pairs) ?? []
            let foreign = messages.indices.filter { i in
                let language = Self.language(of: messages[i].1)
                return language != visit.language && !Self.text(of: messages[i].1).isEmpty && pairs.match(language, visit.language) != nil
            }
            let translating = !foreign.isEmpty && visit.request.uri.queryParameters["translate"] == "1"
            let translations = translating ? await translate(foreign.map { (Self.text(of: messages[$0].1), Self.language(of: messages[$0].1)) }, into: visit.language) : nil
            let translated = Dictionary(uniqueKeysWithValues: zip(foreign, translations ?? []))
            let translationEngine = ai.configuration.translation.rawValue
            let shown: [[String: Any]] = messages.enumerated().map { index, message in
                let (v, m) = message
                let sender = MessagingVocabulary.sender(of: m) ?? ""
                let sent = m["sent"]?.stringValue.flatMap(DateRange.init)?.low ?? 0
                let text = Self.text(of: m)
                let files: [[String: Any]] = (m["payload"]?.arrayValue ?? []).compactMap { p in
                    guard let a = p["contentAttachment"], let url = a["url"]?.stringValue, url.hasPrefix("Binary/") else { return nil }
                    return [
                        "href": "\(side.base)/\(v.id)/files/\(url.dropFirst(7))", "name": a["title"]?.stringValue ?? "attachment",
                        "type": a["contentType"]?.stringValue ?? "",
                        "size": "\(max(1, (a["size"]?.doubleValue ?? 0) / 1024).rounded()) KB".replacingOccurrences(of: ".0 KB", with: " KB"),
                    ]
                }
                let from = sender == me ? visit.t("messages.you") : names[sender] ?? (sender.hasPrefix("Practitioner/") ? visit.t("messages.careTeam") : names[sender] ?? "")
                // read by someone else since it was sent
                let read = sender == me && readers.contains { $0.key != me && $0.value >= sent }
                var shown: [String: Any] = [
                    "from": from, "when": kit.when(m["sent"]?.stringValue, visit), "read": read, "urgent": m["priority"]?.stringValue == "urgent" && side == .staff,
                    "paragraphs": text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init), "files": files,
                ]
                guard !text.isEmpty else { return shown }
                let listen = "\(side.base)/\(id)/listen/\(v.id)"
                shown["lang"] = Self.language(of: m)
                shown["listen"] = listen
                if let translation = translated[index] {
                    shown["translation"] = [
                        "lang": visit.language, "listen": "\(listen)?translated=1", "engine": translationEngine,
                        "paragraphs": translation.split(separator: "\n", omittingEmptySubsequences: true).map(String.init),
                    ]
                }
                return shown
            }
            var values: [String: Any] = [
                "t": visit.strings("messages", ["reply", "text", "file", "send", "read", "listen", "machine", "urgent"]), "messages": shown,
                "kind": visit.t("messages.kind.\(kind.rawValue)"), "status": visit.t("messages.status.\(state.status)"),
                "replyAction": "\(side.base)/\(id)",
            ]
            if let about = (root["about"]?.arrayValue ?? []).first?["display"]?.stringValue { values["about"] = about }
            if !foreign.isEmpty {
                values["translate"] =
                    translating
                    ? ["href": "\(side.base)/\(id)", "label": visit.t("messages.original")] : ["href": "\(side.base)/\(id)?translate=1", "label": visit.t("messages.translate")]
            }
            if translating, translations == nil { values["flash"] = ["text": visit.t("messages.translateFailed"), "bad": true] }
            if side == .staff {
                values["patient"] = names["Patient/\(patient)"] ?? ""
                var forms: [[String: Any]] = []
                if state.assignedTo == me {
                    forms.append(["action": "\(side.base)/\(id)/assign", "to": "team", "label": visit.t("inbox.unassign")])
                } else {
                    forms.append(["action": "\(side.base)/\(id)/assign", "to": "me", "label": visit.t("inbox.assignMe")])
                }
                forms.append(
                    state.status == "done"
                        ? ["action": "\(side.base)/\(id)/reopen", "label": visit.t("inbox.reopen")] : ["action": "\(side.base)/\(id)/done", "label": visit.t("inbox.markDone")])
                values["actions"] = ["forms": forms]
            }
            if let flash = sentFlash(visit) { values["flash"] = flash }
            let title = root["topic"]?["text"]?.stringValue ?? visit.t("messages.kind.\(kind.rawValue)")
            let response = try await kit.page(visit, title: title, template: "message-thread", values: values, section: side == .patient ? "/portal/messages" : "/console/inbox")
            try await center.markRead(thread: id, reader: me)
            return response
        }
    }

    // MARK: Red flags

    /// Whether a patient's message reads like an emergency (the AI services' red-flag layer):
    /// the patient is told at once to call the emergency number (messages are not read at once)
    /// and the message is marked `priority: urgent` for the team inbox.
    static func emergency(_ text: String) -> Bool {
        if case .emergency = Triage.shared.assess(text) { return true }
        return false
    }

    /// The flash after sending: for an emergency, the advice with the practice's emergency number.
    func sentFlash(_ visit: PageKit.Visit) -> [String: Any]? {
        guard visit.request.uri.queryParameters["done"] == "messages.emergency" else { return kit.flash(visit, known: Self.doneKeys) }
        return ["text": visit.t("messages.emergency").replacingOccurrences(of: "{number}", with: Triage.emergencyNumber(region: ai.configuration.emergencyRegion)), "bad": true]
    }

    // MARK: Listening and translating

    /// The text of a message (its text parts, one per line).
    static func text(of message: JSONObject) -> String {
        (message["payload"]?.arrayValue ?? []).compactMap { $0["contentString"]?.stringValue }.joined(separator: "\n")
    }

    /// The language a message is written in: its `language` (the pages set the writer's page
    /// language), English when it has none.
    static func language(of message: JSONObject) -> String {
        message["language"]?.stringValue?.split(separator: "-").first.map { $0.lowercased() } ?? "en"
    }

    /// Each (text, language) translated into `target`, one engine call per source language; nil
    /// when the engine cannot now, and the page says so instead of failing.
    func translate(_ texts: [(text: String, language: String)], into target: String) async -> [String]? {
        var out = texts.map(\.text)
        for language in Set(texts.map(\.language)) {
            let group = texts.indices.filter { texts[$0].language == language }
            guard let done = try? await ai.translate(group.map { texts[$0].text }, from: language, to: target), done.count == group.count else { return nil }
            for (i, t) in zip(group, done) { out[i] = t.text }
        }
        return out
    }

    /// One message of a thread the visitor may read, spoken in its own language, or translated
    /// into the page's language first (`translated=1`).
    func listen(_ visit: PageKit.Visit) async throws -> Response {
        try await kit.audited(visit, interaction: "ai-speech") { record in
            guard let thread = visit.context.parameters.get("id"), let id = visit.context.parameters.get("message"), ResourceID.isValid(thread), ResourceID.isValid(id) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            let version = try await kit.service.read("Communication", id, access: kit.access(visit))
            guard let message = PageKit.objects([version]).first?.1, let patient = MessagingVocabulary.patient(of: message),
                id == thread || (message["partOf"]?.arrayValue ?? []).contains(where: { $0["reference"]?.stringValue == "Communication/\(thread)" })
            else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            record.patients = ["Patient/\(patient)"]
            record.resources = ["Communication/\(id)"]
            var text = Self.text(of: message)
            var language = Self.language(of: message)
            do {
                if visit.request.uri.queryParameters["translated"] == "1", language != visit.language {
                    text = try await ai.translate(text, from: language, to: visit.language).text
                    language = visit.language
                }
                let audio = try await ai.speak(SpeechRequest(text: text, language: language))
                return Response(
                    status: .ok, headers: [.contentType: audio.contentType, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: audio.bytes)))
            } catch let error as EngineError {
                record.outcome = .minorFailure
                record.outcomeCode = error.code
                return try await kit.problem(visit, error.status, visit.t("messages.listenFailed"))
            }
        }
    }

    // MARK: Writing

    /// A new thread from the patient to their care team.
    func start(_ visit: PageKit.Visit, _ patient: String) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            record.patients = ["Patient/\(patient)"]
            let form = try await PageForm.read(visit.request, limit: PageSession.formLimit)
            guard let kind = form["kind"].flatMap(MessagingVocabulary.Kind.init(rawValue:)), let topic = form["topic"], topic.count <= 200,
                let text = form["text"], text.count <= 5000
            else { return try await kit.problem(visit, .badRequest, visit.t("messages.bad.text")) }
            var about: [JSON] = []
            if kind == .refill, let medication = form["medication"] {
                guard ResourceID.isValid(medication) else { return try await kit.problem(visit, .badRequest, visit.t("error.title")) }
                let v = try await kit.service.read("MedicationRequest", medication, access: kit.access(visit))
                let name = PageKit.objects([v]).first.map { PageKit.text($0.1["medicationCodeableConcept"]) } ?? ""
                about = [["reference": .string("MedicationRequest/\(medication)"), "display": .string(name)]]
            }
            let urgent = Self.emergency(topic + "\n" + text)
            let id = try await write(visit, form: form, patient: patient, text: text, kind: kind, topic: topic, about: about, thread: nil, urgent: urgent)
            guard let id else { return try await kit.problem(visit, .unprocessableContent, visit.t("messages.bad.file")) }
            return PageKit.redirect("/portal/messages/\(id)", done: urgent ? "messages.emergency" : "messages.sent")
        }
    }

    /// A reply in a thread the visitor may read.
    func reply(_ visit: PageKit.Visit, _ side: Side) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            guard let thread = visit.context.parameters.get("id"), ResourceID.isValid(thread) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            let root = try await kit.service.read("Communication", thread, access: kit.access(visit))
            guard let message = PageKit.objects([root]).first?.1, let kind = MessagingVocabulary.kind(of: message), let patient = MessagingVocabulary.patient(of: message) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            record.patients = ["Patient/\(patient)"]
            let form = try await PageForm.read(visit.request, limit: PageSession.formLimit)
            guard let text = form["text"], text.count <= 5000 else { return try await kit.problem(visit, .badRequest, visit.t("messages.bad.text")) }
            // the red-flag layer reads what patients (and their proxies) write, not the staff's answers
            let urgent = side == .patient && Self.emergency(text)
            guard try await write(visit, form: form, patient: patient, text: text, kind: kind, topic: nil, about: [], thread: thread, urgent: urgent) != nil else {
                return try await kit.problem(visit, .unprocessableContent, visit.t("messages.bad.file"))
            }
            return PageKit.redirect("\(side.base)/\(thread)", done: urgent ? "messages.emergency" : "messages.sent")
        }
    }

    /// Writes one message (and its attachment, if any) as the visitor; nil when the attachment
    /// is refused (not an image or PDF by its bytes, or too large).
    func write(
        _ visit: PageKit.Visit, form: PageForm, patient: String, text: String, kind: MessagingVocabulary.Kind, topic: String?, about: [JSON], thread: String?,
        urgent: Bool = false
    ) async throws -> String? {
        let id = ResourceID.generate()
        let me = Self.me(visit)
        var payload: [JSON] = [["contentString": .string(text)]]
        var attachments: [(id: String, binary: JSONObject)] = []
        for file in form.files where !file.bytes.isEmpty {
            guard file.bytes.count <= attachmentLimit, let type = AttachmentCheck.contentType(of: file.bytes) else { return nil }
            let binaryID = ResourceID.generate()
            attachments.append(
                (
                    binaryID,
                    [
                        "resourceType": "Binary", "contentType": .string(type), "securityContext": ["reference": .string("Communication/\(id)")],
                        "data": .string(Data(file.bytes).base64EncodedString()),
                    ]
                ))
            let title = String(file.filename.split(separator: "/").last ?? "attachment").prefix(120)
            payload.append([
                "contentAttachment": ["contentType": .string(type), "url": .string("Binary/\(binaryID)"), "title": .string(String(title)), "size": .int(file.bytes.count)]
            ])
        }
        var message: JSONObject = [
            "resourceType": "Communication", "status": "completed",
            "category": [["coding": [["system": .string(MessagingVocabulary.typeSystem), "code": .string(kind.rawValue), "display": .string(kind.display)]]]],
            "subject": ["reference": .string("Patient/\(patient)")], "sender": ["reference": .string(me)], "sent": .string(Instant.format(millis: Instant.millis(Now.date))),
            "payload": .array(payload), "language": .string(visit.language),
        ]
        if let topic { message["topic"] = ["text": .string(topic)] }
        if urgent { message["priority"] = "urgent" }
        if !about.isEmpty { message["about"] = .array(about) }
        if let thread { message["partOf"] = [["reference": .string("Communication/\(thread)")]] }
        if me.hasPrefix("Practitioner/") { message["recipient"] = [["reference": .string("Patient/\(patient)")]] }
        let resource = try kit.service.checkResource(.object(message), type: "Communication", location: "Communication")
        _ = try await kit.service.create(
            resource, type: "Communication", id: id, attachments: attachments, access: kit.access(visit), audit: kit.record(visit, .create, "create"))
        return thread ?? id
    }

    /// An attachment of a message the visitor may read, as a download (never shown inline).
    func file(_ visit: PageKit.Visit) async throws -> Response {
        try await kit.audited(visit) { record in
            guard let message = visit.context.parameters.get("id"), let binary = visit.context.parameters.get("binary"), ResourceID.isValid(message) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            let (owner, object) = try await kit.service.attachment(binary, of: "Communication", message, access: kit.access(visit))
            record.patients = kit.service.compartment.patients(of: owner)
            record.resources = ["Communication/\(message)", "Binary/\(binary)"]
            guard let data = object["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), let type = AttachmentCheck.contentType(of: [UInt8](data)) else {
                return try await kit.problem(visit, .notFound, visit.t("error.notFound"))
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: type, .contentDisposition: "attachment; filename=\"attachment-\(binary.prefix(8)).\(type.split(separator: "/").last ?? "bin")\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    /// Assign to me or back to the team, mark done, reopen: for a thread the clinician may read.
    func change(_ visit: PageKit.Visit, _ practitioner: String, _ action: String) async throws -> Response {
        try await kit.audited(visit, action: .execute) { record in
            guard let thread = visit.context.parameters.get("id"), ResourceID.isValid(thread) else { return try await kit.problem(visit, .notFound, visit.t("error.notFound")) }
            let root = try await kit.service.read("Communication", thread, access: kit.access(visit))
            record.patients = kit.service.compartment.patients(of: root)
            record.resources = ["Communication/\(thread)"]
            let form = try await PageForm.read(visit.request)
            switch action {
            case "assign": try await center.assign(thread: thread, to: form["to"] == "me" ? "Practitioner/\(practitioner)" : nil)
            case "done": try await center.setStatus(thread: thread, done: true)
            default: try await center.setStatus(thread: thread, done: false)
            }
            return PageKit.redirect("/console/inbox/\(thread)", done: "inbox.changed")
        }
    }
}

extension PageKit {
    /// The first messages of the threads the visitor may see (the access policy decides), by id.
    func threadStarts(_ visit: Visit, _ query: String) async throws -> [String: JSONObject] {
        Self.threadStarts(Self.objects(try await search(visit, "Communication", query + "&_count=1000").matches))
    }

    /// The first messages of threads among `found`, by id.
    static func threadStarts(_ found: [(ResourceVersion, JSONObject)]) -> [String: JSONObject] {
        Dictionary(found.filter { MessagingVocabulary.startsThread($0.1) }.map { ($0.0.id, $0.1) }, uniquingKeysWith: { a, _ in a })
    }
}
