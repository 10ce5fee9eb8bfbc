import EggloguCore
import EggloguJSON
import EggloguPostgres
import EggloguStore
import Logging

/// Reads one farm of running `egglogu-sync-server` instances straight from their store, for a
/// test's checks: the farm's SQLite file in the data directory, or the shared PostgreSQL database.
public final class ServerStoreReader: Sendable {
    private let store: @Sendable () async throws -> any FarmStore
    private let pool: Task<Void, Never>?

    /// - Parameter database: the instances' `--database` URL; nil for SQLite in `dataDirectory`.
    public init(dataDirectory: String, farm: String, database: String?) async throws {
        guard let database else {
            let path = dataDirectory + "/farms/\(farm).sqlite"
            store = { try await Replica.openForReading(path: path) }
            pool = nil
            return
        }
        var logger = Logger(label: "test-server-store")
        logger.logLevel = .error
        let storage = try await PostgresStorage.open(url: try PostgresURL(database), logger: logger, connectTimeout: .seconds(30))
        pool = Task { await storage.runPool() }
        store = { try await storage.farm(farm) }
    }

    deinit {
        pool?.cancel()
    }

    /// The stored version of record `id` of `collection` (a deletion included), if any, and the
    /// conflict-archive entries whose loser is a version of it.
    public func record(_ collection: String, id: String) async throws -> (version: RecordVersion?, archived: [ConflictEntry]) {
        var version: RecordVersion?
        var archived: [ConflictEntry] = []
        let store = try await store()
        var seq: Int64 = 0
        while true {
            let page = try await store.changes(after: seq, limit: 1_000)
            for change in page.changes {
                if change.collection == collection && change.id == id {
                    version = try RecordVersion(record: JSONParser().parse(change.body))
                } else if change.collection == CollectionName.conflictArchive {
                    let entry = try ConflictEntry(record: JSONParser().parse(change.body))
                    if entry.collection == collection && entry.recordID == id { archived.append(entry) }
                }
            }
            guard page.hasMore else { return (version, archived) }
            seq = page.cursor
        }
    }
}
