import EggloguCLI
import EggloguPostgres
import EggloguServer
import EggloguStore
import Logging

/// The PostgreSQL database a configuration names, opened for the time of one piece of work.
enum SharedDatabase {
    /// Opens (and migrates) the configured database.
    ///
    /// - Throws: ``CommandFailure`` with exit 78 for a failed migration, 69 for a database that
    ///   cannot be reached or refuses us.
    static func open(_ config: ServerConfig, url: PostgresURL, logger: Logger) async throws -> PostgresStorage {
        do {
            return try await PostgresStorage.open(
                url: url,
                logger: logger,
                maximumConnections: config.databaseConnections,
                maxClockSkewMilliseconds: config.maxClockSkewMilliseconds
            )
        } catch let error as ReplicaError {
            if error.code == .migrationFailed || error.code == .unreadable { throw CommandFailure(error) }
            throw CommandFailure(Sysexits.unavailable, "\(url): \(error.message)")
        }
    }

    /// Runs `body` with the device directory: the configured database's, or the data directory's.
    static func withDevices<T: Sendable>(
        _ config: ServerConfig,
        directory: DataDirectory?,
        _ body: @escaping @Sendable (any DeviceDirectory) async throws -> T
    ) async throws -> T? {
        guard let url = config.database else {
            guard let directory else { return nil }
            return try await body(try await DeviceRegistry.open(path: directory.serverDatabase))
        }
        // A command's connection pool starts as the command does: its "not running yet" warnings are noise.
        var logger = Logger(label: "egglogu-sync-server")
        logger.logLevel = .error
        let storage = try await open(config, url: url, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await storage.runPool()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(storage.devices)
        }
    }
}
