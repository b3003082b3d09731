import AmarreCore
import AmarreMetrics
import CoreMetrics

/// amarre-api's series: `amarre_http_requests_total{route,method,status}`, the route being
/// the path's pattern (`/sessions/{id}`), `unmatched` for paths that name nothing.
enum APIMetrics {
    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// Counters made so far (a bounded set: routes × methods × statuses).
    private static let counters = ReadMostly<[Key: Counter]>([:])

    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    static func counted(_ request: HTTPRequest, status: Int) {
        let route = Resource(path: request.path).map { $0.route(for: request.method)?.template ?? $0.template } ?? "unmatched"
        // Methods come from clients: anything unusual is one label, so the series stay few.
        let method = knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        let key = Key(route: route, method: method, status: status)
        if let counter = counters.read({ $0[key] }) {
            counter.increment()
            return
        }
        let counter = counters.write { made in
            if let counter = made[key] { return counter }
            let counter = Counter(
                label: AmarreMetrics.Names.httpRequests,
                dimensions: [("route", key.route), ("method", key.method), ("status", String(status))])
            made[key] = counter
            return counter
        }
        counter.increment()
    }
}

/// A control channel that sends every request as `.traced` with the HTTP request's id, so the
/// host logs what it does for it under the same `request.id`.
struct TracedChannel<Base: ControlChannel>: ControlChannel {
    let base: Base
    let requestID: String

    func exchange(_ request: ControlRequest) throws(AmarreError) -> ControlResponse {
        try base.exchange(.traced(requestId: requestID, request: request))
    }
}
