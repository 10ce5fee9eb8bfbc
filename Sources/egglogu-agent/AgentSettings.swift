import EggloguAgentSync
import EggloguMQTT
import EggloguStore
import Foundation

/// Settings from a config file, then the environment, then flags: each overrides the one before.
///
/// The file is `KEY=VALUE` lines whose keys are the environment variables'
/// names (`EGGLOGU_REPLICA`, ...), so it also works as a systemd `EnvironmentFile=`.
/// Blank lines and lines starting with `#` are ignored; values may be quoted.
/// A relative `EGGLOGU_REPLICA` in a file is relative to the file's directory.
struct AgentSettings {
    static let knownKeys: Set<String> = [
        "EGGLOGU_REPLICA", "EGGLOGU_DEVICE_ID", "EGGLOGU_FARM_ID", "EGGLOGU_MAX_CLOCK_SKEW", "EGGLOGU_SERVER_URL",
        "EGGLOGU_TOKEN", "EGGLOGU_TOKEN_FILE", "EGGLOGU_SERVER_CA_FILE", "EGGLOGU_MQTT_HOST", "EGGLOGU_MQTT_PORT",
        "EGGLOGU_MQTT_USERNAME", "EGGLOGU_MQTT_PASSWORD", "EGGLOGU_MQTT_PASSWORD_FILE", "EGGLOGU_MQTT_TLS_CA_FILE",
        "EGGLOGU_MQTT_TLS_CERT_FILE", "EGGLOGU_MQTT_TLS_KEY_FILE", "EGGLOGU_POLL_INTERVAL", "EGGLOGU_SAFETY_POLL_INTERVAL",
        "EGGLOGU_PUSH_DEBOUNCE", "EGGLOGU_LOG_LEVEL", "EGGLOGU_MQTT_KEEPALIVE",
    ]
    /// Settings that name files: relative to the config file's directory when given there.
    static let pathKeys: Set<String> = [
        "EGGLOGU_REPLICA", "EGGLOGU_TOKEN_FILE", "EGGLOGU_SERVER_CA_FILE", "EGGLOGU_MQTT_PASSWORD_FILE",
        "EGGLOGU_MQTT_TLS_CA_FILE", "EGGLOGU_MQTT_TLS_CERT_FILE", "EGGLOGU_MQTT_TLS_KEY_FILE",
    ]

    /// Where a setting came from, in increasing precedence.
    enum Source: Int, Comparable {
        case file, environment, flag

        static func < (lhs: Source, rhs: Source) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private(set) var values: [String: String] = [:]
    private(set) var sources: [String: Source] = [:]
    private(set) var warnings: [String] = []
    let configFile: String?

    /// Layers the file (if any) and the environment.
    init(configFile: String?, environment: [String: String]) throws {
        self.configFile = configFile
        if let configFile {
            try load(file: configFile)
        }
        for key in Self.knownKeys {
            if let value = environment[key], !value.isEmpty {
                values[key] = value
                sources[key] = .environment
            }
        }
    }

    /// A setting; assigning one records it as given by a flag.
    subscript(key: String) -> String? {
        get { values[key] }
        set {
            values[key] = newValue
            sources[key] = .flag
        }
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
            if Self.pathKeys.contains(key), !value.hasPrefix("/") {
                value = directory + "/" + value
            }
            values[key] = value
            sources[key] = .file
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

extension AgentSettings {
    /// The token and where a renewed one goes: `EGGLOGU_TOKEN_FILE` or `EGGLOGU_TOKEN`, whichever
    /// comes from the stronger source (the file when equal).
    func tokenStore() throws -> TokenStore? {
        let file = values["EGGLOGU_TOKEN_FILE"].map { ($0, sources["EGGLOGU_TOKEN_FILE"] ?? .file) }
        let literal = values["EGGLOGU_TOKEN"].map { ($0, sources["EGGLOGU_TOKEN"] ?? .file) }
        if let file, literal == nil || literal!.1 <= file.1 {
            do {
                return try TokenStore(file: file.0)
            } catch let error as TokenStoreError {
                throw CLIError(Sysexits.config, error.description)
            }
        }
        guard let literal else { return nil }
        if literal.1 == .file, let configFile {
            return TokenStore(token: literal.0, origin: .configFile(configFile))
        }
        return TokenStore(token: literal.0, origin: .ephemeral)
    }
}

extension AgentSettings {
    /// A duration in seconds (decimals allowed) within `range`, or the default.
    func seconds(_ key: String, default value: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = values[key] else { return value }
        guard let seconds = Double(text), range.contains(seconds) else {
            throw CLIError(Sysexits.config, "\(key) must be a number of seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return seconds
    }

    /// The broker settings, or nil when no `EGGLOGU_MQTT_HOST` is set (poll-only mode).
    func mqtt(device: String) throws -> MQTTConfiguration? {
        guard let host = values["EGGLOGU_MQTT_HOST"], !host.isEmpty else { return nil }
        var configuration = MQTTConfiguration(host: host, clientID: "egglogu-agent-" + device)
        if let text = values["EGGLOGU_MQTT_PORT"] {
            guard let port = Int(text), (1...65_535).contains(port) else {
                throw CLIError(Sysexits.config, "EGGLOGU_MQTT_PORT must be a port number")
            }
            configuration.port = port
        } else if values["EGGLOGU_MQTT_TLS_CA_FILE"] != nil {
            configuration.port = 8883
        }
        configuration.username = values["EGGLOGU_MQTT_USERNAME"]
        configuration.password = values["EGGLOGU_MQTT_PASSWORD"]
        if let file = values["EGGLOGU_MQTT_PASSWORD_FILE"] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError(Sysexits.config, "cannot read the MQTT password file \(file)")
            }
            configuration.password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        configuration.keepAliveSeconds = Int32(try seconds("EGGLOGU_MQTT_KEEPALIVE", default: 30, in: 5...3_600))
        if let ca = values["EGGLOGU_MQTT_TLS_CA_FILE"] {
            configuration.tls = .init(caFile: ca, certificateFile: values["EGGLOGU_MQTT_TLS_CERT_FILE"], keyFile: values["EGGLOGU_MQTT_TLS_KEY_FILE"])
        }
        return configuration
    }
}
