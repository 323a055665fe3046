import ArgumentParser
import FHIR
import Foundation
import Kernel

/// Developer tool: evaluates FHIRPath expressions with the server's own evaluator (used by the
/// cross-check against fhirpathpy). One JSON array of result values per expression, per line.
struct FHIRPathCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fhirpath", abstract: "Evaluate FHIRPath expressions on a resource file (developer tool).")

    @Option(name: .customLong("expression"), help: "FHIRPath expression; repeat for several.")
    var expressions: [String]

    @Argument(help: "A JSON file holding one resource.")
    var file: String

    func run() async throws {
        let definitions = try FHIRDefinitions.loadBundled()
        let resource = try JSON.parse(try Data(contentsOf: URL(fileURLWithPath: file)))
        let evaluator = FHIRPathEvaluator(definitions: definitions)
        for text in expressions {
            let expression = try FHIRPathExpression(text)
            let values = evaluator.evaluate(expression, on: resource).map(\.value)
            print(JSON.array(values).serializedString())
        }
    }
}
