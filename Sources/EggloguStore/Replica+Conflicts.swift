import EggloguCore
import EggloguJSON
import GRDB

extension Replica {
    /// The conflict archive, newest first; resolved entries only when asked.
    public func conflicts(includeResolved: Bool = false) async throws -> [ConflictEntry] {
        try await read { db in try Replica.archive(db) }
            .filter { includeResolved || !$0.isResolved }
            .sorted { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }
    }

    /// How many conflicts are unresolved, without reading the entries.
    public func unresolvedConflictCount() async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(*) - coalesce(sum(json_extract(body, '$.resolved')), 0) FROM record WHERE collection = ?",
                arguments: [CollectionName.conflictArchive]
            ) ?? 0
        }
    }

    /// The entry whose id is `id` or starts with it (at least 4 characters).
    public func conflict(_ id: String) async throws -> ConflictEntry {
        try await read { db in try Replica.entry(db, matching: id) }
    }

    /// Resolves a conflict, in one transaction.
    ///
    /// `keepMine` republishes the archived version so it wins everywhere (an
    /// archived deletion deletes again); `acceptTheirs` drops it. Either way the
    /// entry is marked resolved, which syncs and clears it on every device.
    /// A resolved conflict cannot be resolved again.
    ///
    /// - Returns: the resolved entry and, for `keepMine`, the republished version.
    @discardableResult
    public func resolve(
        _ id: String,
        choice: ConflictEntry.Resolution.Choice
    ) async throws -> (entry: ConflictEntry, republished: RecordVersion?) {
        try await write { transaction in
            let entry = try Replica.entry(transaction.db, matching: id)
            if let resolution = entry.resolution {
                throw ReplicaError(
                    .alreadyResolved,
                    "conflict \(entry.id) was resolved already (\(resolution.choice.rawValue) by \(resolution.by) at \(resolution.at))"
                )
            }
            let stamp = try transaction.stamp()
            var republished: RecordVersion? = nil
            if choice == .keepMine {
                let version = LocalWrite.keepMine(entry, device: transaction.device, stamp: stamp)
                try transaction.apply(version, in: entry.collection, source: .local)
                republished = version
            }
            let resolved = entry.resolved(choice, at: stamp, by: transaction.device)
            try transaction.file(resolved, source: .local)
            return (resolved, republished)
        }
    }

    static func archive(_ db: Database) throws -> [ConflictEntry] {
        try String.fetchAll(db, sql: "SELECT body FROM record WHERE collection = ?", arguments: [CollectionName.conflictArchive])
            .map { try ConflictEntry(record: .object(StoredRecord.parseBody($0))) }
    }

    static func entry(_ db: Database, matching id: String) throws -> ConflictEntry {
        guard id.count >= 4 else { throw ReplicaError(.badData, "a conflict id needs at least 4 characters") }
        let ids = try String.fetchAll(
            db,
            sql: "SELECT id FROM record WHERE collection = ? AND substr(id, 1, ?) = ?",
            arguments: [CollectionName.conflictArchive, id.utf8.count, id]
        )
        guard !ids.isEmpty else { throw ReplicaError(.notFound, "no conflict \(id)") }
        guard ids.count == 1 else { throw ReplicaError(.badData, "conflict id \(id) is ambiguous: \(ids.joined(separator: ", "))") }
        return try ConflictEntry(record: .object(StoredRecord.body(db, collection: CollectionName.conflictArchive, id: ids[0])))
    }
}
