import Instrumentation
import Synchronization
import Tracing

/// A tracer that records spans and hands finished ones to an `OTLPExporter`. Trace context
/// travels in W3C `traceparent` headers, both ways. Our own small implementation of the
/// swift-distributed-tracing API: swift-otel would add its gRPC and protobuf tree to every
/// build (see docs/observability.md for the measurement), and HealthHub only needs OTLP/HTTP.
package final class OTLPTracer: Tracer {
    package typealias Span = OTLPSpan
    let exporter: OTLPExporter

    package init(exporter: OTLPExporter) { self.exporter = exporter }

    package func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> OTLPSpan {
        var context = context()
        let parent = context.traceContext
        let ids = TraceContext(traceID: parent?.traceID ?? TraceContext.randomID(bytes: 16), spanID: TraceContext.randomID(bytes: 8), sampled: parent?.sampled ?? true)
        context.traceContext = ids
        return OTLPSpan(name: operationName, kind: kind, context: context, parentSpanID: parent?.spanID, start: instant().nanosecondsSinceEpoch, exporter: exporter)
    }

    package func forceFlush() { exporter.flushSoon() }

    package func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract) where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier), let ids = TraceContext(traceparent: header) else { return }
        context.traceContext = ids
    }

    package func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject) where Inject.Carrier == Carrier {
        guard let ids = context.traceContext else { return }
        injector.inject(ids.traceparent, forKey: "traceparent", into: &carrier)
    }
}

/// A span being recorded. Everything set on it stays in the process until it ends; only what
/// callers put in attributes is exported, and HealthHub's own spans carry no paths, queries or
/// ids (route templates and status codes only).
package final class OTLPSpan: Tracing.Span {
    struct State {
        var name: String
        var attributes = SpanAttributes()
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var ended = false
    }

    package let context: ServiceContext
    let kind: SpanKind
    let parentSpanID: String?
    let start: UInt64
    let exporter: OTLPExporter
    private let state: Mutex<State>

    init(name: String, kind: SpanKind, context: ServiceContext, parentSpanID: String?, start: UInt64, exporter: OTLPExporter) {
        self.context = context
        self.kind = kind
        self.parentSpanID = parentSpanID
        self.start = start
        self.exporter = exporter
        state = Mutex(State(name: name))
    }

    package var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    package var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    package var isRecording: Bool { state.withLock { !$0.ended } }

    package func setStatus(_ status: SpanStatus) { state.withLock { $0.status = status } }

    package func addEvent(_ event: SpanEvent) { state.withLock { $0.events.append(event) } }

    /// Records the error's type only: error descriptions can carry request data.
    package func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        var a = attributes
        a["exception.type"] = String(describing: type(of: error))
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: a))
    }

    package func addLink(_ link: SpanLink) {}

    package func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        guard
            let s = state.withLock({ s -> State? in
                guard !s.ended else { return nil }
                s.ended = true
                return s
            }), let ids = context.traceContext, ids.sampled
        else { return }
        exporter.add(
            SpanRecord(
                traceID: ids.traceID, spanID: ids.spanID, parentSpanID: parentSpanID, name: s.name, kind: kind,
                start: start, end: end, attributes: s.attributes, status: s.status, events: s.events))
    }
}
