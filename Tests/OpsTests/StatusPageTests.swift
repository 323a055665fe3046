import Foundation
import Gateway
import Ops
import TestSupport
import Testing

@Suite struct StatusPageTests {
    @Test func statusPage() {
        let body = StatusBody(
            status: "degraded",
            components: [
                .init(name: "api", status: "up", availability30d: 0.99987, probes: 43_000),
                .init(name: "audit", status: "unknown", availability30d: nil, probes: 0),
                .init(name: "<db>", status: "down", availability30d: 0.5, probes: 2),
            ], generatedAt: "2026-12-02T18:00:00Z")
        let html = StatusPage.render(body)
        Snapshot.expect(HTMLPage.document("Service status", html), named: "status")
        #expect(html.contains("<td>99.987%</td>") && html.contains("<td>no data</td>") && html.contains("<td>&lt;db&gt;</td>"))
    }
}
