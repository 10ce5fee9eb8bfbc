import EggloguCore
import EggloguJSON

extension Replica {
    /// Merges records received from another replica, in one transaction, with the same merge rule as local writes.
    ///
    /// A bad record is rejected alone (a bad collection name rejects that
    /// collection's records only); the rest of the batch still lands.
    public func merge(
        _ batch: [(collection: String, records: [JSONValue])],
        options: RemoteMergeOptions = RemoteMergeOptions()
    ) async throws -> RemoteMergeReport {
        try await write { transaction in try transaction.merge(batch, options: options).report }
    }
}

extension ReplicaTransaction {
    /// Merges a batch of remote records.
    ///
    /// - Returns: the report, and the records now stored exactly as they came, each with the head
    ///   sequence right after it was merged (for not echoing them back to a peer: a change of the
    ///   record at a later sequence, a later record of the same batch filing into the same conflict
    ///   entry say, is not an echo); empty for records from upstream, which nothing echoes to.
    mutating func merge(
        _ batch: [(collection: String, records: [JSONValue])],
        options: RemoteMergeOptions
    ) throws -> (report: RemoteMergeReport, echoed: [RecordRef: Int64]) {
        var report = RemoteMergeReport()
        var echoed: [RecordRef: Int64] = [:]
        let source: ChangeSource = options.fromUpstream ? .remote : .local
        let changesBefore = changes
        let conflictsBefore = conflictsFiled
        let queuedBefore = queuedChanges
        let limit = futureLimit
        let tracksEchoes = !options.fromUpstream
        for (collection, records) in batch {
            let kind = CollectionName.kind(of: collection)
            for value in records {
                let prepared: IncomingRecord
                do throws(RecordError) {
                    prepared = try IncomingRecord(value, collection: collection, kind: kind, options: options, limit: limit)
                } catch {
                    report.rejected.append(.init(collection: collection, id: error.id, reason: error.reason, message: error.message))
                    continue
                }
                switch prepared {
                case .entry(let entry):
                    // An entry the store already knew better (a higher winner, a resolution) is
                    // superseded like a losing version, so the sender gets the stored one back.
                    if try file(entry, source: source) == entry {
                        if tracksEchoes { echoed[RecordRef(collection: collection, id: entry.id)] = headSequence }
                    } else {
                        report.superseded.append(RecordRef(collection: collection, id: entry.id))
                    }
                case .version(let version):
                    if try apply(version, in: collection, source: source) == .superseded {
                        report.superseded.append(RecordRef(collection: collection, id: version.id))
                    } else if tracksEchoes {
                        echoed[RecordRef(collection: collection, id: version.id)] = headSequence
                    }
                }
                report.accepted += 1
            }
        }
        report.changed = changes - changesBefore
        report.conflicts = conflictsFiled - conflictsBefore
        report.queued = queuedChanges - queuedBefore
        return (report, echoed)
    }
}
