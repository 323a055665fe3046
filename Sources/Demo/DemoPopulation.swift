import FHIR
import Kernel

/// A reproducible synthetic patient population for demos and tests.
///
/// Every patient is generated from the population seed and the patient's index alone, so
/// `patientBundle(index:)` can be called in any order (or concurrently) and always returns the same
/// bundle. Dates fall in the ten years before a fixed reference date (2026-01-01), never "now".
/// Names are drawn from invented lists of common names; no record describes a real person.
///
/// Load `sharedResourcesBundle()` first: patient bundles refer to its organizations and
/// practitioners through conditional references on their identifiers.
package struct DemoPopulation: Sendable {
    package let seed: UInt64

    package init(seed: UInt64) {
        self.seed = seed
    }

    /// The fixed moment the population's history leads up to (2026-01-01T00:00:00Z), in seconds since 1970.
    package static var referenceEpochSeconds: Int { DemoDate.reference }

    /// One FHIR R4 transaction Bundle per patient (JSON), deterministic for a seed and index.
    package func patientBundle(index: Int) -> JSON {
        precondition(index >= 0, "patient index must not be negative")
        var generator = DemoPatientGenerator(seed: seed, index: index, mrn: medicalRecordNumber(index: index))
        return generator.bundle()
    }

    /// A batch Bundle with the shared Organizations and Practitioners, using POST + ifNoneExist
    /// on identifier. Load it first. It does not depend on the seed.
    package func sharedResourcesBundle() -> JSON {
        DemoRoster.sharedBundle()
    }

    /// The practitioners' Schedules, bookable from `start` (ms).
    package func schedulesBundle(start: Int64) -> JSON {
        DemoRoster.scheduleBundle(start: start)
    }

    /// The patient's MRN (system `https://healthhub.example/mrn`): a four-letter tag derived from the
    /// seed and the zero-padded index, so MRNs are unique within a population, e.g. `QZKD-0000042`.
    package func medicalRecordNumber(index: Int) -> String {
        var tagSource = DemoRandom(seed: seed, stream: 0x4D52_4E00, lane: 0)
        return tagSource.letters(4) + "-" + DemoDate.pad(index, 7)
    }
}
