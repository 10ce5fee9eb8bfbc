import EggloguCore
import EggloguJSON
import EggloguStore
import PostgresNIO

extension PostgresFarmStore {
    /// Merges a device's push in one transaction that holds the farm's lock, then reads the changes
    /// the device has not seen (its own versions left out, the stored winners of what lost added).
    func mergePush(
        _ batch: [(collection: String, records: [JSONValue])],
        options: RemoteMergeOptions,
        after seq: Int64,
        limit: Int
    ) async throws -> MergedPush {
        let futureLimit = storage.wallClock().adding(milliseconds: storage.maxClockSkewMilliseconds)
        var report = RemoteMergeReport()
        var checked: [(collection: String, record: IncomingRecord)] = []
        for (collection, records) in batch {
            let kind = CollectionName.kind(of: collection)
            for value in records {
                do throws(RecordError) {
                    checked.append((collection, try IncomingRecord(value, collection: collection, kind: kind, options: options, limit: futureLimit)))
                } catch {
                    report.rejected.append(.init(collection: collection, id: error.id, reason: error.reason, message: error.message))
                }
            }
        }
        let refs = checked.map { item -> RecordRef in
            switch item.record {
            case .version(let version): RecordRef(collection: item.collection, id: version.id)
            case .entry(let entry): RecordRef(collection: item.collection, id: entry.id)
            }
        }
        // The farm's lock is held for the merge alone; the answer's page is read after the commit,
        // in one statement like any pull, so its cursor and changes agree with each other.
        let merged = try await storage.transaction { [farm, epoch, report, checked, storage, logger = storage.logger] connection in
            var report = report
            let locked = try await Self.lock(farm, epoch: epoch, on: connection, logger: logger)
            guard seq <= locked.head else { throw ReplicaError.cursorAhead(seq, head: locked.head) }
            // Before merging: a device that missed purged deletions would bring deleted records back.
            if seq > 0 && seq < locked.purgedThrough { throw ReplicaError.historyPurged(seq, through: locked.purgedThrough) }
            var merge = PostgresMerge(farm: farm, head: locked.head, connection: connection, logger: logger)
            try await merge.prefetch(refs)
            // The versions the device sent, each with the head right after it merged: a later change
            // of one of them (by someone else, or by a later record of this push filing into the
            // same conflict entry) is not the device's own and goes back to it.
            var own: [RecordRef: Int64] = [:]
            for (item, ref) in zip(checked, refs) {
                switch item.record {
                case .entry(let entry):
                    // An entry the store already knew better is superseded, so the sender gets the stored one back.
                    if try await merge.file(entry) == entry { own[ref] = merge.head } else { report.superseded.append(ref) }
                case .version(let version):
                    if try await merge.apply(version, in: item.collection) { report.superseded.append(ref) } else { own[ref] = merge.head }
                }
                report.accepted += 1
            }
            // Stamped once the lock is ours, as SQLite stamps inside its write transaction.
            try await merge.flush(at: storage.wallClock())
            report.changed = merge.changes
            report.conflicts = merge.conflictsFiled
            return (report: report, own: own, head: merge.head, previousHead: locked.head)
        }
        var page = try await changes(after: seq, limit: limit)
        page.changes.removeAll { change in merged.own[RecordRef(collection: change.collection, id: change.id)].map { change.seq <= $0 } ?? false }
        let sent = Set(page.changes.map { RecordRef(collection: $0.collection, id: $0.id) })
        let missing = merged.report.superseded.filter { !sent.contains($0) }
        if !missing.isEmpty {
            page.changes += try await storage.run { [farm, logger = storage.logger] connection in
                var changes: [Change] = []
                for ref in missing {
                    if let change = try await Self.change(farm, ref, on: connection, logger: logger) { changes.append(change) }
                }
                return changes
            }
        }
        return MergedPush(report: merged.report, page: page, head: merged.head, previousHead: merged.previousHead)
    }

    private static func change(_ farm: String, _ ref: RecordRef, on connection: PostgresConnection, logger: Logger) async throws -> Change? {
        let rows = try await connection.query(
            "SELECT seq, body FROM record WHERE farm_id = \(farm) AND collection = \(ref.collection) AND id = \(ref.id)",
            logger: logger
        )
        for try await (seq, body) in rows.decode((Int64, String).self) {
            return Change(collection: ref.collection, id: ref.id, seq: seq, body: body)
        }
        return nil
    }
}
