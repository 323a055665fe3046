import FHIR
import Foundation
import Kernel

/// Loads the demo population through the same Bundle path as any client.
package struct DemoLoader: Sendable {
    let fhir: FHIRService

    package init(fhir: FHIRService) { self.fhir = fhir }

    /// Returns the number of resources written.
    package func load(patients: Int, seed: UInt64) async throws -> Int {
        let population = DemoPopulation(seed: seed)
        let processor = BundleProcessor(service: fhir)
        var written = 0
        let audit = AuditRecord(action: .create, interaction: "demo", agent: "healthhub demo")
        written += try await count(processor.process(population.sharedResourcesBundle(), access: RequestAccess(healthHub: .demoData, policy: fhir.policy), audit: audit))
        let today = Instant.millis(Now.date) / 86_400_000 * 86_400_000
        written += try await count(processor.process(population.schedulesBundle(start: today), access: RequestAccess(healthHub: .demoData, policy: fhir.policy), audit: audit))
        for i in 0..<patients {
            written += try await count(processor.process(population.patientBundle(index: i), access: RequestAccess(healthHub: .demoData, policy: fhir.policy), audit: audit))
        }
        return written
    }

    private func count(_ response: JSON) throws -> Int {
        (response["entry"]?.arrayValue ?? []).filter { $0["response"]?["status"]?.stringValue?.hasPrefix("201") == true }.count
    }
}
