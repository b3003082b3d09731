public import AmarreCore

/// One request/answer exchange with the session host.
///
/// `HostClient` speaks it over the control socket; tests substitute a closure.
public protocol ControlChannel {
    /// Sends `request` and returns the host's answer, which may itself be a `.failure`.
    ///
    /// - Throws: `host_unavailable` when the host cannot be reached or the exchange breaks,
    ///   `internal_error` when the request cannot be encoded. The cause is logged, not thrown.
    func exchange(_ request: ControlRequest) throws(AmarreError) -> ControlResponse
}
