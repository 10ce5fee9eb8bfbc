import EggloguCore
import EggloguStore
import PostgresNIO

/// One farm's change feed in PostgreSQL.
///
/// Every write transaction of a farm first locks the farm's row and takes its sequence numbers
/// from it, so the farm's writes commit in sequence order; every read is one statement, so it sees
/// one snapshot. A reader therefore sees a prefix of the farm's changes and its head together, and
/// a cursor never skips a change that commits later (docs/protocol.md).
struct PostgresFarmStore: FarmStore {
    let storage: PostgresStorage
    let farm: String
    let epoch: String

    var farmID: String? { farm }

    static func newEpoch() -> String {
        var rng = SystemRandomNumberGenerator()
        let hex = String(rng.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    func changes(after seq: Int64, limit: Int) async throws -> ChangePage {
        try await storage.run { [farm, logger = storage.logger] connection in
            // One statement: the head and the page come from the same snapshot.
            let rows = try await connection.query(
                """
                SELECT f.head, f.purged_through, r.collection, r.id, r.seq, r.body
                FROM farm f LEFT JOIN LATERAL (
                    SELECT collection, id, seq, body FROM record WHERE farm_id = f.farm_id AND seq > \(seq) ORDER BY seq LIMIT \(limit + 1)
                ) r ON true
                WHERE f.farm_id = \(farm)
                """,
                logger: logger
            )
            var head: Int64 = 0
            var purged: Int64 = 0
            var changes: [Change] = []
            for try await (h, p, collection, id, s, body) in rows.decode((Int64, Int64, String?, String?, Int64?, String?).self) {
                head = h
                purged = p
                if let collection, let id, let s, let body { changes.append(Change(collection: collection, id: id, seq: s, body: body)) }
            }
            if seq > 0 && seq < purged { throw ReplicaError.historyPurged(seq, through: purged) }
            return try Self.page(changes, after: seq, limit: limit, head: head)
        }
    }

    /// The page of `scanned` (up to `limit + 1` changes after `seq`) with its cursor.
    static func page(_ scanned: [Change], after seq: Int64, limit: Int, head: Int64) throws -> ChangePage {
        let hasMore = scanned.count > limit
        let kept = Array(scanned.prefix(limit))
        if !hasMore && seq > head { throw ReplicaError.cursorAhead(seq, head: head) }
        let cursor = hasMore ? kept.last!.seq : head
        return ChangePage(changes: kept, hasMore: hasMore, cursor: cursor, head: hasMore ? head : nil)
    }

    func sequence(receivedBefore time: Timestamp) async throws -> Int64 {
        try await storage.run { [farm, logger = storage.logger] connection in
            let rows = try await connection.query(
                """
                SELECT COALESCE(
                    (SELECT min(seq) - 1 FROM change_time WHERE farm_id = \(farm) AND at >= \(time.milliseconds)),
                    (SELECT head FROM farm WHERE farm_id = \(farm)), 0)
                """,
                logger: logger
            )
            for try await value in rows.decode(Int64.self) { return value }
            return 0
        }
    }

    func headSequence() async throws -> Int64 {
        try await storage.run { [farm, logger = storage.logger] connection in
            for try await head in try await connection.query("SELECT head FROM farm WHERE farm_id = \(farm)", logger: logger).decode(Int64.self) {
                return head
            }
            return 0
        }
    }

    func lastPurge() async throws -> Timestamp? {
        try await storage.run { [farm, logger = storage.logger] connection in
            let rows = try await connection.query("SELECT last_purge FROM farm WHERE farm_id = \(farm)", logger: logger)
            for try await last in rows.decode(Int64?.self) { return last.map(Timestamp.init(milliseconds:)) }
            return nil
        }
    }

    func purge(receivedBefore horizon: Timestamp) async throws -> PurgeReport {
        let now = storage.wallClock().milliseconds
        return try await storage.transaction { [farm, logger = storage.logger] connection in
            let locked = try await Self.lock(farm, epoch: nil, on: connection, logger: logger)
            var through = locked.head
            let first = try await connection.query(
                "SELECT min(seq) FROM change_time WHERE farm_id = \(farm) AND at >= \(horizon.milliseconds)",
                logger: logger
            )
            for try await value in first.decode(Int64?.self) { if let value { through = value - 1 } }
            var report = PurgeReport(purgedThrough: locked.purgedThrough)
            let deleted = try await connection.query(
                """
                DELETE FROM record WHERE farm_id = \(farm) AND seq <= \(through)
                  AND (deleted_at IS NOT NULL OR (collection = \(CollectionName.conflictArchive) AND resolved))
                RETURNING collection, seq
                """,
                logger: logger
            )
            for try await (collection, seq) in deleted.decode((String, Int64).self) {
                if collection == CollectionName.conflictArchive { report.archiveEntries += 1 } else { report.tombstones += 1 }
                report.purgedThrough = max(report.purgedThrough, seq)
            }
            try await connection.query(
                "UPDATE farm SET purged_through = \(report.purgedThrough), last_purge = \(now) WHERE farm_id = \(farm)",
                logger: logger
            )
            return report
        }
    }

    /// The farm's row, locked until the transaction ends: the farm's writes queue here, so they
    /// take their sequence numbers, and commit, one after another.
    static func lock(
        _ farm: String,
        epoch: String?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> (head: Int64, purgedThrough: Int64) {
        let rows = try await connection.query(
            """
            INSERT INTO farm (farm_id, epoch) VALUES (\(farm), \(epoch ?? newEpoch()))
            ON CONFLICT (farm_id) DO UPDATE SET farm_id = excluded.farm_id
            RETURNING head, purged_through, epoch
            """,
            logger: logger
        )
        for try await (head, purged, stored) in rows.decode((Int64, Int64, String).self) {
            if let epoch, stored != epoch {
                throw ReplicaError(.cursorAhead, "farm \(farm) has another history (epoch \(stored)) than this request started in")
            }
            return (head, purged)
        }
        throw ReplicaError(.io, "farm \(farm) could not be locked")
    }
}
