import EggloguCore
import EggloguJSON
import EggloguStore
import PostgresNIO

/// One push merged into a farm inside its write transaction, with the one merge rule
/// (``MergeDecision``) and the one archive builder, as a SQLite replica does.
///
/// The stored versions of the pushed records are read in one query; the rows written are kept
/// here and written in one statement by ``flush(at:)``, so a page of 500 records costs a handful
/// of round trips instead of a thousand.
struct PostgresMerge {
    let farm: String
    let connection: PostgresConnection
    let logger: Logger
    private(set) var nextSeq: Int64
    private let firstSeq: Int64
    private var known: [RecordRef: Stored?] = [:]
    private var writes: [RecordRef: Pending] = [:]
    private(set) var changes = 0
    private(set) var conflictsFiled = 0

    private struct Stored {
        var info: VersionInfo
        var body: String?
        var seq: Int64
    }

    private struct Pending {
        var body: String
        var info: VersionInfo
        var seq: Int64
        var resolved: Bool
    }

    init(farm: String, head: Int64, connection: PostgresConnection, logger: Logger) {
        self.farm = farm
        self.connection = connection
        self.logger = logger
        self.nextSeq = head + 1
        self.firstSeq = head + 1
    }

    /// The newest sequence number, this merge's changes included.
    var head: Int64 { nextSeq - 1 }

    /// Reads the stored versions (without bodies) of `refs` in one query.
    mutating func prefetch(_ refs: [RecordRef]) async throws {
        let wanted = refs.filter { known[$0] == nil }
        guard !wanted.isEmpty else { return }
        for ref in wanted { known[ref] = .some(nil) }
        let rows = try await connection.query(
            """
            SELECT collection, id, hash, updated_at, deleted_at, origin, vv, gen, seq FROM record
            WHERE farm_id = \(farm) AND (collection, id) IN (SELECT * FROM unnest(\(wanted.map(\.collection))::text[], \(wanted.map(\.id))::text[]))
            """,
            logger: logger
        )
        for try await row in rows.decode((String, String, String, Int64, Int64?, String, String, Int64, Int64).self) {
            known[RecordRef(collection: row.0, id: row.1)] = Stored(info: try Self.info(row), body: nil, seq: row.8)
        }
    }

    private static func info(_ row: (String, String, String, Int64, Int64?, String, String, Int64, Int64)) throws -> VersionInfo {
        VersionInfo(
            updatedAt: Timestamp(milliseconds: row.3),
            deletedAt: row.4.map(Timestamp.init(milliseconds:)),
            origin: row.5,
            vector: try VectorColumn.decode(row.6),
            generation: Int(row.7),
            contentHash: row.2
        )
    }

    private mutating func stored(_ ref: RecordRef) async throws -> Stored? {
        if let known = known[ref] { return known }
        try await prefetch([ref])
        return known[ref] ?? nil
    }

    /// The stored record's JSON text.
    mutating func body(_ ref: RecordRef) async throws -> String? {
        guard let row = try await stored(ref) else { return nil }
        if let body = row.body { return body }
        let rows = try await connection.query(
            "SELECT body FROM record WHERE farm_id = \(farm) AND collection = \(ref.collection) AND id = \(ref.id)",
            logger: logger
        )
        for try await body in rows.decode(String.self) {
            known[ref] = Stored(info: row.info, body: body, seq: row.seq)
            return body
        }
        return nil
    }

    private mutating func object(_ ref: RecordRef) async throws -> JSONObject? {
        guard let text = try await body(ref) else { return nil }
        guard case .object(let object) = try JSONParser().parse(text) else {
            throw ReplicaError(.unreadable, "a stored record is not a JSON object")
        }
        return object
    }

    /// Merges `incoming` into the stored record.
    ///
    /// - Returns: whether the incoming version lost to the stored one.
    mutating func apply(_ incoming: RecordVersion, in collection: String) async throws -> Bool {
        let ref = RecordRef(collection: collection, id: incoming.id)
        let decision = MergeDecision(stored: try await stored(ref)?.info, incoming: incoming.info)
        let loser = decision.archives(in: collection) ? try await object(ref).map { try RecordVersion(record: .object($0)) } : nil
        switch decision.outcome {
        case .duplicate:
            return false
        case .keepStored:
            if let loser, let entry = decision.archiveEntry(collection: collection, stored: loser, incoming: incoming) {
                try await file(entry)
            }
            return true
        case .takeIncoming:
            write(ref, body: String(decoding: incoming.recordText, as: UTF8.self), info: incoming.info, resolved: false)
            if let loser, let entry = decision.archiveEntry(collection: collection, stored: loser, incoming: incoming) {
                try await file(entry)
            }
            return false
        }
    }

    /// Adds an entry to the conflict archive, joined with any entry of the same id.
    ///
    /// - Returns: the entry as stored now.
    @discardableResult
    mutating func file(_ entry: ConflictEntry) async throws -> ConflictEntry {
        let ref = RecordRef(collection: CollectionName.conflictArchive, id: entry.id)
        let merged: ConflictEntry
        if let existing = try await object(ref) {
            let stored = try ConflictEntry(record: .object(existing))
            merged = stored.joined(with: entry)
            if merged == stored { return stored }
        } else {
            merged = entry
            conflictsFiled += 1
        }
        let record = merged.record
        let info = ConflictEntry.storedInfo(of: record, updatedAt: merged.updatedAt)
        write(ref, body: String(decoding: JSONValue.object(record).serialized(), as: UTF8.self), info: info, resolved: merged.isResolved)
        return merged
    }

    private mutating func write(_ ref: RecordRef, body: String, info: VersionInfo, resolved: Bool) {
        writes[ref] = Pending(body: body, info: info, seq: nextSeq, resolved: resolved)
        known[ref] = Stored(info: info, body: body, seq: nextSeq)
        nextSeq += 1
        changes += 1
    }

    /// Writes every changed row, notes when the changes arrived, and moves the farm's head, in one
    /// statement: the farm's lock is held for as few round trips as can be.
    func flush(at now: Timestamp) async throws {
        guard !writes.isEmpty else { return }
        let rows = Array(writes)
        let noDeletion = Int64.min
        try await connection.query(
            """
            WITH written AS (
                INSERT INTO record (farm_id, collection, id, body, hash, updated_at, deleted_at, origin, vv, gen, seq, resolved)
                SELECT \(farm), c, i, b, h, u, NULLIF(d, \(noDeletion)), o, v, g, s, r
                FROM unnest(
                    \(rows.map(\.key.collection))::text[], \(rows.map(\.key.id))::text[], \(rows.map(\.value.body))::text[],
                    \(rows.map(\.value.info.contentHash))::text[], \(rows.map(\.value.info.updatedAt.milliseconds))::int8[],
                    \(rows.map { $0.value.info.deletedAt?.milliseconds ?? noDeletion })::int8[], \(rows.map(\.value.info.origin))::text[],
                    \(rows.map { VectorColumn.encode($0.value.info.vector) })::text[], \(rows.map { Int64($0.value.info.generation) })::int8[],
                    \(rows.map(\.value.seq))::int8[], \(rows.map(\.value.resolved))::bool[]
                ) AS t(c, i, b, h, u, d, o, v, g, s, r)
                ON CONFLICT (farm_id, collection, id) DO UPDATE SET
                  body = excluded.body, hash = excluded.hash, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at,
                  origin = excluded.origin, vv = excluded.vv, gen = excluded.gen, seq = excluded.seq, resolved = excluded.resolved
                RETURNING 1
            ), arrived AS (
                INSERT INTO change_time (farm_id, seq, at) VALUES (\(farm), \(firstSeq), \(now.milliseconds)) RETURNING 1
            )
            UPDATE farm SET head = \(head) WHERE farm_id = \(farm)
            """,
            logger: logger
        )
    }
}
