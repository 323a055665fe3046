import HTTPTypes
import Kernel

/// A FHIR operation (`[base]/Type/$name` or `[base]/Type/id/$name`) that another module
/// provides. The controller routes it (behind authentication, like every FHIR route), reads
/// its input from the query (GET) or a Parameters body (POST), audits it (interaction
/// `operation`, the operation's code in the record's query), publishes its
/// OperationDefinition at `/fhir/OperationDefinition/<id>` and lists it in the
/// CapabilityStatement. The operation does its work through `FHIRService`, so access rules,
/// validation, write rules and audit apply as to any other interaction.
package protocol FHIROperation: Sendable {
    /// The OperationDefinition resource: its `code`, `resource`, `instance` and `affectsState`
    /// say where the operation is routed and how (one source for the route, the
    /// CapabilityStatement and the published definition); its `id` is where it is published.
    var definition: JSON { get }
    /// Runs the operation. `record` is the audit record of the call: an operation that writes
    /// commits it with its change (through the service's interactions that take a record);
    /// otherwise the controller appends it when the operation returns.
    func invoke(_ call: OperationCall, record: inout AuditRecord) async throws -> OperationResult
}

extension FHIROperation {
    /// The code, without `$` (`find`).
    package var code: String { definition["code"]?.stringValue ?? "" }
    package var resourceType: String { definition["resource"]?.arrayValue?.first?.stringValue ?? "" }
    /// Invoked on an instance (`Appointment/123/$cancel`) rather than on the type.
    package var onInstance: Bool { definition["instance"] == .bool(true) }
    /// False for operations without side effects, which may also be invoked with GET.
    package var affectsState: Bool { definition["affectsState"] != .bool(false) }
}

/// What an operation was called with.
package struct OperationCall: Sendable {
    /// The instance id, for instance-level operations.
    package let id: String?
    package let input: OperationInput
    package let access: RequestAccess
    package let service: FHIRService
    /// The FHIR base URL the caller reached (for `fullUrl`s).
    package let base: String

    package init(id: String?, input: OperationInput, access: RequestAccess, service: FHIRService, base: String) {
        self.id = id
        self.input = input
        self.access = access
        self.service = service
        self.base = base
    }
}

/// An operation's answer: a resource (Bundle, Parameters, the changed resource).
package struct OperationResult: Sendable {
    package let status: HTTPResponse.Status
    package let body: JSON
    /// Whether the operation committed its audit record itself (with its write).
    package let committedAudit: Bool

    package init(status: HTTPResponse.Status = .ok, body: JSON, committedAudit: Bool = false) {
        self.status = status
        self.body = body
        self.committedAudit = committedAudit
    }
}

/// Named input parameters, in order: query parameters of a GET (strings), or the `parameter`
/// entries of a Parameters body (their `value[x]` as JSON, or their `resource`).
package struct OperationInput: Sendable {
    package let values: [(name: String, value: JSON)]

    package init(values: [(name: String, value: JSON)]) {
        self.values = values
    }

    /// From a query string: every value a string.
    package init(query: String) {
        values = QueryString.decode(query).map { ($0.0, JSON.string($0.1)) }
    }

    /// From a Parameters resource; a parameter without a value or resource, or a body that is
    /// not Parameters, is a 400 naming the entry.
    package init(parameters json: JSON) throws(FHIRError) {
        guard json["resourceType"]?.stringValue == "Parameters" else {
            throw FHIRError(.badRequest, code: "structure", "An operation's body must be a Parameters resource", expression: ["Parameters"])
        }
        var out: [(String, JSON)] = []
        for (n, entry) in (json["parameter"]?.arrayValue ?? []).enumerated() {
            guard let name = entry["name"]?.stringValue else {
                throw FHIRError(.badRequest, code: "required", "Each parameter needs a name", expression: ["Parameters.parameter[\(n)].name"])
            }
            if let resource = entry["resource"] {
                out.append((name, resource))
            } else if let value = entry.objectValue?.entries.first(where: { $0.key.hasPrefix("value") })?.value {
                out.append((name, value))
            } else {
                throw FHIRError(.badRequest, code: "required", "Parameter '\(name.prefix(40))' has no value", expression: ["Parameters.parameter[\(n)]"])
            }
        }
        values = out
    }

    /// The single value of `name` as text (a string, code, dateTime, ... or a reference's
    /// `reference`); a repeated parameter is a 400.
    package func string(_ name: String) throws(FHIRError) -> String? {
        let all = strings(name)
        guard all.count <= 1 else { throw FHIRError(.badRequest, code: "invalid", "Parameter '\(name)' may be given once", expression: [name]) }
        return all.first
    }

    package func strings(_ name: String) -> [String] {
        values.filter { $0.name == name }.compactMap { $0.value.stringValue ?? $0.value["reference"]?.stringValue ?? $0.value.numberText }
    }

    /// The resource given as `name` (a Parameters entry's `resource`).
    package func resource(_ name: String) -> JSONObject? {
        values.first { $0.name == name && $0.value["resourceType"] != nil }?.value.objectValue
    }
}

extension FHIRService {
    /// Runs `op` for `access` as the REST API does, for the API and for the pages alike: the
    /// instance id checked, audited as `operation` with the operation's path as the record's
    /// query (`Appointment/123/$cancel`), in the operation's own transaction when it writes.
    package func invoke(
        _ op: any FHIROperation, id: String?, input: OperationInput, access: RequestAccess, base: String, record: AuditRecord
    ) async throws -> OperationResult {
        var record = record
        record.query = Self.operationPath(op, id: id)
        return try await audited(record, committed: true) { record in
            if op.onInstance {
                guard let id, ResourceID.isValid(id) else { throw FHIRError.invalid("'\((id ?? "").prefix(70))' is not a valid resource id") }
                record.resources = ["\(op.resourceType)/\(id)"]
            }
            let result = try await op.invoke(OperationCall(id: id, input: input, access: access.forOperation(op.code), service: self, base: base), record: &record)
            if !result.committedAudit { try await audit.appendSoon([record]) }
            return result
        }
    }

    /// What an operation call's audit record names as its query.
    package static func operationPath(_ op: any FHIROperation, id: String?) -> String {
        (op.onInstance ? "\(op.resourceType)/\(id ?? "")" : op.resourceType) + "/$\(op.code)"
    }
}
