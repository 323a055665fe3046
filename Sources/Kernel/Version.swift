/// The product version, printed by `healthhub --version` and in the CapabilityStatement.
package enum HealthHubVersion {
    package static let current = "0.1.1"
}
