import AmarreJSON
extension AdapterOutput {
    /// Adds a record for every client.
    mutating func client(_ record: JSONValue) {
        toClients.append(record.jsonBytes)
    }

    /// Adds a line for the agent's stdin.
    mutating func agent(_ record: JSONValue) {
        toAgent.append(record.jsonBytes)
    }
}
