import EggloguJSON

/// What `config check` prints: every problem by key, as text or as a JSON array.
public struct ConfigCheckReport: Sendable {
    public let file: String
    public let problems: [SettingProblem]
    /// Lines describing a good configuration (shown only when there is no problem).
    public let summary: [String]
    /// Appended to broker problems, e.g. " (the agent would poll instead)".
    public let brokerNote: String

    public init(file: String, problems: [SettingProblem], summary: [String] = [], brokerNote: String = "") {
        self.file = file
        self.problems = problems
        self.summary = summary
        self.brokerNote = brokerNote
    }

    /// The report, as lines of text or one JSON document.
    public func render(json: Bool) -> String {
        if json { return JSONValue.array(problems.map(\.json)).jsonText(.pretty) }
        if problems.isEmpty { return (["ok: \(file)"] + summary.map { "  " + $0 }).joined(separator: "\n") }
        var lines = ["\(file): \(problems.count) problem\(problems.count == 1 ? "" : "s")"]
        for problem in problems { lines.append("  " + problem.description + (problem.scope == .broker ? brokerNote : "")) }
        return lines.joined(separator: "\n")
    }
}

extension SettingProblem {
    /// `{"key":…,"message":…,"location":…,"scope":"fatal"|"broker"|"warning"}`.
    public var json: JSONValue {
        let scope: String =
            switch self.scope {
            case .fatal: "fatal"
            case .broker: "broker"
            case .warning: "warning"
            }
        return [
            "key": key.map(JSONValue.string) ?? .null, "message": .string(message),
            "location": location.map(JSONValue.string) ?? .null, "scope": .string(scope),
        ]
    }
}

extension SettingsSchema {
    /// Every key with what it means, one per line, for `config keys`.
    public var listing: String {
        let width = ordered.map(\.name.count).max() ?? 0
        return ordered.map { $0.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n")
    }
}
