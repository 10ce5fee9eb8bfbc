import Foundation
import GRDB

/// A device the server knows, with when it was last seen.
public struct DeviceEntry: Sendable, Equatable {
    public let farm: String
    public let device: String
    public let lastSeen: Date?
    public let revokedAt: Date?

    public init(farm: String, device: String, lastSeen: Date?, revokedAt: Date?) {
        self.farm = farm
        self.device = device
        self.lastSeen = lastSeen
        self.revokedAt = revokedAt
    }
}

/// Devices, their last-seen times and revocations, in `server.sqlite`, all per farm: device ids
/// are unique only within a farm (two farms may both have a `gw1`).
///
/// Revocations are read on every request, so a `revoke` run by another process takes effect
/// at once. Last-seen times are written at most once a minute per device, so a busy device
/// does not cost an extra durable write per request.
public final class DeviceRegistry: Sendable {
    let pool: DatabasePool
    private let path: String
    private let touches = TouchThrottle()

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
    }

    /// Opens (creating and migrating) the registry; SQLite's failures come as ``ReplicaError``s.
    public static func open(path: String) async throws -> DeviceRegistry {
        try await StoreThread.run {
            do {
                return DeviceRegistry(path: path, pool: try Self.openPool(path))
            } catch let error as DatabaseError {
                throw ReplicaError(mapping: error, path: path)
            }
        }
    }

    private static func openPool(_ path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB's WAL set-up leaves the writer at NORMAL: a revoked device must stay revoked
        // through a power cut, so every commit is synced.
        try pool.writeWithoutTransaction { try $0.execute(sql: CommitDurability.synced.pragma) }
        try upgrade.migrate(pool, path: path)
        return pool
    }

    /// The registry's migrations. A migration never changes once it has shipped: add a new one.
    private static let upgrade = SchemaUpgrade(migrations: [
        (
            "v1",
            """
            CREATE TABLE device (
                farm TEXT NOT NULL,
                device TEXT NOT NULL,
                last_seen REAL,
                PRIMARY KEY (farm, device)
            ) WITHOUT ROWID;
            CREATE TABLE revocation (
                device TEXT PRIMARY KEY NOT NULL,
                revoked_at REAL NOT NULL
            ) WITHOUT ROWID;
            """
        ),
        // v1 revoked a device id in every farm; its rows keep that meaning under the farm `*`.
        (
            "v2",
            """
            CREATE TABLE farm_revocation (
                farm TEXT NOT NULL,
                device TEXT NOT NULL,
                revoked_at REAL NOT NULL,
                PRIMARY KEY (farm, device)
            ) WITHOUT ROWID;
            INSERT INTO farm_revocation (farm, device, revoked_at) SELECT '*', device, revoked_at FROM revocation;
            DROP TABLE revocation;
            """
        ),
    ])

    /// The farm under which a revocation applies to every farm (the registries of before).
    static let everyFarm = "*"

    /// Whether the registry answers a read (the watchdog's health check).
    public func isReadable() async -> Bool {
        (try? await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM farm_revocation") }) != nil
    }

    /// Remembers that `device` may use `farms` (called when a token is minted).
    public func register(device: String, farms: [String]) async throws {
        try await mapped {
            try await write { db in
                for farm in farms {
                    try db.execute(sql: "INSERT OR IGNORE INTO device (farm, device) VALUES (?, ?)", arguments: [farm, device])
                }
            }
        }
    }

    /// Makes every token of `device` issued until now fail for `farm` (its other farms, and a
    /// device of the same name in another farm, are untouched).
    public func revoke(farm: String, device: String, at now: Date = Date()) async throws {
        try await mapped {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT INTO farm_revocation (farm, device, revoked_at) VALUES (?, ?, ?)
                        ON CONFLICT(farm, device) DO UPDATE SET revoked_at = excluded.revoked_at
                        """,
                    arguments: [farm, device, now.timeIntervalSince1970]
                )
            }
        }
    }

    /// Whether a token of `device` issued at `issuedAt` was revoked for `farm`.
    public func isRevoked(farm: String, device: String, issuedAt: Date) async throws -> Bool {
        try await mapped {
            try await read { db in
                guard
                    let revokedAt = try Double.fetchOne(
                        db,
                        sql: "SELECT max(revoked_at) FROM farm_revocation WHERE device = ? AND farm IN (?, ?)",
                        arguments: [device, farm, Self.everyFarm]
                    )
                else { return false }
                return issuedAt.timeIntervalSince1970 <= revokedAt
            }
        }
    }

    /// Records that `device` synced `farm` now (written at most once a minute).
    public func touch(farm: String, device: String, at now: Date = Date()) async throws {
        guard touches.isDue(farm: farm, device: device, at: now) else { return }
        do {
            try await mapped {
                try await write { db in
                    try db.execute(
                        sql:
                            "INSERT INTO device (farm, device, last_seen) VALUES (?, ?, ?) ON CONFLICT(farm, device) DO UPDATE SET last_seen = excluded.last_seen",
                        arguments: [farm, device, now.timeIntervalSince1970]
                    )
                }
            }
        } catch {
            touches.failed(farm: farm, device: device)
            throw error
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await StoreThread.run { [pool] in try pool.read(body) }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await StoreThread.run { [pool] in try pool.write(body) }
    }

    /// Runs `body`, reporting SQLite's failures as ``ReplicaError``s (a full disk, a busy or damaged file).
    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw ReplicaError(mapping: error, path: path)
        }
    }

    /// Copies the registry, online, to `destination`.
    public func backup(to destination: String) async throws {
        try await mapped {
            try await StoreThread.run { [pool] in
                let target = try DatabaseQueue(path: destination)
                try pool.backup(to: target)
                try target.close()
            }
        }
    }

    /// The devices of `farm`, by id.
    public func devices(farm: String) async throws -> [DeviceEntry] {
        try await mapped {
            try await read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT d.farm, d.device, d.last_seen,
                          (SELECT max(r.revoked_at) FROM farm_revocation r WHERE r.device = d.device AND r.farm IN (d.farm, '*')) AS revoked_at
                        FROM device d WHERE d.farm = ? ORDER BY d.device
                        """,
                    arguments: [farm]
                ).map { row in
                    DeviceEntry(
                        farm: row["farm"],
                        device: row["device"],
                        lastSeen: (row["last_seen"] as Double?).map(Date.init(timeIntervalSince1970:)),
                        revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:))
                    )
                }
            }
        }
    }
}
