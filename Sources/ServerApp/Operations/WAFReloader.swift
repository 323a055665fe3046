import Gateway
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the WAF file and the geo database on SIGHUP. A file with problems is logged and
/// leaves the running WAF as it was.
struct WAFReloader: Service {
    let runtime: WAFRuntime
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups {
                reload()
            }
        }
    }

    func reload() {
        do throws(WAFConfigError) {
            let c = try runtime.reload()
            logger.notice("waf reloaded", metadata: ["file": .string(runtime.file ?? "none"), "custom_rules": .stringConvertible(c.customRules.count),
                                                     "geo": .string(c.geo.enabled ? c.geo.allow.joined(separator: ",") : "off")])
        } catch {
            logger.error("waf reload refused; the previous rules stay", metadata: ["problems": .string(error.problems.joined(separator: "; "))])
        }
    }
}
