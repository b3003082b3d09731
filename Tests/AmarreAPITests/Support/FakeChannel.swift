import AmarreAPI
import AmarreCore

/// A `ControlChannel` that answers from a closure and records what it was asked.
final class FakeChannel: ControlChannel {
    private let answer: (ControlRequest) throws(AmarreError) -> ControlResponse
    private(set) var requests: [ControlRequest] = []

    init(_ answer: @escaping (ControlRequest) throws(AmarreError) -> ControlResponse) {
        self.answer = answer
    }

    /// A channel that answers every request with `response`.
    convenience init(always response: ControlResponse) {
        self.init { _ throws(AmarreError) in response }
    }

    /// A channel whose host cannot be reached.
    static func unreachable() -> FakeChannel {
        FakeChannel { _ throws(AmarreError) in throw AmarreError(.hostUnavailable) }
    }

    func exchange(_ request: ControlRequest) throws(AmarreError) -> ControlResponse {
        requests.append(request)
        return try answer(request)
    }
}
