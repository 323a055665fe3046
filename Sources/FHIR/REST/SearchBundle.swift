import Foundation
import HTTPTypes
import Kernel

/// Builds searchset and history Bundles. Resource bytes are spliced in as stored, so a page of
/// results is never parsed again unless `_summary`/`_elements` ask for a subset.
package enum SearchBundle {
    package static func bytes(request: SearchRequest, result: SearchEngine.Result, base: String, definitions: FHIRDefinitions? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024 + result.matches.reduce(0) { $0 + ($1.content?.count ?? 0) + 120 })
        var head = JSONObject()
        head["resourceType"] = .string("Bundle")
        head["id"] = .string(ResourceID.generate())
        head["meta"] = .object(JSONObject([("lastUpdated", .string(Instant.format(millis: Instant.millis(Now.date))))]))
        head["type"] = .string("searchset")
        if let total = result.total { head["total"] = .int(total) }
        head["link"] = .array(links(request: request, hasMore: result.hasMore, base: base))
        let headBytes = JSON.object(head).serialized()
        out.append(contentsOf: headBytes.dropLast())  // without the closing brace
        out.append(contentsOf: Array(",\"entry\":[".utf8))
        var first = true
        func entry(_ v: ResourceVersion, mode: String) {
            guard let content = v.content else { return }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: Array("{\"fullUrl\":".utf8))
            out.append(contentsOf: JSON.string("\(base)/\(v.type)/\(v.id)").serialized())
            out.append(contentsOf: Array(",\"resource\":".utf8))
            if let definitions, request.summary != nil || request.elements != nil,
                let subset = ResourceSubset.apply(content, summary: request.summary, elements: request.elements, definitions: definitions)
            {
                out.append(contentsOf: subset)
            } else {
                out.append(contentsOf: content)
            }
            out.append(contentsOf: Array(",\"search\":{\"mode\":\"\(mode)\"}}".utf8))
        }
        for m in result.matches { entry(m, mode: "match") }
        for i in result.included { entry(i, mode: "include") }
        if !request.warnings.isEmpty {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: Array("{\"resource\":".utf8))
            out.append(contentsOf: OperationOutcome.json(request.warnings).serialized())
            out.append(contentsOf: Array(",\"search\":{\"mode\":\"outcome\"}}".utf8))
        }
        if first {
            // No entries: drop `"entry":[` (FHIR JSON forbids empty arrays).
            out.removeLast(",\"entry\":[".utf8.count)
            out.append(UInt8(ascii: "}"))
        } else {
            out.append(contentsOf: Array("]}".utf8))
        }
        return out
    }

    /// The same Bundle as a JSON value (for nested use inside batch responses).
    package static func json(request: SearchRequest, result: SearchEngine.Result, base: String) -> JSON {
        (try? JSON.parse(bytes(request: request, result: result, base: base))) ?? .null
    }

    static func links(request: SearchRequest, hasMore: Bool, base: String) -> [JSON] {
        let kept = request.linkParameters.filter { $0.0 != "_count" && $0.0 != "_offset" }
        func url(offset: Int) -> String {
            "\(base)/\(request.type)?" + QueryString.encode(kept + [("_count", String(request.count)), ("_offset", String(offset))])
        }
        func link(_ relation: String, _ href: String) -> JSON {
            .object(JSONObject([("relation", .string(relation)), ("url", .string(href))]))
        }
        var links = [link("self", url(offset: request.offset))]
        if hasMore { links.append(link("next", url(offset: request.offset + request.count))) }
        if request.offset > 0 { links.append(link("previous", url(offset: max(0, request.offset - request.count)))) }
        return links
    }

    /// A history Bundle.
    package static func history(_ entries: [ResourceVersion], total: Int, base: String, selfURL: String, next: String?, previous: String?) -> [UInt8] {
        var links: [JSON] = [.object(JSONObject([("relation", .string("self")), ("url", .string(selfURL))]))]
        if let next { links.append(.object(JSONObject([("relation", .string("next")), ("url", .string(next))]))) }
        if let previous { links.append(.object(JSONObject([("relation", .string("previous")), ("url", .string(previous))]))) }
        var out: [UInt8] = []
        var head = JSONObject()
        head["resourceType"] = .string("Bundle")
        head["id"] = .string(ResourceID.generate())
        head["type"] = .string("history")
        head["total"] = .int(total)
        head["link"] = .array(links)
        out.append(contentsOf: JSON.object(head).serialized().dropLast())
        if entries.isEmpty { out.append(UInt8(ascii: "}")); return out }
        out.append(contentsOf: Array(",\"entry\":[".utf8))
        for (i, v) in entries.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: Array("{\"fullUrl\":".utf8))
            out.append(contentsOf: JSON.string("\(base)/\(v.type)/\(v.id)").serialized())
            if let content = v.content {
                out.append(contentsOf: Array(",\"resource\":".utf8))
                out.append(contentsOf: content)
            }
            let method = v.deleted ? "DELETE" : (v.version == 1 ? "POST" : "PUT")
            let url = method == "POST" ? v.type : "\(v.type)/\(v.id)"
            let status = v.deleted ? "204 No Content" : (v.version == 1 ? "201 Created" : "200 OK")
            let request = JSONObject([("method", .string(method)), ("url", .string(url))])
            let response = JSONObject([("status", .string(status)), ("etag", .string(v.etag)), ("lastModified", .string(Instant.format(millis: v.lastUpdated)))])
            out.append(contentsOf: Array(",\"request\":".utf8))
            out.append(contentsOf: JSON.object(request).serialized())
            out.append(contentsOf: Array(",\"response\":".utf8))
            out.append(contentsOf: JSON.object(response).serialized())
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: Array("]}".utf8))
        return out
    }
}

/// `_summary` and `_elements`: a subset of a resource, tagged SUBSETTED.
package enum ResourceSubset {
    static func apply(_ content: Data, summary: SearchRequest.SummaryMode?, elements: [String]?, definitions: FHIRDefinitions) -> [UInt8]? {
        guard case .object(let resource)? = try? JSON.parse(content), let type = resource["resourceType"]?.stringValue else { return nil }
        let kids = definitions.children(of: .root(type))
        func isMandatory(_ key: String) -> Bool {
            key == "resourceType" || key == "id" || key == "meta" || definitions.element(named: key, at: .root(type))?.definition.min ?? 0 > 0
        }
        var keep: (String) -> Bool
        switch (summary, elements) {
        case (.some(.false), nil), (nil, nil): return nil
        case (_, .some(let list)):
            let wanted = Set(list)
            keep = { isMandatory($0) || wanted.contains($0) }
        case (.some(.true), _):
            keep = { key in
                isMandatory(key) || definitions.element(named: key, at: .root(type))?.definition.isSummary == true
            }
        case (.some(.text), _):
            keep = { isMandatory($0) || $0 == "text" }
        case (.some(.data), _):
            keep = { $0 != "text" }
        default:
            return nil
        }
        _ = kids
        var subset = JSONObject()
        for (k, v) in resource.entries where keep(k) { subset[k] = v }
        var meta = subset["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        tags.append(.object(JSONObject([("system", .string("http://terminology.hl7.org/CodeSystem/v3-ObservationValue")), ("code", .string("SUBSETTED"))])))
        meta["tag"] = .array(tags)
        subset["meta"] = .object(meta)
        return JSON.object(subset).serialized()
    }
}
