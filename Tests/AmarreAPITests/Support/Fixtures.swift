import AmarreCore

enum Fixtures {
    static let sessionID = SessionID("00112233aabb")!  // 12 lowercase hex digits
    static let summary = SessionSummary(
        id: sessionID, name: "work", instanceId: "demo", status: .running, agent: "demo",
        spawnedAt: 1_700_000_000_000, clients: 0, cwd: "/tmp/work")
}
