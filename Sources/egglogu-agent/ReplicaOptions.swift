import ArgumentParser
import EggloguCore
import EggloguStore
import Foundation

/// The options every subcommand takes to find its replica.
struct ReplicaOptions: ParsableArguments {
    @Option(help: "The replica file (EGGLOGU_REPLICA).")
    var replica: String?

    @Option(help: "A config file of EGGLOGU_*=value lines; the environment and flags override it.")
    var config: String?

    @Option(name: .customLong("device-id"), help: "This device's id, fixed when the replica is created (EGGLOGU_DEVICE_ID).")
    var deviceID: String?

    @Option(name: .customLong("farm-id"), help: "The farm's id, fixed once set (EGGLOGU_FARM_ID).")
    var farmID: String?

    @Option(name: .customLong("max-clock-skew"), help: "Seconds a timestamp may lie ahead of now (EGGLOGU_MAX_CLOCK_SKEW, default 300).")
    var maxClockSkew: Double?

    /// Opens the replica, creating it only for commands that write.
    func open(create: Bool) throws -> Replica {
        try open(create: create, settings: settings())
    }

    /// The layered settings, with this command's flags on top.
    func settings() throws -> AgentSettings {
        var settings = try AgentSettings(configFile: config, environment: ProcessInfo.processInfo.environment)
        for warning in settings.warnings {
            FileHandle.standardError.write(Data("egglogu-agent: \(warning)\n".utf8))
        }
        if let replica { settings["EGGLOGU_REPLICA"] = replica }
        if let deviceID { settings["EGGLOGU_DEVICE_ID"] = deviceID }
        if let farmID { settings["EGGLOGU_FARM_ID"] = farmID }
        if let maxClockSkew { settings["EGGLOGU_MAX_CLOCK_SKEW"] = String(maxClockSkew) }
        return settings
    }

    func open(create: Bool, settings: AgentSettings, wallClock: (@Sendable () -> Timestamp)? = nil) throws -> Replica {
        guard let path = settings["EGGLOGU_REPLICA"] else {
            throw CLIError(Sysexits.usage, "no replica: pass --replica PATH or --config FILE, or set EGGLOGU_REPLICA")
        }
        var configuration = try settings.replicaConfiguration(create: create)
        if let wallClock { configuration.wallClock = wallClock }
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw CLIError(Sysexits.noInput, "no replica at \(path) (import or put something to create it)")
        }
        return try Replica.open(path: path, configuration: configuration)
    }
}
