// swift-format-ignore-file
// (Data tables and migration statements: their hand alignment carries meaning.)

/// Invented names and places plus the clinical code tables the demo generator draws from.
/// Names are common given and family names combined at random; no record describes a real person.
enum DemoVocabulary {
    // MARK: People

    static let maleGiven = [
        "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
        "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Paul", "Andrew", "Joshua", "Kevin",
        "Brian", "George", "Timothy", "Ryan", "Jacob", "Nicholas", "Eric", "Jonathan", "Justin", "Benjamin",
        "Samuel", "Nathan", "Carlos", "Luis", "Miguel", "Ethan", "Noah", "Liam", "Owen", "Lucas",
        "Mason", "Elijah", "Aiden", "Jose", "Wei", "Minh", "Omar", "Dylan", "Patrick", "Henry",
    ]

    static let femaleGiven = [
        "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
        "Lisa", "Nancy", "Margaret", "Sandra", "Ashley", "Emily", "Donna", "Michelle", "Carol", "Amanda",
        "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura", "Hannah", "Olivia", "Emma", "Sophia", "Ava",
        "Isabella", "Mia", "Chloe", "Grace", "Maria", "Ana", "Sofia", "Lucia", "Mei", "Linh",
        "Fatima", "Abigail", "Madison", "Claire", "Julia", "Natalie", "Rose", "Katherine",
    ]

    static let family = [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
        "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
        "Sullivan", "Murphy", "O'Brien", "Kelly", "Chen", "Wang", "Patel", "Silva", "Costa", "Pereira",
        "Tran", "Kim", "Cohen", "Rossi", "Murray", "Fitzgerald", "Brennan", "Doyle", "Reyes", "Hughes",
    ]

    static let streets = [
        "Maple Street", "Oak Avenue", "Elm Street", "Pleasant Street", "Highland Avenue", "Washington Street",
        "Park Road", "Cedar Lane", "Chestnut Street", "Lincoln Road", "Summer Street", "Prospect Street",
        "Hillside Avenue", "Birch Road", "Walnut Street", "Spring Street", "Church Street", "Mill Road",
        "Forest Avenue", "Lake Street", "River Road", "Orchard Lane", "Meadow Drive", "Willow Way",
        "Harbor View Drive", "Granite Street", "Beacon Terrace", "Linden Court",
    ]

    struct Place: Sendable {
        let city: String
        let state: String
        let postalCode: String
        let areaCode: String
        let weight: Double
    }

    /// New England towns (US Eastern time) served by the demo clinic and hospital.
    static let places: [Place] = [
        Place(city: "Boston", state: "MA", postalCode: "02118", areaCode: "617", weight: 10),
        Place(city: "Cambridge", state: "MA", postalCode: "02139", areaCode: "617", weight: 5),
        Place(city: "Somerville", state: "MA", postalCode: "02144", areaCode: "617", weight: 4),
        Place(city: "Quincy", state: "MA", postalCode: "02169", areaCode: "617", weight: 4),
        Place(city: "Newton", state: "MA", postalCode: "02458", areaCode: "617", weight: 3),
        Place(city: "Medford", state: "MA", postalCode: "02155", areaCode: "781", weight: 3),
        Place(city: "Waltham", state: "MA", postalCode: "02451", areaCode: "781", weight: 3),
        Place(city: "Lynn", state: "MA", postalCode: "01902", areaCode: "781", weight: 3),
        Place(city: "Salem", state: "MA", postalCode: "01970", areaCode: "978", weight: 2),
        Place(city: "Lowell", state: "MA", postalCode: "01852", areaCode: "978", weight: 3),
        Place(city: "Framingham", state: "MA", postalCode: "01702", areaCode: "508", weight: 3),
        Place(city: "Worcester", state: "MA", postalCode: "01602", areaCode: "508", weight: 4),
        Place(city: "Brockton", state: "MA", postalCode: "02301", areaCode: "508", weight: 3),
        Place(city: "Plymouth", state: "MA", postalCode: "02360", areaCode: "508", weight: 2),
        Place(city: "Fall River", state: "MA", postalCode: "02720", areaCode: "508", weight: 2),
        Place(city: "New Bedford", state: "MA", postalCode: "02740", areaCode: "508", weight: 2),
        Place(city: "Springfield", state: "MA", postalCode: "01103", areaCode: "413", weight: 3),
        Place(city: "Amherst", state: "MA", postalCode: "01002", areaCode: "413", weight: 1),
        Place(city: "Pittsfield", state: "MA", postalCode: "01201", areaCode: "413", weight: 1),
        Place(city: "Nashua", state: "NH", postalCode: "03060", areaCode: "603", weight: 2),
        Place(city: "Manchester", state: "NH", postalCode: "03101", areaCode: "603", weight: 2),
        Place(city: "Concord", state: "NH", postalCode: "03301", areaCode: "603", weight: 1),
        Place(city: "Portsmouth", state: "NH", postalCode: "03801", areaCode: "603", weight: 1),
        Place(city: "Providence", state: "RI", postalCode: "02903", areaCode: "401", weight: 3),
        Place(city: "Warwick", state: "RI", postalCode: "02886", areaCode: "401", weight: 2),
        Place(city: "Pawtucket", state: "RI", postalCode: "02860", areaCode: "401", weight: 1),
    ]

    struct Language: Sendable {
        let code: String
        let display: String
        let weight: Double
    }

    static let languages: [Language] = [
        Language(code: "en-US", display: "English (United States)", weight: 84),
        Language(code: "es", display: "Spanish", weight: 8),
        Language(code: "pt-BR", display: "Portuguese (Brazil)", weight: 3),
        Language(code: "zh", display: "Chinese", weight: 2),
        Language(code: "vi", display: "Vietnamese", weight: 2),
        Language(code: "fr", display: "French", weight: 1),
    ]

    static let maritalStatusSystem = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"

    // MARK: Medications

    struct Medication: Sendable {
        let code: String
        let display: String
        let instruction: String
        let frequency: Int
        let period: Int
        let periodUnit: String
        let asNeeded: Bool
        /// Days of therapy for a short course; nil for ongoing therapy.
        let courseDays: Int?
        let penicillinClass: Bool

        init(_ code: String, _ display: String, _ instruction: String, frequency: Int = 1, period: Int = 1,
             periodUnit: String = "d", asNeeded: Bool = false, courseDays: Int? = nil, penicillinClass: Bool = false) {
            self.code = code
            self.display = display
            self.instruction = instruction
            self.frequency = frequency
            self.period = period
            self.periodUnit = periodUnit
            self.asNeeded = asNeeded
            self.courseDays = courseDays
            self.penicillinClass = penicillinClass
        }
    }

    static let lisinopril = Medication("314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily.")
    static let amlodipine = Medication("197361", "amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily.")
    static let hydrochlorothiazide = Medication("310798", "Hydrochlorothiazide 25 MG Oral Tablet", "Take 1 tablet by mouth every morning.")
    static let metformin = Medication("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
                                      "Take 1 tablet by mouth daily with the evening meal.")
    static let insulin = Medication("106892", "insulin isophane, human 70 UNT/ML / insulin regular, human 30 UNT/ML Injectable Suspension [Humulin]",
                                    "Inject subcutaneously twice daily before breakfast and dinner as directed.", frequency: 2)
    static let simvastatin = Medication("312961", "Simvastatin 20 MG Oral Tablet", "Take 1 tablet by mouth every evening.")
    static let fluticasone = Medication("895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
                                        "Inhale 2 puffs twice daily; rinse mouth after use.", frequency: 2)
    static let albuterol = Medication("745679", "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
                                      "Inhale 2 puffs every 4 to 6 hours as needed for wheezing or shortness of breath.",
                                      period: 4, periodUnit: "h", asNeeded: true)
    static let levothyroxine = Medication("966222", "Levothyroxine Sodium 0.075 MG Oral Tablet",
                                          "Take 1 tablet by mouth every morning on an empty stomach.")
    static let sertraline = Medication("312938", "sertraline 100 MG Oral Tablet", "Take 1 tablet by mouth once daily.")
    static let naproxen = Medication("849574", "Naproxen sodium 220 MG Oral Tablet",
                                     "Take 1 tablet by mouth every 12 hours as needed for pain.", period: 12, periodUnit: "h", asNeeded: true)
    static let ibuprofen = Medication("310965", "Ibuprofen 200 MG Oral Tablet",
                                      "Take 1 to 2 tablets by mouth every 6 hours as needed for pain.", period: 6, periodUnit: "h",
                                      asNeeded: true, courseDays: 10)
    static let acetaminophen = Medication("313782", "Acetaminophen 325 MG Oral Tablet",
                                          "Take 2 tablets by mouth every 6 hours as needed for fever or pain.", period: 6, periodUnit: "h",
                                          asNeeded: true, courseDays: 7)
    static let loratadine = Medication("311372", "Loratadine 10 MG Oral Tablet", "Take 1 tablet by mouth once daily during allergy season.")
    static let cetirizine = Medication("1014676", "cetirizine hydrochloride 5 MG Oral Tablet", "Take 1 tablet by mouth once daily.")
    static let warfarin = Medication("855332", "Warfarin Sodium 5 MG Oral Tablet", "Take 1 tablet by mouth once daily; dose adjusted to INR.")
    static let ferrousSulfate = Medication("310325", "ferrous sulfate 325 MG Oral Tablet", "Take 1 tablet by mouth once daily with food.")
    static let amoxicillin250 = Medication("308182", "Amoxicillin 250 MG Oral Capsule", "Take 1 capsule by mouth three times daily for 10 days.",
                                           frequency: 3, courseDays: 10, penicillinClass: true)
    static let amoxicillin500 = Medication("308192", "Amoxicillin 500 MG Oral Tablet", "Take 1 tablet by mouth twice daily for 7 days.",
                                           frequency: 2, courseDays: 7, penicillinClass: true)
    static let amoxClav = Medication("562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet",
                                     "Take 1 tablet by mouth three times daily for 10 days.", frequency: 3, courseDays: 10, penicillinClass: true)
    static let penicillinV = Medication("834061", "Penicillin V Potassium 250 MG Oral Tablet",
                                        "Take 1 tablet by mouth four times daily for 10 days.", frequency: 4, courseDays: 10, penicillinClass: true)
    static let ciprofloxacin = Medication("309309", "Ciprofloxacin 500 MG Oral Tablet", "Take 1 tablet by mouth twice daily for 3 days.",
                                          frequency: 2, courseDays: 3)

    // MARK: Conditions

    struct Chronic: Sendable {
        let code: String
        let display: String
        let minAge: Int
        /// Prevalence at `minAge` and at 70 and over (linear in between).
        let youngRate: Double
        let oldRate: Double
        let medications: [Medication]
        /// Conditions sharing a group are mutually exclusive.
        let group: String?

        func prevalence(age: Int) -> Double {
            guard age >= minAge else { return 0 }
            if age >= 70 { return oldRate }
            let t = Double(age - minAge) / Double(max(1, 70 - minAge))
            return youngRate + (oldRate - youngRate) * t
        }
    }

    static let hypertension = "38341003"
    static let diabetes = "44054006"
    static let prediabetes = "15777000"
    static let hyperlipidemia = "55822004"
    static let anemia = "271737000"
    static let obesity = "162864005"

    static let chronic: [Chronic] = [
        Chronic(code: hypertension, display: "Hypertensive disorder, systemic arterial (disorder)", minAge: 25,
                youngRate: 0.06, oldRate: 0.55, medications: [lisinopril, amlodipine, hydrochlorothiazide], group: nil),
        Chronic(code: diabetes, display: "Diabetes mellitus type 2 (disorder)", minAge: 30,
                youngRate: 0.03, oldRate: 0.24, medications: [metformin, insulin], group: "glycemia"),
        Chronic(code: prediabetes, display: "Prediabetes (finding)", minAge: 25,
                youngRate: 0.06, oldRate: 0.22, medications: [], group: "glycemia"),
        Chronic(code: hyperlipidemia, display: "Hyperlipidemia (disorder)", minAge: 30,
                youngRate: 0.05, oldRate: 0.40, medications: [simvastatin], group: nil),
        Chronic(code: "195967001", display: "Asthma (disorder)", minAge: 3,
                youngRate: 0.09, oldRate: 0.07, medications: [albuterol, fluticasone], group: "airway"),
        Chronic(code: "13645005", display: "Chronic obstructive lung disease (disorder)", minAge: 45,
                youngRate: 0.01, oldRate: 0.10, medications: [albuterol], group: "airway"),
        Chronic(code: "61582004", display: "Allergic rhinitis (disorder)", minAge: 4,
                youngRate: 0.12, oldRate: 0.08, medications: [loratadine, cetirizine], group: nil),
        Chronic(code: "40930008", display: "Hypothyroidism (disorder)", minAge: 20,
                youngRate: 0.02, oldRate: 0.09, medications: [levothyroxine], group: nil),
        Chronic(code: "35489007", display: "Depressive disorder (disorder)", minAge: 14,
                youngRate: 0.07, oldRate: 0.06, medications: [sertraline], group: "mood"),
        Chronic(code: "197480006", display: "Anxiety disorder (disorder)", minAge: 12,
                youngRate: 0.06, oldRate: 0.04, medications: [], group: "mood"),
        Chronic(code: "239873007", display: "Osteoarthritis of knee (disorder)", minAge: 45,
                youngRate: 0.02, oldRate: 0.25, medications: [naproxen], group: nil),
        Chronic(code: "37796009", display: "Migraine (disorder)", minAge: 12,
                youngRate: 0.08, oldRate: 0.03, medications: [naproxen], group: nil),
        Chronic(code: "49436004", display: "Atrial fibrillation (disorder)", minAge: 55,
                youngRate: 0.01, oldRate: 0.09, medications: [warfarin], group: nil),
        Chronic(code: anemia, display: "Anemia (disorder)", minAge: 10,
                youngRate: 0.03, oldRate: 0.07, medications: [ferrousSulfate], group: nil),
    ]

    enum Setting: Sendable { case ambulatory, emergency, inpatient }

    struct Acute: Sendable {
        let code: String
        let display: String
        let setting: Setting
        let ages: ClosedRange<Int>
        let fever: Bool
        let days: ClosedRange<Int>
        let medications: [Medication]
        /// Earliest moment the condition can occur (e.g. COVID-19).
        let notBefore: Int
        let weight: Double

        init(_ code: String, _ display: String, _ setting: Setting, ages: ClosedRange<Int> = 0...120, fever: Bool = false,
             days: ClosedRange<Int>, medications: [Medication] = [], notBefore: Int = Int.min, weight: Double = 1) {
            self.code = code
            self.display = display
            self.setting = setting
            self.ages = ages
            self.fever = fever
            self.days = days
            self.medications = medications
            self.notBefore = notBefore
            self.weight = weight
        }
    }

    static let acute: [Acute] = [
        Acute("444814009", "Viral sinusitis (disorder)", .ambulatory, days: 7...21, weight: 4),
        Acute("195662009", "Acute viral pharyngitis (disorder)", .ambulatory, fever: true, days: 5...10, medications: [acetaminophen], weight: 3),
        Acute("43878008", "Streptococcal sore throat (disorder)", .ambulatory, ages: 3...60, fever: true, days: 7...12,
              medications: [penicillinV], weight: 2),
        Acute("10509002", "Acute bronchitis (disorder)", .ambulatory, fever: true, days: 10...21, medications: [acetaminophen], weight: 3),
        Acute("65363002", "Otitis media (disorder)", .ambulatory, ages: 0...12, fever: true, days: 5...10,
              medications: [amoxicillin250], weight: 4),
        Acute("68566005", "Urinary tract infectious disease (disorder)", .ambulatory, ages: 14...120, days: 3...7,
              medications: [ciprofloxacin], weight: 2),
        Acute("840539006", "COVID-19 (disorder)", .ambulatory, fever: true, days: 7...20, medications: [acetaminophen],
              notBefore: DemoDate.epochSeconds(year: 2020, month: 3, day: 1), weight: 2),
        Acute("44465007", "Sprain of ankle (disorder)", .emergency, ages: 8...80, days: 14...42, medications: [ibuprofen], weight: 3),
        Acute("70704007", "Sprain of wrist (disorder)", .emergency, ages: 8...80, days: 14...35, medications: [ibuprofen], weight: 2),
        Acute("58150001", "Fracture of clavicle (disorder)", .emergency, ages: 5...70, days: 42...70, medications: [acetaminophen], weight: 1),
        Acute("62106007", "Concussion with no loss of consciousness (disorder)", .emergency, ages: 6...90, days: 7...28, weight: 1),
        Acute("233604007", "Pneumonia (disorder)", .inpatient, ages: 2...120, fever: true, days: 14...28,
              medications: [amoxicillin500], weight: 3),
        Acute("840539006", "COVID-19 (disorder)", .inpatient, ages: 40...120, fever: true, days: 14...30,
              notBefore: DemoDate.epochSeconds(year: 2020, month: 3, day: 1), weight: 1),
    ]

    // MARK: Encounter types (SNOMED CT)

    static let checkUp = ("185349003", "Encounter for check up (procedure)")
    static let wellChild = ("410620009", "Well child visit (procedure)")
    static let symptom = ("185345009", "Encounter for symptom (procedure)")
    static let followUp = ("390906007", "Follow-up encounter (procedure)")
    static let emergencyVisit = ("50849002", "Emergency room admission (procedure)")
    static let hospitalAdmission = ("32485007", "Hospital admission (procedure)")

    // MARK: Allergies

    enum AllergyCategory: String, Sendable { case food, medication, environment }

    struct Allergen: Sendable {
        let code: String
        let display: String
        let category: AllergyCategory
        let severeRisk: Bool
        let weight: Double
    }

    static let penicillinAllergen = "764146007"

    static let allergens: [Allergen] = [
        Allergen(code: "762952008", display: "Peanut (substance)", category: .food, severeRisk: true, weight: 3),
        Allergen(code: "442571000124108", display: "Tree nut (substance)", category: .food, severeRisk: true, weight: 2),
        Allergen(code: "735029006", display: "Shellfish (substance)", category: .food, severeRisk: true, weight: 3),
        Allergen(code: "735971005", display: "Fish (substance)", category: .food, severeRisk: false, weight: 1),
        Allergen(code: "102263004", display: "Eggs (edible) (substance)", category: .food, severeRisk: false, weight: 1),
        Allergen(code: "3718001", display: "Cow's milk (substance)", category: .food, severeRisk: false, weight: 1),
        Allergen(code: "256277009", display: "Grass pollen (substance)", category: .environment, severeRisk: false, weight: 4),
        Allergen(code: "260147004", display: "House dust mite (substance)", category: .environment, severeRisk: false, weight: 3),
        Allergen(code: "264287008", display: "Animal dander (substance)", category: .environment, severeRisk: false, weight: 3),
        Allergen(code: "84489001", display: "Mold (organism)", category: .environment, severeRisk: false, weight: 2),
        Allergen(code: "111088007", display: "Latex (substance)", category: .environment, severeRisk: true, weight: 1),
        Allergen(code: "288328004", display: "Bee venom (substance)", category: .environment, severeRisk: true, weight: 1),
        Allergen(code: penicillinAllergen, display: "Penicillin (substance)", category: .medication, severeRisk: true, weight: 4),
        Allergen(code: "387406002", display: "Sulfamethoxazole (substance)", category: .medication, severeRisk: false, weight: 2),
        Allergen(code: "387207008", display: "Ibuprofen (substance)", category: .medication, severeRisk: false, weight: 1),
        Allergen(code: "387458008", display: "Aspirin (substance)", category: .medication, severeRisk: false, weight: 1),
    ]

    struct Manifestation: Sendable {
        let code: String
        let display: String
        let severity: String
    }

    static let anaphylaxis = Manifestation(code: "39579001", display: "Anaphylaxis (disorder)", severity: "severe")

    static func manifestations(for category: AllergyCategory) -> [Manifestation] {
        switch category {
        case .food:
            return [
                Manifestation(code: "247472004", display: "Wheal (finding)", severity: "moderate"),
                Manifestation(code: "271807003", display: "Eruption of skin (disorder)", severity: "mild"),
                Manifestation(code: "422587007", display: "Nausea (finding)", severity: "mild"),
                Manifestation(code: "62315008", display: "Diarrhea (finding)", severity: "mild"),
                Manifestation(code: "402387002", display: "Allergic angioedema (disorder)", severity: "moderate"),
            ]
        case .environment:
            return [
                Manifestation(code: "878820003", display: "Rhinoconjunctivitis (disorder)", severity: "mild"),
                Manifestation(code: "49727002", display: "Cough (finding)", severity: "mild"),
                Manifestation(code: "56018004", display: "Wheezing (finding)", severity: "moderate"),
                Manifestation(code: "418290006", display: "Itching (finding)", severity: "mild"),
                Manifestation(code: "267036007", display: "Dyspnea (finding)", severity: "moderate"),
            ]
        case .medication:
            return [
                Manifestation(code: "271807003", display: "Eruption of skin (disorder)", severity: "mild"),
                Manifestation(code: "247472004", display: "Wheal (finding)", severity: "moderate"),
                Manifestation(code: "418290006", display: "Itching (finding)", severity: "mild"),
                Manifestation(code: "402387002", display: "Allergic angioedema (disorder)", severity: "moderate"),
            ]
        }
    }

    // MARK: Vaccines (CVX)

    struct Vaccine: Sendable {
        let code: String
        let display: String
        let route: (code: String, display: String)
        let doseML: Double
    }

    private static let im = (code: "IM", display: "Injection, intramuscular")
    private static let sc = (code: "SQ", display: "Injection, subcutaneous")

    static let influenza = Vaccine(code: "140", display: "Influenza, seasonal, injectable, preservative free", route: im, doseML: 0.5)
    static let tdap = Vaccine(code: "115", display: "Tdap", route: im, doseML: 0.5)
    static let td = Vaccine(code: "113", display: "Td (adult) preservative free", route: im, doseML: 0.5)
    static let pcv13 = Vaccine(code: "133", display: "Pneumococcal conjugate PCV 13", route: im, doseML: 0.5)
    static let ppsv23 = Vaccine(code: "33", display: "pneumococcal polysaccharide vaccine, 23 valent", route: im, doseML: 0.5)
    static let zoster = Vaccine(code: "187", display: "zoster vaccine recombinant", route: im, doseML: 0.5)
    static let hpv = Vaccine(code: "165", display: "HPV9", route: im, doseML: 0.5)
    static let hepBAdult = Vaccine(code: "43", display: "Hep B, adult", route: im, doseML: 1.0)
    static let hepA = Vaccine(code: "83", display: "Hep A, ped/adol, 2 dose", route: im, doseML: 0.5)
    static let mmr = Vaccine(code: "03", display: "MMR", route: sc, doseML: 0.5)
    static let varicella = Vaccine(code: "21", display: "varicella", route: sc, doseML: 0.5)
    static let dtap = Vaccine(code: "20", display: "DTaP", route: im, doseML: 0.5)
    static let ipv = Vaccine(code: "10", display: "IPV", route: im, doseML: 0.5)
    static let meningococcal = Vaccine(code: "114", display: "meningococcal MCV4P", route: im, doseML: 0.5)
    static let covidPfizer = Vaccine(code: "208", display: "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose", route: im, doseML: 0.3)
    static let covidModerna = Vaccine(code: "207", display: "COVID-19, mRNA, LNP-S, PF, 100 mcg/0.5mL dose or 50 mcg/0.25mL dose",
                                      route: im, doseML: 0.5)
}
