/// Who is looking at a session, for notifications: a viewer is looking when its page said it
/// is visible (`amarre.presence`), or, if it never said, when it sent a message within the
/// grace window (the original amarre's rule). Pure: the session feeds it the events.
struct Attention {
    struct Viewer: Equatable {
        var visible: Bool?
        var lastMessageAt: Int64?
    }

    let graceMs: Int64
    private(set) var viewers: [ObjectIdentifier: Viewer] = [:]

    init(graceMs: Int64) {
        self.graceMs = graceMs
    }

    mutating func attached(_ viewer: ObjectIdentifier) { viewers[viewer] = Viewer() }
    mutating func detached(_ viewer: ObjectIdentifier) { viewers[viewer] = nil }
    mutating func removeAll() { viewers.removeAll() }

    mutating func sent(_ viewer: ObjectIdentifier, at now: Int64) {
        viewers[viewer]?.lastMessageAt = now
    }

    mutating func presence(_ viewer: ObjectIdentifier, visible: Bool) {
        viewers[viewer]?.visible = visible
    }

    /// When looking ends by itself (the last message of a viewer without presence leaves the
    /// grace window); nil when nobody is looking or a visible viewer is (that ends only by an
    /// event: presence, or leaving).
    func lookingEnds(now: Int64) -> Int64? {
        guard isLooking(now: now), !viewers.values.contains(where: { $0.visible == true }) else { return nil }
        return viewers.values.compactMap { $0.visible == nil ? $0.lastMessageAt.map { $0 + graceMs } : nil }.max()
    }

    func isLooking(now: Int64) -> Bool {
        viewers.values.contains { viewer in
            if let visible = viewer.visible { return visible }
            if let last = viewer.lastMessageAt { return now - last < graceMs }
            return false
        }
    }
}
