import EggloguJSON
import EggloguProtocol
import EggloguStore
import EggloguSyncClient
import Foundation

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
    /// Whether the server asked for a full resync (it was restored from a backup).
    public var resynced = false
    /// Whether the token was renewed, and whether the new one was stored.
    public var renewed = false
    public var renewalPersisted = false
    /// Why a renewed token could not be stored (it is used for this run all the same).
    public var renewalProblem: String?
    /// The cursor after the cycle.
    public var cursor: String?
    /// The collections this device pushed records of.
    public var pushedCollections: [String] = []
    /// The server's clock in its last answer (ISO-8601).
    public var serverTime: String?

    public init() {}
}

/// The agent's side of a sync: its replica, the server, and the token between them.
///
/// A cycle pushes what is unpushed in pages, applying each answer (the settled changes,
/// the page of remote changes, the new cursor) in one replica transaction, then pulls until
/// nothing remains. A crash at any point loses nothing: an unacknowledged push is sent again
/// (the server ignores a version it has) and an unapplied page is fetched again.
public final class AgentSync: Sendable {
    public let replica: Replica
    public let farm: String
    private let client: SyncClient
    private let token: TokenStore
    private let pageSize: Int
    private let observe: @Sendable (SyncExchange) -> Void

    /// - Parameter observe: told how each push and pull request ended (for metrics).
    public init(
        replica: Replica, farm: String, client: SyncClient, token: TokenStore, pageSize: Int = 500,
        observe: @escaping @Sendable (SyncExchange) -> Void = { _ in }
    ) {
        self.replica = replica
        self.farm = farm
        self.client = client
        self.token = token
        self.pageSize = pageSize
        self.observe = observe
    }

    /// Runs one full cycle. On 410 it resyncs once from scratch, keeping (and re-pushing) everything local.
    public func sync() async throws -> SyncSummary {
        var summary = SyncSummary()
        try await renewIfDue(&summary)
        do {
            try await cycle(&summary)
        } catch let error as SyncClientError where error.kind == .resyncRequired {
            try replica.resetUpstream()
            summary.resynced = true
            try await cycle(&summary)
        }
        summary.cursor = try replica.upstreamCursor()
        return summary
    }

    private func renewIfDue(_ summary: inout SyncSummary) async throws {
        guard token.isDueForRenewal() else { return }
        let fresh: String
        do {
            fresh = try await client.renew(token: token.current)
        } catch where error.kind == .unavailable {
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
    private func cycle(_ summary: inout SyncSummary) async throws {
        for _ in 0..<4 {
            let head = try replica.headSequence()
            try await round(&summary)
            if try replica.unpushed(after: head, limit: 1).isEmpty { return }
        }
    }

    private func round(_ summary: inout SyncSummary) async throws {
        var since = try replica.upstreamCursor()
        var pushedUpTo: Int64 = 0
        var complete = false
        while true {
            let batch = try replica.unpushed(after: pushedUpTo, limit: pageSize)
            guard let last = batch.last else { break }
            pushedUpTo = last.seq
            let request = PushRequest(farmID: farm, deviceID: replica.deviceID, since: since, changes: try Self.grouped(batch))
            let response = try await exchange(.push) { try await client.push(request, token: token.current) }
            // A record stamped ahead of the server's clock may land later; every other refusal is final.
            let retry = Set(response.rejected.filter { $0.reason == "timestamp-in-future" }.map { "\($0.collection)\u{0}\($0.id ?? "")" })
            let settled = batch.filter { !retry.contains("\($0.collection)\u{0}\($0.id)") }
            let more = try hasMoreToPush(after: pushedUpTo)
            complete = !response.hasMore && !more
            try apply(response, settled: settled, completes: complete, into: &summary)
            summary.pushed += response.accepted
            summary.rejected += response.rejected.filter { $0.reason != "superseded" }
            for collection in Set(batch.map(\.collection)) where !summary.pushedCollections.contains(collection) {
                summary.pushedCollections.append(collection)
            }
            since = response.cursor.description
        }
        while !complete {
            let response = try await exchange(.pull) { try await client.pull(farm: farm, since: since, limit: pageSize, token: token.current) }
            complete = !response.hasMore
            try apply(response, settled: [], completes: complete, into: &summary)
            since = response.cursor.description
        }
    }

    private func exchange<T>(_ kind: SyncExchange.Kind, _ request: () async throws -> T) async throws -> T {
        do {
            let response = try await request()
            observe(SyncExchange(kind: kind, outcome: "ok"))
            return response
        } catch {
            observe(SyncExchange(kind: kind, outcome: SyncExchange.outcome(of: error)))
            throw error
        }
    }

    private func hasMoreToPush(after seq: Int64) throws -> Bool {
        try !replica.unpushed(after: seq, limit: 1).isEmpty
    }

    private func apply(_ response: SyncResponse, settled: [Change], completes: Bool, into summary: inout SyncSummary) throws {
        let changes = response.changes.map { (collection: $0.collection, records: $0.records) }
        let report = try replica.applyUpstream(changes, settled: settled, cursor: response.cursor.description, completesSync: completes)
        summary.pulled += response.changes.reduce(0) { $0 + $1.records.count }
        summary.conflicts += report.conflicts
        summary.serverTime = response.serverTime
    }

    /// Changes grouped by collection, in order, as JSON.
    static func grouped(_ changes: [Change]) throws -> [CollectionChanges] {
        var out: [CollectionChanges] = []
        for change in changes {
            let value = try JSONParser().parse(change.body)
            if out.last?.collection == change.collection {
                out[out.count - 1].records.append(value)
            } else {
                out.append(CollectionChanges(collection: change.collection, records: [value]))
            }
        }
        return out
    }
}
