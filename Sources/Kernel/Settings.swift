import Foundation

/// Where a setting comes from, in order: the command-line flag, the environment variable
/// `HEALTHHUB_<NAME>`, the config file (`--config` or `HEALTHHUB_CONFIG`; `HEALTHHUB_<NAME>=value`
/// lines, the same names as the environment, so a systemd `EnvironmentFile` works as is), then
/// the default. Each module reads and checks its own part (`GatewayConfiguration.read`,
/// `OpsConfiguration.read`, ...); the composition root collects them and reports every problem
/// at once.
package struct Settings: Sendable {
    package let environment: [String: String]
    let file: [String: String]

    package init(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        guard let path = configPath ?? environment["HEALTHHUB_CONFIG"] else {
            file = [:]
            return
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError(problems: ["cannot read config file \(path)"])
        }
        var values: [String: String] = [:]
        var problems: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0].hasPrefix("HEALTHHUB_") else {
                problems.append("\(path):\(n + 1): expected HEALTHHUB_NAME=value")
                continue
            }
            var value = parts[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            values[parts[0]] = value
        }
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        file = values
    }

    /// The value of a setting; `name` is the environment name without the prefix (`DATABASE`).
    package func value(_ flag: String?, _ name: String) -> String? {
        flag ?? environment["HEALTHHUB_\(name)"] ?? file["HEALTHHUB_\(name)"]
    }
}

package struct SettingsError: Error, CustomStringConvertible {
    package let problems: [String]
    package init(problems: [String]) { self.problems = problems }
    package var description: String { "Configuration problems:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}
