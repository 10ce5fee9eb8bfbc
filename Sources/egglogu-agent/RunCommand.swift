import ArgumentParser
import EggloguAgentService
import EggloguAgentSync
import EggloguStore
import EggloguSyncClient
import Foundation
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent service: real-time sync over MQTT, polling when the broker is away.",
        discussion: """
            Pulls on start and whenever a notice arrives on egglogu/<farm>/sync, pushes local writes (from this \
            service or from egglogu-agent put/delete/import in a shell) at once, and polls every \
            EGGLOGU_POLL_INTERVAL seconds while no broker is reachable. SIGTERM or SIGINT stop it cleanly. \
            Without EGGLOGU_MQTT_HOST it only polls.
            """)

    @OptionGroup var options: ReplicaOptions

    @Option(name: .customLong("server-url"), help: "The sync server (EGGLOGU_SERVER_URL).")
    var serverURL: String?

    @Option(name: .customLong("token-file"), help: "The bearer token's file (EGGLOGU_TOKEN_FILE).")
    var tokenFile: String?

    @Option(name: .customLong("mqtt-host"), help: "The broker (EGGLOGU_MQTT_HOST); none means poll-only.")
    var mqttHost: String?

    @Option(name: .customLong("mqtt-port"), help: "The broker's port (EGGLOGU_MQTT_PORT, default 1883, 8883 with TLS).")
    var mqttPort: Int?

    func run() async throws {
        var settings = try reportingErrors { try options.settings() }
        if let serverURL { settings["EGGLOGU_SERVER_URL"] = serverURL }
        if let tokenFile { settings["EGGLOGU_TOKEN_FILE"] = tokenFile }
        if let mqttHost { settings["EGGLOGU_MQTT_HOST"] = mqttHost }
        if let mqttPort { settings["EGGLOGU_MQTT_PORT"] = String(mqttPort) }
        let clock = ClockCorrection()
        let service = try reportingErrors { () throws -> AgentService in
            guard let url = settings["EGGLOGU_SERVER_URL"] else {
                throw CLIError(Sysexits.config, "no server: pass --server-url URL or set EGGLOGU_SERVER_URL")
            }
            guard let token = try settings.tokenStore() else {
                throw CLIError(Sysexits.config, "no token: set EGGLOGU_TOKEN_FILE (or EGGLOGU_TOKEN)")
            }
            let replica = try options.open(create: true, settings: settings, wallClock: clock.reading)
            guard let farm = replica.farmID ?? settings["EGGLOGU_FARM_ID"] else {
                throw CLIError(Sysexits.config, "the replica has no farm: pass --farm-id or set EGGLOGU_FARM_ID")
            }
            var configuration = AgentServiceConfiguration()
            configuration.mqtt = try settings.mqtt(device: replica.deviceID)
            configuration.pollInterval = try settings.seconds("EGGLOGU_POLL_INTERVAL", default: 30, in: 0.1...86_400)
            configuration.safetyPollInterval = try settings.seconds("EGGLOGU_SAFETY_POLL_INTERVAL", default: 900, in: 1...604_800)
            configuration.pushDebounce = try settings.seconds("EGGLOGU_PUSH_DEBOUNCE", default: 0.05, in: 0...60)
            configuration.maxClockSkewMilliseconds = replica.configuration.maxClockSkewMilliseconds
            let client: SyncClient
            do {
                client = try SyncClient(configuration: .init(serverURL: url, caFile: settings["EGGLOGU_SERVER_CA_FILE"]))
            } catch let error as SyncClientError {
                throw CLIError(Sysexits.config, error.message)
            }
            return AgentService(replica: replica, farm: farm, client: client, token: token, clock: clock, configuration: configuration)
        }
        let level = settings["EGGLOGU_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var logger = Logger(label: "egglogu-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        do {
            try await service.run(logger: logger)
        } catch {
            FileHandle.standardError.write(Data("egglogu-agent: the service stopped: \(error)\n".utf8))
            throw Sysexits.software
        }
    }
}
