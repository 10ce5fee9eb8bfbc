import EggloguAgentService
import EggloguAgentSync
import EggloguAgentWeb
import EggloguMQTT
import EggloguSettings
import EggloguStore
import Foundation
import Logging

/// The agent's settings, checked and typed. Every problem is collected with its key, so
/// `config check` and start-up report the same list.
struct AgentConfig {
    /// What the command needs: each level checks everything the one before does, and more.
    enum Purpose: Int, Comparable {
        /// Commands on the replica alone (import, put, status, ...).
        case local
        /// `sync`: the server and the token too.
        case sync
        /// `run` and `config check`: the broker and the service's timers too.
        case run

        static func < (lhs: Purpose, rhs: Purpose) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The broker settings; the client id needs the replica's device id, known only once it is open.
    struct Broker {
        var host: String
        var port: Int
        var username: String?
        var password: String?
        var tls: MQTTConfiguration.TLS?
        var keepAliveSeconds: Int32

        /// The client id is the username (the brokers replace it with the username anyway, so that no
        /// other client can take it); without one, a name of this device.
        func configuration(device: String) -> MQTTConfiguration {
            var configuration = MQTTConfiguration(host: host, port: port, clientID: username ?? "egglogu-agent-" + device)
            configuration.username = username
            configuration.password = password
            configuration.tls = tls
            configuration.keepAliveSeconds = keepAliveSeconds
            return configuration
        }
    }

    let settings: Settings
    private(set) var problems: [SettingProblem] = []
    private(set) var replica = ReplicaConfiguration()
    private(set) var serverURL: String?
    private(set) var serverCAFile: String?
    private(set) var token: TokenStore?
    private(set) var broker: Broker?
    private(set) var service = AgentServiceConfiguration()
    /// The status page, or nil when it is off.
    private(set) var web: LocalWebConfiguration?
    private(set) var logLevel = Logger.Level.info

    init(_ settings: Settings, for purpose: Purpose) {
        self.settings = settings
        var check = SettingsValidator(settings)
        checkReplica(&check, purpose: purpose)
        if purpose >= .sync { checkServer(&check) }
        if purpose >= .run {
            checkBroker(&check)
            checkService(&check)
            checkWeb(&check)
        }
        problems = check.problems
    }

    /// Problems that stop the command.
    var fatalProblems: [SettingProblem] { problems.filter { $0.scope == .fatal } }

    private mutating func checkReplica(_ check: inout SettingsValidator, purpose: Purpose) {
        if purpose >= .run, check.required("EGGLOGU_REPLICA", "the replica file, e.g. /var/lib/egglogu-agent/replica.sqlite") != nil {
            _ = check.writablePath("EGGLOGU_REPLICA")
        }
        replica.deviceID = settings["EGGLOGU_DEVICE_ID"]
        if settings["EGGLOGU_DEVICE_ID"].map({ $0.isEmpty || $0.utf8.count > 256 }) == true {
            check.report("EGGLOGU_DEVICE_ID", "a device id is 1 to 256 bytes")
        }
        replica.farmID = check.identifier("EGGLOGU_FARM_ID")
        let skew = check.number("EGGLOGU_MAX_CLOCK_SKEW", default: 300, in: 1...86_400)
        replica.maxClockSkewMilliseconds = Int64(skew * 1000)
    }

    private mutating func checkServer(_ check: inout SettingsValidator) {
        serverURL = check.required("EGGLOGU_SERVER_URL", "the sync server's URL, e.g. https://sync.example.org").flatMap { _ in
            check.url("EGGLOGU_SERVER_URL")
        }
        if let ca = check.readableFile("EGGLOGU_SERVER_CA_FILE"), !Self.holdsPEM(ca, "CERTIFICATE") {
            check.report("EGGLOGU_SERVER_CA_FILE", "\(ca) holds no PEM certificate")
        }
        serverCAFile = settings["EGGLOGU_SERVER_CA_FILE"]
        let renewal = settings["EGGLOGU_RENEWED_TOKEN_FILE"]
        if renewal != nil, check.writablePath("EGGLOGU_RENEWED_TOKEN_FILE") != nil, FileManager.default.fileExists(atPath: renewal!) {
            _ = check.secretFile("EGGLOGU_RENEWED_TOKEN_FILE")
        }
        token = checkToken(&check, renewalFile: renewal)
    }

    /// `EGGLOGU_TOKEN_FILE` or `EGGLOGU_TOKEN`, whichever comes from the stronger source (the file when equal).
    private func checkToken(_ check: inout SettingsValidator, renewalFile: String?) -> TokenStore? {
        let file = settings.value("EGGLOGU_TOKEN_FILE")
        let literal = settings.value("EGGLOGU_TOKEN")
        let useFile = file != nil && (literal == nil || literal!.source <= file!.source)
        let store: TokenStore
        let key: String
        if useFile {
            key = "EGGLOGU_TOKEN_FILE"
            guard let path = check.secretFile(key), let loaded = try? TokenStore(file: path, renewalFile: renewalFile) else { return nil }
            store = loaded
        } else if let literal {
            key = "EGGLOGU_TOKEN"
            let origin: TokenStore.Origin = literal.source == .file ? settings.file.map { .configFile($0.path) } ?? .ephemeral : .ephemeral
            store = TokenStore(token: literal.text, origin: origin, renewalFile: renewalFile)
        } else {
            check.report("EGGLOGU_TOKEN_FILE", "missing: a file holding this device's token (egglogu-sync-server provision makes one)")
            return nil
        }
        let text = store.current
        if text == "unprovisioned" || text.isEmpty {
            check.report(key, "this gateway is not provisioned yet: run egglogu-sync-server provision and copy its files to /etc/egglogu-agent/")
            return nil
        }
        guard let claims = UnverifiedClaims(text) else {
            check.report(key, "does not hold a token (expected a JWT of three dot-separated parts)")
            return nil
        }
        if claims.expiresAt < Date() {
            check.report(key, "the token expired at \(ISO8601DateFormatter().string(from: claims.expiresAt)): provision a new one", scope: .warning)
        }
        if let farm = settings["EGGLOGU_FARM_ID"], !claims.farms.isEmpty, !claims.farms.contains(farm) {
            check.report(key, "the token is for farm \(claims.farms.joined(separator: ", ")), not \(farm)")
        }
        if let device = settings["EGGLOGU_DEVICE_ID"], claims.subject != device {
            check.report(key, "the token is for device \(claims.subject), not \(device)")
        }
        return store
    }

    private mutating func checkBroker(_ check: inout SettingsValidator) {
        guard let host = settings["EGGLOGU_MQTT_HOST"], !host.isEmpty else { return }
        var broker = Broker(host: host, port: 1883, keepAliveSeconds: 30)
        if host.contains(where: { $0.isWhitespace || $0 == "/" }) {
            check.report("EGGLOGU_MQTT_HOST", "\"\(host)\" is not a host name or address", scope: .broker)
        }
        let tls = settings["EGGLOGU_MQTT_TLS_CA_FILE"] != nil
        broker.port = check.port("EGGLOGU_MQTT_PORT", scope: .broker) ?? (tls ? 8883 : 1883)
        broker.username = settings["EGGLOGU_MQTT_USERNAME"]
        broker.password = settings["EGGLOGU_MQTT_PASSWORD"]
        if settings["EGGLOGU_MQTT_PASSWORD_FILE"] != nil {
            if let path = check.secretFile("EGGLOGU_MQTT_PASSWORD_FILE", scope: .broker), let data = FileManager.default.contents(atPath: path) {
                let password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                broker.password = password.isEmpty ? broker.password : password
            }
        }
        if broker.password != nil, broker.username == nil {
            check.report("EGGLOGU_MQTT_USERNAME", "missing: MQTT sends a password only with a username", scope: .broker)
        }
        broker.keepAliveSeconds = Int32(check.number("EGGLOGU_MQTT_KEEPALIVE", default: 30, in: 5...3_600, scope: .broker))
        if tls {
            let ca = check.readableFile("EGGLOGU_MQTT_TLS_CA_FILE", scope: .broker)
            if let ca, !Self.holdsPEM(ca, "CERTIFICATE") {
                check.report("EGGLOGU_MQTT_TLS_CA_FILE", "\(ca) holds no PEM certificate", scope: .broker)
            }
            let certificate = check.readableFile("EGGLOGU_MQTT_TLS_CERT_FILE", scope: .broker)
            let key = check.secretFile("EGGLOGU_MQTT_TLS_KEY_FILE", scope: .broker)
            if (settings["EGGLOGU_MQTT_TLS_CERT_FILE"] == nil) != (settings["EGGLOGU_MQTT_TLS_KEY_FILE"] == nil) {
                let missing = settings["EGGLOGU_MQTT_TLS_CERT_FILE"] == nil ? "EGGLOGU_MQTT_TLS_CERT_FILE" : "EGGLOGU_MQTT_TLS_KEY_FILE"
                check.report(missing, "missing: a client certificate and its key go together", scope: .broker)
            }
            if let ca { broker.tls = .init(caFile: ca, certificateFile: certificate, keyFile: key) }
        } else {
            for key in ["EGGLOGU_MQTT_TLS_CERT_FILE", "EGGLOGU_MQTT_TLS_KEY_FILE"] where settings[key] != nil {
                check.report(key, "needs EGGLOGU_MQTT_TLS_CA_FILE (TLS)", scope: .broker)
            }
        }
        if !check.problems.contains(where: { $0.scope == .broker }) {
            self.broker = broker
        }
    }

    private mutating func checkService(_ check: inout SettingsValidator) {
        service.pollInterval = check.number("EGGLOGU_POLL_INTERVAL", default: 30, in: 0.1...86_400)
        service.safetyPollInterval = check.number("EGGLOGU_SAFETY_POLL_INTERVAL", default: 900, in: 1...604_800)
        service.pushDebounce = check.number("EGGLOGU_PUSH_DEBOUNCE", default: 0.05, in: 0...60)
        service.maxClockSkewMilliseconds = replica.maxClockSkewMilliseconds
        let levels = Logger.Level.allCases.map(\.rawValue)
        logLevel = check.choice("EGGLOGU_LOG_LEVEL", of: levels).flatMap(Logger.Level.init(rawValue:)) ?? .info
    }

    private mutating func checkWeb(_ check: inout SettingsValidator) {
        guard let text = settings["EGGLOGU_HTTP_LISTEN"] else { return }
        guard let address = Self.listenAddress(text) else {
            check.report("EGGLOGU_HTTP_LISTEN", "\"\(text)\" is not off, on, HOST:PORT, HOST or PORT (1 to 65535)")
            return
        }
        guard let (host, port) = address else { return }
        var web = LocalWebConfiguration()
        web.host = host
        web.port = port
        web.hostNames = (settings["EGGLOGU_HTTP_HOST_NAMES"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let file = settings.value("EGGLOGU_HTTP_PASSWORD_FILE")
        let literal = settings.value("EGGLOGU_HTTP_PASSWORD")
        if let file, literal == nil || literal!.source <= file.source {
            if let path = check.secretFile("EGGLOGU_HTTP_PASSWORD_FILE"), let data = FileManager.default.contents(atPath: path) {
                let password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if password.count < 8 {
                    check.report("EGGLOGU_HTTP_PASSWORD_FILE", "\(path) holds a password of \(password.count) characters; use at least 8")
                }
                web.password = password
            }
        } else if let literal {
            if literal.text.count < 8 { check.report("EGGLOGU_HTTP_PASSWORD", "use a password of at least 8 characters") }
            web.password = literal.text
        }
        if web.password == nil, !web.isLoopback {
            check.report(
                "EGGLOGU_HTTP_LISTEN",
                "\(host) is reachable beyond this machine and no EGGLOGU_HTTP_PASSWORD_FILE is set: every request gets 401",
                scope: .warning
            )
        }
        self.web = web
    }

    /// `(host, port)`, `.some(nil)` for off, or `nil` when unreadable.
    static func listenAddress(_ text: String) -> (String, Int)?? {
        let value = text.trimmingCharacters(in: .whitespaces)
        switch value.lowercased() {
        case "", "off", "no", "false": return .some(nil)
        case "on", "yes", "true": return ("127.0.0.1", 8787)
        default: break
        }
        func port(_ digits: Substring) -> Int? {
            guard let n = Int(digits), (1...65_535).contains(n) || (n == 0 && digits == "0") else { return nil }
            return n
        }
        if value.allSatisfy(\.isNumber) { return port(Substring(value)).map { ("127.0.0.1", $0) } }
        if value.hasPrefix("["), let end = value.firstIndex(of: "]") {
            let host = String(value[value.index(after: value.startIndex)..<end])
            let rest = value[value.index(after: end)...]
            if rest.isEmpty { return (host, 8787) }
            guard rest.hasPrefix(":"), let p = port(rest.dropFirst()) else { return nil }
            return (host, p)
        }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard !parts[0].isEmpty, !parts[0].contains(where: { $0.isWhitespace || $0 == "/" }) else { return nil }
        if parts.count == 1 { return (String(parts[0]), 8787) }
        guard parts.count == 2, let p = port(parts[1]) else { return nil }
        return (String(parts[0]), p)
    }

    private static func holdsPEM(_ path: String, _ label: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return String(decoding: data, as: UTF8.self).contains("-----BEGIN \(label)-----")
    }
}
