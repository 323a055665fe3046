import HTTPTypes
import Hummingbird
import Synchronization

/// Every route of HealthHub goes through one of three doors of this table, and the table
/// remembers which: `publicRoutes` (no identity needed: metadata, discovery, sign-in, health,
/// status), `identified` (the API: the bearer-token middleware runs before the handler) and
/// `signedIn` (the portal and console pages: the web-session middleware runs before the handler,
/// and checks the CSRF token of every state-changing request). Behind both of the last two, a
/// request without a valid identity never reaches the handler, and the handler's
/// `IdentifiedRequestContext` has a principal that is not optional. Authentication is attached
/// to the routes it protects, never decided by a string test on the path.
///
/// The recorded list is what the deny-by-default tests iterate, so a route added later is
/// tested without anyone remembering to, and the public list in docs/security.md is checked
/// against it.
package final class RouteTable {
    package enum Access: String, Sendable, Hashable {
        case `public`, identified
        /// A page behind a web session (cookie), not a token.
        case signedIn = "signed-in"
    }

    package struct Entry: Sendable, Hashable, CustomStringConvertible {
        package let method: HTTPRequest.Method
        /// The route template, e.g. `/fhir/:type/:id`.
        package let path: String
        package let access: Access
        package var description: String { "\(method.rawValue) \(path) (\(access.rawValue))" }
    }

    private let recorder: Recorder
    /// Routes anyone may call.
    package let publicRoutes: Door<AppRequestContext>
    /// Routes that need an identity: `authentication` runs before each of them.
    package let identified: Door<IdentifiedRequestContext>
    /// Pages that need a signed-in web session: `sessionAuthentication` runs before each of them.
    package let signedIn: Door<IdentifiedRequestContext>

    /// `bodyInspection` reads bodies for the handlers (the WAF's body rules): on identified
    /// routes after `authentication`, so that no body is read for a request without an identity.
    package init(
        router: Router<AppRequestContext>, authentication: any MiddlewareProtocol<Request, Response, AppRequestContext>,
        sessionAuthentication: any MiddlewareProtocol<Request, Response, AppRequestContext>,
        bodyInspection: (any MiddlewareProtocol<Request, Response, AppRequestContext>)?
    ) {
        let recorder = Recorder()
        var open: RouterGroup<AppRequestContext> = router.group()
        var authenticated: RouterGroup<AppRequestContext> = router.group().add(middleware: authentication)
        var session: RouterGroup<AppRequestContext> = router.group().add(middleware: sessionAuthentication)
        if let bodyInspection {
            open = open.add(middleware: bodyInspection)
            authenticated = authenticated.add(middleware: bodyInspection)
            session = session.add(middleware: bodyInspection)
        }
        self.recorder = recorder
        publicRoutes = Door(access: .public, parent: open, recorder: recorder)
        identified = Door(access: .identified, parent: authenticated.group(context: IdentifiedRequestContext.self), recorder: recorder)
        signedIn = Door(access: .signedIn, parent: session.group(context: IdentifiedRequestContext.self), recorder: recorder)
    }

    /// Every route registered so far.
    package var entries: [Entry] { recorder.entries }

    /// Collects the entries of both doors (a class so the doors, which are values, share it).
    final class Recorder: Sendable {
        private let list = Mutex<[Entry]>([])
        func add(_ entry: Entry) { list.withLock { $0.append(entry) } }
        var entries: [Entry] { list.withLock { $0 } }
    }

    /// One door: registers routes on the router (through the authentication group for
    /// `identified`) and records them.
    package struct Door<Context: RequestContext>: RouterMethods {
        let access: Access
        let parent: any RouterMethods<Context>
        let recorder: Recorder

        @discardableResult
        package func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Door
        where Responder.Context == Context {
            recorder.add(Entry(method: method, path: path.description, access: access))
            parent.on(path, method: method, responder: responder)
            return self
        }

        /// A door whose routes also pass `middleware` (this door's own routes are unchanged).
        package func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Door {
            Door(access: access, parent: parent.group().add(middleware: middleware), recorder: recorder)
        }
    }
}
