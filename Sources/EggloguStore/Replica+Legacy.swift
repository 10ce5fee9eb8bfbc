import EggloguCore
import EggloguJSON
import Foundation
import GRDB

extension Replica {
    /// Merges a push from the EGGlogU app's own web client and hands out its answer's token, in one
    /// transaction.
    ///
    /// A record is read for what it is:
    /// - equal to the stored content, or to the version its metadata names (`_syncHash`), it is an
    ///   unchanged copy and changes nothing (a record deleted elsewhere stays deleted);
    /// - otherwise it is this client's edit, based on the version its metadata names, or on the
    ///   stored version when that is the client's own earlier push (which is never sent back to it);
    /// - an edit of another base than the stored version is concurrent: the merge rule picks the
    ///   winner and the loser is archived, whatever the vectors say;
    /// - an edit with no known ancestry (no metadata, the stored version made elsewhere) leaves
    ///   the stored version in place and is archived for review.
    ///
    /// The farm object is applied field by field. Its fields carry no metadata, so a field that
    /// changed after the client's last answer is compared with what the field held then.
    ///
    /// The client's position comes from its `last_synced_at`: the `server_now` of one of our answers
    /// maps exactly to the change sequence that answer covered, never through a clock.
    public func legacyPush(_ push: LegacyPush) async throws -> LegacyPushResult {
        try await write { transaction in try transaction.legacyPush(push) }
    }

    /// The farm's live fields when any of them changed for this client since its position (or
    /// must come back to it), else `nil`.
    public func legacyFarm(for result: LegacyPushResult) async throws -> JSONObject? {
        try await read { db in
            var changed = result.sendBack.contains { $0.collection == LegacyFarm.collection }
            if !changed {
                let fields = try String.fetchAll(
                    db.cachedStatement(sql: "SELECT id FROM record WHERE collection = ? AND seq > ? AND seq <= ?"),
                    arguments: [LegacyFarm.collection, result.since, result.head]
                )
                changed = fields.contains { !result.own.contains(RecordRef(collection: LegacyFarm.collection, id: $0)) }
            }
            guard changed else { return nil }
            let fields = try Replica.fields(db, collection: LegacyFarm.collection, order: try Replica.layout(db).fields[LegacyFarm.collection] ?? [])
            return fields.filter(keys: LegacyFarm.isField)
        }
    }

    /// How many changes, of every collection, lie between the client's position and the answer's.
    public func legacyChangeCount(for result: LegacyPushResult) async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM record WHERE seq > ? AND seq <= ?"),
                arguments: [result.since, result.head]
            ) ?? 0
        }
    }

    /// The answer's records in one read transaction, for an answer small enough to hold: the live
    /// records of `collections` changed after `result.since` up to `result.head`, without the
    /// versions the push made, then the stored versions it must get back. Deleted records are left
    /// out: the client cannot apply a deletion.
    public func legacyChanges(for result: LegacyPushResult, collections: Set<String>) async throws -> [LegacyRecord] {
        try await read { db in
            var records: [LegacyRecord] = []
            var sent: Set<RecordRef> = []
            let rows = try LegacyRecord.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT collection, id, body, hash FROM record WHERE seq > ? AND seq <= ? AND deleted_at IS NULL ORDER BY seq"
                ),
                arguments: [result.since, result.head]
            )
            while let record = try rows.next() {
                let ref = RecordRef(collection: record.collection, id: record.id)
                guard collections.contains(ref.collection), !result.own.contains(ref) else { continue }
                records.append(record)
                sent.insert(ref)
            }
            for collection in Set(result.sendBack.map(\.collection)).intersection(collections).sorted() {
                try Replica.sendBack(db, collection, for: result, except: sent, into: &records)
            }
            return records
        }
    }

    /// One page of an answer too large to hold: live records of `collection` changed for this
    /// client, ordered by id after `after`, each page in a read transaction of its own. A record
    /// changed again meanwhile has moved beyond `result.head` and reaches the client next time.
    /// The last page also brings the stored versions the push must get back.
    ///
    /// - Returns: the page's records, and the id to continue after (`nil` once the collection is done).
    public func legacyPage(
        of collection: String,
        for result: LegacyPushResult,
        after: String?,
        limit: Int
    ) async throws -> (records: [LegacyRecord], next: String?) {
        try await read { db in
            let rows = try LegacyRecord.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT collection, id, body, hash FROM record WHERE collection = ? AND id > ? AND seq > ? AND seq <= ?
                          AND deleted_at IS NULL ORDER BY id LIMIT ?
                        """
                ),
                arguments: [collection, after ?? "", result.since, result.head, limit]
            )
            var records = rows.filter { !result.own.contains(RecordRef(collection: collection, id: $0.id)) }
            if rows.count == limit { return (records, rows.last!.id) }
            try Replica.sendBack(db, collection, for: result, except: [], onlyUpTo: result.since, into: &records)
            return (records, nil)
        }
    }

    /// The stored versions of `collection` that a push must get back, unless already sent.
    private static func sendBack(
        _ db: Database,
        _ collection: String,
        for result: LegacyPushResult,
        except sent: Set<RecordRef>,
        onlyUpTo: Int64? = nil,
        into records: inout [LegacyRecord]
    ) throws {
        let back = try db.cachedStatement(
            sql: "SELECT collection, id, body, hash FROM record WHERE collection = ? AND id = ? AND seq <= ? AND deleted_at IS NULL"
        )
        for ref in result.sendBack.filter({ $0.collection == collection && !sent.contains($0) }).sorted(by: { $0.id < $1.id }) {
            if let record = try LegacyRecord.fetchOne(back, arguments: [collection, ref.id, onlyUpTo ?? result.head]) {
                records.append(record)
            }
        }
    }
}

/// A live record of a legacy answer: its stored JSON text and content hash.
public struct LegacyRecord: Sendable, FetchableRecord {
    public let collection: String
    public let id: String
    /// The stored record with its sync metadata, as compact JSON.
    public let body: [UInt8]
    /// The content hash the client's `_syncHash` will carry.
    public let hash: String

    public init(row: Row) throws {
        collection = row["collection"]
        id = row["id"]
        body = try row.withUnsafeData(named: "body") { data in data.map { Array($0) } ?? [] }
        hash = row["hash"]
    }
}

/// Where a legacy client stands, resolved from its `last_synced_at`.
struct LegacyPosition {
    /// The answer holds the changes after this sequence number.
    var since: Int64
    /// Whether the client has seen every change up to `since` (sent to it, or its own push).
    var isExact: Bool
    /// The browser session the client's chain of answers belongs to.
    var session: String
    /// The answer token the client sent, when it is one of ours.
    var token: String?
}

extension ReplicaTransaction {
    /// How long an answer token is remembered; an older one maps through the time it names.
    static let legacyTokenRetentionMilliseconds: Int64 = 400 * 86_400_000

    func legacyPosition(_ since: LegacySince) throws -> LegacyPosition {
        switch since {
        case .never:
            return LegacyPosition(since: 0, isExact: true, session: Self.newSession(), token: nil)
        case .client(let text, let time):
            if let text,
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT seq, session FROM legacy_answer WHERE token = ?"),
                    arguments: [text]
                )
            {
                return LegacyPosition(since: row["seq"], isExact: true, session: row["session"], token: text)
            }
            // A time we did not hand out (another server's, or one forgotten): changes received since
            // then go out again, and nothing is assumed about what the client has seen.
            let since = try Replica.sequence(db, receivedBefore: time.adding(milliseconds: -1_000))
            return LegacyPosition(since: since, isExact: false, session: Self.newSession(), token: nil)
        }
    }

    /// Records the answer's `server_now`, unique in this farm, as the client's next position.
    /// The token the client came with has been received, so its predecessor is forgotten.
    mutating func issueLegacyToken(head: Int64, session: String, parent: String?) throws -> String {
        let now = wallClock
        var at = now
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM legacy_answer WHERE token = ?")
        while try Bool.fetchOne(exists, arguments: [at.iso8601]) != nil {
            at = at.adding(milliseconds: 1)
        }
        let token = at.iso8601
        try db.cachedStatement(sql: "INSERT INTO legacy_answer (token, seq, session, parent, at) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [token, head, session, parent, now.milliseconds])
        if let parent {
            try db.cachedStatement(
                sql: "DELETE FROM legacy_answer WHERE token = (SELECT parent FROM legacy_answer WHERE token = ?)"
            ).execute(arguments: [parent])
        }
        try db.cachedStatement(sql: "DELETE FROM legacy_answer WHERE at < ?")
            .execute(arguments: [now.milliseconds - Self.legacyTokenRetentionMilliseconds])
        return token
    }

    private static func newSession() -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<8).map { _ in digits[Int.random(in: 0..<36, using: &rng)] })
    }
}
