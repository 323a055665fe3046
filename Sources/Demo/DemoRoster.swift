import FHIR
import Kernel

private typealias J = DemoJSON

/// The fixed organizations and practitioners every demo patient refers to. The roster does not depend
/// on the seed, so bundles generated with different seeds share the same conditional references.
enum DemoRoster {
    enum Role: Sendable { case primaryCare, pediatrics, emergency, hospitalist }

    struct Organization: Sendable {
        let identifier: String
        let name: String
        let line: String
        let phone: String

        var conditionalReference: String { "Organization?identifier=\(DemoJSON.orgSystem)|\(identifier)" }
    }

    struct Practitioner: Sendable {
        let npi: String
        let given: String
        let family: String
        let gender: String
        let role: Role
        let organization: Organization

        var conditionalReference: String { "Practitioner?identifier=\(DemoJSON.npi)|\(npi)" }
        var displayName: String { "Dr. \(given) \(family)" }
    }

    static let clinic = Organization(
        identifier: "HH-001", name: "HealthHub Community Clinic",
        line: "250 Harbor Street", phone: "(617) 555-0100")
    static let hospital = Organization(
        identifier: "HH-002", name: "HealthHub General Hospital",
        line: "1200 Commonwealth Avenue", phone: "(617) 555-0150")
    static let organizations = [clinic, hospital]

    static let city = "Boston", state = "MA", postalCode = "02118"

    /// Demo NPIs: "99999" plus four digits plus a valid NPI check digit (Luhn over the "80840" prefix).
    static func npi(_ serial: Int) -> String {
        let base = "99999" + DemoDate.pad(serial, 4)
        let digits = Array("80840" + base).map { Int($0.asciiValue! - 48) }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            if i % 2 == 0 {
                let doubled = d * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += d
            }
        }
        return base + String((10 - sum % 10) % 10)
    }

    static let practitioners: [Practitioner] = [
        Practitioner(npi: npi(1234), given: "Maria", family: "Castillo", gender: "female", role: .primaryCare, organization: clinic),
        Practitioner(npi: npi(1235), given: "Daniel", family: "Whitfield", gender: "male", role: .primaryCare, organization: clinic),
        Practitioner(npi: npi(1236), given: "Priya", family: "Raman", gender: "female", role: .primaryCare, organization: clinic),
        Practitioner(npi: npi(1237), given: "Thomas", family: "Brennan", gender: "male", role: .primaryCare, organization: clinic),
        Practitioner(npi: npi(1238), given: "Samuel", family: "Adeyemi", gender: "male", role: .primaryCare, organization: clinic),
        Practitioner(npi: npi(1239), given: "Grace", family: "Lindqvist", gender: "female", role: .pediatrics, organization: clinic),
        Practitioner(npi: npi(1240), given: "Hiroshi", family: "Tanabe", gender: "male", role: .pediatrics, organization: clinic),
        Practitioner(npi: npi(1241), given: "Rachel", family: "Moreno", gender: "female", role: .emergency, organization: hospital),
        Practitioner(npi: npi(1242), given: "Kevin", family: "Osei", gender: "male", role: .emergency, organization: hospital),
        Practitioner(npi: npi(1243), given: "Olivia", family: "Hartmann", gender: "female", role: .emergency, organization: hospital),
        Practitioner(npi: npi(1244), given: "Benjamin", family: "Cole", gender: "male", role: .hospitalist, organization: hospital),
        Practitioner(npi: npi(1245), given: "Nadia", family: "Haddad", gender: "female", role: .hospitalist, organization: hospital),
    ]

    static func practitioners(_ role: Role) -> [Practitioner] { practitioners.filter { $0.role == role } }

    static func address(line: String) -> JSON {
        J.object([
            "use": .string("work"),
            "line": J.strings([line]),
            "city": .string(city),
            "state": .string(state),
            "postalCode": .string(postalCode),
            "country": .string("US"),
        ])
    }

    static func organizationResource(_ org: Organization) -> JSON {
        J.object([
            "resourceType": .string("Organization"),
            "identifier": .array([J.identifier(DemoJSON.orgSystem, org.identifier)]),
            "active": .bool(true),
            "type": .array([J.concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")]),
            "name": .string(org.name),
            "telecom": .array([J.object(["system": .string("phone"), "value": .string(org.phone), "use": .string("work")])]),
            "address": .array([address(line: org.line)]),
        ])
    }

    static func practitionerResource(_ p: Practitioner) -> JSON {
        let qualification: String
        switch p.role {
        case .primaryCare: qualification = "Doctor of Medicine, board certified in family medicine"
        case .pediatrics: qualification = "Doctor of Medicine, board certified in pediatrics"
        case .emergency: qualification = "Doctor of Medicine, board certified in emergency medicine"
        case .hospitalist: qualification = "Doctor of Medicine, board certified in internal medicine"
        }
        let email = (p.given + "." + p.family).lowercased() + "@healthhub.example"
        return J.object([
            "resourceType": .string("Practitioner"),
            "identifier": .array([J.identifier(DemoJSON.npi, p.npi)]),
            "active": .bool(true),
            "name": .array([
                J.object([
                    "use": .string("official"),
                    "family": .string(p.family),
                    "given": J.strings([p.given]),
                    "prefix": J.strings(["Dr."]),
                    "suffix": J.strings(["MD"]),
                ])
            ]),
            "telecom": .array([
                J.object(["system": .string("phone"), "value": .string(p.organization.phone), "use": .string("work")]),
                J.object(["system": .string("email"), "value": .string(email), "use": .string("work")]),
            ]),
            "address": .array([address(line: p.organization.line)]),
            "gender": .string(p.gender),
            "qualification": .array([J.object(["code": J.object(["text": .string(qualification)])])]),
        ])
    }

    /// A batch creating the organizations and practitioners unless they already exist.
    static func sharedBundle() -> JSON {
        var ids = DemoRandom(seed: 0x4848_5348_4152_4544)  // fixed: the roster is seed-independent
        var entries: [JSON] = []
        for org in organizations {
            entries.append(
                J.entry(
                    uuid: ids.uuid(), resource: organizationResource(org),
                    ifNoneExist: "identifier=\(DemoJSON.orgSystem)|\(org.identifier)"))
        }
        for p in practitioners {
            entries.append(
                J.entry(
                    uuid: ids.uuid(), resource: practitionerResource(p),
                    ifNoneExist: "identifier=\(DemoJSON.npi)|\(p.npi)"))
        }
        return J.bundle(type: "batch", entries: entries)
    }

    /// The demo practice's time zone (the roster's addresses are in the US north-east).
    static let timeZone = "America/New_York"

    /// One Schedule per practitioner: weekdays 09:00–12:00 and 13:00–17:00 in the practice's
    /// zone, bookable from `start` for 180 days (so `$find` offers times on a fresh demo). A
    /// transaction, so each Schedule's actor resolves to its practitioner; created once.
    static func scheduleBundle(start: Int64) -> JSON {
        var ids = DemoRandom(seed: 0x4848_5343_4845_4455)
        let end = start + 180 * 86_400_000
        func window(_ from: String, _ to: String) -> JSON {
            .array(
                ["mon", "tue", "wed", "thu", "fri"].map { JSON.object(["url": "daysOfWeek", "valueCode": .string($0)]) }
                    + [["url": "availableStartTime", "valueTime": .string(from)], ["url": "availableEndTime", "valueTime": .string(to)]])
        }
        let availability: JSON = [
            "url": "https://healthhub.dev/fhir/StructureDefinition/availability",
            "extension": [
                ["url": "timeZone", "valueCode": .string(timeZone)],
                ["url": "availableTime", "extension": window("09:00:00", "12:00:00")],
                ["url": "availableTime", "extension": window("13:00:00", "17:00:00")],
            ],
        ]
        let entries: [JSON] = practitioners.map { p in
            let schedule: JSON = [
                "resourceType": "Schedule", "active": true,
                "actor": [["reference": .string(p.conditionalReference), "display": .string("Dr \(p.given) \(p.family)")]],
                "planningHorizon": ["start": .string(Instant.format(millis: start)), "end": .string(Instant.format(millis: end))],
                "comment": "Office hours", "extension": [availability],
            ]
            return J.entry(uuid: ids.uuid(), resource: schedule, ifNoneExist: "actor:Practitioner.identifier=\(DemoJSON.npi)|\(p.npi)")
        }
        return J.bundle(type: "transaction", entries: entries)
    }
}
