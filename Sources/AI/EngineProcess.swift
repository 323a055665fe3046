import Foundation
import Glibc
import Subprocess
import Synchronization

/// One run of an engine's command-line program: the input goes in on standard input (never as
/// an argument, so no text can become an option), standard output comes back up to a limit, and
/// the program is killed (SIGKILL) when the time limit passes. (Subprocess's own teardown on
/// cancellation was not enough: a cancellation that came while the program was starting let it
/// run to its end, 30 s in a test under load.) Standard error is not kept: an
/// engine's messages can quote its input.
package struct EngineProcess: Sendable {
    /// The program's name, found on `PATH`.
    package let program: String
    package let arguments: [String]
    /// Added to the inherited environment (e.g. `OMP_THREAD_LIMIT=1` for Tesseract).
    package let environment: [String: String]
    /// What the engine is called in errors and metrics.
    package let engine: String
    /// What to install when the program is missing.
    package let install: String

    package init(program: String, arguments: [String], environment: [String: String] = [:], engine: String, install: String) {
        self.program = program
        self.arguments = arguments
        self.environment = environment
        self.engine = engine
        self.install = install
    }

    /// Runs the program on `input`; its standard output when it exits with 0.
    package func run(input: [UInt8], timeout: Duration, outputLimit: Int) async throws -> [UInt8] {
        guard Self.locate(program) != nil else { throw EngineError.unavailable(engine: engine, install: install) }
        let environment = Environment.inherit.updating(Dictionary(uniqueKeysWithValues: self.environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) }))
        let program = self.program
        let arguments = Arguments(self.arguments)
        let running = Running()
        let result = try await Self.within(timeout, engine: engine, onTimeout: running.kill) {
            defer { running.ended() }
            return try await Subprocess.run(
                .name(program), arguments: arguments, environment: environment, input: .array(input), output: .bytes(limit: outputLimit),
                error: .discarded
            ) { execution in running.started(execution.processIdentifier.value) }
        }
        // The exit status only: an engine's own messages can quote the input (patient data) and
        // name its internals, so they are neither answered nor logged.
        guard result.terminationStatus.isSuccess else { throw EngineError.failed(engine: engine, reason: "\(result.terminationStatus)") }
        return result.standardOutput
    }

    /// `body`, or `EngineError.timedOut` once `limit` has passed (the body's task is cancelled,
    /// which stops its process).
    static func within<T: Sendable>(
        _ limit: Duration, engine: String, onTimeout: @escaping @Sendable () -> Void = {}, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do { return try await body() } catch let error as SubprocessError where error.code == .outputLimitExceeded {
                    throw EngineError.tooLarge("The result would be too large for one answer; send less at once")
                } catch let error as SubprocessError {
                    throw EngineError.failed(engine: engine, reason: "could not run it (\(error.code))")
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                onTimeout()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw EngineError.timedOut(engine: engine, seconds: Int(limit.components.seconds))
            }
            return value
        }
    }

    /// The program's path on `PATH`, if it is there.
    package static func locate(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The process of one run while it runs, so a time-out can kill it (and only it: once the
    /// run has ended its pid may belong to another process). A time-out before the process
    /// has started kills it as soon as it has.
    final class Running: Sendable {
        private struct State {
            var pid: pid_t?
            var ended = false
            var timedOut = false
        }
        private let state = Mutex(State())

        func started(_ id: pid_t) {
            state.withLock {
                guard !$0.ended else { return }
                $0.pid = id
                if $0.timedOut { _ = Glibc.kill(id, SIGKILL) }
            }
        }

        func ended() { state.withLock { $0 = State(pid: nil, ended: true) } }

        @Sendable func kill() {
            state.withLock {
                $0.timedOut = true
                if let id = $0.pid, !$0.ended { _ = Glibc.kill(id, SIGKILL) }
            }
        }
    }
}
