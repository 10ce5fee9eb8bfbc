import EggloguMQTT
import EggloguPostgres
import EggloguServer
import EggloguSettings
import Foundation
import Logging

/// The server's settings, checked and typed, every problem collected with its key.
struct ServerConfig {
    enum Purpose: Int, Comparable {
        /// Administrative commands: the data directory and the secret.
        case admin
        /// `serve` and `config check`: everything.
        case serve

        static func < (lhs: Purpose, rhs: Purpose) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    let settings: Settings
    private(set) var problems: [SettingProblem] = []
    private(set) var dataDirectory: String?
    private(set) var secretFile: String?
    private(set) var host = "127.0.0.1"
    private(set) var port = 8080
    private(set) var maxClockSkewMilliseconds: Int64 = 300_000
    private(set) var maxOpenFarms = 512
    private(set) var tombstoneRetentionDays: Double = 90
    private(set) var noticeInlineBytes = 8_192
    private(set) var tlsCertificate: String?
    private(set) var tlsKey: String?
    private(set) var publicKeys: [String] = []
    private(set) var appTokens: AppTokenConfiguration?
    private(set) var timeouts = ConnectionTimeouts()
    private(set) var mqtt: MQTTConfiguration?
    private(set) var logLevel = Logger.Level.info
    /// The shared database, when the farms live in PostgreSQL instead of the data directory.
    private(set) var database: PostgresURL?
    private(set) var databaseConnections = 20

    /// - Parameter needsData: false for commands that can work from the secret alone (`token`).
    init(_ settings: Settings, for purpose: Purpose, needsData: Bool = true) {
        self.settings = settings
        var check = SettingsValidator(settings)
        if needsData || settings["EGGLOGU_SYNC_JWT_SECRET_FILE"] == nil {
            dataDirectory = check.required("EGGLOGU_SYNC_DATA_DIR", "the data directory, e.g. /var/lib/egglogu-sync-server")
        } else {
            dataDirectory = settings["EGGLOGU_SYNC_DATA_DIR"]
        }
        if let directory = dataDirectory, !FileManager.default.fileExists(atPath: directory) {
            if let problem = FileCheck.writable(directory) { check.report("EGGLOGU_SYNC_DATA_DIR", "cannot be created: \(problem)") }
        }
        if settings["EGGLOGU_SYNC_JWT_SECRET_FILE"] != nil, let file = check.secretFile("EGGLOGU_SYNC_JWT_SECRET_FILE") {
            do {
                _ = try DataDirectory.readSecret(file)
                secretFile = file
            } catch {
                check.report("EGGLOGU_SYNC_JWT_SECRET_FILE", "\(error)")
            }
        }
        checkDatabase(&check)
        if purpose >= .serve { checkServing(&check) }
        problems = check.problems
    }

    /// `EGGLOGU_SYNC_DATABASE`: a wrong URL is named here, before anything starts.
    private mutating func checkDatabase(_ check: inout SettingsValidator) {
        databaseConnections = Int(check.number("EGGLOGU_SYNC_DATABASE_CONNECTIONS", default: 20, in: 1...1_000, unit: "connections"))
        guard let text = settings["EGGLOGU_SYNC_DATABASE"], !text.isEmpty, text != "sqlite" else { return }
        do {
            var url = try PostgresURL(text)
            if settings["EGGLOGU_SYNC_DATABASE_PASSWORD_FILE"] != nil {
                guard let file = check.secretFile("EGGLOGU_SYNC_DATABASE_PASSWORD_FILE") else { return }
                let password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                url = url.with(password: password)
            }
            database = url
        } catch let error as PostgresURLError {
            check.report("EGGLOGU_SYNC_DATABASE", "\(error.reason) (postgres://USER@HOST:PORT/DATABASE, or sqlite)")
        } catch {
            check.report("EGGLOGU_SYNC_DATABASE_PASSWORD_FILE", "cannot be read: \(error)")
        }
    }

    var fatalProblems: [SettingProblem] { problems.filter { $0.scope == .fatal } }

    private mutating func checkServing(_ check: inout SettingsValidator) {
        host = settings["EGGLOGU_SYNC_HOST"] ?? host
        port = check.port("EGGLOGU_SYNC_PORT", allowZero: true) ?? port
        maxClockSkewMilliseconds = Int64(check.number("EGGLOGU_SYNC_MAX_CLOCK_SKEW", default: 300, in: 1...86_400) * 1000)
        maxOpenFarms = Int(check.number("EGGLOGU_SYNC_MAX_OPEN_FARMS", default: 512, in: 1...100_000, unit: "farms"))
        tombstoneRetentionDays = check.number("EGGLOGU_SYNC_TOMBSTONE_RETENTION", default: 90, in: 0...36_500, unit: "days")
        noticeInlineBytes = Int(check.number("EGGLOGU_SYNC_NOTICE_INLINE_BYTES", default: 8_192, in: 0...8_192, unit: "bytes"))
        tlsCertificate = check.readableFile("EGGLOGU_SYNC_TLS_CERT")
        tlsKey = check.secretFile("EGGLOGU_SYNC_TLS_KEY")
        if (settings["EGGLOGU_SYNC_TLS_CERT"] == nil) != (settings["EGGLOGU_SYNC_TLS_KEY"] == nil) {
            let missing = settings["EGGLOGU_SYNC_TLS_CERT"] == nil ? "EGGLOGU_SYNC_TLS_CERT" : "EGGLOGU_SYNC_TLS_KEY"
            check.report(missing, "missing: a certificate and its key go together")
        }
        for path in (settings["EGGLOGU_SYNC_PUBLIC_KEYS"] ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
        where !path.isEmpty {
            if let problem = FileCheck.readable(path) { check.report("EGGLOGU_SYNC_PUBLIC_KEYS", problem) } else { publicKeys.append(path) }
        }
        checkAppTokens(&check)
        timeouts.idle = .milliseconds(Int64(check.number("EGGLOGU_SYNC_IDLE_TIMEOUT", default: 30, in: 0.1...3_600) * 1000))
        timeouts.header = .milliseconds(Int64(check.number("EGGLOGU_SYNC_HEADER_TIMEOUT", default: 10, in: 0.1...600) * 1000))
        timeouts.body = .milliseconds(Int64(check.number("EGGLOGU_SYNC_BODY_TIMEOUT", default: 60, in: 0.1...3_600) * 1000))
        timeouts.send = .milliseconds(Int64(check.number("EGGLOGU_SYNC_SEND_TIMEOUT", default: 60, in: 0.1...3_600) * 1000))
        let levels = Logger.Level.allCases.map(\.rawValue)
        logLevel = check.choice("EGGLOGU_SYNC_LOG_LEVEL", of: levels).flatMap(Logger.Level.init(rawValue:)) ?? .info
        _ = check.url("EGGLOGU_SYNC_PUBLIC_URL")
        _ = check.port("EGGLOGU_SYNC_DEVICE_MQTT_PORT")
        _ = check.readableFile("EGGLOGU_SYNC_DEVICE_MQTT_CA_FILE")
        checkBroker(&check)
    }

    /// Trust in the EGGlogU backend's access tokens, for the app's web client on the legacy endpoint.
    private mutating func checkAppTokens(_ check: inout SettingsValidator) {
        let claim = settings["EGGLOGU_SYNC_APP_FARM_CLAIM"] ?? "org"
        if claim.isEmpty { check.report("EGGLOGU_SYNC_APP_FARM_CLAIM", "must name a claim, e.g. org") }
        guard settings["EGGLOGU_SYNC_APP_JWT_SECRET_FILE"] != nil, let file = check.secretFile("EGGLOGU_SYNC_APP_JWT_SECRET_FILE") else { return }
        do {
            let (secret, isShort) = try AppTokenConfiguration.readSecret(file)
            if isShort {
                check.report(
                    "EGGLOGU_SYNC_APP_JWT_SECRET_FILE",
                    "the secret has \(secret.count) bytes; HS256 should have at least 32 (change it on the backend too)",
                    scope: .warning
                )
            }
            appTokens = AppTokenConfiguration(secret: secret, farmClaim: claim)
        } catch {
            check.report("EGGLOGU_SYNC_APP_JWT_SECRET_FILE", "\(error)")
        }
    }

    /// The notice publisher's broker; a problem here leaves the server serving without notices.
    private mutating func checkBroker(_ check: inout SettingsValidator) {
        guard let host = settings["EGGLOGU_SYNC_MQTT_HOST"], !host.isEmpty else { return }
        let before = check.problems.count
        var mqtt = MQTTConfiguration(host: host, clientID: "egglogu-sync-server-\(getpid())")
        let tls = settings["EGGLOGU_SYNC_MQTT_CA_FILE"] != nil
        mqtt.port = check.port("EGGLOGU_SYNC_MQTT_PORT", scope: .broker) ?? (tls ? 8883 : 1883)
        mqtt.username = settings["EGGLOGU_SYNC_MQTT_USERNAME"]
        if settings["EGGLOGU_SYNC_MQTT_PASSWORD_FILE"] != nil,
            let file = check.secretFile("EGGLOGU_SYNC_MQTT_PASSWORD_FILE", scope: .broker), let data = FileManager.default.contents(atPath: file)
        {
            let password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            mqtt.password = password.isEmpty ? nil : password
        }
        if let ca = check.readableFile("EGGLOGU_SYNC_MQTT_CA_FILE", scope: .broker) { mqtt.tls = .init(caFile: ca) }
        if mqtt.password != nil, mqtt.username == nil {
            check.report("EGGLOGU_SYNC_MQTT_USERNAME", "missing: MQTT sends a password only with a username", scope: .broker)
        }
        if check.problems.count == before { self.mqtt = mqtt }
    }
}
