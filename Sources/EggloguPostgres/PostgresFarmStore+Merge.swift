import EggloguCore
import EggloguJSON
import EggloguStore
import PostgresNIO

extension PostgresFarmStore {
    /// Merges a device's push and reads the changes it has not seen, in one transaction that holds
    /// the farm's lock, so the page and its cursor are consistent with the merge.
    func mergePush(
        _ batch: [(collection: String, records: [JSONValue])],
        options: RemoteMergeOptions,
        after seq: Int64,
        limit: Int
    ) async throws -> MergedPush {
        let now = storage.wallClock()
        let futureLimit = now.adding(milliseconds: storage.maxClockSkewMilliseconds)
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
        return try await storage.transaction { [farm, epoch, report, checked, logger = storage.logger] connection in
            var report = report
            let locked = try await Self.lock(farm, epoch: epoch, on: connection, logger: logger)
            guard seq <= locked.head else { throw ReplicaError.cursorAhead(seq, head: locked.head) }
            // Before merging: a device that missed purged deletions would bring deleted records back.
            if seq > 0 && seq < locked.purgedThrough { throw ReplicaError.historyPurged(seq, through: locked.purgedThrough) }
            var merge = PostgresMerge(farm: farm, head: locked.head, connection: connection, logger: logger)
            try await merge.prefetch(refs)
            var echoed: Set<RecordRef> = []
            for (item, ref) in zip(checked, refs) {
                switch item.record {
                case .entry(let entry):
                    // An entry the store already knew better is superseded, so the sender gets the stored one back.
                    if try await merge.file(entry) == entry { echoed.insert(ref) } else { report.superseded.append(ref) }
                case .version(let version):
                    if try await merge.apply(version, in: item.collection) { report.superseded.append(ref) } else { echoed.insert(ref) }
                }
                report.accepted += 1
            }
            try await merge.flush(at: now)
            report.changed = merge.changes
            report.conflicts = merge.conflictsFiled
            var page = try Self.page(
                try await Self.scan(farm, after: seq, limit: limit, on: connection, logger: logger),
                after: seq,
                limit: limit,
                head: merge.head,
                excluding: echoed
            )
            let sent = Set(page.changes.map { RecordRef(collection: $0.collection, id: $0.id) })
            for ref in report.superseded where !sent.contains(ref) {
                if let change = try await Self.change(farm, ref, on: connection, logger: logger) { page.changes.append(change) }
            }
            return MergedPush(report: report, page: page, head: merge.head)
        }
    }

    /// Up to `limit + 1` changes after `seq`, as this transaction sees them.
    private static func scan(_ farm: String, after seq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Change]
    {
        let rows = try await connection.query(
            "SELECT collection, id, seq, body FROM record WHERE farm_id = \(farm) AND seq > \(seq) ORDER BY seq LIMIT \(limit + 1)",
            logger: logger
        )
        var changes: [Change] = []
        for try await (collection, id, s, body) in rows.decode((String, String, Int64, String).self) {
            changes.append(Change(collection: collection, id: id, seq: s, body: body))
        }
        return changes
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
