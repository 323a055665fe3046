import Foundation
import HTTPTypes
import Kernel
import Logging
import Storage

/// Loads FHIR data files: Bundles (batch or transaction, `.json`) and NDJSON (one resource per
/// line), optionally `.bz2`/`.gz` compressed; directories are walked in name order (so
/// Synthea's `0-*Information*` files load before the patients that reference them).
package struct ResourceImporter: Sendable {
    let fhir: FHIRService

    package init(fhir: FHIRService) { self.fhir = fhir }

    /// Imports are audited like any other change, with the command line as the agent.
    static let audit = AuditRecord(action: .create, interaction: "import", agent: "healthhub import")

    package struct Failure: Sendable, CustomStringConvertible {
        package let file: String
        package let reason: String
        package var description: String { "\(file): \(reason)" }
    }

    package struct Summary: Sendable {
        package var files = 0
        package var resources = 0
        package var byType: [String: Int] = [:]
        package var failures: [Failure] = []
        package var seconds = 0.0
        package var rate: Double { seconds > 0 ? Double(resources) / seconds : 0 }
    }

    /// Expands directories into the data files under them, sorted by path.
    package static func files(in paths: [String]) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw ImportError.missing(path) }
            if isDir.boolValue {
                let walker = fm.enumerator(atPath: path)
                var found: [String] = []
                while let rel = walker?.nextObject() as? String {
                    if isDataFile(rel) { found.append((path as NSString).appendingPathComponent(rel)) }
                }
                out += found.sorted()
            } else {
                out.append(path)
            }
        }
        return out
    }

    static func isDataFile(_ name: String) -> Bool {
        let lower = name.lowercased()
        return [".json", ".ndjson", ".json.bz2", ".ndjson.bz2", ".json.gz", ".ndjson.gz"].contains { lower.hasSuffix($0) }
    }

    /// A file read, decompressed and parsed, ready to import.
    enum Document: Sendable {
        case json(JSON)
        case ndjson(Data)
    }

    static func load(_ file: String) -> Result<Document, any Error> {
        do {
            let data = try read(file)
            if file.lowercased().contains(".ndjson") { return .success(.ndjson(data)) }
            do { return .success(.json(try JSON.parse(data))) } catch { return .failure(ImportError.syntax(error.description)) }
        } catch {
            return .failure(error)
        }
    }

    /// Imports files strictly in order (a file may reference what an earlier one created); the
    /// next file is read, decompressed and parsed while the current one is written.
    package func run(_ files: [String], progress: (@Sendable (Int, Summary) -> Void)? = nil) async -> Summary {
        var summary = Summary()
        let start = Now.date
        var next: Task<Result<Document, any Error>, Never>? = files.first.map { first in Task { Self.load(first) } }
        for (n, file) in files.enumerated() {
            let loaded = await next!.value
            next = n + 1 < files.count ? Task { [files] in Self.load(files[n + 1]) } : nil
            do {
                let counts: [String: Int]
                switch try loaded.get() {
                case .json(let json): counts = try await importDocument(json)
                case .ndjson(let data): counts = try await importNDJSON(data)
                }
                for (type, c) in counts {
                    summary.byType[type, default: 0] += c
                    summary.resources += c
                }
            } catch let error as FHIRError {
                summary.failures.append(
                    Failure(
                        file: file,
                        reason: "HTTP \(error.status.code): " + error.issues.map { ($0.expression.first.map { "\($0): " } ?? "") + $0.diagnostics }.joined(separator: "; ")))
            } catch {
                summary.failures.append(Failure(file: file, reason: String(describing: error)))
            }
            summary.files += 1
            summary.seconds = Now.date.timeIntervalSince(start)
            progress?(n + 1, summary)
        }
        summary.seconds = Now.date.timeIntervalSince(start)
        return summary
    }

    /// Imports one parsed document (a Bundle or a single resource); returns resources written per type.
    func importDocument(_ json: JSON) async throws -> [String: Int] {
        guard let type = json["resourceType"]?.stringValue else { throw ImportError.syntax("no resourceType") }
        if type == "Bundle", let kind = json["type"]?.stringValue, kind == "transaction" || kind == "batch" {
            let response = try await BundleProcessor(service: fhir).process(json, access: RequestAccess(healthHub: .importFiles, policy: fhir.policy), audit: Self.audit)
            var counts: [String: Int] = [:]
            var failures: [String] = []
            let requests = json["entry"]?.arrayValue ?? []
            for (i, entry) in (response["entry"]?.arrayValue ?? []).enumerated() {
                let status = entry["response"]?["status"]?.stringValue ?? ""
                if status.hasPrefix("2") {
                    let t = requests.indices.contains(i) ? requests[i]["resource"]?["resourceType"]?.stringValue ?? "?" : "?"
                    counts[t, default: 0] += 1
                } else {
                    let why = entry["response"]?["outcome"]?["issue"]?.arrayValue?.first?["diagnostics"]?.stringValue ?? status
                    failures.append("entry \(i): \(why)")
                }
            }
            if !failures.isEmpty { throw ImportError.entries(failures, imported: counts) }
            return counts
        }
        // A single resource.
        let resource = try fhir.checkResource(json, type: nil, location: nil)
        try await write([(type, resource)])
        return [type: 1]
    }

    /// NDJSON: resources keep their ids (an export re-imported is the same data), 500 per transaction.
    func importNDJSON(_ data: Data) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        var batch: [(String, JSONObject)] = []
        func flush() async throws {
            let items = batch
            batch = []
            try await write(items)
        }
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            let json: JSON
            do { json = try JSON.parse(line) } catch { throw ImportError.syntax("line \(lineNumber): \(error.description)") }
            guard let type = json["resourceType"]?.stringValue else { throw ImportError.syntax("line \(lineNumber): no resourceType") }
            let resource: JSONObject
            do { resource = try fhir.checkResource(json, type: nil, location: "line \(lineNumber)") } catch {
                throw ImportError.invalid("line \(lineNumber): " + error.issues.map(\.diagnostics).joined(separator: "; "))
            }
            batch.append((type, resource))
            counts[type, default: 0] += 1
            if batch.count == 500 { try await flush() }
        }
        if !batch.isEmpty { try await flush() }
        return counts
    }

    /// Writes resources in one transaction (keeping their ids when they have one), audited.
    func write(_ items: [(String, JSONObject)]) async throws {
        try await fhir.database.transaction { tx in
            var audits: [AuditRecord] = []
            for (type, resource) in items {
                try fhir.requireWritable(type)
                let version: ResourceVersion
                var created = true
                if let id = resource["id"]?.stringValue {
                    (version, created) = try await fhir.store.update(resource, type: type, id: id, ifMatch: nil, in: tx)
                } else {
                    version = try await fhir.store.create(resource, type: type, in: tx)
                }
                audits.append(Self.audit.changed(version, created: created, compartment: fhir.compartment))
            }
            try await fhir.audit.append(audits, in: tx)
        }
    }

    /// Reads a file, decompressing `.bz2`/`.gz` with the system tools.
    static func read(_ file: String) throws -> Data {
        let lower = file.lowercased()
        let tool: String? = lower.hasSuffix(".bz2") ? "bzip2" : lower.hasSuffix(".gz") ? "gzip" : nil
        guard let tool else { return try Data(contentsOf: URL(fileURLWithPath: file)) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool, "-dc", file]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ImportError.decompress("\(tool) failed: \(errText.prefix(200))") }
        return data
    }
}

package enum ImportError: Error, CustomStringConvertible {
    case missing(String)
    case syntax(String)
    case invalid(String)
    case decompress(String)
    case entries([String], imported: [String: Int])

    package var description: String {
        switch self {
        case .missing(let p): "no such file or directory: \(p)"
        case .syntax(let why): "not valid JSON: \(why)"
        case .invalid(let why): "invalid resource: \(why)"
        case .decompress(let why): why
        case .entries(let failures, _): "\(failures.count) batch entries failed: " + failures.prefix(5).joined(separator: "; ")
        }
    }
}
