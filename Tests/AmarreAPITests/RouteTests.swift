import AmarreAPI
import AmarreCore
import Testing

private let id = "0123456789ab"
private let sessionID = SessionID(id)!  // a literal of 12 lowercase hex digits

@Suite("Routing")
struct RouteTests {
    @Test(
        "every route resolves from its method and path",
        arguments: [
            (HTTPMethod.get, "/healthz", Route.health),
            (.get, "/instances", .listInstances),
            (.get, "/sessions", .listSessions),
            (.post, "/sessions", .createSession),
            (.get, "/sessions/\(id)", .getSession(sessionID)),
            (.delete, "/sessions/\(id)", .deleteSession(sessionID)),
            (.post, "/sessions/\(id)/restart", .restartSession(sessionID)),
        ])
    func resolves(method: HTTPMethod, path: String, route: Route) {
        #expect(Route.resolve(method: method, path: path) == .matched(route))
    }

    @Test("HEAD is answered wherever GET is")
    func headFollowsGet() {
        #expect(Route.resolve(method: .head, path: "/healthz") == .matched(.health))
        #expect(Route.resolve(method: .head, path: "/sessions/\(id)") == .matched(.getSession(sessionID)))
        #expect(Route.resolve(method: .head, path: "/sessions/\(id)/restart") == .methodNotAllowed(allowed: [.post]))
    }

    @Test("the events route reads its paging from the query")
    func eventsRoute() {
        #expect(
            Route.resolve(method: .get, path: "/sessions/\(id)/events", query: "")
                == .matched(.sessionEvents(sessionID, EventsQuery())))
        #expect(
            Route.resolve(method: .get, path: "/sessions/\(id)/events", query: "after=5&limit=20&x=1")
                == .matched(.sessionEvents(sessionID, EventsQuery(after: 5, limit: 20))))
        #expect(
            Route.resolve(method: .get, path: "/sessions/\(id)/events", query: "before=9")
                == .matched(.sessionEvents(sessionID, EventsQuery(before: 9))))
        for bad in ["after=-1", "limit=0", "limit=x", "after=1&before=2", "before="] {
            guard case .badQuery = Route.resolve(method: .get, path: "/sessions/\(id)/events", query: bad) else {
                Issue.record("\(bad) was accepted")
                continue
            }
        }
        #expect(Route.resolve(method: .post, path: "/sessions/\(id)/events") == .methodNotAllowed(allowed: [.get, .head]))
    }

    @Test(
        "unknown paths are not found",
        arguments: [
            "/", "", "healthz", "/healthz/x", "/session", "/Sessions", "/sessions/\(id)/restart/x",
            "/sessions/\(id)/event", "/sessions//", "//sessions", "/sessions//restart", "/instances/x",
        ])
    func unknownPath(path: String) {
        #expect(Route.resolve(method: .get, path: path) == .notFound)
    }

    @Test(
        "a session id that is not 12 lowercase hex digits is not found, whatever the method",
        arguments: ["0123456789AB", "0123456789a", "0123456789abc", "0123456789ag", "..", "%30123456789ab"])
    func badSessionID(bad: String) {
        for method in [HTTPMethod.get, .delete, .post, HTTPMethod(rawValue: "PUT")] {
            #expect(Route.resolve(method: method, path: "/sessions/\(bad)") == .notFound)
            #expect(Route.resolve(method: method, path: "/sessions/\(bad)/restart") == .notFound)
        }
    }

    @Test(
        "a known path with the wrong method lists the methods it takes",
        arguments: [
            (HTTPMethod.post, "/healthz", [HTTPMethod.get, .head]),
            (HTTPMethod(rawValue: "PUT"), "/instances", [.get, .head]),
            (.delete, "/sessions", [.get, .head, .post]),
            (.post, "/sessions/\(id)", [.get, .head, .delete, .patch]),
            (HTTPMethod(rawValue: "PUT"), "/sessions/\(id)", [.get, .head, .delete, .patch]),
            (.get, "/sessions/\(id)/stop", [.post]),
            (.post, "/search", [.get, .head]),
            (.get, "/sessions/\(id)/restart", [.post]),
            (HTTPMethod(rawValue: "get"), "/sessions", [.get, .head, .post]),
        ])
    func methodNotAllowed(method: HTTPMethod, path: String, allowed: [HTTPMethod]) {
        #expect(Route.resolve(method: method, path: path) == .methodNotAllowed(allowed: allowed))
    }

    @Test("one trailing slash names the same resource")
    func trailingSlash() {
        #expect(Route.resolve(method: .get, path: "/sessions/") == .matched(.listSessions))
        #expect(Route.resolve(method: .post, path: "/sessions/") == .matched(.createSession))
        #expect(Route.resolve(method: .get, path: "/healthz/") == .matched(.health))
        #expect(Route.resolve(method: .delete, path: "/sessions/\(id)/") == .matched(.deleteSession(sessionID)))
        #expect(Route.resolve(method: .post, path: "/sessions/\(id)/restart/") == .matched(.restartSession(sessionID)))
        #expect(Route.resolve(method: .get, path: "/sessions//") == .notFound)
    }

    @Test("the query string does not change the route")
    func queryIgnored() {
        #expect(Route.resolve(method: .get, path: "/sessions", query: "after=3&limit=10") == .matched(.listSessions))
        // A `?` in the decoded path (`%3F`) is part of its segment, never a query.
        #expect(Route.resolve(method: .get, path: "/sessions?after=3") == .notFound)
        #expect(Route.resolve(method: .delete, path: "/push/tokens/?x") == .matched(.pushRemoveToken("?x")))
        #expect(HTTPRequest(parameters: { ["REQUEST_URI": "/sessions?after=3", "REQUEST_METHOD": "GET"][$0] }).path == "/sessions")
    }
}
