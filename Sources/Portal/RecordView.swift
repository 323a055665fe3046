import FHIR
import Foundation
import Kernel

/// A patient's record as the records page and the clinician's chart show it: vital signs and lab
/// results as charts over time (server-rendered SVG, the same values in a table beside each),
/// then conditions, medications, allergies and immunizations. Everything is read through the
/// visitor's access; the caller audits the page.
struct RecordView {
    let kit: PageKit

    /// The most recent values a chart and its table show.
    static let pointsPerChart = 12
    /// Charts of lab results (the tests measured most often).
    static let labCharts = 6
    /// How many of the newest vital signs, and of the newest lab results, a record page reads.
    static let newest = 200

    /// One measured thing over time.
    struct Series {
        var name: String
        var unit: String?
        /// When (the instant, and the date or dateTime as written), the value as text and as a number.
        var points: [(at: Int64, when: String, text: String, value: Double)]
    }

    func values(patient: String, _ visit: PageKit.Visit) async throws -> [String: Any] {
        // The newest values only: a chart draws the last `pointsPerChart` of each series, so the
        // newest `newest` results of each category are enough, however long the record is.
        let vitals = try await kit.search(visit, "Observation", "patient=\(patient)&category=vital-signs&_sort=-date&_count=\(Self.newest)")
        let labs = try await kit.search(visit, "Observation", "patient=\(patient)&category=laboratory&_sort=-date&_count=\(Self.newest)")
        let vitalSeries = Self.series(PageKit.objects(vitals.matches))
        let labSeries = Array(Self.series(PageKit.objects(labs.matches)).sorted { $0.points.count > $1.points.count }.prefix(Self.labCharts))
        var lists: [[String: Any]] = []
        let t = visit.strings("records", ["vitals", "labs", "none", "date", "value", "name"])
        for (type, title, detailHeader, date, detail) in Self.lists {
            let found = PageKit.objects(try await kit.search(visit, type, "patient=\(patient)&_count=200").matches)
            let rows: [[String: Any]] = found.map { _, r in
                (
                    at: r[date]?.stringValue.flatMap(DateRange.init)?.low ?? 0,
                    row: ["name": PageKit.text(r[Self.conceptField(type)]), "detail": detail(r), "when": kit.when(r[date]?.stringValue, visit, time: false)]
                )
            }.sorted { $0.at > $1.at }.map(\.row)
            lists.append(["title": visit.t(title), "detailHeader": visit.t(detailHeader), "rows": rows])
        }
        return [
            "t": t, "vitals": vitalSeries.enumerated().map { chart($0.element, id: "v\($0.offset)", visit) },
            "labs": labSeries.enumerated().map { chart($0.element, id: "l\($0.offset)", visit) }, "lists": lists,
        ]
    }

    /// The lists below the charts: type, title, detail column, date field, detail.
    static let lists: [(String, String, String, String, @Sendable (JSONObject) -> String)] = [
        ("Condition", "records.conditions", "records.status", "onsetDateTime", { PageKit.text($0["clinicalStatus"]) }),
        ("MedicationRequest", "records.medications", "records.status", "authoredOn", { $0["status"]?.stringValue ?? "" }),
        ("AllergyIntolerance", "records.allergies", "records.criticality", "recordedDate", { $0["criticality"]?.stringValue ?? "" }),
        ("Immunization", "records.immunizations", "records.status", "occurrenceDateTime", { $0["status"]?.stringValue ?? "" }),
    ]

    static func conceptField(_ type: String) -> String {
        switch type {
        case "MedicationRequest": "medicationCodeableConcept"
        case "Immunization": "vaccineCode"
        default: "code"
        }
    }

    /// Observations as series: one per code, and one per component code for panels such as
    /// blood pressure; only numeric values (`valueQuantity`).
    static func series(_ observations: [(ResourceVersion, JSONObject)]) -> [Series] {
        var byKey: [String: Series] = [:]
        var order: [String] = []
        func add(_ key: String, _ name: String, _ quantity: JSON?, at: Int64, when: String) {
            // (a chart draws finite values of a sane size; anything else is not a measurement)
            guard let value = quantity?["value"]?.doubleValue, value.isFinite, abs(value) < 1e12, let text = PageKit.quantity(quantity) else { return }
            if byKey[key] == nil {
                byKey[key] = Series(name: name, unit: quantity?["unit"]?.stringValue, points: [])
                order.append(key)
            }
            byKey[key]!.points.append((at, when, text, value))
        }
        for (_, o) in observations {
            guard let when = o["effectiveDateTime"]?.stringValue ?? o["issued"]?.stringValue, let at = DateRange(when)?.low else { continue }
            let code = o["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? PageKit.text(o["code"])
            if o["valueQuantity"] != nil { add(code, PageKit.text(o["code"]), o["valueQuantity"], at: at, when: when) }
            for component in o["component"]?.arrayValue ?? [] {
                let c = component["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? PageKit.text(component["code"])
                add("\(code)/\(c)", PageKit.text(component["code"]), component["valueQuantity"], at: at, when: when)
            }
        }
        return order.compactMap { key in
            guard var s = byKey[key] else { return nil }
            s.points = Array(s.points.sorted { $0.at < $1.at }.suffix(pointsPerChart))
            return s
        }
    }

    /// The values of `chart.mustache` for a series: the SVG's geometry (numbers only) and the table.
    func chart(_ s: Series, id: String, _ visit: PageKit.Visit) -> [String: Any] {
        let short = kit.formatter(visit, date: .short, time: .none)
        let rows: [[String: Any]] = s.points.reversed().map { ["when": kit.when($0.when, visit), "value": $0.text] }
        var values: [String: Any] = ["id": id, "name": s.name, "rows": rows, "t": visit.strings("records", ["date", "value"])]
        if let unit = s.unit { values["unit"] = unit }
        guard s.points.count >= 2, let first = s.points.first, let last = s.points.last else { return values }
        let (width, height, left, right, top, bottom) = (320.0, 150.0, 44.0, 310.0, 10.0, 126.0)
        let lo = s.points.map(\.value).min()!
        let hi = s.points.map(\.value).max()!
        let pad = hi == lo ? max(abs(hi) * 0.1, 1) : (hi - lo) * 0.15
        let (yMin, yMax) = (lo - pad, hi + pad)
        let span = Double(max(last.at - first.at, 1))
        func x(_ at: Int64) -> Double { left + (right - left) * Double(at - first.at) / span }
        func y(_ v: Double) -> Double { bottom - (bottom - top) * (v - yMin) / (yMax - yMin) }
        func f(_ d: Double) -> String { String(format: "%.1f", d) }
        let dots: [[String: String]] = s.points.map { ["x": f(x($0.at)), "y": f(y($0.value))] }
        let grid: [[String: String]] = [lo, (lo + hi) / 2, hi].map { v in
            ["x1": f(left), "x2": f(right), "y": f(y(v)), "labelY": f(y(v) + 4), "label": PageKit.number(v)]
        }
        let ticks: [[String: String]] = [first.at, last.at].map { at in
            ["x": f(min(max(x(at), left + 30), right - 30)), "y": f(height - 6), "label": short.string(from: Date(timeIntervalSince1970: Double(at) / 1000))]
        }
        let summary = visit.t("records.chartOf")
            .replacingOccurrences(of: "{name}", with: s.name).replacingOccurrences(of: "{count}", with: String(s.points.count))
            .replacingOccurrences(of: "{first}", with: short.string(from: Date(timeIntervalSince1970: Double(first.at) / 1000)))
            .replacingOccurrences(of: "{last}", with: short.string(from: Date(timeIntervalSince1970: Double(last.at) / 1000)))
            .replacingOccurrences(of: "{latest}", with: last.text)
        values["plot"] = [
            "width": f(width), "height": f(height), "left": f(left), "right": f(right), "bottom": f(bottom),
            "points": dots.map { "\($0["x"]!),\($0["y"]!)" }.joined(separator: " "),
            "dots": dots, "grid": grid, "ticks": ticks, "summary": summary,
        ]
        return values
    }
}
