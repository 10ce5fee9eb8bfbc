import ArgumentParser
import EggloguCLI
import EggloguCore
import EggloguSettings
import EggloguStore
import EggloguSystemd
import Foundation

/// The options every subcommand takes to find its replica.
struct ReplicaOptions: ParsableArguments {
    @Option(help: "The replica file (EGGLOGU_REPLICA).")
    var replica: String?

    @Option(
        help:
            "A config file of EGGLOGU_*=value lines; the environment and flags override it (default: EGGLOGU_CONFIG, else /etc/egglogu-agent/agent.conf when no replica is named)."
    )
    var config: String?

    @Option(name: .customLong("device-id"), help: "This device's id, fixed when the replica is created (EGGLOGU_DEVICE_ID).")
    var deviceID: String?

    @Option(name: .customLong("farm-id"), help: "The farm's id, fixed once set (EGGLOGU_FARM_ID).")
    var farmID: String?

    @Option(name: .customLong("max-clock-skew"), help: "Seconds a timestamp may lie ahead of now (EGGLOGU_MAX_CLOCK_SKEW, default 300).")
    var maxClockSkew: Double?

    /// Opens the replica, creating it only for commands that write.
    func open(create: Bool) async throws -> Replica {
        try await open(create: create, config: config(for: .local))
    }

    /// Opens the replica to read it, on a full disk too: the main file alone, read-only. A command
    /// that needs every change (`partial` false) refuses a snapshot that misses some (exit 74).
    func openForReading(partial: Bool = false) async throws -> Replica {
        let replica = try await open(create: false, config: config(for: .local), reading: true)
        guard let snapshot = replica.snapshot else { return replica }
        if !snapshot.isComplete && !partial {
            throw CommandFailure(
                Sysexits.ioError,
                snapshot.reason
                    + "; \(DiskSpace.describe(snapshot.unreadLogBytes)) of committed changes in the write-ahead log can be read only once there is room"
            )
        }
        FileHandle.standardError.write(Data("egglogu-agent: warning: \(snapshot.reason); read-only until then\n".utf8))
        return replica
    }

    /// The layered settings, with this command's flags (and `flags`, set by the subcommand) on top.
    func settings(flags: [String: String?] = [:]) throws -> Settings {
        let environment = ProcessInfo.processInfo.environment
        let replicaGiven = replica != nil || environment["EGGLOGU_REPLICA"].map { !$0.isEmpty } == true
        let file = AgentSettings.configFile(flag: config, replicaGiven: replicaGiven, environment: environment)
        var settings = try AgentSettings.load(configFile: file, environment: environment)
        settings["EGGLOGU_REPLICA"] = replica
        settings["EGGLOGU_DEVICE_ID"] = deviceID
        settings["EGGLOGU_FARM_ID"] = farmID
        settings["EGGLOGU_MAX_CLOCK_SKEW"] = maxClockSkew.map { String($0) }
        for (key, value) in flags { settings[key] = value }
        return settings
    }

    /// The checked configuration for `purpose`. Warnings go to stderr; fatal problems are all
    /// printed, then the command exits 78.
    func config(for purpose: AgentConfig.Purpose, flags: [String: String?] = [:]) throws -> AgentConfig {
        let config = AgentConfig(try settings(flags: flags), for: purpose)
        for problem in config.problems where problem.scope == .warning {
            FileHandle.standardError.write(Data("egglogu-agent: warning: \(problem)\n".utf8))
        }
        let fatal = config.fatalProblems
        guard let last = fatal.last else { return config }
        for problem in fatal.dropLast() {
            FileHandle.standardError.write(Data("egglogu-agent: \(problem)\n".utf8))
        }
        throw CommandFailure(Sysexits.config, last.description)
    }

    /// Opens the replica a configuration names. Run as root on a replica the service account
    /// owns, the command becomes that account first, so the files SQLite creates stay the service's.
    func open(create: Bool, config: AgentConfig, wallClock: (@Sendable () -> Timestamp)? = nil, reading: Bool = false) async throws -> Replica {
        guard let path = config.settings["EGGLOGU_REPLICA"] else {
            throw CommandFailure(Sysexits.usage, "no replica: pass --replica PATH or --config FILE, or set EGGLOGU_REPLICA")
        }
        var configuration = config.replica
        configuration.createIfMissing = create
        if let wallClock { configuration.wallClock = wallClock }
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure(Sysexits.noInput, "no replica at \(path) (import or put something to create it)")
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure(
                Sysexits.cannotCreate,
                "cannot create \(path): the directory \(parent) does not exist (create it, or point EGGLOGU_REPLICA elsewhere)"
            )
        }
        do {
            try ServiceAccount.adoptOwner(of: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        } catch {
            throw CommandFailure(Sysexits.noPermission, "\(error)")
        }
        if reading { return try await Replica.openForReading(path: path, configuration: configuration) }
        return try await Replica.open(path: path, configuration: configuration)
    }
}
