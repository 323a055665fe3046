/// A value read once on first use and kept: an engine's voices, language pairs or models,
/// which change only when packages do. A failed read is not kept, so installing the engine
/// later works without a restart.
actor Cached<Value: Sendable> {
    private var stored: Value?

    func value(_ read: @Sendable () async throws -> Value) async throws -> Value {
        if let stored { return stored }
        let fresh = try await read()
        stored = fresh
        return fresh
    }
}
