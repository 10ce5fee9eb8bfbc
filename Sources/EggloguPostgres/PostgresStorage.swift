import EggloguCore
import EggloguStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Farms and devices in one PostgreSQL database, which any number of server instances share.
///
/// Run it as a `Service` (its connection pool works while ``run()`` does); put it before the HTTP
/// server in the group, so it stops after the last request.
public final class PostgresStorage: FarmStorage, Service {
    /// The database, without its password.
    public let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    /// How long one store operation may take before it fails as "cannot be reached".
    let timeout: Duration
    /// Records stamped further ahead of server time than this are refused.
    let maxClockSkewMilliseconds: Int64
    /// Stamps come from this clock (milliseconds since 1970); tests move it.
    let wallClock: @Sendable () -> Timestamp
    private let epochs = Mutex<[String: String]>([:])
    public let devices: any DeviceDirectory

    private init(
        url: PostgresURL,
        client: PostgresClient,
        logger: Logger,
        timeout: Duration,
        maxClockSkewMilliseconds: Int64,
        wallClock: @escaping @Sendable () -> Timestamp
    ) {
        self.url = url
        self.client = client
        self.logger = logger
        self.timeout = timeout
        self.maxClockSkewMilliseconds = maxClockSkewMilliseconds
        self.wallClock = wallClock
        self.devices = PostgresDeviceDirectory(client: client, logger: logger, timeout: timeout)
    }

    /// Connects once to migrate the schema, then makes the pool.
    ///
    /// `connectTimeout` bounds the first connection, so a database that is not there fails the
    /// start soon (a supervisor tries again); a long migration, once connected, takes its time.
    ///
    /// - Throws: ``ReplicaError``: `cannotOpen` when the database cannot be reached or refuses
    ///   us, `migrationFailed` or `unreadable` from the migrations.
    public static func open(
        url: PostgresURL,
        logger: Logger,
        maximumConnections: Int = 20,
        timeout: Duration = .seconds(15),
        connectTimeout: Duration = .seconds(5),
        maxClockSkewMilliseconds: Int64 = HybridLogicalClock.defaultMaxSkewMilliseconds,
        wallClock: @escaping @Sendable () -> Timestamp = ReplicaConfiguration().wallClock
    ) async throws -> PostgresStorage {
        var configuration = url.clientConfiguration
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        // A client of its own for the migration: a pool's run() cannot start again once it ends.
        let migrator = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await migrator.run() }
            defer { group.cancelAll() }
            try await PostgresDeadline.run(within: connectTimeout) {
                try await migrator.withConnection { connection in _ = try await connection.query("SELECT 1", logger: logger).collect() }
            }
            try await PostgresDeadline.run(within: .seconds(3_600)) {
                try await migrator.withConnection { connection in try await PostgresSchema.migrate(connection, logger: logger) }
            }
        }
        return PostgresStorage(
            url: url,
            client: PostgresClient(configuration: configuration, backgroundLogger: logger),
            logger: logger,
            timeout: timeout,
            maxClockSkewMilliseconds: maxClockSkewMilliseconds,
            wallClock: wallClock
        )
    }

    /// Runs the connection pool until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.client.run() }
    }

    /// Runs the connection pool until the task is cancelled (outside a service group).
    public func runPool() async {
        await client.run()
    }

    public func farm(_ farm: String) async throws -> any FarmStore {
        if let epoch = epochs.withLock({ $0[farm] }) { return PostgresFarmStore(storage: self, farm: farm, epoch: epoch) }
        let created = PostgresFarmStore.newEpoch()
        let epoch = try await run { connection in
            try await connection.query(
                "INSERT INTO farm (farm_id, epoch) VALUES (\(farm), \(created)) ON CONFLICT (farm_id) DO NOTHING",
                logger: self.logger
            )
            for try await epoch in try await connection.query("SELECT epoch FROM farm WHERE farm_id = \(farm)", logger: self.logger)
                .decode(String.self)
            {
                return epoch
            }
            throw ReplicaError(.io, "farm \(farm) vanished while it was opened")
        }
        epochs.withLock { epochs in
            if epochs.count >= 100_000 { epochs.removeAll() }
            epochs[farm] = epoch
        }
        return PostgresFarmStore(storage: self, farm: farm, epoch: epoch)
    }

    public func farmsDueForPurge(every interval: Duration, limit: Int) async throws -> [any FarmStore] {
        let before = wallClock().milliseconds - interval.wholeMilliseconds
        let farms = try await run { connection in
            var farms: [(String, String)] = []
            let rows = try await connection.query(
                """
                SELECT farm_id, epoch FROM farm WHERE last_purge IS NULL OR last_purge < \(before)
                ORDER BY last_purge NULLS FIRST LIMIT \(limit)
                """,
                logger: self.logger
            )
            for try await row in rows.decode((String, String).self) { farms.append(row) }
            return farms
        }
        return farms.map { PostgresFarmStore(storage: self, farm: $0.0, epoch: $0.1) }
    }

    public func isReadable() async -> Bool {
        (try? await run { connection in try await connection.query("SELECT 1", logger: self.logger).collect().count }) == 1
    }

    /// Runs `body` on a pooled connection within ``timeout``, with failures as ``ReplicaError``s.
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await PostgresDeadline.run(within: timeout) { [client] in try await client.withConnection { try await body($0) } }
    }

    /// Runs `body` in a transaction within ``timeout``, with failures as ``ReplicaError``s.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await PostgresDeadline.run(within: timeout) { [client, logger] in
            try await client.withTransaction(logger: logger) { try await body($0) }
        }
    }
}
