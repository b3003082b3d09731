import AmarreAgents
import AmarreJSON

/// Token counts and cost of one assistant message, in pi's `Usage` shape.
struct DemoUsage: Sendable {
    var input: Int
    var output: Int

    static let zero = DemoUsage(input: 0, output: 0)

    /// A plausible estimate: a fixed system prompt plus about four characters per token.
    static func estimate(contextCharacters: Int, outputCharacters: Int) -> DemoUsage {
        DemoUsage(
            input: systemPromptTokens + contextCharacters / 4,
            output: outputCharacters == 0 ? 0 : max(1, outputCharacters / 4))
    }

    /// Tokens of the (imaginary) system prompt and tool definitions sent with every request.
    static let systemPromptTokens = 1_184

    var json: JSONValue {
        let inputCost = Self.dollars(input, perMillion: DemoModel.inputCostPerMillion)
        let outputCost = Self.dollars(output, perMillion: DemoModel.outputCostPerMillion)
        return [
            "input": .int(input),
            "output": .int(output),
            "cacheRead": 0,
            "cacheWrite": 0,
            "totalTokens": .int(input + output),
            "cost": [
                "input": .double(inputCost),
                "output": .double(outputCost),
                "cacheRead": .double(0),
                "cacheWrite": .double(0),
                "total": .double(Self.rounded(inputCost + outputCost)),
            ],
        ]
    }

    private static func dollars(_ tokens: Int, perMillion price: Double) -> Double {
        rounded(Double(tokens) * price / 1_000_000)
    }

    /// Rounded to a millionth of a dollar, so the printed numbers carry no floating-point noise.
    private static func rounded(_ dollars: Double) -> Double {
        (dollars * 1_000_000).rounded() / 1_000_000
    }
}
