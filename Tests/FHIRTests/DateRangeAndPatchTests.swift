import FHIR
import HTTPTypes
import Kernel
import Testing

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
