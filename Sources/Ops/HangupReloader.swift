import Gateway
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP re-reads what can change under a running server: the WAF file with the geo database,
/// and the TLS certificate. Anything with problems is logged and the running version stays.
struct HangupReloader: Service {
    let waf: WAFRuntime
    let certificates: TLSCertificateWatcher?
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups {
                reloadWAF()
                certificates?.reload(force: true)
            }
        }
    }

    func reloadWAF() {
        do throws(WAFConfigError) {
            let c = try waf.reload()
            logger.notice(
                "waf reloaded",
                metadata: [
                    "file": .string(waf.file ?? "none"), "custom_rules": .stringConvertible(c.customRules.count),
                    "geo": .string(c.geo.enabled ? c.geo.allow.joined(separator: ",") : "off"),
                ])
        } catch {
            logger.error("waf reload refused; the previous rules stay", metadata: ["problems": .string(error.problems.joined(separator: "; "))])
        }
    }
}
