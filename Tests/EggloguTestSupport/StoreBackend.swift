import EggloguCore
import EggloguPostgres
import EggloguStore
import Logging
import Synchronization

/// Where a sync server keeps its farms: the store suites run against each.
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }
}

/// The farm stores and device directory of one backend, for the length of one test.
public final class BackendStores: Sendable {
    public let backend: StoreBackend
    public let devices: any DeviceDirectory
    private let open: @Sendable (String) async throws -> any FarmStore
    private let opened = Mutex<[String: any FarmStore]>([:])

    private init(backend: StoreBackend, devices: any DeviceDirectory, open: @escaping @Sendable (String) async throws -> any FarmStore) {
        self.backend = backend
        self.devices = devices
        self.open = open
    }

    /// The store of `farm` (the same one on every call).
    public func farm(_ farm: String) async throws -> any FarmStore {
        if let store = opened.withLock({ $0[farm] }) { return store }
        let store = try await open(farm)
        opened.withLock { $0[farm] = store }
        return store
    }

    /// Runs `body` with fresh stores of `backend`: SQLite files in a temporary directory, or a new
    /// database of the process's PostgreSQL cluster.
    ///
    /// - Parameter wallClock: the servers' clock (received-at times, purges).
    public static func with<T: Sendable>(
        _ backend: StoreBackend,
        wallClock: @escaping @Sendable () -> Timestamp = ReplicaConfiguration().wallClock,
        _ body: @Sendable (BackendStores) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite:
            let directory = TemporaryDirectory()
            let devices = try await DeviceRegistry.open(path: directory.file("server.sqlite"))
            let stores = BackendStores(backend: backend, devices: devices) { farm in
                var configuration = ReplicaConfiguration()
                configuration.deviceID = "server"
                configuration.farmID = farm
                configuration.role = .server
                configuration.wallClock = wallClock
                return try await Replica.open(path: directory.file("\(farm).sqlite"), configuration: configuration)
            }
            let result = try await body(stores)
            withExtendedLifetime(directory) {}
            return result
        case .postgres:
            let url = try PostgresURL(try PostgresServer.shared().createDatabase())
            var logger = Logger(label: "test-postgres")
            logger.logLevel = .error
            let storage = try await PostgresStorage.open(url: url, logger: logger, connectTimeout: .seconds(60), wallClock: wallClock)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await storage.runPool()
                    return nil
                }
                defer { group.cancelAll() }
                return try await body(BackendStores(backend: backend, devices: storage.devices) { try await storage.farm($0) })
            }
        }
    }
}
