import Kernel

/// FHIRPath (N1) subset used to extract search-index values at write time.
///
/// The subset is what the official R4 SearchParameter expressions need, plus a few cheap extras:
///
/// - Terms: member names (`name`, `` `div` ``), string literals (`'a\'b'`, with `\n \t \uXXXX` escapes),
///   integer and decimal literals (optionally negative), `true`, `false`, `{}` (empty), `$this`,
///   `%resource` / `%rootResource` / `%context` (all the root resource), parentheses.
/// - Path navigation `a.b.c`: arrays are flattened, JSON `null`s skipped; a choice element is reached by
///   its base name (`Observation.value` finds `valueQuantity`) and gets its concrete type. Every node is
///   typed from `FHIRDefinitions`; `Resource`-typed elements (`contained`, `Bundle.entry.resource`) take
///   the nested `resourceType`. Primitive `_name` extension siblings are ignored.
/// - A path's first identifier starting with an uppercase letter is a type filter on the focus
///   (`Observation.code` on an Observation selects the root, on a Condition yields empty;
///   `Resource.id` / `DomainResource.text` match any resource). Lowercase ones are members (`id`).
/// - Indexer `[n]`.
/// - Operators, by precedence: `is`/`as` (with FHIR type codes, `FHIR.T` or `System.T`; a subtype
///   matches via the definitions' base chain, e.g. `Age` is a `Quantity`, `canonical` is a `uri`;
///   `as` filters a collection instead of requiring a singleton), `|` (union without duplicates),
///   `=` / `!=` (empty operand -> empty), `and`, `or` / `xor`, `implies` (three-valued logic).
/// - Functions: `where(criteria)`, `exists([criteria])`, `empty()`, `not()`, `first()`, `last()`,
///   `tail()`, `count()`, `hasValue()`, `ofType(T)`, `as(T)`, `is(T)`, `extension('url')`,
///   `hasExtension('url')`, `resolve()`.
/// - `resolve()` does not fetch: a `Reference` (or a reference string) becomes a pseudo resource node
///   `{"resourceType": T, "id": id}` of type T, T parsed from `T/id`, `T/id/_history/v` or an absolute
///   URL ending so (T must be a known resource type); `#id` resolves to the matching `contained`
///   resource (`#` alone to the root). Anything else (`urn:uuid:`, logical references) resolves to nothing.
///
/// Not supported (rejected when parsing, so a bad expression fails at startup, not at write time):
/// arithmetic, `&`, `<` `>` `<=` `>=`, `~` `!~`, `in` / `contains` as operators, date/time/quantity
/// literals, `$index` / `$total`, other `%` variables, and any function not listed above.
/// `where` keeps an item only when its criteria gives exactly `true`.
package struct FHIRPathExpression: Sendable {
    package let text: String
    let ast: FHIRPathAST

    package init(_ text: String) throws(FHIRPathError) {
        self.text = text
        var parser = try FHIRPathParser(text)
        self.ast = try parser.parseAll()
    }
}

/// Why an expression is not (supported) FHIRPath, with the place to look.
package struct FHIRPathError: Error, Sendable, Equatable, CustomStringConvertible {
    package let message: String
    /// 0-based UTF-8 offset in `expression` where the problem was found.
    package let offset: Int
    package let expression: String

    package init(message: String, offset: Int, expression: String) {
        self.message = message
        self.offset = offset
        self.expression = expression
    }

    /// 1-based character column of `offset`.
    package var column: Int {
        let utf8 = expression.utf8
        let end = utf8.index(utf8.startIndex, offsetBy: min(max(offset, 0), utf8.count))
        return expression[..<end].count + 1
    }

    package var description: String { "\(message) at column \(column) of FHIRPath '\(expression)'" }
}

/// A node of a FHIRPath result: the JSON value plus its FHIR type code when known
/// ("CodeableConcept", "Reference", "dateTime", "string", "Period", "Patient", ...). Values the
/// expression computes (literals, booleans, counts) have System types "boolean", "string",
/// "integer", "decimal".
package struct FHIRPathNode: Sendable, Equatable {
    package let value: JSON
    package let type: String?
    /// Where the node sits in the element model, to type further navigation; nil when unknown.
    let position: ElementPosition?

    package init(value: JSON, type: String?) {
        self.value = value
        self.type = type
        self.position = nil
    }

    init(value: JSON, type: String?, position: ElementPosition?) {
        self.value = value
        self.type = type
        self.position = position
    }

    package static func == (lhs: FHIRPathNode, rhs: FHIRPathNode) -> Bool {
        lhs.type == rhs.type && lhs.value == rhs.value
    }
}

/// Parsed expression tree.
indirect enum FHIRPathAST: Sendable {
    case literal(FHIRPathNode)
    case emptySet
    case this
    case root
    /// The first identifier of a path: a type filter on the focus when it starts with an uppercase
    /// letter, else member navigation from the focus.
    case identifier(String)
    case member(FHIRPathAST, String)
    /// A function call; a nil target means the focus (`$this`).
    case function(FHIRPathAST?, FHIRPathFunction)
    case indexer(FHIRPathAST, FHIRPathAST)
    case union(FHIRPathAST, FHIRPathAST)
    case equality(FHIRPathAST, FHIRPathAST, negated: Bool)
    case logical(FHIRPathLogicalOperator, FHIRPathAST, FHIRPathAST)
    case isType(FHIRPathAST, String)
    case asType(FHIRPathAST, String)
}

enum FHIRPathLogicalOperator: Sendable {
    case and, or, xor, implies
}

enum FHIRPathFunction: Sendable {
    case whereFilter(FHIRPathAST)
    case exists(FHIRPathAST?)
    case empty, not, first, last, tail, count, hasValue, resolve
    case ofType(String)
    case asType(String)
    case isType(String)
    case extensionNamed(String)
    case hasExtension(String)
}
