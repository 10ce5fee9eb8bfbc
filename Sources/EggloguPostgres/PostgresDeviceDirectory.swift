import EggloguStore
import Foundation
import Logging
import PostgresNIO

/// Devices and revocations in PostgreSQL: a revocation made through any instance applies at once
/// on every instance, because each request reads it.
final class PostgresDeviceDirectory: DeviceDirectory {
    private let client: PostgresClient
    private let logger: Logger
    private let timeout: Duration
    private let touches = TouchThrottle()

    /// A revocation under this farm applies to every farm (as in ``DeviceRegistry``).
    static let everyFarm = "*"

    init(client: PostgresClient, logger: Logger, timeout: Duration) {
        self.client = client
        self.logger = logger
        self.timeout = timeout
    }

    /// Runs `body` within the timeout. Its statements' rows are read to the end (`collect()`), which
    /// is what hands the pooled connection back.
    @discardableResult
    private func run<T: Sendable>(_ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T) async throws -> T {
        try await PostgresDeadline.run(within: timeout) { [client, logger] in try await body(client, logger) }
    }

    func isReadable() async -> Bool {
        (try? await run { client, logger in try await client.query("SELECT count(*) FROM farm_revocation", logger: logger).collect() }) != nil
    }

    func register(device: String, farms: [String]) async throws {
        try await run { client, logger in
            try await client.query(
                "INSERT INTO device (farm, device) SELECT f, \(device) FROM unnest(\(farms)::text[]) AS f ON CONFLICT DO NOTHING",
                logger: logger
            ).collect()
        }
    }

    func revoke(farm: String, device: String, at now: Date) async throws {
        try await run { client, logger in
            try await client.query(
                """
                INSERT INTO farm_revocation (farm, device, revoked_at) VALUES (\(farm), \(device), \(now.timeIntervalSince1970))
                ON CONFLICT (farm, device) DO UPDATE SET revoked_at = excluded.revoked_at
                """,
                logger: logger
            ).collect()
        }
    }

    func isRevoked(farm: String, device: String, issuedAt: Date) async throws -> Bool {
        try await run { client, logger in
            let rows = try await client.query(
                "SELECT max(revoked_at) FROM farm_revocation WHERE device = \(device) AND farm IN (\(farm), \(Self.everyFarm))",
                logger: logger
            )
            for try await revokedAt in rows.decode(Double?.self) {
                if let revokedAt { return issuedAt.timeIntervalSince1970 <= revokedAt }
            }
            return false
        }
    }

    func touch(farm: String, device: String, at now: Date) async throws {
        guard touches.isDue(farm: farm, device: device, at: now) else { return }
        do {
            try await run { client, logger in
                try await client.query(
                    """
                    INSERT INTO device (farm, device, last_seen) VALUES (\(farm), \(device), \(now.timeIntervalSince1970))
                    ON CONFLICT (farm, device) DO UPDATE SET last_seen = excluded.last_seen
                    """,
                    logger: logger
                ).collect()
            }
        } catch {
            touches.failed(farm: farm, device: device)
            throw error
        }
    }

    func devices(farm: String) async throws -> [DeviceEntry] {
        try await run { client, logger in
            let rows = try await client.query(
                """
                SELECT d.device, d.last_seen,
                  (SELECT max(r.revoked_at) FROM farm_revocation r WHERE r.device = d.device AND r.farm IN (d.farm, \(Self.everyFarm)))
                FROM device d WHERE d.farm = \(farm) ORDER BY d.device
                """,
                logger: logger
            )
            var entries: [DeviceEntry] = []
            for try await (device, lastSeen, revokedAt) in rows.decode((String, Double?, Double?).self) {
                entries.append(
                    DeviceEntry(
                        farm: farm,
                        device: device,
                        lastSeen: lastSeen.map(Date.init(timeIntervalSince1970:)),
                        revokedAt: revokedAt.map(Date.init(timeIntervalSince1970:))
                    )
                )
            }
            return entries
        }
    }
}
