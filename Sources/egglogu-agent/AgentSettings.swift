import EggloguStore
import Foundation

/// Settings from a config file, then the environment, then flags: each overrides the one before.
///
/// The file is `KEY=VALUE` lines whose keys are the environment variables'
/// names (`EGGLOGU_REPLICA`, ...), so it also works as a systemd `EnvironmentFile=`.
/// Blank lines and lines starting with `#` are ignored; values may be quoted.
/// A relative `EGGLOGU_REPLICA` in a file is relative to the file's directory.
struct AgentSettings {
    static let knownKeys: Set<String> = ["EGGLOGU_REPLICA", "EGGLOGU_DEVICE_ID", "EGGLOGU_FARM_ID", "EGGLOGU_MAX_CLOCK_SKEW"]

    private(set) var values: [String: String] = [:]
    private(set) var warnings: [String] = []

    /// Layers the file (if any) and the environment.
    init(configFile: String?, environment: [String: String]) throws {
        if let configFile {
            try load(file: configFile)
        }
        for key in Self.knownKeys {
            if let value = environment[key], !value.isEmpty { values[key] = value }
        }
    }

    subscript(key: String) -> String? {
        get { values[key] }
        set { values[key] = newValue }
    }

    private mutating func load(file: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CLIError(Sysexits.config, "cannot read config file \(file)")
        }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                throw CLIError(Sysexits.config, "\(file):\(n + 1): expected KEY=VALUE")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            guard key.hasPrefix("EGGLOGU_") else { continue }
            if !Self.knownKeys.contains(key) {
                warnings.append("\(file):\(n + 1): unknown setting \(key) ignored")
                continue
            }
            if key == "EGGLOGU_REPLICA", !value.hasPrefix("/") {
                value = directory + "/" + value
            }
            values[key] = value
        }
    }

    /// The replica configuration these settings describe.
    func replicaConfiguration(create: Bool) throws -> ReplicaConfiguration {
        var configuration = ReplicaConfiguration()
        configuration.createIfMissing = create
        configuration.deviceID = values["EGGLOGU_DEVICE_ID"]
        configuration.farmID = values["EGGLOGU_FARM_ID"]
        if let skew = values["EGGLOGU_MAX_CLOCK_SKEW"] {
            guard let seconds = Double(skew), seconds >= 1, seconds <= 86_400 else {
                throw CLIError(Sysexits.config, "EGGLOGU_MAX_CLOCK_SKEW must be a number of seconds between 1 and 86400")
            }
            configuration.maxClockSkewMilliseconds = Int64(seconds * 1000)
        }
        return configuration
    }
}
