import FHIR
import HTTPTypes
import Testing

@Suite struct JSONTests {
    @Test func keepsKeyOrderAndNumberText() throws {
        let text = #"{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"},"a":[true,false,null],"e":1e-3}"#
        let json = try JSON.parse(text)
        #expect(json.serializedString() == text)
        #expect(json["valueQuantity"]?["value"]?.numberText == "1.50")
        #expect(json.objectValue?.keys == ["resourceType", "valueQuantity", "a", "e"])
    }

    @Test func decodesEscapesAndUnicode() throws {
        let json = try JSON.parse(#"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#)
        #expect(json["s"]?.stringValue == "a\"b\\c/d\né😀")
        #expect(try JSON.parse(json.serializedString()) == json)
    }

    @Test(arguments: [
        (#"{"a":1,}"#, 1, 8), (#"{"a":01}"#, 1, 7), (#"{"a":1,"a":2}"#, 1, 8), ("[1,2", 1, 5), ("", 1, 1),
        ("{\n \"a\": tru}", 2, 7), (#"{"a":"\x"}"#, 1, 9), (#"{"a":1} x"#, 1, 9),
    ])
    func reportsWhereTheSyntaxBreaks(_ text: String, _ line: Int, _ column: Int) {
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(text) }
        do {
            _ = try JSON.parse(text)
        } catch {
            #expect(error.line == line)
            #expect(error.column == column)
        }
    }

    @Test func refusesAByteOrderMarkAndNumbersNoDoubleHolds() throws {
        #expect(throws: JSONSyntaxError.self) { try JSON.parse([0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8)) }
        for n in ["1e400", "-1E+309", "9" + String(repeating: "9", count: 400)] {
            #expect(throws: JSONSyntaxError.self, "\(n.prefix(20))") { try JSON.parse(#"{"a":\#(n)}"#) }
        }
        // small and very precise numbers keep their exact text
        #expect(try JSON.parse(#"{"a":1e-400}"#)["a"]?.numberText == "1e-400")
        #expect(try JSON.parse(#"{"a":3.14159265358979323846264338327950288}"#)["a"]?.numberText == "3.14159265358979323846264338327950288")
    }

    @Test func refusesMoreValuesThanAnyRecordHolds() {
        let many = "[" + Array(repeating: "{}", count: 2_000_001).joined(separator: ",") + "]"
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(many) }
        #expect((try? JSON.parse("[" + Array(repeating: "1", count: 100_000).joined(separator: ",") + "]"))?.arrayValue?.count == 100_000)
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(deep) }
    }
}

@Suite struct DateRangeTests {
    @Test func partialDatesAreRanges() throws {
        let year = try #require(DateRange("2020"))
        #expect(year.low == DateRange("2020-01-01T00:00:00Z")!.low)
        #expect(year.high == DateRange("2020-12-31T23:59:59.999Z")!.high)
        let feb = try #require(DateRange("2024-02"))
        #expect(feb.high - feb.low + 1 == 29 * 86_400_000)
        let minute = try #require(DateRange("2020-03-04T10:15Z"))
        #expect(minute.high - minute.low + 1 == 60_000)
    }

    @Test func timeZonesShiftToUTC() {
        #expect(DateRange("2021-03-05T10:00:00+01:00")?.low == DateRange("2021-03-05T09:00:00Z")?.low)
        #expect(DateRange("2021-03-05T10:00:00.5-05:00")?.low == DateRange("2021-03-05T15:00:00.500Z")?.low)
    }

    @Test(arguments: ["20", "2020-13", "2021-02-29", "2020-01-01T25:00", "2020-01-01T10:00+1", "yesterday", "2020-01-01 10:00"])
    func rejectsNonDates(_ text: String) { #expect(DateRange(text) == nil) }
}

@Suite struct JSONPatchTests {
    @Test func appliesRFC6902Operations() throws {
        let doc = try JSON.parse(#"{"a":{"b":[1,2]},"c":"x"}"#)
        let patch = try JSON.parse(
            #"[{"op":"add","path":"/a/b/1","value":9},{"op":"remove","path":"/c"},{"op":"copy","from":"/a/b/0","path":"/d"},{"op":"move","from":"/d","path":"/e"},{"op":"test","path":"/e","value":1},{"op":"replace","path":"/a/b/-1","value":0}]"#
        )
        // "-1" is not an index: the whole patch fails and the caller keeps the original
        #expect(throws: FHIRError.self) { try JSONPatch.apply(patch, to: doc) }
        let good = try JSON.parse(
            #"[{"op":"add","path":"/a/b/1","value":9},{"op":"remove","path":"/c"},{"op":"copy","from":"/a/b/0","path":"/d"},{"op":"move","from":"/d","path":"/e"},{"op":"test","path":"/e","value":1}]"#
        )
        #expect(try JSONPatch.apply(good, to: doc) == JSON.parse(#"{"a":{"b":[1,9,2]},"e":1}"#))
    }

    @Test func failedTestIsA422() throws {
        let doc = try JSON.parse(#"{"a":1}"#)
        do {
            _ = try JSONPatch.apply(try JSON.parse(#"[{"op":"test","path":"/a","value":2}]"#), to: doc)
            Issue.record("expected failure")
        } catch let error as FHIRError {
            #expect(error.status.code == 422)
        }
    }
}
