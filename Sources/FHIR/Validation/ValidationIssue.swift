/// One problem the structural validator found in a resource.
///
/// `message` names the element and the rule that was broken but never repeats the offending
/// value, because values may be patient data and messages end up in logs and OperationOutcomes.
package struct ValidationIssue: Sendable, Equatable, CustomStringConvertible {
    /// The OperationOutcome `issue.code` (http://hl7.org/fhir/issue-type) of the problem.
    package enum Code: String, Sendable {
        /// Unknown elements, wrong JSON shape (array vs. single value), empty or null values.
        case structure
        /// A required element (or `resourceType`) is missing.
        case required
        /// A primitive value has the wrong JSON type or format, or a reference is malformed.
        case value
        /// Content that breaks a rule of the specification (wrong resource type, invariants).
        case invalid
        /// A code is not in the required value set of its element.
        case codeInvalid = "code-invalid"
        /// More problems than one answer lists (the rest are counted, not named).
        case tooCostly = "too-costly"
    }

    package let code: Code
    /// FHIRPath-style location, e.g. `Patient.name[0].given[1]` or `Observation.valueQuantity.value`.
    package let location: String
    package let message: String

    package init(code: Code, location: String, message: String) {
        self.code = code
        self.location = location
        self.message = message
    }

    package var description: String { "[\(code.rawValue)] \(location): \(message)" }
}
