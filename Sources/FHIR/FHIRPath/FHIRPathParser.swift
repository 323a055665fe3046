import Kernel

/// Lexer and recursive-descent parser for the FHIRPath subset (see `FHIRPathExpression`).
struct FHIRPathParser {
    enum Kind: Equatable {
        /// A plain identifier (keywords such as `and`, `as`, `true` included; the parser decides).
        case identifier(String)
        /// A backtick-delimited identifier: never a keyword.
        case delimitedIdentifier(String)
        case string(String)
        case number(String)
        /// `$this`, `$index`, ...
        case dollar(String)
        /// `%resource`, ...
        case percent(String)
        case symbol(String)
        case end
    }

    struct Token {
        let kind: Kind
        let offset: Int
    }

    let text: String
    private var tokens: [Token] = []
    private var index = 0

    init(_ text: String) throws(FHIRPathError) {
        self.text = text
        self.tokens = try Self.tokenize(text)
    }

    // MARK: - Lexer

    private static func tokenize(_ text: String) throws(FHIRPathError) -> [Token] {
        let b = Array(text.utf8)
        var tokens: [Token] = []
        var i = 0
        func fail(_ message: String, _ at: Int) -> FHIRPathError { FHIRPathError(message: message, offset: at, expression: text) }
        func isIdentStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func identifier(from start: Int) -> Int {
            var j = start
            while j < b.count, isIdentStart(b[j]) || isDigit(b[j]) { j += 1 }
            return j
        }
        func quoted(_ quote: UInt8, from start: Int) throws(FHIRPathError) -> (String, Int) {
            var out: [UInt8] = []
            var j = start + 1
            while true {
                guard j < b.count else { throw fail("Unterminated \(quote == 39 ? "string" : "delimited identifier")", start) }
                let c = b[j]
                if c == quote { return (String(decoding: out, as: UTF8.self), j + 1) }
                if c != 92 { out.append(c); j += 1; continue }
                guard j + 1 < b.count else { throw fail("Unterminated escape", j) }
                let e = b[j + 1]
                j += 2
                switch e {
                case 39, 34, 96, 92, 47: out.append(e)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "u"):
                    guard j + 4 <= b.count, let v = UInt32(String(decoding: b[j..<(j + 4)], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { throw fail("Invalid \\u escape", j - 2) }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                    j += 4
                default: throw fail("Invalid escape '\\\(Character(Unicode.Scalar(e)))'", j - 2)
                }
            }
        }

        while i < b.count {
            let c = b[i]
            switch c {
            case 32, 9, 10, 13:
                i += 1
            case UInt8(ascii: "/") where i + 1 < b.count && b[i + 1] == UInt8(ascii: "/"):
                while i < b.count, b[i] != 10 { i += 1 }
            case UInt8(ascii: "/") where i + 1 < b.count && b[i + 1] == UInt8(ascii: "*"):
                let start = i
                i += 2
                while i + 1 < b.count, !(b[i] == UInt8(ascii: "*") && b[i + 1] == UInt8(ascii: "/")) { i += 1 }
                guard i + 1 < b.count else { throw fail("Unterminated comment", start) }
                i += 2
            case _ where isIdentStart(c):
                let end = identifier(from: i)
                tokens.append(Token(kind: .identifier(String(decoding: b[i..<end], as: UTF8.self)), offset: i))
                i = end
            case _ where isDigit(c):
                let start = i
                while i < b.count, isDigit(b[i]) { i += 1 }
                if i + 1 < b.count, b[i] == UInt8(ascii: "."), isDigit(b[i + 1]) {
                    i += 1
                    while i < b.count, isDigit(b[i]) { i += 1 }
                }
                if i < b.count, isIdentStart(b[i]) || b[i] == 39 {
                    throw fail("Quantity literals are not supported", start)
                }
                tokens.append(Token(kind: .number(String(decoding: b[start..<i], as: UTF8.self)), offset: start))
            case 39:  // '
                let (s, end) = try quoted(39, from: i)
                tokens.append(Token(kind: .string(s), offset: i))
                i = end
            case 96:  // `
                let (s, end) = try quoted(96, from: i)
                tokens.append(Token(kind: .delimitedIdentifier(s), offset: i))
                i = end
            case UInt8(ascii: "$"):
                let end = identifier(from: i + 1)
                guard end > i + 1 else { throw fail("Expected a name after '$'", i) }
                tokens.append(Token(kind: .dollar(String(decoding: b[(i + 1)..<end], as: UTF8.self)), offset: i))
                i = end
            case UInt8(ascii: "%"):
                if i + 1 < b.count, b[i + 1] == 96 || b[i + 1] == 39 {
                    let (s, end) = try quoted(b[i + 1], from: i + 1)
                    tokens.append(Token(kind: .percent(s), offset: i))
                    i = end
                } else {
                    let end = identifier(from: i + 1)
                    guard end > i + 1 else { throw fail("Expected a name after '%'", i) }
                    tokens.append(Token(kind: .percent(String(decoding: b[(i + 1)..<end], as: UTF8.self)), offset: i))
                    i = end
                }
            case UInt8(ascii: "@"):
                throw fail("Date/time literals are not supported", i)
            default:
                let two: String? = i + 1 < b.count ? String(decoding: b[i...(i + 1)], as: UTF8.self) : nil
                if let two, ["!=", "!~", "<=", ">="].contains(two) {
                    tokens.append(Token(kind: .symbol(two), offset: i))
                    i += 2
                } else if "().[]{},|=~<>+-*/&".utf8.contains(c) {
                    tokens.append(Token(kind: .symbol(String(decoding: [c], as: UTF8.self)), offset: i))
                    i += 1
                } else {
                    throw fail("Unexpected character '\(String(decoding: [c], as: UTF8.self))'", i)
                }
            }
        }
        tokens.append(Token(kind: .end, offset: b.count))
        return tokens
    }

    // MARK: - Parser

    private var current: Token { tokens[index] }

    private func fail(_ message: String, at token: Token? = nil) -> FHIRPathError {
        FHIRPathError(message: message, offset: (token ?? current).offset, expression: text)
    }

    private func isSymbol(_ s: String) -> Bool {
        if case .symbol(let t) = current.kind { return t == s }
        return false
    }

    private func isKeyword(_ s: String) -> Bool {
        if case .identifier(let t) = current.kind { return t == s }
        return false
    }

    private mutating func expectSymbol(_ s: String) throws(FHIRPathError) {
        guard isSymbol(s) else { throw fail("Expected '\(s)'\(describeCurrent())") }
        index += 1
    }

    private func describeCurrent() -> String {
        switch current.kind {
        case .end: return " but the expression ends"
        case .identifier(let s), .delimitedIdentifier(let s): return " but found '\(s)'"
        case .symbol(let s): return " but found '\(s)'"
        case .string: return " but found a string"
        case .number(let n): return " but found \(n)"
        case .dollar(let n): return " but found $\(n)"
        case .percent(let n): return " but found %\(n)"
        }
    }

    mutating func parseAll() throws(FHIRPathError) -> FHIRPathAST {
        guard current.kind != .end else { throw fail("Empty expression") }
        let ast = try parseImplies()
        guard current.kind == .end else { throw fail("Expected the end of the expression\(describeCurrent())") }
        return ast
    }

    private mutating func parseImplies() throws(FHIRPathError) -> FHIRPathAST {
        var left = try parseOr()
        while isKeyword("implies") {
            index += 1
            left = .logical(.implies, left, try parseOr())
        }
        return left
    }

    private mutating func parseOr() throws(FHIRPathError) -> FHIRPathAST {
        var left = try parseAnd()
        while true {
            if isKeyword("or") {
                index += 1
                left = .logical(.or, left, try parseAnd())
            } else if isKeyword("xor") {
                index += 1
                left = .logical(.xor, left, try parseAnd())
            } else {
                return left
            }
        }
    }

    private mutating func parseAnd() throws(FHIRPathError) -> FHIRPathAST {
        var left = try parseMembership()
        while isKeyword("and") {
            index += 1
            left = .logical(.and, left, try parseMembership())
        }
        return left
    }

    private mutating func parseMembership() throws(FHIRPathError) -> FHIRPathAST {
        let left = try parseEquality()
        if isKeyword("in") || isKeyword("contains") { throw fail("Operator '\(keywordText)' is not supported") }
        return left
    }

    private var keywordText: String {
        switch current.kind {
        case .identifier(let s), .symbol(let s): return s
        default: return ""
        }
    }

    private mutating func parseEquality() throws(FHIRPathError) -> FHIRPathAST {
        var left = try parseInequality()
        while true {
            if isSymbol("=") {
                index += 1
                left = .equality(left, try parseInequality(), negated: false)
            } else if isSymbol("!=") {
                index += 1
                left = .equality(left, try parseInequality(), negated: true)
            } else if isSymbol("~") || isSymbol("!~") {
                throw fail("Operator '\(keywordText)' is not supported")
            } else {
                return left
            }
        }
    }

    private mutating func parseInequality() throws(FHIRPathError) -> FHIRPathAST {
        let left = try parseUnion()
        if isSymbol("<") || isSymbol(">") || isSymbol("<=") || isSymbol(">=") {
            throw fail("Operator '\(keywordText)' is not supported")
        }
        return left
    }

    private mutating func parseUnion() throws(FHIRPathError) -> FHIRPathAST {
        var left = try parseType()
        while isSymbol("|") {
            index += 1
            left = .union(left, try parseType())
        }
        return left
    }

    private mutating func parseType() throws(FHIRPathError) -> FHIRPathAST {
        var left = try parseArithmetic()
        while true {
            if isKeyword("is") {
                index += 1
                left = .isType(left, try parseTypeSpecifier())
            } else if isKeyword("as") {
                index += 1
                left = .asType(left, try parseTypeSpecifier())
            } else {
                return left
            }
        }
    }

    private mutating func parseArithmetic() throws(FHIRPathError) -> FHIRPathAST {
        let left = try parseUnary()
        if isSymbol("+") || isSymbol("-") || isSymbol("&") || isSymbol("*") || isSymbol("/") || isKeyword("div") || isKeyword("mod") {
            throw fail("Operator '\(keywordText)' is not supported")
        }
        return left
    }

    private mutating func parseUnary() throws(FHIRPathError) -> FHIRPathAST {
        if isSymbol("+") || isSymbol("-") {
            let sign = current
            index += 1
            guard case .number(let n) = current.kind else { throw fail("Unary '\(sign.kind == .symbol("-") ? "-" : "+")' is only supported before a number", at: sign) }
            index += 1
            let text = sign.kind == .symbol("-") ? "-" + n : n
            return try parsePostfix(.literal(Self.numberNode(text)))
        }
        return try parsePostfix(try parseTerm())
    }

    private static func numberNode(_ text: String) -> FHIRPathNode {
        FHIRPathNode(value: .number(text), type: text.utf8.contains(UInt8(ascii: ".")) ? "decimal" : "integer", position: nil)
    }

    private mutating func parsePostfix(_ base: FHIRPathAST) throws(FHIRPathError) -> FHIRPathAST {
        var node = base
        while true {
            if isSymbol(".") {
                index += 1
                let nameToken = current
                guard let name = identifierText() else { throw fail("Expected a name after '.'\(describeCurrent())") }
                index += 1
                if isSymbol("(") {
                    node = .function(node, try parseFunction(name, at: nameToken))
                } else {
                    node = .member(node, name)
                }
            } else if isSymbol("[") {
                index += 1
                let indexExpr = try parseImplies()
                try expectSymbol("]")
                node = .indexer(node, indexExpr)
            } else {
                return node
            }
        }
    }

    /// The text of an identifier token (keywords included: after '.', `contains` or `as` are names).
    private func identifierText() -> String? {
        switch current.kind {
        case .identifier(let s), .delimitedIdentifier(let s): return s
        default: return nil
        }
    }

    private mutating func parseTerm() throws(FHIRPathError) -> FHIRPathAST {
        let token = current
        switch token.kind {
        case .string(let s):
            index += 1
            return .literal(FHIRPathNode(value: .string(s), type: "string", position: nil))
        case .number(let n):
            index += 1
            return .literal(Self.numberNode(n))
        case .dollar(let name):
            guard name == "this" else { throw fail("$\(name) is not supported") }
            index += 1
            return .this
        case .percent(let name):
            guard ["resource", "rootResource", "context"].contains(name) else { throw fail("%\(name) is not supported") }
            index += 1
            return .root
        case .symbol("("):
            index += 1
            let inner = try parseImplies()
            try expectSymbol(")")
            return inner
        case .symbol("{"):
            index += 1
            try expectSymbol("}")
            return .emptySet
        case .identifier(let name):
            index += 1
            if isSymbol("(") { return .function(nil, try parseFunction(name, at: token)) }
            switch name {
            case "true": return .literal(FHIRPathNode(value: .bool(true), type: "boolean", position: nil))
            case "false": return .literal(FHIRPathNode(value: .bool(false), type: "boolean", position: nil))
            default: return .identifier(name)
            }
        case .delimitedIdentifier(let name):
            index += 1
            if isSymbol("(") { return .function(nil, try parseFunction(name, at: token)) }
            return .identifier(name)
        case .end:
            throw fail("Unexpected end of expression")
        case .symbol(let s):
            throw fail("Unexpected '\(s)'")
        }
    }

    /// Parses `(args)` of function `name`; the current token is `(`.
    private mutating func parseFunction(_ name: String, at token: Token) throws(FHIRPathError) -> FHIRPathFunction {
        try expectSymbol("(")
        let function: FHIRPathFunction
        switch name {
        case "where":
            function = .whereFilter(try parseImplies())
        case "exists":
            function = .exists(isSymbol(")") ? nil : try parseImplies())
        case "empty": function = .empty
        case "not": function = .not
        case "first": function = .first
        case "last": function = .last
        case "tail": function = .tail
        case "count": function = .count
        case "hasValue": function = .hasValue
        case "resolve": function = .resolve
        case "ofType": function = .ofType(try parseTypeSpecifier())
        case "as": function = .asType(try parseTypeSpecifier())
        case "is": function = .isType(try parseTypeSpecifier())
        case "extension":
            function = .extensionNamed(try parseStringArgument(name))
        case "hasExtension":
            function = .hasExtension(try parseStringArgument(name))
        default:
            throw fail("Function '\(name)()' is not supported", at: token)
        }
        guard isSymbol(")") else {
            throw fail("Expected ')' to close \(name)(\(describeCurrent())")
        }
        index += 1
        return function
    }

    private mutating func parseStringArgument(_ function: String) throws(FHIRPathError) -> String {
        guard case .string(let s) = current.kind else { throw fail("\(function)() needs a string literal argument") }
        index += 1
        return s
    }

    /// A type specifier: `Quantity`, `FHIR.Quantity`, `System.String`. Returns the FHIR type code.
    private mutating func parseTypeSpecifier() throws(FHIRPathError) -> String {
        guard let first = identifierText() else { throw fail("Expected a type name\(describeCurrent())") }
        index += 1
        guard first == "FHIR" || first == "System", isSymbol(".") else { return first }
        index += 1
        guard let second = identifierText() else { throw fail("Expected a type name after '\(first).'") }
        index += 1
        if first == "FHIR" { return second }
        switch second {
        case "Boolean": return "boolean"
        case "String": return "string"
        case "Integer": return "integer"
        case "Decimal": return "decimal"
        case "Date": return "date"
        case "DateTime": return "dateTime"
        case "Time": return "time"
        case "Quantity": return "Quantity"
        default: throw fail("Unknown System type '\(second)'")
        }
    }
}
