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
    public func legacyPush(_ push: LegacyPush) throws -> LegacyPushResult {
        try write { transaction in try transaction.legacyPush(push) }
    }

    /// Reads the answer to a legacy push, in one read transaction: the live records of
    /// `collections` changed after `result.since` up to `result.head`, without the versions the push
    /// made, plus the stored versions the push must get back. Deleted records are left out: the
    /// client cannot apply a deletion.
    ///
    /// - Parameter visit: gets each record's collection, its stored JSON text and its content hash.
    /// - Returns: the farm's live fields when any of them changed for this client, else `nil`.
    public func legacyAnswer(
        to result: LegacyPushResult, collections: Set<String>, visit: (String, Data, String) throws -> Void
    ) throws -> JSONObject? {
        try read { db in
            var farmChanged = result.sendBack.contains { $0.collection == LegacyFarm.collection }
            var sent: Set<RecordRef> = []
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT collection, id, body, hash FROM record WHERE seq > ? AND seq <= ? AND deleted_at IS NULL ORDER BY seq"),
                arguments: [result.since, result.head])
            while let row = try rows.next() {
                let ref = RecordRef(collection: row[0], id: row[1])
                guard !result.own.contains(ref) else { continue }
                if ref.collection == LegacyFarm.collection {
                    farmChanged = true
                } else if collections.contains(ref.collection) {
                    try row.withUnsafeData(atIndex: 2) { body in try visit(ref.collection, body ?? Data(), row[3]) }
                    sent.insert(ref)
                }
            }
            let back = try db.cachedStatement(
                sql: "SELECT body, hash FROM record WHERE collection = ? AND id = ? AND seq <= ? AND deleted_at IS NULL")
            for ref in result.sendBack.sorted(by: { ($0.collection, $0.id) < ($1.collection, $1.id) })
            where ref.collection != LegacyFarm.collection && collections.contains(ref.collection) && !sent.contains(ref) {
                guard let row = try Row.fetchOne(back, arguments: [ref.collection, ref.id, result.head]) else { continue }
                try row.withUnsafeData(atIndex: 0) { body in try visit(ref.collection, body ?? Data(), row[1]) }
            }
            guard farmChanged else { return nil }
            let fields = try Replica.fields(db, collection: LegacyFarm.collection, order: try Replica.layout(db).fields[LegacyFarm.collection] ?? [])
            return fields.filter(keys: LegacyFarm.isField)
        }
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
            if let text, let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT seq, session FROM legacy_answer WHERE token = ?"), arguments: [text])
            {
                return LegacyPosition(since: row[0], isExact: true, session: row[1], token: text)
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
