import Auth
import Events
import FHIR
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Identity
import Kernel
import Logging

/// Live updates for the pages over a WebSocket at `/live`, read from the event log: each event
/// about a patient the signed-in person may see (their own record, or a patient in the
/// clinician's care) is sent as `{"seq":..,"topic":..,"subject":..}` (ids only). A client that
/// reconnects sends `?after=<the last seq it saw>` and gets what it missed first. The socket
/// checks what a page checks: the signed-in session of an enabled account (again every minute,
/// so signing out or being disabled closes it) and that `Origin` is this server.
///
/// One poller per instance (`LiveHub`) reads the log for every socket, so a thousand open
/// sockets cost one query per interval; the log is in the database, so events written by any
/// instance reach sockets on every instance.
package struct LiveUpdates: Sendable {
    let sessions: SessionAuthenticator
    let service: FHIRService
    let hub: LiveHub

    package init(sessions: SessionAuthenticator, service: FHIRService, events: EventLog) {
        self.sessions = sessions
        self.service = service
        self.hub = LiveHub(log: events)
    }

    /// The WebSocket router (`HTTPServerBuilder.http1WebSocketUpgrade(webSocketRouter:)`).
    package func router() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws(
            "live",
            shouldUpgrade: { request, _ in
                guard request.headers[.origin] != nil, SessionAuthenticator.sameOrigin(request), let signed = try await sessions.signedIn(request),
                    [.patient, .practitioner].contains(signed.user.role)
                else { throw HTTPError(.forbidden) }
                return .upgrade([:])
            },
            onUpgrade: { inbound, outbound, context in
                guard let signed = try await sessions.signedIn(context.request) else { return }
                let after = context.request.uri.queryParameters["after"].flatMap { Int64(String($0)) }
                let initial = try await visiblePatients(signed.principal)
                let stream = await hub.subscribe(after: after, patients: initial)
                defer { Task { await hub.unsubscribe(stream.id) } }  // however the socket ends
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // the client's side: reading until it closes (it sends nothing HealthHub needs)
                    group.addTask { for try await _ in inbound {} }
                    group.addTask {
                        // Who may see what is read again before an event goes out, when the last
                        // look is over a second old: a proxy whose access was taken back hears
                        // nothing more of that patient (an attack pass saw a minute of events).
                        var patients = initial
                        var checked = ContinuousClock.now
                        for await event in stream.events {
                            if ContinuousClock.now - checked > .seconds(1) {
                                guard let now = try await sessions.signedIn(context.request) else { return }
                                patients = try await visiblePatients(now.principal)
                                checked = ContinuousClock.now
                                await hub.update(stream.id, patients: patients)
                            }
                            guard let patient = event.patient, patients.contains(patient) else { continue }
                            try await outbound.write(.text(Self.message(event)))
                        }
                    }
                    group.addTask {
                        // still signed in? (signing out, a disabled account, an ended session close the socket)
                        while true {
                            try await Task.sleep(for: .seconds(60))
                            // (read again: a proxy whose access was taken back, a new care relationship)
                            guard let now = try await sessions.signedIn(context.request) else { return }
                            await hub.update(stream.id, patients: try await visiblePatients(now.principal))
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            })
        return router
    }

    static func message(_ e: Event) -> String {
        JSON.object(["seq": .int(Int(e.seq)), "topic": .string(e.topic), "subject": .string(e.subject)]).serializedString()
    }

    /// The patients whose events this person may see: their own record, or the patients in the
    /// clinician's care (read under their access, as a search of Patient would be).
    func visiblePatients(_ principal: Principal) async throws -> Set<String> {
        if principal.role == .patient { return principal.patient.map { ["Patient/\($0)"] } ?? [] }
        let access = RequestAccess(principal: principal, policy: service.policy)
        let found = try await service.search(try service.searchRequest(type: "Patient", query: "_count=1000&_elements=id"), access: access)
        return Set(found.matches.map { "Patient/\($0.id)" })
    }
}

/// The one reader of the event log for this instance's sockets: replays what a subscriber
/// missed, then polls the log and hands each new event to the subscribers who may see it.
package actor LiveHub {
    let log: EventLog
    /// How often the log is read while anyone is listening.
    let interval: Duration
    private var subscribers: [Int: Subscriber] = [:]
    private var nextID = 0
    private var last: Int64?
    private var poller: Task<Void, Never>?

    struct Subscriber {
        var after: Int64
        var patients: Set<String>
        let continuation: AsyncStream<Event>.Continuation
        /// Still reading what it missed (the poller skips it meanwhile).
        var catchingUp: Bool
    }

    package struct Subscription: Sendable {
        package let id: Int
        package let events: AsyncStream<Event>
    }

    package init(log: EventLog, interval: Duration = .milliseconds(100)) {
        self.log = log
        self.interval = interval
    }

    /// Events about `patients` after `after` (the missed ones first), then as they come; with
    /// no `after`, only those from now on.
    package func subscribe(after: Int64?, patients: Set<String>) async -> Subscription {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let id = nextID
        nextID += 1
        // Registered before the first await (the actor is re-entrant): while it catches up, the
        // poller leaves it alone, and the catch-up reads the log itself until it has all of it.
        subscribers[id] = Subscriber(after: after ?? .max, patients: patients, continuation: continuation, catchingUp: true)
        if poller == nil { poller = Task { await self.poll() } }
        let head = (try? await log.head()) ?? 0
        var cursor = min(after ?? head, head)
        while !patients.isEmpty, let missed = try? await log.events(after: cursor, patients: Array(patients), limit: 1000), !missed.isEmpty {
            for e in missed { continuation.yield(e) }
            cursor = missed[missed.count - 1].seq
            if missed.count < 1000 { break }
        }
        // (events after the catch-up's last read are the poller's: it starts from the cursor)
        subscribers[id]?.after = max(cursor, min(after ?? head, head))
        subscribers[id]?.catchingUp = false
        if last == nil || last! > cursor { last = cursor }
        return Subscription(id: id, events: stream)
    }

    package func update(_ id: Int, patients: Set<String>) {
        subscribers[id]?.patients = patients
    }

    package func unsubscribe(_ id: Int) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
        if subscribers.isEmpty {
            poller?.cancel()
            poller = nil
            last = nil
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            if let from = last, let events = try? await log.events(after: from, patients: nil, limit: 1000) {
                for e in events {
                    for (id, s) in subscribers where !s.catchingUp && e.seq > s.after {
                        subscribers[id]?.after = e.seq
                        if let p = e.patient, s.patients.contains(p) { s.continuation.yield(e) }
                    }
                    last = e.seq
                }
            }
            try? await Task.sleep(for: interval)
        }
    }
}
