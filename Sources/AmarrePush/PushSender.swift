import AsyncHTTPClient
import CoreMetrics
import AmarreAuth
import Foundation
public import Logging
public import NIOCore
import NIOHTTP1

/// Sends one event to every channel: Web Push subscriptions, Expo tokens, ntfy, a webhook.
///
/// Runs on its own event loop group (never the relay's): a slow or dead push service only
/// delays its own requests. Every request has a deadline; Web Push answers 429 and 5xx (and
/// transport errors) are retried with backoff; what the services say about gone endpoints and
/// tokens comes back in the `PushReport`.
public final class PushSender: Sendable {
    public struct Settings: Sendable {
        public var expoURL: String
        public var ntfyURL: String?
        public var ntfyToken: String?
        public var webhookURL: String?
        public var vapidSubject: String
        /// Deadline of one request.
        public var timeout: TimeAmount = .seconds(10)
        /// Web Push attempts after the first (1 s, 2 s, 4 s; `Retry-After` up to 60 s).
        public var retries: Int = 3
        public var retryBase: TimeAmount = .seconds(1)

        public init(expoURL: String, ntfyURL: String?, ntfyToken: String?, webhookURL: String?, vapidSubject: String) {
            self.expoURL = expoURL
            self.ntfyURL = ntfyURL
            self.ntfyToken = ntfyToken
            self.webhookURL = webhookURL
            self.vapidSubject = vapidSubject
        }
    }

    /// Longest answer body read from a push service.
    static let maxAnswerBytes = 1 << 20
    /// Longest `Retry-After` honoured.
    static let maxRetryAfterSeconds: Int64 = 60
    /// VAPID tokens are valid this long (RFC 8292 allows at most 24 h).
    static let vapidLifetimeSeconds: Int64 = 12 * 3600

    private let client: HTTPClient
    private let keys: VAPIDKeys
    public let settings: Settings
    private let logger: Logger
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup, keys: VAPIDKeys, settings: Settings, logger: Logger) {
        self.group = group
        self.keys = keys
        self.settings = settings
        self.logger = logger
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: settings.timeout))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
    }

    public var vapidPublicKey: String { keys.publicKeyBase64URL }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Sends `event`; `report` runs once, on one of the sender's event loops, when every
    /// channel has answered or given up.
    /// - Parameter gone: called at once for a subscription the push service says is gone, so
    ///   the next event skips it even while other channels of this one are still being sent.
    public func send(
        _ event: PushEvent, subscriptions: [WebPushSubscription], expoTokens: [String], useHooks: Bool = true,
        gone: @escaping @Sendable (String) -> Void = { _ in }, report: @escaping @Sendable (PushReport) -> Void
    ) {
        let loop = group.next()
        // Everything from here on (key agreement, encryption, signing) runs on the sender's
        // own loop, never on the caller's (the relay's).
        loop.execute {
            self.sendNow(event, subscriptions: subscriptions, expoTokens: expoTokens, useHooks: useHooks, on: loop, gone: gone, report: report)
        }
    }

    private func sendNow(
        _ event: PushEvent, subscriptions: [WebPushSubscription], expoTokens: [String], useHooks: Bool, on loop: any EventLoop,
        gone: @escaping @Sendable (String) -> Void, report: @escaping @Sendable (PushReport) -> Void
    ) {
        var futures: [EventLoopFuture<PushReport>] = []
        for subscription in subscriptions {
            futures.append(
                webPush(event, to: subscription, attempt: 0, on: loop).map { part in
                    for endpoint in part.goneEndpoints { gone(endpoint) }
                    return Self.counted(part, channel: "webpush")
                })
        }
        if !expoTokens.isEmpty { futures.append(expo(event, tokens: expoTokens, on: loop).map { Self.counted($0, channel: "expo") }) }
        if useHooks, let url = settings.ntfyURL { futures.append(ntfy(event, url: url, on: loop).map { Self.counted($0, channel: "ntfy") }) }
        if useHooks, let url = settings.webhookURL {
            futures.append(webhook(event, url: url, on: loop).map { Self.counted($0, channel: "webhook") })
        }
        EventLoopFuture.whenAllComplete(futures, on: loop).whenSuccess { results in
            var total = PushReport()
            for case .success(let part) in results { total.merge(part) }
            report(total)
        }
    }

    // MARK: Web Push

    private func webPush(_ event: PushEvent, to subscription: WebPushSubscription, attempt: Int, on loop: any EventLoop)
        -> EventLoopFuture<PushReport>
    {
        let request: HTTPClient.Request
        do {
            guard let p256dh = Secrets.base64urlDecode(subscription.p256dh), let auth = Secrets.base64urlDecode(subscription.auth),
                let audience = subscription.audience
            else { throw PushFileError("subscription keys or endpoint unusable") }
            let body: [UInt8]
            do {
                body = try WebPushCrypto.encrypt(event.json, p256dh: p256dh, auth: auth)
            } catch WebPushCrypto.Failure.payloadTooLarge {
                // Never lose the notification to its length: who needs you, at least.
                var short = event
                short.body = "\(event.sessionName) needs you"
                short.title = String(event.title.prefix(60))
                body = try WebPushCrypto.encrypt(short.json, p256dh: p256dh, auth: auth)
            }
            let expires = Int64(Date().timeIntervalSince1970) + Self.vapidLifetimeSeconds
            var headers = HTTPHeaders()
            headers.add(name: "Content-Encoding", value: "aes128gcm")
            headers.add(name: "Content-Type", value: "application/octet-stream")
            headers.add(name: "TTL", value: "86400")
            headers.add(name: "Urgency", value: event.isUrgent ? "high" : "normal")
            headers.add(
                name: "Authorization",
                value: try keys.authorization(audience: audience, subject: settings.vapidSubject, expires: expires))
            request = try HTTPClient.Request(url: subscription.endpoint, method: .POST, headers: headers, body: .bytes(body))
        } catch {
            logger.warning("web push not sent", metadata: ["push.endpoint": "\(Self.redacted(subscription.endpoint))", "error": "\(error)"])
            return loop.makeSucceededFuture(PushReport(failures: 1))
        }
        return client.execute(
            request: request, delegate: BoundedAnswer(limit: Self.maxAnswerBytes), eventLoop: .delegate(on: loop),
            deadline: .now() + settings.timeout
        ).futureResult
            .flatMapWithEventLoop { response, loop -> EventLoopFuture<PushReport> in
                switch response.status {
                case 200..<300:
                    return loop.makeSucceededFuture(PushReport(webPushSent: 1))
                case 404, 410:
                    self.logger.info("web push subscription gone", metadata: ["push.endpoint": "\(Self.redacted(subscription.endpoint))"])
                    return loop.makeSucceededFuture(PushReport(goneEndpoints: [subscription.endpoint]))
                case 429, 500..<600:
                    return self.retry(event, to: subscription, attempt: attempt, retryAfter: response.headers.first(name: "Retry-After"), on: loop,
                                      why: "HTTP \(response.status)")
                default:
                    self.logger.warning(
                        "web push refused", metadata: ["push.endpoint": "\(Self.redacted(subscription.endpoint))", "http.status": "\(response.status)"])
                    return loop.makeSucceededFuture(PushReport(failures: 1))
                }
            }
            .flatMapErrorWithEventLoop { error, loop in
                self.retry(event, to: subscription, attempt: attempt, retryAfter: nil, on: loop, why: "\(error)")
            }
    }

    private func retry(
        _ event: PushEvent, to subscription: WebPushSubscription, attempt: Int, retryAfter: String?, on loop: any EventLoop,
        why: String
    ) -> EventLoopFuture<PushReport> {
        guard attempt < settings.retries else {
            logger.warning(
                "web push failed; giving up",
                metadata: ["push.endpoint": "\(Self.redacted(subscription.endpoint))", "push.attempts": "\(attempt + 1)", "error": "\(why)"])
            return loop.makeSucceededFuture(PushReport(failures: 1))
        }
        var delay = settings.retryBase * Int64(1 << attempt)
        if let retryAfter, let seconds = Int64(retryAfter.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            delay = .seconds(min(seconds, Self.maxRetryAfterSeconds))
        }
        logger.debug("web push retried", metadata: ["push.attempt": "\(attempt + 1)", "push.delay_ms": "\(delay.nanoseconds / 1_000_000)"])
        return loop.flatScheduleTask(in: delay) { self.webPush(event, to: subscription, attempt: attempt + 1, on: loop) }.futureResult
    }

    // MARK: Expo

    private func expo(_ event: PushEvent, tokens: [String], on loop: any EventLoop) -> EventLoopFuture<PushReport> {
        var data: [String: String] = ["amarre": "1", "trigger": event.trigger.rawValue, "sessionId": event.sessionId, "url": event.url]
        if let requestId = event.requestId { data["requestId"] = requestId }
        let messages: [[String: Any]] = tokens.map {
            ["to": $0, "title": event.title, "body": event.body, "sound": "default",
             "priority": event.isUrgent ? "high" : "default", "data": data]
        }
        return postJSON(messages, to: settings.expoURL, on: loop).map { response -> PushReport in
            guard let (status, body) = response, (200..<300).contains(status) else {
                self.logger.warning("expo push failed", metadata: ["http.status": "\(response?.0 ?? 0)"])
                return PushReport(failures: 1)
            }
            var report = PushReport(expoSent: tokens.count)
            let answer = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
            for (i, ticket) in ((answer?["data"] as? [[String: Any]]) ?? []).enumerated() where i < tokens.count {
                if ticket["status"] as? String == "error",
                    (ticket["details"] as? [String: Any])?["error"] as? String == "DeviceNotRegistered"
                {
                    report.goneTokens.append(tokens[i])
                }
            }
            report.expoSent -= report.goneTokens.count
            return report
        }
    }

    // MARK: ntfy and webhooks

    private func ntfy(_ event: PushEvent, url: String, on loop: any EventLoop) -> EventLoopFuture<PushReport> {
        var headers = HTTPHeaders()
        // Header values must be one line of visible text.
        headers.add(name: "Title", value: Self.headerSafe(event.title))
        headers.add(name: "Click", value: Self.headerSafe(event.url))
        headers.add(name: "Priority", value: event.isUrgent ? "high" : "default")
        headers.add(name: "Tags", value: "amarre")
        if let token = settings.ntfyToken { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return post(Array(event.body.utf8), headers: headers, to: url, on: loop).map { response in
            guard let (status, _) = response, (200..<300).contains(status) else {
                self.logger.warning("ntfy notification failed", metadata: ["http.status": "\(response?.0 ?? 0)"])
                return PushReport(failures: 1)
            }
            return PushReport(hooksSent: 1)
        }
    }

    private func webhook(_ event: PushEvent, url: String, on loop: any EventLoop) -> EventLoopFuture<PushReport> {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return post(event.json, headers: headers, to: url, on: loop).map { response in
            guard let (status, _) = response, (200..<300).contains(status) else {
                self.logger.warning("webhook failed", metadata: ["http.status": "\(response?.0 ?? 0)"])
                return PushReport(failures: 1)
            }
            return PushReport(hooksSent: 1)
        }
    }

    private func postJSON(_ value: Any, to url: String, on loop: any EventLoop) -> EventLoopFuture<(Int, [UInt8])?> {
        guard let body = try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]) else {
            return loop.makeSucceededFuture(nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: "application/json")
        return post(Array(body), headers: headers, to: url, on: loop)
    }

    /// One POST; nil when it could not be made or had no answer in time.
    private func post(_ body: [UInt8], headers: HTTPHeaders, to url: String, on loop: any EventLoop)
        -> EventLoopFuture<(Int, [UInt8])?>
    {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .bytes(body))
        } catch {
            logger.warning("notification URL unusable", metadata: ["error": "\(error)"])
            return loop.makeSucceededFuture(nil)
        }
        return client.execute(
            request: request, delegate: BoundedAnswer(limit: Self.maxAnswerBytes), eventLoop: .delegate(on: loop),
            deadline: .now() + settings.timeout
        ).futureResult
            .map { response -> (Int, [UInt8])? in (response.status, response.body) }
            .recover { error in
                self.logger.warning("notification request failed", metadata: ["error": "\(error)"])
                return nil
            }
    }

    /// Counts one channel's outcome (`amarre_push_sent_total`, `amarre_push_failed_total`).
    private static func counted(_ part: PushReport, channel: String) -> PushReport {
        let sent = part.webPushSent + part.expoSent + part.hooksSent
        if sent > 0 { Counter(label: "amarre_push_sent_total", dimensions: [("channel", channel)]).increment(by: sent) }
        if part.failures > 0 {
            Counter(label: "amarre_push_failed_total", dimensions: [("channel", channel)]).increment(by: part.failures)
        }
        return part
    }

    /// An endpoint without its path (push services put the subscription's secret id there).
    static func redacted(_ endpoint: String) -> String {
        guard let url = URL(string: endpoint), let scheme = url.scheme, let host = url.host else { return "?" }
        return scheme + "://" + host + "/…"
    }

    static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }
}

/// What one event's sending came to.
public struct PushReport: Sendable, Equatable {
    public var webPushSent = 0
    public var expoSent = 0
    public var hooksSent = 0
    public var failures = 0
    /// Subscriptions the push service says are gone (404, 410): to be removed.
    public var goneEndpoints: [String] = []
    /// Expo tokens answered with `DeviceNotRegistered`: to be removed.
    public var goneTokens: [String] = []

    public init(
        webPushSent: Int = 0, expoSent: Int = 0, hooksSent: Int = 0, failures: Int = 0, goneEndpoints: [String] = [],
        goneTokens: [String] = []
    ) {
        self.webPushSent = webPushSent
        self.expoSent = expoSent
        self.hooksSent = hooksSent
        self.failures = failures
        self.goneEndpoints = goneEndpoints
        self.goneTokens = goneTokens
    }

    mutating func merge(_ other: PushReport) {
        webPushSent += other.webPushSent
        expoSent += other.expoSent
        hooksSent += other.hooksSent
        failures += other.failures
        goneEndpoints += other.goneEndpoints
        goneTokens += other.goneTokens
    }
}

/// A push service's answer, its body kept only up to a limit: a service (or an endpoint a
/// paired device registered) that streams a huge answer cannot grow the host's memory.
final class BoundedAnswer: HTTPClientResponseDelegate, @unchecked Sendable {
    // Called on the task's event loop only, one call at a time (AsyncHTTPClient's contract).
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    private let limit: Int
    private var answer = Response(status: 0, headers: HTTPHeaders(), body: [])

    init(limit: Int) { self.limit = limit }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        answer.status = Int(head.status.code)
        answer.headers = head.headers
        return task.eventLoop.makeSucceededFuture(())
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        if answer.body.count < limit { answer.body += buffer.readableBytesView.prefix(limit - answer.body.count) }
        return task.eventLoop.makeSucceededFuture(())
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response { answer }
}
