import ArgumentParser
import EggloguCLI
import EggloguPostgres
import EggloguServer
import EggloguStore
import EggloguSystemd
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the sync server until SIGTERM or SIGINT; SIGHUP reloads the config.",
        discussion: """
            Under systemd (Type=notify) it sends READY=1 once it listens, STATUS= lines and watchdog pings \
            while its database answers. SIGHUP re-reads the config file: requests in flight finish, then the \
            server listens again with the new settings; a bad file is refused and the server carries on. \
            A broker that cannot be used is logged, and the server serves without sending notices.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "Address to listen on (EGGLOGU_SYNC_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (EGGLOGU_SYNC_PORT, default 8080).")
    var port: Int?

    @Option(
        name: .customLong("max-clock-skew"),
        help: "Seconds a record may be stamped ahead of server time (EGGLOGU_SYNC_MAX_CLOCK_SKEW, default 300)."
    )
    var maxClockSkew: Double?

    @Option(
        name: .customLong("max-open-farms"),
        help: "Farm databases kept open while idle (EGGLOGU_SYNC_MAX_OPEN_FARMS, default 512)."
    )
    var maxOpenFarms: Int?

    @Option(
        name: .customLong("tombstone-retention"),
        help: "Days deletions and resolved conflicts are kept (EGGLOGU_SYNC_TOMBSTONE_RETENTION, default 90; 0 keeps them forever)."
    )
    var tombstoneRetention: Double?

    @Option(
        name: .customLong("notice-inline-bytes"),
        help: "Largest notice sent with its changes (EGGLOGU_SYNC_NOTICE_INLINE_BYTES, default and most 8192; 0: plain notices, devices pull)."
    )
    var noticeInlineBytes: Int?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS (EGGLOGU_SYNC_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert (EGGLOGU_SYNC_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .customLong("public-key"), help: "PEM public key of an external ES256/RS256 token issuer (repeatable; EGGLOGU_SYNC_PUBLIC_KEYS).")
    var publicKeys: [String] = []

    @Option(
        name: .customLong("app-jwt-secret-file"),
        help: "The EGGlogU backend's HS256 secret: accept its access tokens on /api/v1/sync (EGGLOGU_SYNC_APP_JWT_SECRET_FILE)."
    )
    var appSecretFile: String?

    @Option(
        name: .customLong("app-farm-claim"),
        help: "The claim of the backend's tokens naming the farm (EGGLOGU_SYNC_APP_FARM_CLAIM, default org)."
    )
    var appFarmClaim: String?

    @Option(name: .customLong("mqtt-host"), help: "Publish change notices to this broker (EGGLOGU_SYNC_MQTT_HOST).")
    var mqttHost: String?

    @Option(name: .customLong("mqtt-port"), help: "The broker's port (EGGLOGU_SYNC_MQTT_PORT, default 1883, 8883 with TLS).")
    var mqttPort: Int?

    @Option(name: .customLong("mqtt-username"), help: "Broker username (EGGLOGU_SYNC_MQTT_USERNAME).")
    var mqttUsername: String?

    @Option(name: .customLong("mqtt-password-file"), help: "A file holding the broker password (EGGLOGU_SYNC_MQTT_PASSWORD_FILE).")
    var mqttPasswordFile: String?

    @Option(name: .customLong("mqtt-ca-file"), help: "A CA file: connect to the broker over TLS (EGGLOGU_SYNC_MQTT_CA_FILE).")
    var mqttCAFile: String?

    /// Everything one generation of the server runs with; SIGHUP makes a new one.
    struct Plan: Sendable {
        let server: SyncServer
        let notifier: ServerNotifier?
        let logger: Logger
        let scheme: String
    }

    private var flags: [String: String?] {
        [
            "EGGLOGU_SYNC_HOST": host, "EGGLOGU_SYNC_PORT": port.map(String.init), "EGGLOGU_SYNC_MAX_CLOCK_SKEW": maxClockSkew.map { String($0) },
            "EGGLOGU_SYNC_MAX_OPEN_FARMS": maxOpenFarms.map(String.init),
            "EGGLOGU_SYNC_TOMBSTONE_RETENTION": tombstoneRetention.map { String($0) },
            "EGGLOGU_SYNC_NOTICE_INLINE_BYTES": noticeInlineBytes.map(String.init),
            "EGGLOGU_SYNC_TLS_CERT": tlsCert, "EGGLOGU_SYNC_TLS_KEY": tlsKey,
            "EGGLOGU_SYNC_PUBLIC_KEYS": publicKeys.isEmpty ? nil : publicKeys.joined(separator: ","),
            "EGGLOGU_SYNC_APP_JWT_SECRET_FILE": appSecretFile, "EGGLOGU_SYNC_APP_FARM_CLAIM": appFarmClaim,
            "EGGLOGU_SYNC_MQTT_HOST": mqttHost, "EGGLOGU_SYNC_MQTT_PORT": mqttPort.map(String.init),
            "EGGLOGU_SYNC_MQTT_USERNAME": mqttUsername, "EGGLOGU_SYNC_MQTT_PASSWORD_FILE": mqttPasswordFile,
            "EGGLOGU_SYNC_MQTT_CA_FILE": mqttCAFile,
        ]
    }

    func run() async throws {
        let systemd = SystemdNotifier()
        let startup = Logger(label: "egglogu-sync-server") { JournalLogHandler(label: $0) }
        // One set of metrics for the life of the process: a reload must not reset the counters.
        let metrics = ServerMetrics()
        let initial: Plan
        let storage: PostgresStorage?
        do {
            let config = try data.config(for: .serve, flags: flags)
            if let url = config.database {
                storage = try await SharedDatabase.open(config, url: url, logger: startup)
            } else {
                storage = nil
            }
            initial = try await plan(config, metrics: metrics, storage: storage)
        } catch let failure as CommandFailure {
            startup.error("cannot start", metadata: ["problem": "\(failure.message)"])
            throw failure.exitCode
        }
        let database = storage.map { "\($0.url)" }
        let dataDirectory = initial.server.configuration.dataDirectory.path
        let runner = ServiceRunner<Plan>(
            notifier: systemd,
            logger: initial.logger,
            reload: { [self] in
                do {
                    let config = try reloadedConfig()
                    guard config.database.map({ "\($0)" }) == database else {
                        throw ReloadError("EGGLOGU_SYNC_DATABASE changed: restart the server to switch databases")
                    }
                    let next = try await plan(config, metrics: metrics, storage: storage)
                    guard next.server.configuration.dataDirectory.path == dataDirectory else {
                        throw ReloadError("EGGLOGU_SYNC_DATA_DIR changed: restart the server to switch data directories")
                    }
                    return next
                } catch let failure as CommandFailure {
                    throw ReloadError(failure.message)
                }
            },
            makeServices: { plan, ready in
                let host = plan.server.configuration.host
                let application = try plan.server.application(logger: plan.logger) { port in
                    FileHandle.standardOutput.write(Data("egglogu-sync-server listening on \(plan.scheme)://\(host):\(port)\n".utf8))
                    plan.logger.notice("listening", metadata: ["url": "\(plan.scheme)://\(host):\(port)"])
                    systemd.status("serving on \(plan.scheme)://\(host):\(port)" + (plan.notifier == nil ? ", no broker" : ""))
                    ready.ready()
                }
                let watchdog = WatchdogService(notifier: systemd) { await plan.server.isHealthy() }
                let retention = RetentionService(server: plan.server, logger: plan.logger)
                return (plan.notifier.map { [$0] } ?? []) + [application, watchdog, retention]
            }
        )
        do {
            // The pool outlives every generation a reload makes; it closes once the last has stopped.
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let storage { group.addTask { await storage.runPool() } }
                try await runner.run(initial, readyWhenStarted: false)
                group.cancelAll()
            }
        } catch {
            initial.logger.critical("the server stopped", metadata: ["error": "\(error)"])
            throw Sysexits.unavailable
        }
    }

    /// The configuration again, for a reload: every fatal problem in one error.
    private func reloadedConfig() throws -> ServerConfig {
        let config = ServerConfig(try data.settings(flags: flags), for: .serve)
        let fatal = config.fatalProblems
        guard fatal.isEmpty else { throw CommandFailure(Sysexits.config, fatal.map(\.description).joined(separator: "; ")) }
        return config
    }

    /// One generation: the data directory, the token authority, and the notice publisher when a
    /// usable broker is configured.
    private func plan(_ config: ServerConfig, metrics: ServerMetrics, storage: PostgresStorage?) async throws -> Plan {
        var logger = Logger(label: "egglogu-sync-server") { JournalLogHandler(label: $0) }
        logger.logLevel = config.logLevel
        for problem in config.problems where problem.scope == .warning {
            logger.warning("config warning", metadata: ["problem": "\(problem)"])
        }
        for problem in config.problems where problem.scope == .broker {
            logger.error("broker setting unusable; serving without notices", metadata: ["problem": "\(problem)"])
        }
        let directory = try DataOptions.directory(config, create: true)
        var configuration = SyncServerConfiguration(dataDirectory: directory)
        configuration.host = config.host
        configuration.port = config.port
        configuration.maxClockSkewMilliseconds = config.maxClockSkewMilliseconds
        configuration.maxOpenFarms = config.maxOpenFarms
        configuration.noticeInlineBytes = config.noticeInlineBytes
        configuration.tombstoneRetention =
            config.tombstoneRetentionDays > 0 ? .milliseconds(Int64(config.tombstoneRetentionDays * 86_400_000)) : nil
        configuration.tlsCertificateFile = config.tlsCertificate
        configuration.tlsKeyFile = config.tlsKey
        configuration.appTokens = config.appTokens
        configuration.timeouts = config.timeouts
        let authority: TokenAuthority
        do {
            authority = try await TokenAuthority(secret: try DataOptions.secret(config, directory: directory), publicKeyFiles: config.publicKeys)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(Sysexits.config, "\(error)")
        }
        var notifier: ServerNotifier?
        if let mqtt = config.mqtt {
            do {
                notifier = try ServerNotifier(configuration: mqtt, logger: logger)
            } catch {
                logger.error("broker settings unusable; serving without notices", metadata: ["error": "\(error)"])
            }
        }
        do {
            let server = try await SyncServer(
                configuration: configuration,
                authority: authority,
                notices: notifier,
                metrics: metrics,
                storage: storage
            )
            return Plan(server: server, notifier: notifier, logger: logger, scheme: config.tlsCertificate == nil ? "http" : "https")
        } catch let error as ServerSetupError {
            throw CommandFailure(Sysexits.config, error.description)
        } catch let error as ReplicaError {
            throw CommandFailure(error)
        } catch {
            throw CommandFailure(Sysexits.cannotCreate, "cannot open the server's database: \(error)")
        }
    }
}
