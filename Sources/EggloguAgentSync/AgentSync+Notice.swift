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
        // Changes that would apply at the cursor they name go straight to the write, which checks
        // the cursor itself: reading it first would cost a second trip to the store.
        let (verdict, parsed) = filter.evaluated(payload, cursor: nil)
        guard let notice = parsed else { return (Self.outcome(verdict), nil) }
        if filter.evaluate(notice, cursor: notice.before) == .apply, let before = notice.before, let cursor = notice.cursor,
            let changes = notice.changes,
            let report = try await replica.applyInline(changes.map { ($0.collection, $0.records) }, before: before, cursor: cursor)
        {
            let records = changes.reduce(0) { $0 + $1.records.count }
            return (.applied(records: records, conflicts: report.conflicts, queued: report.queued), notice)
        }
        switch filter.evaluate(notice, cursor: try await replica.upstreamCursor()) {
        case .ignore(let reason): return (.ignored(reason: reason), notice)
        case .pull, .apply: return (.pull, notice)  // .apply: the write found the cursor elsewhere
        }
    }

    private static func outcome(_ verdict: NoticeFilter.Verdict) -> NoticeOutcome {
        switch verdict {
        case .ignore(let reason): .ignored(reason: reason)
        case .pull, .apply: .pull
        }
    }
}
