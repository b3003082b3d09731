/// One viewer's place in a session's log and how it is fed, without I/O: live (each record
/// queued as it is published) or catching up from the store (pages after `delivered`, read as
/// its queue drains), until it rejoins the live stream where the log ends.
///
/// The host's `ClientConnection` holds one beside its outbound queue and does what the
/// decisions say. The invariant it keeps: `delivered` is the `_seq` of the last log record
/// queued for the viewer, and every record after it reaches the viewer exactly once — live
/// records are taken only in `.live`, and a catch-up resumes from `delivered`.
public struct ClientCursor: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case live
        case catchingUp
        /// Closing or dropped: nothing more is taken.
        case ended
    }

    /// What to do with a live record.
    public enum LiveDecision: Sendable, Equatable {
        /// Queue it (the cursor moved to it).
        case queue
        /// It does not fit: stop taking live records and catch up from the store instead.
        case catchUp
        /// It does not fit and there is no store to catch up from: drop the viewer (1013).
        case drop
        /// Not taking live records now (catching up, or ended): the store has it.
        case skip
    }

    public private(set) var delivered: Int64
    public private(set) var mode: Mode = .live

    /// A viewer that starts at `seq` (the log's end when it attaches).
    public init(at seq: Int64 = 0) {
        delivered = seq
    }

    /// A live record `seq` of `bytes` bytes, offered to a queue holding `queuedBytes`
    /// (`queueEmpty`: nothing) of at most `limit`. A record always fits an empty queue, however
    /// large, so a viewer is never stuck on one record.
    public mutating func offer(seq: Int64, bytes: Int, queuedBytes: Int, queueEmpty: Bool, limit: Int, canCatchUp: Bool)
        -> LiveDecision
    {
        guard mode == .live else { return .skip }
        if !queueEmpty, queuedBytes + bytes > limit {
            if canCatchUp {
                mode = .catchingUp
                return .catchUp
            }
            mode = .ended
            return .drop
        }
        delivered = seq
        return .queue
    }

    /// A `since` replay: catch up from `seq` on.
    public mutating func beginCatchUp(after seq: Int64) {
        guard mode != .ended else { return }
        delivered = seq
        mode = .catchingUp
    }

    /// A page of stored records through `seq` was queued. False: not catching up (drop it).
    @discardableResult
    public mutating func caughtUp(through seq: Int64?) -> Bool {
        guard mode == .catchingUp else { return false }
        if let seq { delivered = max(delivered, seq) }
        return true
    }

    /// The catch-up reached the end of the log, `seq`: live records flow again. False: it was
    /// not catching up.
    @discardableResult
    public mutating func rejoin(at seq: Int64) -> Bool {
        guard mode == .catchingUp else { return false }
        mode = .live
        delivered = seq
        return true
    }

    /// Closing, dropped or revoked: nothing more.
    public mutating func end() {
        mode = .ended
    }
}
