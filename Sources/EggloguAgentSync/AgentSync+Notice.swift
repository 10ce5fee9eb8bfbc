import EggloguProtocol
import EggloguStore

/// What a device did with a notice.
public enum NoticeOutcome: Sendable, Equatable {
    /// Its changes continued this replica's cursor and were applied, in one transaction.
    case applied(records: Int, conflicts: Int, queued: Int)
    /// It announced changes this replica lacks (or carried them, but the cursor had moved): pull.
    case pull
    /// It asks for nothing.
    case ignored(reason: String)
}

extension AgentSync {
    /// Takes a notice from the farm's topic: applies the changes it carries when they start at this
    /// replica's cursor (checked again inside the write, so a pull finishing meanwhile is never
    /// skipped past), and otherwise says whether to pull.
    ///
    /// - Returns: the outcome, and the notice when the payload was one.
    /// - Throws: the store's `ReplicaError` when the replica fails.
    public func take(_ payload: [UInt8]) async throws -> (outcome: NoticeOutcome, notice: Notice?) {
        let filter = NoticeFilter(farm: farm, device: replica.deviceID)
        let (verdict, notice) = filter.evaluated(payload, cursor: try await replica.upstreamCursor())
        switch verdict {
        case .ignore(let reason):
            return (.ignored(reason: reason), notice)
        case .pull:
            return (.pull, notice)
        case .apply:
            guard let notice, let before = notice.before, let cursor = notice.cursor, let changes = notice.changes else {
                return (.pull, notice)
            }
            let report = try await replica.applyInline(changes.map { ($0.collection, $0.records) }, before: before, cursor: cursor)
            guard let report else { return (.pull, notice) }
            let records = changes.reduce(0) { $0 + $1.records.count }
            return (.applied(records: records, conflicts: report.conflicts, queued: report.queued), notice)
        }
    }
}
