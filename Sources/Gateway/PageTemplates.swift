import Foundation
import Mustache

/// A module's pages as mustache templates, kept in its `Templates` resource folder apart from
/// the handlers. `{{value}}` is HTML-escaped by the template engine, so handlers pass plain
/// values, never markup; `{{{...}}}` (unescaped) is only for the frame's body, which is another
/// template's output. A missing or malformed template fails at start-up, not on a request.
package struct PageTemplates: Sendable {
    let library: MustacheLibrary

    /// Every `*.mustache` file in `folder` (a module's `Bundle.module` resource folder).
    package init(folder: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }
        var templates: [String: MustacheTemplate] = [:]
        for name in names {
            var text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            if text.hasSuffix("\n") { text.removeLast() }  // a file's last newline is not part of the page
            templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        guard !templates.isEmpty else { throw TemplateError.missing(folder.lastPathComponent) }
        library = MustacheLibrary(templates: templates)
    }

    package enum TemplateError: Error, CustomStringConvertible {
        case missing(String)
        package var description: String {
            switch self {
            case .missing(let name): "no page template named \(name)"
            }
        }
    }

    /// The template `name` rendered with `values`; throws for a template that does not exist.
    package func render(_ name: String, _ values: [String: Any]) throws -> String {
        guard let text = library.render(values, withTemplate: name) else { throw TemplateError.missing(name) }
        return text
    }
}
