import AmarreCore
import AmarrePush
import Foundation
import Logging
import NIOCore

/// The host's notifications: what is registered (`push.json`), the words of each event
/// (`PushTexts`), and handing events to the `PushSender`, whose reports come back here to
/// remove what the push services say is gone.
///
/// Confined to the host's event loop. With `AMARRE_PUSH=0` (or no sender) it sends nothing
/// and refuses every push request.
final class PushCenter {
    let texts: PushTexts
    let graceMs: Int64
    private let path: String
    private let sender: PushSender?
    private let eventLoop: any EventLoop
    private let logger: Logger
    private var registry: PushRegistry
    /// Called on the event loop after an event went out to Expo (for `amarre.push_sent`).
    var expoDelivered: ((PushEvent, Int) -> Void)?

    init(configuration: AmarreConfiguration, sender: PushSender?, registry: PushRegistry, eventLoop: any EventLoop, logger: Logger) {
        self.texts = PushTexts(
            detail: PushTexts.Detail(rawValue: configuration.pushDetail) ?? .full, publicURL: configuration.effectivePublicURL)
        self.graceMs = Int64(configuration.pushGraceMs)
        self.path = configuration.pushPath
        self.sender = configuration.push ? sender : nil
        self.eventLoop = eventLoop
        self.logger = logger
        self.registry = registry
    }

    var isEnabled: Bool { sender != nil }

    /// Sends `event` to every registered subscription and token, and to ntfy and the webhook.
    func notify(_ event: PushEvent) {
        guard let sender else { return }
        logger.info("notification", metadata: ["push.trigger": "\(event.trigger.rawValue)", "session.id": "\(event.sessionId)"])
        let tokens = registry.expoTokens.map(\.token)
        send(event, subscriptions: registry.subscriptions, tokens: tokens, hooks: true, sender: sender)
    }

    /// Whether an approval was already notified (kept across restarts).
    func wasNotified(session: SessionID, request: String) -> Bool {
        registry.notified.contains(session.rawValue + "/" + request)
    }

    func markNotified(session: SessionID, request: String) {
        registry.markNotified(session.rawValue + "/" + request)
        save(wait: false)
    }

    /// A revoked device's subscriptions and tokens go with it.
    func deviceRevoked(_ id: String) {
        if registry.removeDevice(id) { save() }
    }

    // MARK: control requests

    func handle(_ request: ControlRequest) throws(AmarreError) -> ControlResponse {
        guard let sender else {
            throw AmarreError(.pushDisabled, detail: "notifications are off (AMARRE_PUSH=0)")
        }
        switch request {
        case .pushVapid:
            return .pushVapid(publicKey: sender.vapidPublicKey)
        case .pushSubscribe(let json, let deviceId):
            let subscription = try WebPushSubscription.parse(Array(json.utf8), deviceId: deviceId, now: DeviceRegistry.epochMs())
            registry.add(subscription)
            save()
            return .pushSubscribed(endpoint: subscription.endpoint)
        case .pushUnsubscribe(let endpoint):
            let before = registry.subscriptions.count
            registry.subscriptions.removeAll { $0.endpoint == endpoint }
            if registry.subscriptions.count != before { save() }
            return .deleted
        case .pushTest(let deviceId):
            let mine = registry.subscriptions.filter { deviceId == nil || $0.deviceId == deviceId }
            send(texts.test(), subscriptions: mine, tokens: [], hooks: false, sender: sender)
            return .pushTested(sent: mine.count)
        case .pushTokens:
            return .pushTokens(list: registry.expoTokens.map(\.token))
        case .pushAddToken(let token, let deviceId):
            guard ExpoToken.isValid(token) else {
                throw .badRequest("\"token\" must be an Expo push token: ExponentPushToken[…] or ExpoPushToken[…]")
            }
            registry.add(token: token, deviceId: deviceId, now: DeviceRegistry.epochMs())
            save()
            return .pushToken(token: token)
        case .pushRemoveToken(let token):
            let before = registry.expoTokens.count
            registry.expoTokens.removeAll { $0.token == token }
            if registry.expoTokens.count != before { save() }
            return .deleted
        default:
            throw AmarreError(.internalError)
        }
    }

    // MARK: private

    private func send(_ event: PushEvent, subscriptions: [WebPushSubscription], tokens: [String], hooks: Bool, sender: PushSender) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        sender.send(
            event, subscriptions: subscriptions, expoTokens: tokens, useHooks: hooks,
            gone: { endpoint in loop.execute { bound.value.removeGone(endpoint) } },
            report: { report in loop.execute { bound.value.sent(event, report) } })
    }

    private func removeGone(_ endpoint: String) {
        let before = registry.subscriptions.count
        registry.subscriptions.removeAll { $0.endpoint == endpoint }
        if registry.subscriptions.count != before { save() }
    }

    private func sent(_ event: PushEvent, _ report: PushReport) {
        var changed = false
        // Gone subscriptions went already (`removeGone`), as soon as their service said so.
        if !report.goneTokens.isEmpty {
            registry.expoTokens.removeAll { report.goneTokens.contains($0.token) }
            changed = true
        }
        if changed { save() }
        logger.debug(
            "notification sent",
            metadata: [
                "push.trigger": "\(event.trigger.rawValue)", "push.web": "\(report.webPushSent)", "push.expo": "\(report.expoSent)",
                "push.hooks": "\(report.hooksSent)", "push.failures": "\(report.failures)",
            ])
        let expoTried = report.expoSent + report.goneTokens.count
        if expoTried > 0 { expoDelivered?(event, report.expoSent) }
    }

    /// Every write goes through one queue, in order. What a device registers is written before
    /// it is answered (`wait`), so it survives a SIGKILL; what is noted per notification is
    /// written without waiting (a write with fsync there would stall every session's relay).
    private static let writer = DispatchQueue(label: "amarre.push.registry")

    private func save(wait: Bool = true) {
        let snapshot = registry
        let (path, logger) = (self.path, self.logger)
        let write: @Sendable () -> Void = {
            do {
                try snapshot.save(to: path)
            } catch {
                logger.error("cannot write the push registry", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        if wait { Self.writer.sync(execute: write) } else { Self.writer.async(execute: write) }
    }
}
