import AmarreAgents
import AmarreJSON

/// The model the demo agent pretends to be, in pi's `Model` shape.
enum DemoModel {
    static let provider = "amarre"
    static let id = "demo-1"
    static let name = "Demo"
    static let api = "amarre-demo"

    /// US dollars per million tokens, used for the `usage.cost` of each assistant message.
    static let inputCostPerMillion = 3.0
    static let outputCostPerMillion = 15.0

    static var json: JSONValue {
        [
            "provider": .string(provider),
            "id": .string(id),
            "name": .string(name),
            "api": .string(api),
            "reasoning": false,
            "input": ["text"],
            "contextWindow": 200_000,
            "maxTokens": 8_192,
            "cost": [
                "input": .double(inputCostPerMillion),
                "output": .double(outputCostPerMillion),
                "cacheRead": .double(0),
                "cacheWrite": .double(0),
            ],
        ]
    }
}
