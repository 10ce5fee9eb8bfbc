import ArgumentParser
import EggloguMQTT
import EggloguServer
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the sync server until SIGTERM or SIGINT.")

    @OptionGroup var data: DataOptions

    @Option(help: "Address to listen on (EGGLOGU_SYNC_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (EGGLOGU_SYNC_PORT, default 8080).")
    var port: Int?

    @Option(name: .customLong("max-clock-skew"), help: "Seconds a record may be stamped ahead of server time (EGGLOGU_SYNC_MAX_CLOCK_SKEW, default 300).")
    var maxClockSkew: Double?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (EGGLOGU_SYNC_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert (EGGLOGU_SYNC_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .customLong("public-key"), help: "PEM public key of an external ES256/RS256 token issuer (repeatable).")
    var publicKeys: [String] = []

    @Option(name: .customLong("mqtt-host"), help: "Publish change notices to this broker (EGGLOGU_SYNC_MQTT_HOST).")
    var mqttHost: String?

    @Option(name: .customLong("mqtt-port"), help: "The broker's port (EGGLOGU_SYNC_MQTT_PORT, default 1883).")
    var mqttPort: Int?

    @Option(name: .customLong("mqtt-username"), help: "Broker username (EGGLOGU_SYNC_MQTT_USERNAME).")
    var mqttUsername: String?

    @Option(name: .customLong("mqtt-password-file"), help: "A file holding the broker password (EGGLOGU_SYNC_MQTT_PASSWORD_FILE).")
    var mqttPasswordFile: String?

    @Option(name: .customLong("mqtt-ca-file"), help: "A CA file: connect to the broker over TLS (EGGLOGU_SYNC_MQTT_CA_FILE).")
    var mqttCAFile: String?

    func run() async throws {
        try await reportingFailures {
            let directory = try data.directory(create: true)
            var configuration = SyncServerConfiguration(dataDirectory: directory)
            configuration.host = DataOptions.setting(host, "HOST") ?? "127.0.0.1"
            if let text = DataOptions.setting(port.map(String.init), "PORT") {
                guard let value = Int(text), (0...65_535).contains(value) else { throw CommandFailure(64, "the port must be 0 to 65535") }
                configuration.port = value
            }
            if let text = DataOptions.setting(maxClockSkew.map { String($0) }, "MAX_CLOCK_SKEW") {
                guard let seconds = Double(text), seconds >= 1, seconds <= 86_400 else {
                    throw CommandFailure(64, "the clock skew must be 1 to 86400 seconds")
                }
                configuration.maxClockSkewMilliseconds = Int64(seconds * 1000)
            }
            configuration.tlsCertificateFile = DataOptions.setting(tlsCert, "TLS_CERT")
            configuration.tlsKeyFile = DataOptions.setting(tlsKey, "TLS_KEY")
            guard (configuration.tlsCertificateFile == nil) == (configuration.tlsKeyFile == nil) else {
                throw CommandFailure(64, "--tls-cert and --tls-key go together")
            }
            let authority = try await TokenAuthority(secret: try data.secret(directory: directory), publicKeyFiles: publicKeys)
            var logger = Logger(label: "egglogu-sync-server")
            logger.logLevel = .info
            let notifier = try notices(logger: logger)
            let server = try SyncServer(configuration: configuration, authority: authority, notifier: notifier)
            let scheme = configuration.tlsCertificateFile == nil ? "http" : "https"
            let host = configuration.host
            let application = try server.application(logger: logger) { port in
                FileHandle.standardOutput.write(Data("egglogu-sync-server listening on \(scheme)://\(host):\(port)\n".utf8))
            }
            let services: [any Service] = (notifier.map { [$0] } ?? []) + [application]
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                throw CommandFailure(69, "the server stopped: \(error)")
            }
        }
    }

    /// The notice publisher, when a broker is configured.
    private func notices(logger: Logger) throws -> ServerNotifier? {
        guard let host = DataOptions.setting(mqttHost, "MQTT_HOST") else { return nil }
        var mqtt = MQTTConfiguration(host: host, clientID: "egglogu-sync-server-\(getpid())")
        if let text = DataOptions.setting(mqttPort.map(String.init), "MQTT_PORT") {
            guard let port = Int(text), (1...65_535).contains(port) else { throw CommandFailure(64, "the MQTT port must be 1 to 65535") }
            mqtt.port = port
        }
        mqtt.username = DataOptions.setting(mqttUsername, "MQTT_USERNAME")
        if let file = DataOptions.setting(mqttPasswordFile, "MQTT_PASSWORD_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure(78, "cannot read the MQTT password file \(file)")
            }
            mqtt.password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let ca = DataOptions.setting(mqttCAFile, "MQTT_CA_FILE") {
            mqtt.tls = .init(caFile: ca)
            if DataOptions.setting(mqttPort.map(String.init), "MQTT_PORT") == nil { mqtt.port = 8883 }
        }
        do {
            return try ServerNotifier(configuration: mqtt, logger: logger)
        } catch {
            throw CommandFailure(78, "cannot set up the MQTT client: \(error)")
        }
    }
}
