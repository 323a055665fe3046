import Foundation
import HTTPTypes
import Kernel

/// RFC 6902 JSON Patch over `JSON`, for `PATCH` with `application/json-patch+json`.
package enum JSONPatch {
    package static func apply(_ patch: JSON, to document: JSON) throws(FHIRError) -> JSON {
        guard let ops = patch.arrayValue else { throw .invalid("A JSON Patch document is an array of operations") }
        var doc = document
        for (i, op) in ops.enumerated() {
            let at = "operation[\(i)]"
            guard let name = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw .invalid("\(at) needs 'op' and 'path'")
            }
            let pointer = try parsePointer(path, at: at)
            switch name {
            case "add":
                guard let value = op["value"] else { throw .invalid("\(at): 'add' needs a value") }
                doc = try insert(value, at: pointer[...], in: doc, replace: false, op: at)
            case "remove":
                doc = try remove(at: pointer[...], in: doc, op: at)
            case "replace":
                guard let value = op["value"] else { throw .invalid("\(at): 'replace' needs a value") }
                _ = try get(pointer[...], in: doc, op: at)
                doc = try insert(value, at: pointer[...], in: doc, replace: true, op: at)
            case "move", "copy":
                guard let fromText = op["from"]?.stringValue else { throw .invalid("\(at): '\(name)' needs 'from'") }
                let from = try parsePointer(fromText, at: at)
                let value = try get(from[...], in: doc, op: at)
                if name == "move" {
                    guard !(pointer.count > from.count && Array(pointer.prefix(from.count)) == from) else {
                        throw .invalid("\(at): cannot move a value into itself")
                    }
                    doc = try remove(at: from[...], in: doc, op: at)
                }
                doc = try insert(value, at: pointer[...], in: doc, replace: false, op: at)
            case "test":
                guard let value = op["value"] else { throw .invalid("\(at): 'test' needs a value") }
                guard try get(pointer[...], in: doc, op: at) == value else {
                    throw FHIRError(.unprocessableContent, code: "processing", "\(at): test failed at '\(path)'")
                }
            default:
                throw .invalid("\(at): unknown op '\(name.prefix(20))'")
            }
        }
        return doc
    }

    static func parsePointer(_ path: String, at: String) throws(FHIRError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw .invalid("\(at): path must be a JSON Pointer starting with '/'") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ pointer: ArraySlice<String>, in doc: JSON, op: String) throws(FHIRError) -> JSON {
        guard let head = pointer.first else { return doc }
        switch doc {
        case .object(let o):
            guard let child = o[head] else { throw missing(op) }
            return try get(pointer.dropFirst(), in: child, op: op)
        case .array(let a):
            guard let i = Int(head), a.indices.contains(i) else { throw missing(op) }
            return try get(pointer.dropFirst(), in: a[i], op: op)
        default:
            throw missing(op)
        }
    }

    static func insert(_ value: JSON, at pointer: ArraySlice<String>, in doc: JSON, replace: Bool, op: String) throws(FHIRError) -> JSON {
        guard let head = pointer.first else { return value }
        let last = pointer.count == 1
        switch doc {
        case .object(var o):
            if last { o[head] = value; return .object(o) }
            guard let child = o[head] else { throw missing(op) }
            o[head] = try insert(value, at: pointer.dropFirst(), in: child, replace: replace, op: op)
            return .object(o)
        case .array(var a):
            if last {
                if head == "-" && !replace { a.append(value); return .array(a) }
                guard let i = Int(head), i >= 0, replace ? i < a.count : i <= a.count else { throw missing(op) }
                if replace { a[i] = value } else { a.insert(value, at: i) }
                return .array(a)
            }
            guard let i = Int(head), a.indices.contains(i) else { throw missing(op) }
            a[i] = try insert(value, at: pointer.dropFirst(), in: a[i], replace: replace, op: op)
            return .array(a)
        default:
            throw missing(op)
        }
    }

    static func remove(at pointer: ArraySlice<String>, in doc: JSON, op: String) throws(FHIRError) -> JSON {
        guard let head = pointer.first else { throw .invalid("\(op): cannot remove the whole document") }
        let last = pointer.count == 1
        switch doc {
        case .object(var o):
            guard let child = o[head] else { throw missing(op) }
            o[head] = last ? nil : try remove(at: pointer.dropFirst(), in: child, op: op)
            return .object(o)
        case .array(var a):
            guard let i = Int(head), a.indices.contains(i) else { throw missing(op) }
            if last { a.remove(at: i) } else { a[i] = try remove(at: pointer.dropFirst(), in: a[i], op: op) }
            return .array(a)
        default:
            throw missing(op)
        }
    }

    static func missing(_ op: String) -> FHIRError {
        FHIRError(.unprocessableContent, code: "processing", "\(op): the path does not exist in the resource")
    }
}
