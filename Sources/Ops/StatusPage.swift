import Foundation
import Gateway

/// What `/api/status` answers and `/status` shows: 30-day availability per component.
package struct StatusBody: Encodable, Sendable {
    package struct Component: Encodable, Sendable {
        package let name: String
        /// up, down or unknown (no probe yet on this instance).
        package let status: String
        package let availability30d: Double?
        package let probes: Int

        package init(name: String, status: String, availability30d: Double?, probes: Int) {
            self.name = name
            self.status = status
            self.availability30d = availability30d
            self.probes = probes
        }
    }
    package let status: String
    package let components: [Component]
    package let generatedAt: String

    package init(status: String, components: [Component], generatedAt: String) {
        self.status = status
        self.components = components
        self.generatedAt = generatedAt
    }
}

/// The public status page, from `Templates/status.mustache`.
package enum StatusPage {
    /// The snapshot tests render it, so a broken template cannot ship.
    static let templates = try! PageTemplates(folder: Bundle.module.url(forResource: "Templates", withExtension: nil)!)

    package static func render(_ s: StatusBody) -> String {
        let components: [[String: Any]] = s.components.map { c in
            [
                "name": c.name, "status": c.status, "probes": c.probes,
                "availability": c.availability30d.map { String(format: "%.3f%%", $0 * 100) } ?? "no data",
            ]
        }
        return (try? templates.render("status", ["status": s.status, "generatedAt": s.generatedAt, "components": components])) ?? ""
    }
}
