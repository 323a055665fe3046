import FHIR
import Kernel

/// HealthHub's own FHIR names for scheduling: the canonical base of its extensions and
/// operation definitions, and the code systems it uses.
package enum SchedulingVocabulary {
    /// HealthHub's canonical namespace (extensions, OperationDefinitions).
    package static let base = "https://healthhub.dev/fhir"
    /// On a held Appointment (`$hold`): when the hold runs out (`valueInstant`).
    package static let holdExpiresURL = "\(base)/StructureDefinition/hold-expires"
    /// On a Schedule: its weekly availability, closures and time zone (see docs/api.md).
    package static let availabilityURL = "\(base)/StructureDefinition/availability"
    /// HL7 v2 table 0276, the appointment types (`ROUTINE`, `FOLLOWUP`, `CHECKUP`, ...).
    package static let appointmentTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0276"

    /// The hold expiry of an Appointment, in ms; nil when it is not a hold.
    package static func holdExpiry(of appointment: JSONObject) -> Int64? {
        guard let text = extensionValue(appointment, holdExpiresURL, "valueInstant")?.stringValue else { return nil }
        return DateRange(text)?.low
    }

    static func extensionValue(_ object: JSONObject, _ url: String, _ key: String) -> JSON? {
        (object["extension"]?.arrayValue ?? []).first { $0["url"]?.stringValue == url }?[key]
    }
}
