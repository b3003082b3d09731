@testable import AmarreAgents
import AmarreJSON
import Testing

/// Runs an adapter against a real agent process, as the host does: what the adapter returns
/// for the agent is written to its stdin, its stdout lines are fed back, client records are
/// collected.
struct AdapterDriver<Adapter: AgentAdapter> {
    var adapter: Adapter
    let process: LineProcess
    /// Every client record so far, parsed.
    private(set) var records: [JSONValue] = []
    /// Where the next `until` starts looking: just past the record the last one found.
    private var cursor = 0

    init(adapter: Adapter, process: LineProcess) throws {
        self.adapter = adapter
        self.process = process
        try perform(self.adapter.started())
    }

    /// Sends a client frame.
    mutating func client(_ line: String) throws {
        try perform(adapter.fromClient(Array(line.utf8)))
    }

    /// Reads the agent until a client record after the last one found satisfies `predicate`;
    /// returns that record.
    @discardableResult
    mutating func until(_ what: String, _ predicate: (JSONValue) -> Bool) throws -> JSONValue {
        while true {
            if let index = records[cursor...].firstIndex(where: predicate) {
                cursor = index + 1
                return records[index]
            }
            guard let line = try process.readLine() else {
                throw LineProcess.Failure.timedOut("\(what) (the agent closed its output)")
            }
            try perform(adapter.fromAgent(line))
        }
    }

    /// Reads until a client record of `type` (and `method`, if given) arrives.
    @discardableResult
    mutating func until(type: String, method: String? = nil) throws -> JSONValue {
        try until(method.map { "\(type) \($0)" } ?? type) {
            $0["type"]?.stringValue == type && (method == nil || $0["method"]?.stringValue == method)
        }
    }

    private mutating func perform(_ out: AdapterOutput) throws {
        for line in out.toAgent { try process.write(line) }
        records += try out.toClients.map { try JSONFixture.parse($0) }
    }

    /// The `type` of every client record so far.
    var types: [String] { records.map { $0["type"]?.stringValue ?? "?" } }

    func records(_ type: String) -> [JSONValue] { records.filter { $0["type"]?.stringValue == type } }
}
