import ArgumentParser
import EggloguAgentService
import EggloguAgentSync
import EggloguAgentWeb
import EggloguCLI
import EggloguProtocol
import EggloguSettings
import EggloguStore
import EggloguSyncClient
import EggloguSystemd
import Foundation
import Logging
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent service: real-time sync over MQTT, polling when the broker is away.",
        discussion: """
            Pulls on start and whenever a notice arrives on egglogu/<farm>/sync, pushes local writes (from this \
            service or from egglogu-agent put/delete/import in a shell) at once, and polls every \
            EGGLOGU_POLL_INTERVAL seconds while no broker is reachable. Without EGGLOGU_MQTT_HOST it only polls; \
            broker settings that cannot be used are logged and the agent polls. SIGHUP reloads the config file \
            (queued changes stay queued; a bad file is refused and the service carries on); SIGTERM or SIGINT \
            stop it cleanly. Under systemd (Type=notify) it reports readiness, status and watchdog pings. With \
            EGGLOGU_HTTP_LISTEN (or --http) it also serves the gateway's status and conflict page \
            (docs/status-page.md).
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Option(name: .customLong("server-url"), help: "The sync server (EGGLOGU_SERVER_URL).")
    var serverURL: String?

    @Option(name: .customLong("token-file"), help: "The bearer token's file (EGGLOGU_TOKEN_FILE).")
    var tokenFile: String?

    @Option(name: .customLong("mqtt-host"), help: "The broker (EGGLOGU_MQTT_HOST); none means poll-only.")
    var mqttHost: String?

    @Option(name: .customLong("mqtt-port"), help: "The broker's port (EGGLOGU_MQTT_PORT, default 1883, 8883 with TLS).")
    var mqttPort: Int?

    @Option(name: .customLong("http"), help: "Serve the status page: on, HOST:PORT, HOST or PORT (EGGLOGU_HTTP_LISTEN, default off).")
    var http: String?

    /// Everything one generation of the service runs with; SIGHUP makes a new one.
    struct Plan: Sendable {
        let service: AgentService
        let web: LocalWeb?
        let logger: Logger

        var services: [any Service] {
            var services = service.services(logger: logger)
            if let web {
                let service = self.service
                let page = LocalWebService(web: web, logger: logger, onListening: { service.webListening(at: $0) })
                services.append(OptionalService(page, name: "status page", logger: logger) { service.webListening(at: nil) })
            }
            return services
        }
    }

    func run() async throws {
        let notifier = SystemdNotifier()
        let clock = ClockCorrection()
        let monitor = AgentMonitor()
        let config: AgentConfig
        do throws(ConfigProblems) {
            config = try loadConfig()
        } catch {
            let logger = Logger(label: "egglogu-agent") { JournalLogHandler(label: $0) }
            for problem in error.problems { logger.error("cannot start", metadata: ["problem": "\(problem)"]) }
            throw Sysexits.config
        }
        let logger = makeLogger(config)
        let replica: Replica
        let initial: Plan
        do {
            replica = try await options.open(create: true, config: config, wallClock: clock.reading)
            initial = try plan(config, replica: replica, clock: clock, monitor: monitor, notifier: notifier, logger: logger)
        } catch let error as CommandFailure {
            logger.error("cannot start", metadata: ["problem": "\(error.message)"])
            throw error.exitCode
        } catch let error as ReplicaError {
            logger.error("cannot start", metadata: ["problem": "\(error.message)"])
            throw CommandFailure(error).exitCode
        }
        let runner = ServiceRunner<Plan>(
            notifier: notifier,
            logger: logger,
            reload: { [self] in
                let config: AgentConfig
                do throws(ConfigProblems) {
                    config = try loadConfig()
                } catch {
                    throw ReloadError(error.problems.map(\.description).joined(separator: "; "))
                }
                let logger = makeLogger(config)
                guard config.settings["EGGLOGU_REPLICA"] == replica.path else {
                    throw ReloadError("EGGLOGU_REPLICA changed: restart the service to switch replicas")
                }
                do {
                    return try plan(config, replica: replica, clock: clock, monitor: monitor, notifier: notifier, logger: logger)
                } catch let error as CommandFailure {
                    throw ReloadError(error.message)
                }
            },
            makeServices: { plan, _ in plan.services }
        )
        do {
            try await runner.run(initial)
        } catch {
            logger.critical("the service stopped", metadata: ["error": "\(error)"])
            throw Sysexits.software
        }
    }

    /// The configuration, or every fatal problem in it.
    private func loadConfig() throws(ConfigProblems) -> AgentConfig {
        let config: AgentConfig
        do {
            config = AgentConfig(try options.settings(flags: flags), for: .run)
        } catch let error as CommandFailure {
            throw ConfigProblems(problems: [SettingProblem(key: nil, error.message)])
        } catch {
            throw ConfigProblems(problems: [SettingProblem(key: nil, "\(error)")])
        }
        guard config.fatalProblems.isEmpty else { throw ConfigProblems(problems: config.fatalProblems) }
        return config
    }

    private var flags: [String: String?] {
        [
            "EGGLOGU_SERVER_URL": serverURL, "EGGLOGU_TOKEN_FILE": tokenFile, "EGGLOGU_MQTT_HOST": mqttHost,
            "EGGLOGU_MQTT_PORT": mqttPort.map(String.init),
            "EGGLOGU_HTTP_LISTEN": http,
        ]
    }

    private func makeLogger(_ config: AgentConfig) -> Logger {
        var logger = Logger(label: "egglogu-agent") { JournalLogHandler(label: $0) }
        logger.logLevel = config.logLevel
        return logger
    }

    /// Builds one generation: checks what needs the open replica, logs broker problems (the agent
    /// polls instead), and wires systemd's status and watchdog.
    private func plan(
        _ config: AgentConfig,
        replica: Replica,
        clock: ClockCorrection,
        monitor: AgentMonitor,
        notifier: SystemdNotifier,
        logger: Logger
    ) throws -> Plan {
        guard let url = config.serverURL, let token = config.token else {
            throw CommandFailure(Sysexits.config, "no server or token")
        }
        guard let farm = replica.farmID ?? config.replica.farmID else {
            throw CommandFailure(Sysexits.config, "the replica has no farm: pass --farm-id or set EGGLOGU_FARM_ID")
        }
        if let configured = config.replica.farmID, configured != farm {
            throw CommandFailure(Sysexits.config, "EGGLOGU_FARM_ID is \(configured) but the replica holds farm \(farm)")
        }
        for problem in config.problems where problem.scope == .broker {
            logger.error("broker setting unusable; polling instead", metadata: ["problem": "\(problem)"])
        }
        for problem in config.problems where problem.scope == .warning {
            logger.warning("config warning", metadata: ["problem": "\(problem)"])
        }
        var configuration = config.service
        configuration.mqtt = config.broker?.configuration(device: replica.deviceID)
        let client: SyncClient
        do {
            client = try SyncClient(configuration: .init(serverURL: url, caFile: config.serverCAFile))
        } catch let error as SyncTransportError {
            throw CommandFailure(Sysexits.config, error.message)
        }
        var hooks = AgentHooks()
        hooks.heartbeatInterval = notifier.watchdogInterval.map { $0 / 2 }
        hooks.heartbeat = { notifier.watchdog() }
        hooks.status = { notifier.status($0) }
        let service = AgentService(
            replica: replica,
            farm: farm,
            transport: client,
            token: token,
            clock: clock,
            configuration: configuration,
            hooks: hooks,
            monitor: monitor
        )
        let web = config.web.map {
            LocalWeb(replica: replica, monitor: monitor, configuration: $0, onLocalChange: { service.requestPush() })
        }
        return Plan(service: service, web: web, logger: logger)
    }
}

/// Why a configuration cannot be used.
struct ConfigProblems: Error {
    let problems: [SettingProblem]
}
