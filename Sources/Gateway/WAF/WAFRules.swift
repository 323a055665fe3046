// swift-format-ignore-file
// (Data tables and migration statements: their hand alignment carries meaning.)

/// The built-in rule groups. Patterns are literal and specific to attack syntax: clinical text
/// is full of quotes, apostrophes and words like "select" and "drop", so a lone keyword or quote
/// never matches; bodies (FHIR JSON) get the narrower lists. The Synthea sample passes with no
/// match, and a generated attack corpus is measured in the tests.
package enum WAFRules {
    static let everywhere: Set<WAF.Target> = [.path, .query, .body, .headers, .userAgent]
    static let urls: Set<WAF.Target> = [.path, .query]

    package static let builtIn: [WAF.Rule] = [
        // SQL injection
        .init(id: "sqli-tautology", group: "sqli", action: .block, patterns: [
            "' or '1'='1", "' or 1=1", "\" or \"1\"=\"1", " or 1=1", "' or 'a'='a", "' or ''='", "') or ('1'='1", "' and 1=1",
            "' and '1'='1", "' and 1=2", "1' or '1'='1", "admin'--", "' or true--", "or 1=1--", "or 1=1#", "' or 1 --",
        ], targets: urls.union([.headers, .userAgent])),
        .init(id: "sqli-union", group: "sqli", action: .block, patterns: [
            "union select", "union all select", "union distinct select", "union(select", "union/**/select",
        ], targets: urls.union([.headers, .userAgent])),
        .init(id: "sqli-stacked", group: "sqli", action: .block, patterns: [
            "'; drop ", "; drop table", "';drop ", "; delete from", "'; delete ", "'; insert into", "; shutdown", "'; exec ",
            "'--", "' --", "';--", "'#", "' #", "/*!", "');", "'||", "||'", "';select", "'; select",
            ";drop ", ";delete from", ";insert into", ";update ", ";exec ", ";shutdown", ";select ",
        ], targets: urls),
        .init(id: "sqli-functions", group: "sqli", action: .block, patterns: [
            "sleep(", "pg_sleep(", "benchmark(", "waitfor delay", "information_schema", "xp_cmdshell", "load_file(", "into outfile",
            "into dumpfile", "@@version", "extractvalue(", "updatexml(", "sysobjects", "pg_catalog", "sqlite_master", "dbms_pipe",
            "utl_inaddr", "char(0x", "0x3a", "concat(0x", "randomblob(", "zeroblob(", "sqlite_version(",
            "cast((select", "cast( (select", "convert(int,", "(select ", "( select ",
        ], targets: urls.union([.headers, .userAgent])),
        // In bodies only what no clinical note says ("sleep(8 h)" and "Union Select Hospital" can).
        .init(id: "sqli-body", group: "sqli", action: .block, patterns: [
            "' or '1'='1", "' or 1=1--", "union all select null", "pg_sleep(", "waitfor delay '", "information_schema.", "xp_cmdshell",
            "load_file(", "into outfile '", "into dumpfile", "@@version", "extractvalue(1,", "updatexml(1,",
        ], targets: [.body]),
        // Cross-site scripting
        .init(id: "xss-tags", group: "xss", action: .block, patterns: [
            "<script", "</script", "<iframe", "<svg", "<object", "<embed", "<marquee", "<details", "<body", "<img src=", "<img/src",
            "<input", "<form", "<math", "<video", "<audio", "<link", "<meta", "<style", "<base",
        ], targets: urls.union([.headers, .userAgent])),
        .init(id: "xss-script", group: "xss", action: .block, patterns: [
            "<script", "javascript:", "vbscript:", "onerror=", "onload=", "onmouseover=", "onfocus=", "ontoggle=",
            "document.cookie", "srcdoc=", "fromcharcode", "<iframe", "<svg",
        ], targets: everywhere),
        // Words a clinical note may contain before a parenthesis ("psych eval(uation)") are
        // matched in URLs and headers only.
        .init(id: "xss-functions", group: "xss", action: .block, patterns: [
            "alert(", "prompt(", "confirm(", "eval(", "expression(", "onclick=", "onstart=", "onbegin=", "document.domain",
            "settimeout(", "window.location",
        ], targets: urls.union([.headers, .userAgent])),
        // Path traversal and local file inclusion
        .init(id: "traversal", group: "traversal", action: .block, patterns: [
            "../", "..\\", "..;/", "/..", "\\..",
        ], targets: urls),
        .init(id: "lfi-files", group: "traversal", action: .block, patterns: [
            "/etc/passwd", "/etc/shadow", "/etc/hosts", "/proc/self/", "c:\\windows", "c:/windows", "boot.ini", "win.ini",
            "php://", "file://", "zip://", "phar://", "expect://", "/.env", "/.git/", "wp-config", "web.config", "../../",
        ], targets: everywhere),
        // Command injection
        .init(id: "cmdi", group: "cmdi", action: .block, patterns: [
            ";cat ", "; cat ", "|cat ", "| cat ", "&& cat ", "$(", "`", "; whoami", "| whoami", "&& whoami", ";whoami", ";id",
            "; id", "| id", "&& id", "; ls", "| ls", "&& ls", "; uname", "| uname", "; ping ", "| ping ", "; sleep ", "| sleep ",
            "; wget ", "; curl ", "| nc ", "; nc ", "${ifs}", "%0a", "; rm ", "| sh", "| bash",
        ], targets: urls),
        .init(id: "cmdi-shells", group: "cmdi", action: .block, patterns: [
            "/bin/sh", "/bin/bash", "/bin/zsh", "cmd.exe", "powershell", "nc -e", "rm -rf /", "$(curl", "$(wget", "`curl", "`wget",
            "/dev/tcp/", "chmod +x", "mkfifo",
        ], targets: everywhere),
        // Known bad inputs
        .init(id: "jndi", group: "bad-inputs", action: .block, patterns: [
            "${jndi:", "${${", "${lower:", "${upper:", "${env:", "${sys:", "${::-", "${date:",
        ], targets: everywhere),
        .init(id: "scanner", group: "bad-inputs", action: .block, patterns: [
            "sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "acunetix", "dirbuster", "gobuster", "wpscan", "havij", "w3af",
            "fimap", "openvas", "netsparker", "burpcollaborator", "interact.sh", "jaeles", "whatweb", "ffuf",
        ], targets: [.userAgent]),
    ]
}
