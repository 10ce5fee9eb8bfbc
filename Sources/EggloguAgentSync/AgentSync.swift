import EggloguCore
import EggloguJSON
import EggloguProtocol
import EggloguStore

/// What one sync cycle did.
public struct SyncSummary: Sendable, Equatable {
    /// Records the server merged from this device.
    public var pushed = 0
    /// Records received from the server.
    public var pulled = 0
    /// Records the server refused, with the reason (superseded ones are not listed: their winner arrived).
    public var rejected: [Rejection] = []
    /// Conflict entries filed while merging what arrived.
    public var conflicts = 0
    /// Whether the server asked for a full resync (it was restored from a backup, or it purged
    /// deletions older than this device's cursor).
    public var resynced = false
    /// After a resync because the server purged deletions: records dropped here because the
    /// server no longer has them (they were deleted), or nil.
    public var dropped: Int?
    /// Whether the token was renewed, and whether the new one was stored.
    public var renewed = false
    public var renewalPersisted = false
    /// Why a renewed token could not be stored (it is used for this run all the same).
    public var renewalProblem: String?
    /// The cursor after the cycle.
    public var cursor: String?
    /// The server's clock in its last answer (ISO-8601).
    public var serverTime: String?
    /// Bytes of the server's answers.
    public var bytes = 0

    public init() {}
}

/// How far a sync cycle has come, told after every page it applies.
public struct SyncProgress: Sendable, Equatable {
    /// Records received from the server so far in this cycle.
    public var pulled: Int
    /// Bytes of the server's answers so far.
    public var bytes: Int
    /// About how many changes are left while more pages follow (the farm's newest sequence number
    /// minus the cursor: an upper bound); 0 once none follow, nil when the server did not say.
    public var remaining: Int?
    /// Whether the cycle started without a cursor: a first sync or a resync.
    public var fromScratch: Bool

    public init(pulled: Int, bytes: Int, remaining: Int?, fromScratch: Bool) {
        self.pulled = pulled
        self.bytes = bytes
        self.remaining = remaining
        self.fromScratch = fromScratch
    }
}

/// The agent's side of a sync: its replica, the server (through a ``SyncTransport``), and the
/// token between them.
///
/// A cycle pushes what is unpushed in pages, applying each answer (the settled changes,
/// the page of remote changes, the new cursor) in one replica transaction, then pulls until
/// nothing remains. A crash at any point loses nothing: an unacknowledged push is sent again
/// (the server ignores a version it has) and an unapplied page is fetched again.
public final class AgentSync: Sendable {
    public let replica: Replica
    public let farm: String
    private let transport: any SyncTransport
    private let token: TokenStore
    private let pageSize: Int
    private let observe: @Sendable (SyncRequestOutcome) -> Void
    private let progress: @Sendable (SyncProgress) -> Void

    /// - Parameters:
    ///   - observe: told how each push and pull request ended (for metrics).
    ///   - progress: told how far a cycle has come after every page it applies.
    public init(
        replica: Replica,
        farm: String,
        transport: any SyncTransport,
        token: TokenStore,
        pageSize: Int = 500,
        observe: @escaping @Sendable (SyncRequestOutcome) -> Void = { _ in },
        progress: @escaping @Sendable (SyncProgress) -> Void = { _ in }
    ) {
        self.replica = replica
        self.farm = farm
        self.transport = transport
        self.token = token
        self.pageSize = pageSize
        self.observe = observe
        self.progress = progress
    }

    /// Runs one full cycle. On 410 it resyncs once from scratch: after a restored server it keeps
    /// and re-pushes everything local; after the server purged deletions it drops what it had
    /// pushed already, keeps its unpushed changes and unresolved conflicts, and pulls everything.
    ///
    /// - Throws: ``AgentSyncError`` when the server cannot be reached or refuses; the store's
    ///   `ReplicaError` when the replica fails.
    public func sync() async throws -> SyncSummary {
        do {
            var summary = SyncSummary()
            try await renewIfDue(&summary)
            do {
                summary.cursor = try await cycle(&summary)
            } catch let error as SyncTransportError where error.kind == .resyncRequired {
                if error.resyncReason == .historyPurged {
                    summary.dropped = try await replica.rebaseUpstream()
                } else {
                    try await replica.resetUpstream()
                }
                summary.resynced = true
                summary.cursor = try await cycle(&summary)
            }
            return summary
        } catch let error as SyncTransportError {
            throw AgentSyncError(error)
        }
    }

    private func renewIfDue(_ summary: inout SyncSummary) async throws {
        guard token.isDueForRenewal() else { return }
        let fresh: String
        do {
            fresh = try await transport.renew(token: token.current)
        } catch  where error.kind == .unavailable {
            return  // the old token is still valid: try again next cycle
        }
        summary.renewed = true
        do {
            summary.renewalPersisted = try token.replace(with: fresh)
        } catch let error as TokenStoreError {
            summary.renewalProblem = error.description  // in use for this run; stored next time
        }
    }

    /// Pushes and pulls until both sides are level. Merging what arrives can file conflict
    /// entries here, which go out in another round (a few at most: an entry only ever grows).
    ///
    /// - Returns: the cursor after the last page.
    private func cycle(_ summary: inout SyncSummary) async throws -> String? {
        var cursor: String?
        for _ in 0..<4 {
            let (after, queued) = try await round(&summary)
            cursor = after
            if queued == 0 { break }
        }
        return cursor
    }

    /// One push of everything unpushed, page by page, then pulls until the server has nothing more.
    ///
    /// - Returns: the cursor after the last page, and how many changes merging queued for pushing.
    private func round(_ summary: inout SyncSummary) async throws -> (cursor: String?, queued: Int) {
        let start = try await replica.pushStart(limit: pageSize + 1)
        var since = start.cursor
        let fromScratch = since == nil
        var queued = 0
        var pushedUpTo: Int64 = 0
        var complete = false
        var more = true
        while more {
            // One change beyond the page says whether another page follows, without asking again.
            // Sequence numbers start at 1, so nothing is pushed yet only on the first page.
            var batch = pushedUpTo == 0 ? start.changes : try await replica.unpushed(after: pushedUpTo, limit: pageSize + 1)
            more = batch.count > pageSize
            if more { batch.removeLast() }
            guard let last = batch.last else { break }
            pushedUpTo = last.seq
            let body = Self.pushBody(batch, farm: farm, device: replica.deviceID, since: since)
            let response = try await observing(.push) { try await transport.push(body, token: token.current) }
            // A record stamped ahead of the server's clock may land later; every other refusal is final.
            let retry = Set(
                response.rejected.filter { $0.reason == .timestampInFuture }.map { RecordRef(collection: $0.collection, id: $0.id ?? "") }
            )
            let settled = batch.filter { !retry.contains(RecordRef(collection: $0.collection, id: $0.id)) }
            complete = !response.hasMore && !more
            queued += try await apply(response, settled: settled, completes: complete, fromScratch: fromScratch, into: &summary)
            summary.pushed += response.accepted
            summary.rejected += response.rejected.filter { $0.reason != .superseded }
            since = response.cursor.description
        }
        // The next page is requested as soon as a page arrives, so the server reads it while this
        // replica merges the one before: a catch-up costs about the larger of the two, not both.
        var prefetched: Task<SyncResponse, any Error>?
        defer { prefetched?.cancel() }
        while !complete {
            let response: SyncResponse
            if let pending = prefetched {
                prefetched = nil
                response = try await withTaskCancellationHandler {
                    try await pending.value
                } onCancel: {
                    pending.cancel()
                }
            } else {
                response = try await pull(since: since)
            }
            complete = !response.hasMore
            if !complete {
                let next = response.cursor.description
                prefetched = Task { try await self.pull(since: next) }
            }
            queued += try await apply(response, settled: [], completes: complete, fromScratch: fromScratch, into: &summary)
            since = response.cursor.description
        }
        return (since, queued)
    }

    private func pull(since: String?) async throws -> SyncResponse {
        try await observing(.pull) {
            try await transport.pull(farm: farm, since: since, limit: pageSize, token: token.current)
        }
    }

    private func observing<T>(_ kind: SyncRequestOutcome.Kind, _ request: () async throws -> T) async throws -> T {
        do {
            let response = try await request()
            observe(SyncRequestOutcome(kind: kind, outcome: "ok"))
            return response
        } catch {
            observe(SyncRequestOutcome(kind: kind, outcome: (error as? SyncTransportError)?.kind.description ?? "error"))
            throw error
        }
    }

    /// Applies an answer in one transaction; returns how many changes merging it queued for pushing.
    private func apply(
        _ response: SyncResponse,
        settled: [Change],
        completes: Bool,
        fromScratch: Bool,
        into summary: inout SyncSummary
    ) async throws -> Int {
        let changes = response.changes.map { (collection: $0.collection, records: $0.records) }
        let report = try await replica.applyUpstream(
            changes,
            settled: settled,
            cursor: response.cursor.description,
            completesSync: completes
        )
        summary.pulled += response.changes.reduce(0) { $0 + $1.records.count }
        summary.conflicts += report.conflicts
        summary.serverTime = response.serverTime
        summary.bytes += response.bytes
        let remaining = response.hasMore ? response.head.map { Int(max(0, $0 - response.cursor.seq)) } : 0
        progress(SyncProgress(pulled: summary.pulled, bytes: summary.bytes, remaining: remaining, fromScratch: fromScratch))
        return report.queued
    }

    /// A push of `changes` as they are stored: their JSON text goes out unparsed.
    static func pushBody(_ changes: [Change], farm: String, device: String, since: String?) -> PushBody {
        var writer = PushBodyWriter(farmID: farm, deviceID: device, since: since)
        for change in changes {
            writer.append(collection: change.collection, record: change.body.utf8)
        }
        return writer.finish()
    }
}
