import FHIR
import Kernel

private typealias J = DemoJSON
private typealias V = DemoVocabulary

/// Builds one synthetic patient's history as a FHIR R4 transaction Bundle. All content comes from a
/// generator seeded with (population seed, patient index), so the same inputs give the same bundle.
struct DemoPatientGenerator {
    private enum Kind { case wellness, symptom, followUp, emergency, inpatient }

    private struct Visit {
        var kind: Kind
        var start: Int
        var end: Int
        var acute: V.Acute?
        /// Index into `chronic` of the condition a follow-up visit is about.
        var reasonChronic: Int?
        let uuid: String
        var practitioner: DemoRoster.Practitioner
        var ref: String { "urn:uuid:" + uuid }
    }

    private struct ChronicCase {
        let definition: V.Chronic
        var onset: Int
        var diagnosisVisit: Int
        let uuid: String
        /// When each of the condition's medications was first prescribed.
        var treatedSince: Int?
        var ref: String { "urn:uuid:" + uuid }
    }

    private struct LabSpec {
        let code: String
        let display: String
        let unit: String
        let places: Int
        let low: Double?
        let high: Double?
    }

    private static let day = DemoDate.secondsPerDay
    private static let observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
    private static let interpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

    private var rng: DemoRandom
    private var ids: DemoRandom
    private let mrn: String
    private var entries: [JSON] = []

    // Demographics
    private let gender: String
    private let given: String
    private let middle: String?
    private let family: String
    private let birth: Int
    private let place: V.Place
    private let adultPractitioner: DemoRoster.Practitioner
    private let pediatrician: DemoRoster.Practitioner
    private let patientUUID: String

    // Physiology
    private let heightZ: Double
    private let bmiZ: Double
    private var bmiDrift = 0.0
    private let systolicOffset: Double
    private let diastolicOffset: Double
    private let heartRateBase: Double

    // History
    private var visits: [Visit] = []
    private var chronic: [ChronicCase] = []
    private var penicillinAllergy = false
    private var vaccineDoses: [String: Int] = [:]
    private var lastFluSeason = Int.min
    private var obesityRecorded = false

    private var patientRef: String { "urn:uuid:" + patientUUID }
    private var patientDisplay: String { given + " " + family }
    private var ageAtReference: Int { DemoDate.age(birth: birth, at: DemoDate.reference) }

    init(seed: UInt64, index: Int, mrn: String) {
        rng = DemoRandom(seed: seed, stream: UInt64(index), lane: 1)
        ids = DemoRandom(seed: seed, stream: UInt64(index), lane: 2)
        self.mrn = mrn
        patientUUID = ids.uuid()

        gender = rng.chance(0.51) ? "female" : "male"
        given = rng.pick(gender == "female" ? V.femaleGiven : V.maleGiven)
        var middleName: String? = nil
        if rng.chance(0.55) {
            var m = rng.pick(gender == "female" ? V.femaleGiven : V.maleGiven)
            if m == given { m = gender == "female" ? "Anne" : "Edward" }
            middleName = m
        }
        middle = middleName
        family = rng.pick(V.family)

        let ageBand = rng.weighted([(3...17, 16.0), (18...34, 22), (35...49, 20), (50...64, 22), (65...79, 14), (80...95, 6)])
        let age = rng.int(ageBand)
        birth = DemoDate.adding(years: -age, to: DemoDate.reference) - rng.int(1...364) * Self.day
        place = rng.weighted(V.places.map { ($0, $0.weight) })
        adultPractitioner = rng.pick(DemoRoster.practitioners(.primaryCare))
        pediatrician = rng.pick(DemoRoster.practitioners(.pediatrics))

        heightZ = rng.normal(mean: 0, sd: 1, clampedTo: -2.5...2.5)
        bmiZ = rng.normal(mean: 0, sd: 1, clampedTo: -2...3)
        systolicOffset = rng.normal(mean: 0, sd: 6)
        diastolicOffset = rng.normal(mean: 0, sd: 4)
        heartRateBase = rng.normal(mean: 72, sd: 7, clampedTo: 56...92)
    }

    // MARK: - Bundle

    mutating func bundle() -> JSON {
        selectChronicConditions()
        planVisits()
        scheduleChronicConditions()
        assignFollowUpReasons()

        entries.append(J.entry(uuid: patientUUID, resource: patientResource()))
        addAllergies()
        for i in visits.indices { addVisit(i) }
        return J.bundle(type: "transaction", entries: entries)
    }

    private func age(at moment: Int) -> Int { DemoDate.age(birth: birth, at: moment) }
    private func fractionalAge(at moment: Int) -> Double { Double(moment - birth) / (365.2425 * Double(Self.day)) }

    private func practitioner(forAge age: Int) -> DemoRoster.Practitioner { age < 18 ? pediatrician : adultPractitioner }

    // MARK: - Planning

    private mutating func selectChronicConditions() {
        let age = ageAtReference
        var groups = Set<String>()
        for definition in V.chronic {
            if let g = definition.group, groups.contains(g) { continue }
            guard rng.chance(definition.prevalence(age: age)) else { continue }
            if let g = definition.group { groups.insert(g) }
            chronic.append(ChronicCase(definition: definition, onset: 0, diagnosisVisit: 0, uuid: "", treatedSince: nil))
        }
    }

    private mutating func planVisits() {
        let age = ageAtReference
        let windowStart = max(DemoDate.adding(years: -10, to: DemoDate.reference), DemoDate.adding(years: 2, to: birth))
        let windowEnd = DemoDate.reference - 2 * Self.day
        let startDay = DemoDate.floorDiv(windowStart, Self.day) + 1
        let endDay = DemoDate.floorDiv(windowEnd, Self.day)

        var count = 2 + rng.below(4) + (age >= 50 ? rng.below(3) : 0) + (chronic.count >= 2 ? 1 : 0)
        count = min(8, max(2, count))
        let slot = (endDay - startDay) / count

        for i in 0..<count {
            let slotStart = startDay + i * slot
            var dayNumber = slotStart + rng.below(max(1, slot - 10))
            let visitAge = self.age(at: dayNumber * Self.day)

            var kind: Kind
            if i == 0 && rng.chance(0.7) {
                kind = .wellness
            } else {
                kind = rng.weighted([
                    (.wellness, 0.42), (.symptom, 0.26), (.followUp, chronic.isEmpty ? 0 : 0.18),
                    (.emergency, 0.10), (.inpatient, visitAge >= 65 ? 0.08 : 0.03),
                ])
            }

            var acute: V.Acute? = nil
            if kind == .symptom || kind == .emergency || kind == .inpatient {
                let setting: V.Setting = kind == .symptom ? .ambulatory : (kind == .emergency ? .emergency : .inpatient)
                let moment = dayNumber * Self.day
                let options = V.acute.filter { $0.setting == setting && $0.ages.contains(visitAge) && $0.notBefore <= moment }
                if options.isEmpty {
                    kind = .wellness
                } else {
                    acute = rng.weighted(options.map { ($0, $0.weight) })
                }
            }

            var start: Int
            var end: Int
            switch kind {
            case .wellness, .symptom, .followUp:
                let weekday = DemoDate.weekday(days: dayNumber)
                if weekday == 6 { dayNumber += 2 } else if weekday == 0 { dayNumber += 1 }
                start = DemoDate.easternMoment(days: dayNumber, hour: rng.int(8...16), minute: 15 * rng.below(4))
                end = start + 60 * (kind == .wellness ? rng.int(20...45) : rng.int(15...30))
            case .emergency:
                start = DemoDate.easternMoment(days: dayNumber, hour: rng.below(24), minute: rng.below(60))
                end = start + 60 * rng.int(90...420)
            case .inpatient:
                start = DemoDate.easternMoment(days: dayNumber, hour: rng.below(24), minute: rng.below(60))
                end = start + rng.int(2...6) * Self.day + 60 * rng.int(-300...300)
            }

            let who: DemoRoster.Practitioner
            switch kind {
            case .wellness, .symptom, .followUp:
                let usual = practitioner(forAge: self.age(at: start))
                who = rng.chance(0.85) ? usual : rng.pick(DemoRoster.practitioners(usual.role))
            case .emergency: who = rng.pick(DemoRoster.practitioners(.emergency))
            case .inpatient: who = rng.pick(DemoRoster.practitioners(.hospitalist))
            }
            visits.append(
                Visit(
                    kind: kind, start: start, end: end, acute: acute, reasonChronic: nil,
                    uuid: ids.uuid(), practitioner: who))
        }
    }

    /// Gives each chronic condition an onset and the visit where it was diagnosed or first recorded.
    private mutating func scheduleChronicConditions() {
        guard let first = visits.first, let last = visits.last else { return }
        var kept: [ChronicCase] = []
        for var c in chronic {
            let earliest = DemoDate.adding(years: c.definition.minAge, to: birth)
            let latest = last.start - Self.day
            guard earliest < latest else { continue }
            // Most chronic conditions predate the window; the rest are diagnosed during it.
            let onset: Int
            if rng.chance(0.55) || first.start <= earliest {
                let span = max(1, DemoDate.floorDiv(latest - earliest, Self.day))
                onset = earliest + rng.below(span) * Self.day
            } else {
                let span = max(1, DemoDate.floorDiv(first.start - earliest, Self.day))
                onset = earliest + rng.below(span) * Self.day
            }
            let onsetDay = DemoDate.floorDiv(onset, Self.day)
            c.onset = DemoDate.easternMoment(days: onsetDay, hour: rng.int(7...20), minute: rng.below(60))
            if c.onset >= last.start { c.onset = last.start - Self.day }
            if c.onset < first.start {
                c.diagnosisVisit = 0
            } else {
                let candidates = visits.indices.filter { visits[$0].start >= c.onset }
                // Usually picked up at the next check-up; otherwise at the next non-emergency visit.
                c.diagnosisVisit =
                    candidates.first(where: { visits[$0].kind == .wellness })
                    ?? candidates.first(where: { visits[$0].kind != .emergency }) ?? candidates.first ?? visits.count - 1
            }
            kept.append(
                ChronicCase(
                    definition: c.definition, onset: c.onset, diagnosisVisit: c.diagnosisVisit,
                    uuid: ids.uuid(), treatedSince: nil))
        }
        chronic = kept
    }

    private mutating func assignFollowUpReasons() {
        for i in visits.indices where visits[i].kind == .followUp {
            let known = chronic.indices.filter { chronic[$0].diagnosisVisit < i }
            if known.isEmpty {
                visits[i].kind = .wellness
                visits[i].end = visits[i].start + 60 * rng.int(20...45)
            } else {
                visits[i].reasonChronic = rng.pick(known)
            }
        }
    }

    private func hasCondition(_ code: String, at moment: Int) -> Bool {
        chronic.contains { $0.definition.code == code && $0.onset <= moment }
    }

    private func isTreated(_ code: String, at moment: Int) -> Bool {
        chronic.contains { $0.definition.code == code && ($0.treatedSince.map { $0 <= moment } ?? false) }
    }

    private func isDiagnosed(_ code: String, byVisit index: Int) -> Bool {
        chronic.contains { $0.definition.code == code && $0.diagnosisVisit <= index }
    }

    // MARK: - Patient

    private mutating func patientResource() -> JSON {
        let age = ageAtReference
        var givenNames = [given]
        if let middle { givenNames.append(middle) }
        var prefix: String? = nil
        let marital: (String, String)
        if age < 18 {
            marital = ("S", "Never Married")
        } else {
            marital = rng.weighted([
                (("M", "Married"), age < 25 ? 0.1 : 0.55), (("S", "Never Married"), age < 30 ? 0.6 : 0.18),
                (("D", "Divorced"), age < 30 ? 0.02 : 0.14), (("W", "Widowed"), age >= 65 ? 0.2 : 0.01),
            ])
            if gender == "male" { prefix = "Mr." } else { prefix = marital.0 == "M" ? "Mrs." : "Ms." }
        }
        let language = rng.weighted(V.languages.map { ($0, $0.weight) })

        var line = ["\(rng.int(1...999)) \(rng.pick(V.streets))"]
        if rng.chance(0.3) { line.append("Apt \(rng.int(1...6))\(rng.letters(1))") }
        let phone = "(\(place.areaCode)) 555-01\(DemoDate.pad(rng.below(100), 2))"
        let emailName = (given + "." + family).lowercased().filter { $0.isLetter || $0 == "." }
        let email = emailName + String(rng.int(1...99)) + "@example.com"

        var telecom: [JSON] = [
            J.object(["system": .string("phone"), "value": .string(phone), "use": .string(age < 18 || rng.chance(0.5) ? "home" : "mobile")])
        ]
        if age >= 13 {
            telecom.append(J.object(["system": .string("email"), "value": .string(email), "use": .string("home")]))
        } else {
            telecom.append(
                J.object([
                    "system": .string("email"),
                    "value": .string(
                        "family." + family.lowercased().filter { $0.isLetter }
                            + String(rng.int(1...99)) + "@example.com"), "use": .string("home"),
                ]))
        }

        let gp = practitioner(forAge: age)
        return J.object([
            "resourceType": .string("Patient"),
            "identifier": .array([
                J.object([
                    "use": .string("usual"),
                    "type": J.concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number"),
                    "system": .string(DemoJSON.mrnSystem),
                    "value": .string(mrn),
                ])
            ]),
            "active": .bool(true),
            "name": .array([
                J.object([
                    "use": .string("official"),
                    "family": .string(family),
                    "given": J.strings(givenNames),
                    "prefix": prefix.map { J.strings([$0]) },
                ])
            ]),
            "telecom": .array(telecom),
            "gender": .string(gender),
            "birthDate": .string(DemoDate.date(birth)),
            "address": .array([
                J.object([
                    "use": .string("home"),
                    "type": .string("physical"),
                    "line": J.strings(line),
                    "city": .string(place.city),
                    "state": .string(place.state),
                    "postalCode": .string(place.postalCode),
                    "country": .string("US"),
                ])
            ]),
            "maritalStatus": J.concept(V.maritalStatusSystem, marital.0, marital.1),
            "communication": .array([
                J.object([
                    "language": J.concept("urn:ietf:bcp:47", language.code, language.display),
                    "preferred": .bool(true),
                ])
            ]),
            "generalPractitioner": .array([J.reference(gp.conditionalReference, display: gp.displayName)]),
            "managingOrganization": J.reference(DemoRoster.clinic.conditionalReference, display: DemoRoster.clinic.name),
        ])
    }

    // MARK: - Allergies

    private mutating func addAllergies() {
        guard let first = visits.first else { return }
        let roll = rng.unit()
        let count = roll < 0.62 ? 0 : (roll < 0.88 ? 1 : (roll < 0.97 ? 2 : 3))
        guard count > 0 else { return }
        var pool = V.allergens
        for _ in 0..<count {
            let allergen = rng.weighted(pool.map { ($0, $0.weight) })
            pool.removeAll { $0.code == allergen.code }
            if allergen.code == V.penicillinAllergen { penicillinAllergy = true }

            let high = allergen.severeRisk && rng.chance(0.65)
            var manifestations = rng.sample(V.manifestations(for: allergen.category), count: rng.int(1...2))
            if high && rng.chance(0.5) { manifestations = [V.anaphylaxis] }
            let reactions: [JSON] = manifestations.map { m in
                J.object([
                    "manifestation": .array([J.concept(DemoJSON.snomed, m.code, m.display)]),
                    "severity": .string(m.severity),
                ])
            }
            let onsetAge: Int
            switch allergen.category {
            case .food: onsetAge = rng.int(1...6)
            case .environment: onsetAge = rng.int(3...20)
            case .medication: onsetAge = rng.int(2...40)
            }
            var onset: Int? = DemoDate.adding(years: onsetAge, to: birth) + rng.below(300) * Self.day + 60 * rng.int(720...1380)
            if let o = onset, o >= first.start { onset = nil }
            let confirmed = rng.chance(0.9)
            let resource = J.object([
                "resourceType": .string("AllergyIntolerance"),
                "clinicalStatus": J.concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
                "verificationStatus": J.concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    confirmed ? "confirmed" : "unconfirmed", confirmed ? "Confirmed" : "Unconfirmed"),
                "type": .string("allergy"),
                "category": J.strings([allergen.category.rawValue]),
                "criticality": .string(high ? "high" : "low"),
                "code": J.concept(DemoJSON.snomed, allergen.code, allergen.display),
                "patient": J.reference(patientRef, display: patientDisplay),
                "encounter": J.reference(first.ref),
                "onsetDateTime": onset.map { .string(DemoDate.easternDateTime($0)) },
                "recordedDate": .string(DemoDate.easternDateTime(first.start + 5 * 60)),
                "recorder": J.reference(first.practitioner.conditionalReference, display: first.practitioner.displayName),
                "reaction": .array(reactions),
            ])
            entries.append(J.entry(uuid: ids.uuid(), resource: resource))
        }
    }

    // MARK: - Visits

    private mutating func addVisit(_ i: Int) {
        let visit = visits[i]
        entries.append(J.entry(uuid: visit.uuid, resource: encounterResource(visit)))

        if let acute = visit.acute { addAcuteCondition(acute, visit: visit) }
        for c in chronic.indices where chronic[c].diagnosisVisit == i { addChronicCondition(c, visit: visit) }

        let vitalsTime = visit.start + 60 * rng.int(3...12)
        let bmi = addVitals(visit: visit, at: vitalsTime)
        if bmi >= 30, age(at: visit.start) >= 18, !obesityRecorded {
            obesityRecorded = true
            let resource = conditionResource(
                code: V.obesity, display: "Body mass index 30+ - obesity (finding)", visit: visit,
                onset: vitalsTime, abatement: nil, problemList: true)
            entries.append(J.entry(uuid: ids.uuid(), resource: resource))
        }
        addLabs(visitIndex: i, at: min(visit.start + 60 * rng.int(10...40), visit.end - 120))
        addMedicationEscalation(visitIndex: i)
        if visit.kind == .wellness { addImmunizations(visit: visit) }
    }

    private func encounterResource(_ visit: Visit) -> JSON {
        let actCode: (String, String)
        let type: (String, String)
        switch visit.kind {
        case .wellness:
            actCode = ("AMB", "ambulatory")
            type = age(at: visit.start) < 18 ? V.wellChild : V.checkUp
        case .symptom: actCode = ("AMB", "ambulatory"); type = V.symptom
        case .followUp: actCode = ("AMB", "ambulatory"); type = V.followUp
        case .emergency: actCode = ("EMER", "emergency"); type = V.emergencyVisit
        case .inpatient: actCode = ("IMP", "inpatient encounter"); type = V.hospitalAdmission
        }
        let organization = visit.practitioner.organization
        let participantType =
            visit.kind == .inpatient || visit.kind == .emergency
            ? J.concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender")
            : J.concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer")

        var reason: JSON? = nil
        if let acute = visit.acute {
            reason = .array([J.concept(DemoJSON.snomed, acute.code, acute.display)])
        } else if let c = visit.reasonChronic {
            reason = .array([J.concept(DemoJSON.snomed, chronic[c].definition.code, chronic[c].definition.display)])
        }
        var hospitalization: JSON? = nil
        if visit.kind == .inpatient {
            hospitalization = J.object([
                "admitSource": J.concept("http://terminology.hl7.org/CodeSystem/admit-source", "emd", "From accident/emergency department"),
                "dischargeDisposition": J.concept("http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home"),
            ])
        }
        let period = J.object([
            "start": .string(DemoDate.easternDateTime(visit.start)),
            "end": .string(DemoDate.easternDateTime(visit.end)),
        ])
        return J.object([
            "resourceType": .string("Encounter"),
            "status": .string("finished"),
            "class": J.coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", actCode.0, actCode.1),
            "type": .array([J.concept(DemoJSON.snomed, type.0, type.1)]),
            "subject": J.reference(patientRef, display: patientDisplay),
            "participant": .array([
                J.object([
                    "type": .array([participantType]),
                    "period": period,
                    "individual": J.reference(visit.practitioner.conditionalReference, display: visit.practitioner.displayName),
                ])
            ]),
            "period": period,
            "reasonCode": reason,
            "hospitalization": hospitalization,
            "serviceProvider": J.reference(organization.conditionalReference, display: organization.name),
        ])
    }

    // MARK: - Conditions

    private func conditionResource(
        code: String, display: String, visit: Visit, onset: Int, abatement: Int?,
        problemList: Bool
    ) -> JSON {
        let resolved = abatement != nil
        return J.object([
            "resourceType": .string("Condition"),
            "clinicalStatus": J.concept(
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
                resolved ? "resolved" : "active", resolved ? "Resolved" : "Active"),
            "verificationStatus": J.concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
            "category": .array([
                problemList
                    ? J.concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")
                    : J.concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")
            ]),
            "code": J.concept(DemoJSON.snomed, code, display),
            "subject": J.reference(patientRef, display: patientDisplay),
            "encounter": J.reference(visit.ref),
            "onsetDateTime": .string(DemoDate.easternDateTime(onset)),
            "abatementDateTime": abatement.map { .string(DemoDate.easternDateTime($0)) },
            "recordedDate": .string(DemoDate.easternDateTime(max(onset, visit.start + 10 * 60))),
            "recorder": J.reference(visit.practitioner.conditionalReference, display: visit.practitioner.displayName),
        ])
    }

    private mutating func addAcuteCondition(_ acute: V.Acute, visit: Visit) {
        let onset: Int
        if visit.kind == .emergency {
            onset = visit.start - 60 * rng.int(20...600)
        } else {
            onset = visit.start - Self.day * rng.int(1...5) - 60 * rng.below(600)
        }
        let resolvedAt = onset + Self.day * rng.int(acute.days)
        let abatement: Int? = resolvedAt < DemoDate.reference ? resolvedAt : nil
        let uuid = ids.uuid()
        entries.append(
            J.entry(
                uuid: uuid,
                resource: conditionResource(
                    code: acute.code, display: acute.display, visit: visit,
                    onset: onset, abatement: abatement, problemList: false)))
        for med in acute.medications {
            if med.penicillinClass && penicillinAllergy { continue }
            let authored = visit.kind == .inpatient ? visit.start + 60 * rng.int(60...240) : visit.end - 60 * rng.int(1...5)
            let courseEnd = authored + Self.day * (med.courseDays ?? acute.days.lowerBound)
            addMedicationRequest(
                med, visit: visit, authored: authored, reason: "urn:uuid:" + uuid,
                status: courseEnd < DemoDate.reference ? "completed" : "active")
        }
    }

    private mutating func addChronicCondition(_ c: Int, visit: Visit) {
        let definition = chronic[c].definition
        entries.append(
            J.entry(
                uuid: chronic[c].uuid,
                resource: conditionResource(
                    code: definition.code, display: definition.display, visit: visit,
                    onset: chronic[c].onset, abatement: nil, problemList: true)))
        // Most patients get first-line therapy when the condition is diagnosed or first recorded.
        guard let med = definition.medications.first, rng.chance(0.85) else { return }
        let authored = visit.end - 60 * rng.int(1...5)
        chronic[c].treatedSince = authored
        addMedicationRequest(med, visit: visit, authored: authored, reason: chronic[c].ref, status: "active")
    }

    /// A second-line medicine added at a later follow-up or check-up for some treated conditions.
    private mutating func addMedicationEscalation(visitIndex i: Int) {
        let visit = visits[i]
        guard visit.kind == .followUp || visit.kind == .wellness else { return }
        for c in chronic.indices where chronic[c].diagnosisVisit < i && chronic[c].treatedSince != nil {
            let meds = chronic[c].definition.medications
            guard meds.count > 1, rng.chance(visit.reasonChronic == c ? 0.45 : 0.12) else { continue }
            let med = meds[1]
            let already = entries.contains { e in
                e["resource"]?["resourceType"]?.stringValue == "MedicationRequest"
                    && e["resource"]?["medicationCodeableConcept"]?["coding"]?.arrayValue?.first?["code"]?.stringValue == med.code
            }
            if already { continue }
            addMedicationRequest(med, visit: visit, authored: visit.end - 60 * rng.int(1...5), reason: chronic[c].ref, status: "active")
        }
    }

    private mutating func addMedicationRequest(_ med: V.Medication, visit: Visit, authored: Int, reason: String, status: String) {
        var repeatObject = JSONObject()
        repeatObject["frequency"] = .int(med.frequency)
        repeatObject["period"] = .int(med.period)
        repeatObject["periodUnit"] = .string(med.periodUnit)
        let supplyDays = med.courseDays ?? 30
        let category =
            visit.kind == .inpatient
            ? J.concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "inpatient", "Inpatient")
            : J.concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "outpatient", "Outpatient")
        let resource = J.object([
            "resourceType": .string("MedicationRequest"),
            "status": .string(status),
            "intent": .string("order"),
            "category": .array([category]),
            "medicationCodeableConcept": J.concept(DemoJSON.rxnorm, med.code, med.display),
            "subject": J.reference(patientRef, display: patientDisplay),
            "encounter": J.reference(visit.ref),
            "authoredOn": .string(DemoDate.easternDateTime(authored)),
            "requester": J.reference(visit.practitioner.conditionalReference, display: visit.practitioner.displayName),
            "reasonReference": .array([J.reference(reason)]),
            "dosageInstruction": .array([
                J.object([
                    "sequence": .int(1),
                    "text": .string(med.instruction),
                    "timing": J.object(["repeat": .object(repeatObject)]),
                    "asNeededBoolean": .bool(med.asNeeded),
                ])
            ]),
            "dispenseRequest": J.object([
                "numberOfRepeatsAllowed": .int(med.courseDays == nil ? 5 : 0),
                "expectedSupplyDuration": J.quantity(.int(supplyDays), unit: "days", code: "d"),
            ]),
        ])
        entries.append(J.entry(uuid: ids.uuid(), resource: resource))
    }

    // MARK: - Observations

    private func observation(
        visit: Visit, category: String, code: String, display: String, effective: Int, issued: Int,
        value: JSON?, components: [JSON]? = nil, interpretation: JSON? = nil,
        referenceRange: JSON? = nil
    ) -> JSON {
        J.object([
            "resourceType": .string("Observation"),
            "status": .string("final"),
            "category": .array([
                J.concept(
                    Self.observationCategory, category,
                    category == "vital-signs" ? "Vital Signs" : "Laboratory")
            ]),
            "code": J.concept(DemoJSON.loinc, code, display),
            "subject": J.reference(patientRef, display: patientDisplay),
            "encounter": J.reference(visit.ref),
            "effectiveDateTime": .string(DemoDate.easternDateTime(effective)),
            "issued": .string(DemoDate.instant(issued)),
            "performer": .array([J.reference(visit.practitioner.conditionalReference, display: visit.practitioner.displayName)]),
            "valueQuantity": value,
            "interpretation": interpretation,
            "referenceRange": referenceRange,
            "component": components.map(JSON.array),
        ])
    }

    private static func interpolate(_ table: [(Double, Double)], at x: Double) -> Double {
        if x <= table[0].0 { return table[0].1 }
        for k in 1..<table.count where x <= table[k].0 {
            let (x0, y0) = table[k - 1]
            let (x1, y1) = table[k]
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        }
        return table[table.count - 1].1
    }

    private static let boysHeight: [(Double, Double)] = [
        (2, 87.0), (3, 95.5), (4, 102.5), (5, 109.5), (6, 115.5), (7, 122.0), (8, 128.0), (9, 133.5), (10, 138.5),
        (11, 143.5), (12, 149.5), (13, 156.5), (14, 164.0), (15, 170.0), (16, 173.5), (17, 175.5), (18, 176.5),
    ]
    private static let girlsHeight: [(Double, Double)] = [
        (2, 86.0), (3, 94.5), (4, 101.5), (5, 108.0), (6, 115.0), (7, 121.5), (8, 127.5), (9, 133.5), (10, 138.5),
        (11, 144.5), (12, 151.5), (13, 157.0), (14, 160.0), (15, 161.5), (16, 162.5), (17, 163.0), (18, 163.2),
    ]
    private static let medianBMI: [(Double, Double)] = [(2, 16.5), (6, 15.4), (10, 17.0), (14, 19.4), (18, 21.8), (25, 25.5), (45, 27.8), (70, 27.5), (95, 25.5)]

    /// Records the vital-signs panel of a visit and returns the BMI.
    private mutating func addVitals(visit: Visit, at time: Int) -> Double {
        let ageYears = fractionalAge(at: time)
        let age = self.age(at: time)
        let fever = visit.acute?.fever == true

        var height = Self.interpolate(gender == "male" ? Self.boysHeight : Self.girlsHeight, at: ageYears)
        height += heightZ * (ageYears < 18 ? height * 0.042 : (gender == "male" ? 7.2 : 6.6))
        if ageYears > 60 { height -= (ageYears - 60) * 0.12 }

        bmiDrift = min(4, max(-4, bmiDrift + rng.normal(mean: 0, sd: 0.5)))
        var bmi = Self.interpolate(Self.medianBMI, at: ageYears) + bmiZ * (ageYears < 18 ? 2.4 : 4.8) + (ageYears < 18 ? 0 : bmiDrift)
        bmi = min(48, max(ageYears < 18 ? 13.5 : 17.5, bmi))
        let heightRounded = (height * 10).rounded() / 10
        let weight = ((bmi * heightRounded * heightRounded / 10_000) * 10).rounded() / 10
        let bmiActual = weight / (heightRounded * heightRounded / 10_000)

        var heartRate: Double
        if ageYears < 6 {
            heartRate = rng.normal(mean: 102, sd: 8)
        } else if ageYears < 12 {
            heartRate = rng.normal(mean: 88, sd: 7)
        } else {
            heartRate = heartRateBase + rng.normal(mean: 0, sd: 5)
        }
        if fever { heartRate += rng.double(8, 20) }
        if hasCondition("49436004", at: time) { heartRate += rng.double(0, 18) }
        let temperature = fever ? rng.normal(mean: 38.5, sd: 0.35, clampedTo: 38.0...40.0) : rng.normal(mean: 36.8, sd: 0.2, clampedTo: 36.1...37.4)

        var systolic: Double
        var diastolic: Double
        if age < 18 {
            systolic = max(86, 90 + ageYears * 1.2 + systolicOffset * 0.6 + rng.normal(mean: 0, sd: 4))
            diastolic = max(50, 54 + ageYears * 0.8 + diastolicOffset * 0.6 + rng.normal(mean: 0, sd: 3))
        } else {
            systolic = 112 + 0.4 * max(0, ageYears - 25) + systolicOffset + rng.normal(mean: 0, sd: 5) + (bmiActual - 25) * 0.5
            diastolic = 72 + 0.08 * max(0, ageYears - 25) + diastolicOffset + rng.normal(mean: 0, sd: 4) + (bmiActual - 25) * 0.3
            if hasCondition(V.hypertension, at: time) {
                systolic += 24
                diastolic += 12
                if isTreated(V.hypertension, at: time) { systolic -= 15; diastolic -= 8 }
            }
        }
        diastolic = min(diastolic, systolic - 25)

        let issued = time + 60 * rng.int(1...20)
        func vital(_ code: String, _ display: String, _ value: JSON, _ unit: String, _ ucum: String) -> JSON {
            observation(
                visit: visit, category: "vital-signs", code: code, display: display, effective: time, issued: issued,
                value: J.quantity(value, unit: unit, code: ucum))
        }
        var vitals: [JSON] = [
            vital("8302-2", "Body height", J.decimal(heightRounded, places: 1), "cm", "cm"),
            vital("29463-7", "Body weight", J.decimal(weight, places: 1), "kg", "kg"),
            vital("39156-5", "Body mass index (BMI) [Ratio]", J.decimal(bmiActual, places: 2), "kg/m2", "kg/m2"),
            vital("8867-4", "Heart rate", .int(Int(heartRate.rounded())), "/min", "/min"),
            vital("8310-5", "Body temperature", J.decimal(temperature, places: 1), "Cel", "Cel"),
        ]
        let components: [JSON] = [
            J.object([
                "code": J.concept(DemoJSON.loinc, "8480-6", "Systolic blood pressure"),
                "valueQuantity": J.quantity(.int(Int(systolic.rounded())), unit: "mm[Hg]", code: "mm[Hg]"),
            ]),
            J.object([
                "code": J.concept(DemoJSON.loinc, "8462-4", "Diastolic blood pressure"),
                "valueQuantity": J.quantity(.int(Int(diastolic.rounded())), unit: "mm[Hg]", code: "mm[Hg]"),
            ]),
        ]
        vitals.append(
            observation(
                visit: visit, category: "vital-signs", code: "85354-9",
                display: "Blood pressure panel with all children optional", effective: time, issued: issued,
                value: nil, components: components))
        for v in vitals { entries.append(J.entry(uuid: ids.uuid(), resource: v)) }
        return bmiActual
    }

    private static let glucose = LabSpec(code: "2339-0", display: "Glucose [Mass/volume] in Blood", unit: "mg/dL", places: 0, low: 70, high: 99)
    private static let a1c = LabSpec(code: "4548-4", display: "Hemoglobin A1c/Hemoglobin.total in Blood", unit: "%", places: 1, low: 4.0, high: 5.6)
    private static let cholesterol = LabSpec(
        code: "2093-3", display: "Cholesterol [Mass/volume] in Serum or Plasma", unit: "mg/dL",
        places: 0, low: nil, high: 199)
    private static let triglycerides = LabSpec(
        code: "2571-8", display: "Triglyceride [Mass/volume] in Serum or Plasma", unit: "mg/dL",
        places: 0, low: nil, high: 149)
    private static let hdl = LabSpec(
        code: "2085-9", display: "Cholesterol in HDL [Mass/volume] in Serum or Plasma", unit: "mg/dL",
        places: 0, low: 40, high: nil)
    private static let ldl = LabSpec(
        code: "18262-6", display: "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
        unit: "mg/dL", places: 0, low: nil, high: 99)
    private static let creatinine = LabSpec(
        code: "2160-0", display: "Creatinine [Mass/volume] in Serum or Plasma", unit: "mg/dL",
        places: 2, low: 0.6, high: 1.3)

    private func hemoglobinSpec(age: Int) -> LabSpec {
        let range: (Double, Double) = age < 12 ? (11.0, 14.5) : (gender == "male" ? (13.5, 17.5) : (12.0, 15.5))
        return LabSpec(
            code: "718-7", display: "Hemoglobin [Mass/volume] in Blood", unit: "g/dL", places: 1,
            low: range.0, high: range.1)
    }

    private mutating func lab(_ spec: LabSpec, _ value: Double, visit: Visit, at time: Int, issued: Int) {
        var scale = 1.0
        for _ in 0..<spec.places { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var flag = ("N", "Normal")
        if let low = spec.low, rounded < low { flag = ("L", "Low") }
        if let high = spec.high, rounded > high { flag = ("H", "High") }
        var range = JSONObject()
        if let low = spec.low { range["low"] = J.quantity(J.decimal(low, places: spec.places), unit: spec.unit, code: spec.unit) }
        if let high = spec.high { range["high"] = J.quantity(J.decimal(high, places: spec.places), unit: spec.unit, code: spec.unit) }
        let resource = observation(
            visit: visit, category: "laboratory", code: spec.code, display: spec.display, effective: time, issued: issued,
            value: J.quantity(J.decimal(rounded, places: spec.places), unit: spec.unit, code: spec.unit),
            interpretation: .array([J.concept(Self.interpretationSystem, flag.0, flag.1)]),
            referenceRange: .array([.object(range)]))
        entries.append(J.entry(uuid: ids.uuid(), resource: resource))
    }

    private mutating func addLabs(visitIndex i: Int, at time: Int) {
        let visit = visits[i]
        let age = self.age(at: time)
        let issued = time + 60 * rng.int(90...1800)
        var wantGlucose = false
        var wantA1c = false
        var wantLipids = false
        var wantHemoglobin = false
        var wantCreatinine = false
        let reason = visit.reasonChronic.map { chronic[$0].definition.code }

        switch visit.kind {
        case .wellness:
            if age >= 18 {
                wantGlucose = rng.chance(0.85)
                wantA1c = isDiagnosed(V.diabetes, byVisit: i) || isDiagnosed(V.prediabetes, byVisit: i) || rng.chance(0.15)
                wantLipids = (age >= 35 && rng.chance(0.55)) || isDiagnosed(V.hyperlipidemia, byVisit: i)
                wantHemoglobin = rng.chance(0.3) || isDiagnosed(V.anemia, byVisit: i)
                wantCreatinine = isDiagnosed(V.hypertension, byVisit: i) && rng.chance(0.5)
            } else {
                wantHemoglobin = rng.chance(0.2)
            }
        case .followUp:
            wantGlucose = reason == V.diabetes || reason == V.prediabetes
            wantA1c = wantGlucose
            wantLipids = reason == V.hyperlipidemia
            wantHemoglobin = reason == V.anemia
            wantCreatinine = reason == V.hypertension || reason == V.diabetes
        case .symptom:
            wantHemoglobin = rng.chance(0.1)
        case .emergency:
            let basic = rng.chance(0.4)
            wantGlucose = basic; wantHemoglobin = basic; wantCreatinine = basic
        case .inpatient:
            wantGlucose = true; wantHemoglobin = true; wantCreatinine = true
        }

        let diabetic = hasCondition(V.diabetes, at: time)
        let prediabetic = hasCondition(V.prediabetes, at: time)
        let glycemicTreated = isTreated(V.diabetes, at: time)
        if wantGlucose {
            let value: Double
            if diabetic {
                value = glycemicTreated ? rng.normal(mean: 138, sd: 18, clampedTo: 95...240) : rng.normal(mean: 172, sd: 25, clampedTo: 126...320)
            } else if prediabetic {
                value = rng.normal(mean: 110, sd: 6, clampedTo: 100...125)
            } else {
                value = rng.normal(mean: 86, sd: 7, clampedTo: 68...99)
            }
            lab(Self.glucose, value, visit: visit, at: time, issued: issued)
        }
        if wantA1c {
            let value: Double
            if diabetic {
                value = glycemicTreated ? rng.normal(mean: 7.1, sd: 0.5, clampedTo: 6.2...9.5) : rng.normal(mean: 8.3, sd: 0.8, clampedTo: 6.5...12)
            } else if prediabetic {
                value = rng.normal(mean: 6.0, sd: 0.15, clampedTo: 5.7...6.4)
            } else {
                value = rng.normal(mean: 5.2, sd: 0.2, clampedTo: 4.6...5.6)
            }
            lab(Self.a1c, value, visit: visit, at: time, issued: issued)
        }
        if wantLipids {
            let high = hasCondition(V.hyperlipidemia, at: time)
            let statin = isTreated(V.hyperlipidemia, at: time)
            var total = high ? rng.normal(mean: 245, sd: 18, clampedTo: 205...320) : rng.normal(mean: 178, sd: 14, clampedTo: 135...199)
            if statin { total -= rng.double(35, 60) }
            let hdlValue = rng.normal(mean: gender == "male" ? 48 : 58, sd: 8, clampedTo: 28...95)
            let tg = high ? rng.normal(mean: 190, sd: 35, clampedTo: 120...400) : rng.normal(mean: 115, sd: 25, clampedTo: 50...180)
            let ldlValue = max(40, total - hdlValue - tg / 5)
            lab(Self.cholesterol, total, visit: visit, at: time, issued: issued)
            lab(Self.triglycerides, tg, visit: visit, at: time, issued: issued)
            lab(Self.hdl, hdlValue, visit: visit, at: time, issued: issued)
            lab(Self.ldl, ldlValue, visit: visit, at: time, issued: issued)
        }
        if wantHemoglobin {
            var value = rng.normal(mean: gender == "male" ? 15.0 : 13.6, sd: 0.7)
            if hasCondition(V.anemia, at: time) { value = rng.normal(mean: gender == "male" ? 11.4 : 10.4, sd: 0.6) }
            if age < 12 { value = rng.normal(mean: 12.6, sd: 0.6) }
            lab(hemoglobinSpec(age: age), value, visit: visit, at: time, issued: issued)
        }
        if wantCreatinine {
            var value = rng.normal(mean: gender == "male" ? 0.98 : 0.78, sd: 0.12, clampedTo: 0.5...1.25)
            if age >= 70 { value += 0.12 }
            lab(Self.creatinine, value, visit: visit, at: time, issued: issued)
        }
    }

    // MARK: - Immunizations

    private mutating func addImmunizations(visit: Visit) {
        let time = min(visit.start + 60 * rng.int(12...35), visit.end - 60)
        let age = self.age(at: time)
        let date = DemoDate.civil(seconds: time)
        var due: [V.Vaccine] = []
        func doses(_ v: V.Vaccine) -> Int { vaccineDoses[v.code, default: 0] }

        let season = date.month >= 8 ? date.year : date.year - 1
        let fluSeason = date.month >= 9 || date.month <= 3
        if fluSeason && season != lastFluSeason && rng.chance(age >= 65 ? 0.8 : 0.6) {
            due.append(V.influenza)
            lastFluSeason = season
        }
        if time >= DemoDate.epochSeconds(year: 2021, month: 1, day: 1) && age >= 5 && doses(V.covidPfizer) + doses(V.covidModerna) < 3
            && rng.chance(age >= 65 ? 0.6 : 0.35)
        {
            due.append(rng.chance(0.6) ? V.covidPfizer : V.covidModerna)
        }
        if (2...3).contains(age) && doses(V.hepA) == 0 && rng.chance(0.6) { due.append(V.hepA) }
        if (4...6).contains(age) {
            for v in [V.dtap, V.ipv, V.mmr, V.varicella] where doses(v) == 0 && rng.chance(0.75) { due.append(v) }
        }
        if (11...12).contains(age) && doses(V.tdap) == 0 && rng.chance(0.8) { due.append(V.tdap) }
        if (11...18).contains(age) && doses(V.meningococcal) == 0 && rng.chance(0.5) { due.append(V.meningococcal) }
        if (11...26).contains(age) && doses(V.hpv) < 2 && rng.chance(0.4) { due.append(V.hpv) }
        if age >= 19 && doses(V.tdap) + doses(V.td) == 0 && rng.chance(0.08) { due.append(rng.chance(0.5) ? V.tdap : V.td) }
        if (19...59).contains(age) && doses(V.hepBAdult) == 0 && rng.chance(0.04) { due.append(V.hepBAdult) }
        if age >= 50 && doses(V.zoster) < 2 && rng.chance(0.25) { due.append(V.zoster) }
        if age >= 65 && doses(V.pcv13) == 0 && rng.chance(0.35) {
            due.append(V.pcv13)
        } else if age >= 66 && doses(V.pcv13) > 0 && doses(V.ppsv23) == 0 && rng.chance(0.4) {
            due.append(V.ppsv23)
        }

        var sites = ["LA", "RA"]
        for vaccine in due {
            vaccineDoses[vaccine.code, default: 0] += 1
            let site = sites.isEmpty ? "LA" : sites.removeFirst()
            let expiry = time + Self.day * rng.int(120...540)
            let resource = J.object([
                "resourceType": .string("Immunization"),
                "status": .string("completed"),
                "vaccineCode": J.concept(DemoJSON.cvx, vaccine.code, vaccine.display),
                "patient": J.reference(patientRef, display: patientDisplay),
                "encounter": J.reference(visit.ref),
                "occurrenceDateTime": .string(DemoDate.easternDateTime(time)),
                "recorded": .string(DemoDate.easternDateTime(time + 60 * rng.int(1...10))),
                "primarySource": .bool(true),
                "lotNumber": .string(rng.letters(2) + rng.digits(5)),
                "expirationDate": .string(DemoDate.date(expiry)),
                "site": J.concept("http://terminology.hl7.org/CodeSystem/v3-ActSite", site, site == "LA" ? "left arm" : "right arm"),
                "route": J.concept("http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", vaccine.route.code, vaccine.route.display),
                "doseQuantity": J.quantity(J.decimal(vaccine.doseML, places: 1), unit: "mL", code: "mL"),
                "performer": .array([
                    J.object([
                        "function": J.concept("http://terminology.hl7.org/CodeSystem/v2-0443", "AP", "Administering Provider"),
                        "actor": J.reference(visit.practitioner.conditionalReference, display: visit.practitioner.displayName),
                    ])
                ]),
            ])
            entries.append(J.entry(uuid: ids.uuid(), resource: resource))
        }
    }
}
