import Foundation
import Kernel
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

@Suite struct JSONEncodingTests {
    struct Claims: Encodable {
        let sub: String
        let exp: Int64
        let aud: [String]
        let nonce: String?
        let ratio: Double
        let ok: Bool
        let nested: [String: Int]
    }

    @Test func encodableValuesAreWrittenWithSortedKeysAndNoNils() throws {
        let value = Claims(sub: "u/1", exp: 1_700_000_000, aud: ["a", "b"], nonce: nil, ratio: 2, ok: true, nested: ["z": 1, "a": 2])
        #expect(try JSON(encoding: value).serializedString() == #"{"aud":["a","b"],"exp":1700000000,"nested":{"a":2,"z":1},"ok":true,"ratio":2,"sub":"u/1"}"#)
        // what JSONEncoder writes is the same document (it escapes '/' as '\/', which parses the same)
        let foundation = try JSONEncoder().encode(value)
        #expect(try JSON.parse(foundation) == JSON(encoding: value))
    }

    @Test func fractionsAndNonFiniteNumbers() throws {
        #expect(try JSON(encoding: [0.25, -1.5, 3]).serializedString() == "[0.25,-1.5,3]")
        #expect(throws: JSONEncodingError.self) { try JSON(encoding: ["x": Double.nan]) }
    }

    @Test func singleValueAndNothingEncoded() throws {
        struct Wrapped: Encodable {
            let value: String
            func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                try c.encode(value)
            }
        }
        struct Empty: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(try JSON(encoding: [Wrapped(value: "x")]).serializedString() == #"["x"]"#)
        #expect(try JSON(encoding: Empty()).serializedString() == "{}")
    }

    @Test func literalsKeepTheirOrder() {
        let issuer = "https://hh"
        let doc: JSON = ["issuer": .string(issuer), "jwks_uri": "\(issuer)/.well-known/jwks.json", "n": 3, "on": false, "list": ["a", 1]]
        #expect(doc.serializedString() == #"{"issuer":"https://hh","jwks_uri":"https://hh/.well-known/jwks.json","n":3,"on":false,"list":["a",1]}"#)
    }

    @Test func prettyOutputIsTheSameDocument() throws {
        let doc: JSON = ["a": [1, 2], "b": [:], "c": [], "d": ["e": "f\n"]]
        let pretty = doc.serializedString(pretty: true)
        #expect(pretty == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"e\": \"f\\n\"\n  }\n}")
        #expect(try JSON.parse(pretty) == doc)
    }

    @Test func controlCharactersAreEscaped() {
        #expect(JSON.string("a\"b\\c\u{01}\té/").serializedString() == #""a\"b\\c\u0001\té/""#)
    }
}
