import EggloguCore
import EggloguJSON
import GRDB

extension Replica {
    /// The cursor of the last page this replica applied from its server, if any.
    public func upstreamCursor() async throws -> String? {
        try await read { db in try Meta.get(db, .upstreamCursor) }
    }

    /// When this replica last finished a sync with its server.
    public func lastSync() async throws -> Timestamp? {
        try await read { db in try Meta.get(db, .lastSync).flatMap(Timestamp.init(iso8601:)) }
    }

    /// Applies a server's answer in one transaction: the pushed changes it settled are no
    /// longer queued, the page of changes is merged, and the cursor advances to cover it.
    /// A page with nothing settled is not synced to disk before this returns
    /// (``CommitDurability/refetchable``): a power cut may take it back, cursor and all.
    ///
    /// - Parameters:
    ///   - changes: the page the server sent.
    ///   - settled: pushed changes the server accepted, superseded or refused for good.
    ///   - cursor: the server's cursor after this page.
    ///   - completesSync: whether this page ends a full sync cycle (recorded as the last sync).
    @discardableResult
    public func applyUpstream(
        _ changes: [(collection: String, records: [JSONValue])],
        settled: [Change] = [],
        cursor: String,
        completesSync: Bool = false
    ) async throws -> RemoteMergeReport {
        // A page alone is the server's and comes again from the cursor; settled pushes are
        // synced, so a power cut cannot send them a second time.
        try await write(settled.isEmpty ? .refetchable : .synced) { transaction in
            try transaction.markPushed(settled)
            let report = try transaction.merge(changes, options: RemoteMergeOptions()).report
            // A notice's changes applied while this page was on its way may have moved the cursor
            // further; everything up to either one is here, so the further one stays.
            let stored = try Meta.get(transaction.db, .upstreamCursor)
            if !(stored.map { Self.cursor($0, isAhead: cursor) } ?? false) {
                try Meta.set(transaction.db, .upstreamCursor, cursor)
            }
            if completesSync {
                try Meta.set(transaction.db, .lastSync, transaction.wallClock.iso8601)
            }
            return report
        }
    }

    /// Applies changes a notice carried, in one transaction, if they continue this replica's
    /// cursor: when the stored cursor is `before`, merges them and moves it to `cursor`. Like a
    /// page, the commit is not synced before this returns.
    ///
    /// The server never sends a record its own checks refuse, so a notice holding one (malformed,
    /// or stamped beyond this clock's allowed skew) is not taken for the server's: nothing of it
    /// is applied.
    ///
    /// - Returns: the merge report, or nil (nothing done) when the cursor is elsewhere or a record
    ///   fails the checks: then the device pulls.
    public func applyInline(
        _ changes: [(collection: String, records: [JSONValue])],
        before: String,
        cursor: String
    ) async throws -> RemoteMergeReport? {
        let strict = RemoteMergeOptions(rejectsFutureTimestamps: true)
        let limit = configuration.wallClock().adding(milliseconds: configuration.maxClockSkewMilliseconds)
        for (collection, records) in changes {
            let kind = CollectionName.kind(of: collection)
            for record in records {
                guard (try? IncomingRecord(record, collection: collection, kind: kind, options: strict, limit: limit)) != nil else {
                    return nil
                }
            }
        }
        return try await write(.refetchable) { transaction in
            guard try Meta.get(transaction.db, .upstreamCursor) == before else { return nil }
            let report = try transaction.merge(changes, options: RemoteMergeOptions()).report
            try Meta.set(transaction.db, .upstreamCursor, cursor)
            return report
        }
    }

    /// Whether cursor `a` is past `b` in the same history (`<epoch>:<seq>`, as the server writes them).
    static func cursor(_ a: String, isAhead b: String) -> Bool {
        guard let i = a.lastIndex(of: ":"), let j = b.lastIndex(of: ":"), a[..<i] == b[..<j],
            let x = Int64(a[a.index(after: i)...]), let y = Int64(b[b.index(after: j)...])
        else { return false }
        return x > y
    }

    /// Frees the SQLite page caches of this replica's connections and closes its idle readers (an
    /// idle service's memory); they fill again on the next reads.
    public func releaseMemory() async {
        try? await StoreThread.run { [pool] in pool.releaseMemory() }
    }

    /// Stores what a running service reports about itself (nil: it stopped), shown by ``status()``.
    public func setServiceState(_ state: JSONValue?) async throws {
        try await write { transaction in
            if let state {
                try Meta.set(transaction.db, .serviceState, state.jsonText())
            } else {
                try transaction.db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [Meta.serviceState.rawValue])
            }
        }
    }

    /// Records that a sync cycle finished with nothing to push or pull.
    public func recordSync() async throws {
        try await write { transaction in try Meta.set(transaction.db, .lastSync, transaction.wallClock.iso8601) }
    }

    /// Starts over with a server that lost history (restored from a backup): forgets the
    /// cursor and queues every record again, so the server gets back whatever it lost.
    /// Nothing local is dropped.
    public func resetUpstream() async throws {
        try await write { transaction in
            try transaction.db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [Meta.upstreamCursor.rawValue])
            if transaction.configuration.role == .device {
                try transaction.db.execute(sql: "UPDATE record SET dirty = 1 WHERE dirty = 0")
            }
        }
    }

    /// Starts over with a server that has purged deletions older than this replica's cursor, in
    /// one transaction: forgets the cursor and drops every record the server had already (pushed,
    /// not changed since), keeping unpushed changes and unresolved conflicts, which are queued.
    /// The next pull from scratch brings back everything the server still has; what it no longer
    /// has was deleted there.
    ///
    /// - Returns: how many records were dropped.
    public func rebaseUpstream() async throws -> Int {
        try await write { transaction in
            let db = transaction.db
            try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [Meta.upstreamCursor.rawValue])
            try Replica.holdSequence(db)
            let unresolved = "collection = ? AND coalesce(json_extract(body, '$.resolved'), 0) = 0"
            try db.execute(
                sql: "DELETE FROM record WHERE dirty = 0 AND NOT (\(unresolved))",
                arguments: [CollectionName.conflictArchive]
            )
            let dropped = db.changesCount
            try db.execute(sql: "UPDATE record SET dirty = 1 WHERE dirty = 0 AND \(unresolved)", arguments: [CollectionName.conflictArchive])
            return dropped
        }
    }

    /// Copies the replica, online, to `destination`, which gets a new epoch: clients that
    /// synced with this database after the backup was taken must resync with the restored copy.
    public func backup(to destination: String) async throws {
        try await StoreThread.run { [pool] in
            do {
                let target = try DatabaseQueue(path: destination)
                try pool.backup(to: target)
                try target.write { db in try Meta.set(db, .epoch, Replica.newEpoch()) }
                try target.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
                try target.close()
            } catch let error as ReplicaError {
                throw error
            } catch {
                throw ReplicaError(mapping: error, path: destination)
            }
        }
    }
}
