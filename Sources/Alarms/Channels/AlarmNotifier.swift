import Logging

/// Sends notifications to every channel at once; each channel retries on its own with
/// exponential backoff (by default 6 attempts, 1 s, 2 s, 4 s, 8 s and 16 s apart), so a slow
/// or dead webhook never holds up email or the log.
package struct AlarmNotifier: Sendable {
    package let channels: [any AlarmChannel]
    let maxAttempts: Int
    let backoff: Duration
    let logger: Logger

    package init(channels: [any AlarmChannel], maxAttempts: Int = 6, backoff: Duration = .seconds(1), logger: Logger) {
        self.channels = channels
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.logger = logger
    }

    /// Delivers to every channel; returns whether each channel (by name) took it in the end.
    @discardableResult
    package func send(_ notification: AlarmNotification) async -> [String: Bool] {
        await withTaskGroup(of: (String, Bool).self) { group in
            for channel in channels {
                group.addTask { (channel.name, await deliver(notification, via: channel)) }
            }
            var out: [String: Bool] = [:]
            for await (name, ok) in group { out[name] = ok }
            return out
        }
    }

    func deliver(_ notification: AlarmNotification, via channel: any AlarmChannel) async -> Bool {
        var delay = backoff
        for attempt in 1...maxAttempts {
            do {
                try await channel.deliver(notification)
                return true
            } catch {
                let final = attempt == maxAttempts || !channel.isRetryable(error)
                logger.warning(
                    "alarm notification not delivered",
                    metadata: [
                        "channel": .string(channel.name), "alarm": .string(notification.alarm), "attempt": .stringConvertible(attempt),
                        "final": .stringConvertible(final), "error": .string(String(describing: error).prefix(200).description),
                    ])
                if final || Task.isCancelled { return false }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(300))
            }
        }
        return false
    }
}
