import GRDB

/// The statements a merge runs once per record, taken from GRDB's cache once per transaction: the
/// cache hashes and compares the whole SQL text on every lookup, which costs more than the lookup
/// or upsert itself for small records.
final class RecordStatements {
    private let db: Database
    private var lookup: Statement?
    private var upsert: Statement?

    init(_ db: Database) {
        self.db = db
    }

    /// Reads ``StoredRecord/columns`` of one record; binds collection and id.
    func lookupStatement() throws -> RawStatement {
        if let lookup { return RawStatement(lookup) }
        let statement = try db.cachedStatement(sql: StoredRecord.lookupSQL)
        lookup = statement
        return RawStatement(statement)
    }

    /// Writes one record row; binds every column of `record` in ``ReplicaTransaction``'s order.
    func upsertStatement() throws -> RawStatement {
        if let upsert { return RawStatement(upsert) }
        let statement = try db.cachedStatement(sql: Self.upsertSQL)
        upsert = statement
        return RawStatement(statement)
    }

    static let upsertSQL = """
        INSERT INTO record (collection, id, body, hash, updated_at, deleted_at, origin, vv, gen, seq, dirty)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(collection, id) DO UPDATE SET
          body = excluded.body, hash = excluded.hash, updated_at = excluded.updated_at,
          deleted_at = excluded.deleted_at, origin = excluded.origin, vv = excluded.vv, gen = excluded.gen,
          seq = excluded.seq, dirty = excluded.dirty
        """
}
