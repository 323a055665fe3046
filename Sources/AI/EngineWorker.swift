import Foundation
import Glibc
import Kernel
import Subprocess
import Synchronization
import SystemPackage

/// A long-lived engine process (the Python engines: faster-whisper, Piper), loaded once and
/// asked over JSON lines on its standard input and output (`Workers/engine_worker.py`), so no
/// request waits for a model to load. It starts on first use. A request that passes its time
/// limit kills the process (the engine cannot drop one request), and every request still
/// waiting then fails cleanly; so does every request when the process dies. The next request
/// starts a new one.
package actor EngineWorker {
    package let engine: String
    let program: String
    let arguments: [String]
    let environment: [String: String]
    let install: String
    /// How long a start (loading the model) may take.
    let startLimit: Duration

    private var process: Running?
    private var nextID = 1

    package init(engine: String, program: String, arguments: [String], environment: [String: String] = [:], install: String, startLimit: Duration = .seconds(120)) {
        self.engine = engine
        self.program = program
        self.arguments = arguments
        self.environment = environment
        self.install = install
        self.startLimit = startLimit
    }

    /// Whether the program exists (the worker itself is started only by a request).
    package nonisolated var installed: Bool {
        FileManager.default.isExecutableFile(atPath: program) || (!program.contains("/") && EngineProcess.locate(program) != nil)
    }

    /// The process id of the running worker, if one runs (for tests and metrics).
    package var pid: pid_t? { process?.pid }

    /// One request; its answer when `ok`, else the engine's error as an `EngineError`.
    package func call(_ request: JSONObject, timeout: Duration) async throws -> JSONObject {
        let running = try await start()
        let id = nextID
        nextID += 1
        var line = request
        line["id"] = .int(id)
        let text = String(decoding: JSON.object(line).serialized(), as: UTF8.self) + "\n"
        let answer: JSONObject
        do {
            answer = try await EngineProcess.within(timeout, engine: engine, onTimeout: running.stop) {
                try await running.ask(id: id, line: text)
            }
        } catch let error as EngineError {
            if case .timedOut = error { forget(running) }
            throw error
        }
        guard answer["ok"]?.boolValue == true else {
            let message = answer["error"]?.stringValue ?? "no reason given"
            switch answer["code"]?.stringValue {
            case "invalid": throw EngineError.invalid(message)
            case "too_large": throw EngineError.tooLarge(message)
            default: throw EngineError.failed(engine: engine, reason: message)
            }
        }
        return answer
    }

    /// Stops the worker (a new one starts with the next request).
    package func stop() {
        process?.stop()
        process = nil
    }

    private func forget(_ running: Running) {
        if process === running { process = nil }
    }

    /// The running worker, started and ready (it says so on its first line).
    private func start() async throws -> Running {
        if let process, !process.hasEnded { return process }
        guard installed else { throw EngineError.unavailable(engine: engine, install: install) }
        let running = Running(engine: engine)
        process = running
        running.launch(program: program, arguments: arguments, environment: environment)
        do {
            _ = try await EngineProcess.within(startLimit, engine: engine, onTimeout: running.stop) { try await running.ready() }
        } catch {
            running.stop()
            forget(running)
            throw error
        }
        return running
    }

    /// One process of the worker: the lines to write, the requests waiting for their answer.
    final class Running: Sendable {
        let engine: String
        private let state = Mutex(State())
        private let lines: AsyncStream<String>
        private let writer: AsyncStream<String>.Continuation

        struct State {
            var pid: pid_t?
            var ended = false
            var waiting: [Int: CheckedContinuation<JSONObject, any Error>] = [:]
            var stopped = false
        }

        init(engine: String) {
            self.engine = engine
            (lines, writer) = AsyncStream.makeStream(of: String.self)
        }

        var pid: pid_t? { state.withLock { $0.ended ? nil : $0.pid } }
        var hasEnded: Bool { state.withLock { $0.ended } }

        func launch(program: String, arguments: [String], environment: [String: String]) {
            let environment = Environment.inherit.updating(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) }))
            let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
            Task {
                do {
                    _ = try await Subprocess.run(
                        executable, arguments: Arguments(arguments), environment: environment, input: .inputWriter, output: .sequence, error: .discarded
                    ) { execution in
                        self.started(execution.processIdentifier.value)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for await line in self.lines { _ = try await execution.standardInputWriter.write(line) }
                                try await execution.standardInputWriter.finish()
                            }
                            group.addTask {
                                for try await line in execution.standardOutput.strings(bufferingPolicy: .maxLineLength(256 << 20)) { self.deliver(line) }
                            }
                            // Standard output ends when the process does: stop writing.
                            _ = try await group.next()
                            group.cancelAll()
                        }
                    }
                } catch {}
                self.ended()
            }
        }

        /// Waits for the worker's first line (`id` 0: the model is loaded).
        func ready() async throws -> JSONObject { try await wait(id: 0, line: nil) }

        func ask(id: Int, line: String) async throws -> JSONObject { try await wait(id: id, line: line) }

        private func wait(id: Int, line: String?) async throws -> JSONObject {
            try await withCheckedThrowingContinuation { continuation in
                let ended = state.withLock { s -> Bool in
                    if s.ended { return true }
                    s.waiting[id] = continuation
                    return false
                }
                if ended {
                    continuation.resume(throwing: EngineError.failed(engine: engine, reason: "the worker stopped; it starts again with the next request"))
                } else if let line {
                    writer.yield(line)
                }
            }
        }

        private func started(_ id: pid_t) {
            state.withLock {
                $0.pid = id
                if $0.stopped { _ = Glibc.kill(id, SIGKILL) }
            }
        }

        private func deliver(_ line: String) {
            guard let answer = try? JSON.parse(line).objectValue, let id = answer["id"]?.numberText.flatMap({ Int($0) }) else { return }
            let continuation = state.withLock { $0.waiting.removeValue(forKey: id) }
            continuation?.resume(returning: answer)
        }

        private func ended() {
            writer.finish()
            let waiting = state.withLock { s in
                s.ended = true
                s.pid = nil
                defer { s.waiting = [:] }
                return Array(s.waiting.values)
            }
            for c in waiting { c.resume(throwing: EngineError.failed(engine: engine, reason: "the worker stopped; it starts again with the next request")) }
        }

        /// Kills the process (SIGKILL: a model in the middle of a request does not answer SIGTERM soon).
        @Sendable func stop() {
            state.withLock {
                $0.stopped = true
                if let pid = $0.pid, !$0.ended { _ = Glibc.kill(pid, SIGKILL) }
            }
        }
    }
}
