import ArgumentParser
import EggloguCLI
import EggloguServer
import EggloguSettings
import EggloguStore
import EggloguSystemd
import Foundation

/// Where the server finds its settings, its data and its secret.
struct DataOptions: ParsableArguments {
    @Option(
        help:
            "A config file of EGGLOGU_SYNC_*=value lines; the environment and flags override it (default: EGGLOGU_SYNC_CONFIG, else /etc/egglogu-sync-server/server.conf when no data directory is named)."
    )
    var config: String?

    @Option(name: .customLong("data-dir"), help: "The data directory (EGGLOGU_SYNC_DATA_DIR).")
    var dataDir: String?

    @Option(
        name: .customLong("jwt-secret-file"),
        help: "The HS256 secret, at least 32 bytes (EGGLOGU_SYNC_JWT_SECRET_FILE; default: DATA_DIR/jwt-secret, created if missing)."
    )
    var jwtSecretFile: String?

    @Option(
        help:
            "Where farms and devices live: sqlite, or postgres://USER@HOST:PORT/DATABASE shared by several instances (EGGLOGU_SYNC_DATABASE, default sqlite)."
    )
    var database: String?

    /// The layered settings with these flags, and the subcommand's `flags`, on top.
    func settings(flags: [String: String?] = [:]) throws -> Settings {
        let environment = ProcessInfo.processInfo.environment
        let dataGiven = dataDir != nil || environment["EGGLOGU_SYNC_DATA_DIR"].map { !$0.isEmpty } == true
        let file = ServerSettings.configFile(flag: config, dataDirectoryGiven: dataGiven, environment: environment)
        var settings = try ServerSettings.load(configFile: file, environment: environment)
        settings["EGGLOGU_SYNC_DATA_DIR"] = dataDir
        settings["EGGLOGU_SYNC_JWT_SECRET_FILE"] = jwtSecretFile
        settings["EGGLOGU_SYNC_DATABASE"] = database
        for (key, value) in flags { settings[key] = value }
        return settings
    }

    /// The checked configuration. Warnings go to stderr; fatal problems are all printed, then the
    /// command exits 78.
    func config(for purpose: ServerConfig.Purpose, needsData: Bool = true, flags: [String: String?] = [:]) throws -> ServerConfig {
        let config = ServerConfig(try settings(flags: flags), for: purpose, needsData: needsData)
        for problem in config.problems where problem.scope == .warning {
            FileHandle.standardError.write(Data("egglogu-sync-server: warning: \(problem)\n".utf8))
        }
        let fatal = config.fatalProblems
        guard let last = fatal.last else { return config }
        for problem in fatal.dropLast() {
            FileHandle.standardError.write(Data("egglogu-sync-server: \(problem)\n".utf8))
        }
        throw CommandFailure(Sysexits.config, last.description)
    }

    /// For administrative commands on an existing data directory, entered as its owner.
    func adminDirectory() throws -> DataDirectory {
        try adminSetup().directory
    }

    /// The configuration and data directory of an administrative command.
    func adminSetup() throws -> (config: ServerConfig, directory: DataDirectory) {
        let config = try config(for: .admin)
        if let path = config.dataDirectory, FileManager.default.fileExists(atPath: path) { try Self.adoptOwner(of: path) }
        return (config, try Self.directory(config, create: false))
    }

    /// The data directory a configuration names.
    static func directory(_ config: ServerConfig, create: Bool) throws -> DataDirectory {
        guard let path = config.dataDirectory else {
            throw CommandFailure(Sysexits.config, "EGGLOGU_SYNC_DATA_DIR: missing (pass --data-dir DIR or --config FILE)")
        }
        do {
            return try DataDirectory(path, create: create)
        } catch let error as ServerSetupError {
            throw CommandFailure(create ? Sysexits.cannotCreate : Sysexits.noInput, error.description)
        }
    }

    /// The secret: the configured file, or the data directory's (created on first use).
    static func secret(_ config: ServerConfig, directory: DataDirectory?) throws -> [UInt8] {
        do {
            if let file = config.secretFile { return try DataDirectory.readSecret(file) }
            guard let directory else { throw CommandFailure(Sysexits.config, "pass --data-dir DIR or --jwt-secret-file FILE") }
            return try directory.secret()
        } catch let error as ServerSetupError {
            throw CommandFailure(Sysexits.config, error.description)
        }
    }

    /// For commands that mint tokens as root: the secret is read first (it is root's), then the
    /// command becomes the data directory's owner, so what it creates there stays the service's.
    /// `beforeAdopting` runs as the invoking user (writing a bundle, say).
    static func mintingSetup(
        _ config: ServerConfig,
        beforeAdopting: ([UInt8]) async throws -> Void = { _ in }
    ) async throws -> ([UInt8], DataDirectory?) {
        guard let path = config.dataDirectory else {
            let secret = try Self.secret(config, directory: nil)
            try await beforeAdopting(secret)
            return (secret, nil)
        }
        let defaultSecret = path + "/jwt-secret"
        if config.secretFile != nil || FileManager.default.fileExists(atPath: defaultSecret) {
            let secret = try config.secretFile.map { _ in try Self.secret(config, directory: nil) } ?? readSecret(defaultSecret)
            try await beforeAdopting(secret)
            if FileManager.default.fileExists(atPath: path) { try adoptOwner(of: path) }
            return (secret, try directory(config, create: true))
        }
        let directory = try directory(config, create: true)
        try adoptOwner(of: path)
        let secret = try Self.secret(config, directory: directory)
        try await beforeAdopting(secret)
        return (secret, directory)
    }

    private static func readSecret(_ file: String) throws -> [UInt8] {
        do {
            return try DataDirectory.readSecret(file)
        } catch let error as ServerSetupError {
            throw CommandFailure(Sysexits.config, error.description)
        }
    }

    /// For administrative commands: the data directory, entered as its owner when run as root,
    /// so the files SQLite creates stay the service's. Read secrets before calling this.
    static func adoptOwner(of directory: String) throws {
        do {
            try ServiceAccount.adoptOwner(of: directory)
        } catch {
            throw CommandFailure(Sysexits.noPermission, "\(error)")
        }
    }
}

/// Runs a command body, printing a failure as one line and exiting with its code.
func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    try await reportingFailures(
        "egglogu-sync-server",
        describing: { error in
            (error as? ServerSetupError).map { CommandFailure(Sysexits.config, $0.description) }
        },
        body
    )
}

/// Durations like `90d`, `12h`, `30m`, `45s` or plain seconds.
func parseDuration(_ text: String) -> TimeInterval? {
    let units: [Character: Double] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
    if let unit = text.last, let factor = units[unit], let n = Double(text.dropLast()), n > 0 { return n * factor }
    if let n = Double(text), n > 0 { return n }
    return nil
}
