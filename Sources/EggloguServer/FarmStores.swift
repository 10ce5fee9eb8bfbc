import EggloguCore
import EggloguHTTP
import EggloguStore
import Synchronization

/// One replica per farm, opened on first use; at most ``limit`` stay open while idle.
///
/// Every open farm store costs about 400 KB and five descriptors, so a server for thousands of
/// farms keeps the most recently used ones and closes the others when it opens one more.
final class FarmStores: Sendable {
    let directory: DataDirectory
    /// How many farm stores stay open when nothing uses them.
    let limit: Int
    private let maxClockSkewMilliseconds: Int64
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var open: [String: Entry] = [:]
        /// Farms being opened: requests that arrive meanwhile wait for the same opening.
        var opening: [String: Task<Replica, any Error>] = [:]
        var tick: UInt64 = 0
        /// When each farm was last purged (wall-clock milliseconds), once known: a farm that opens
        /// again within the purge interval needs no store read to know it is not due.
        var purgedAt: [String: Int64] = [:]
    }

    private struct Entry {
        var replica: Replica
        var lastUse: UInt64
    }

    /// How long tombstones are kept, or nil to keep them forever.
    let retention: Duration?
    /// How often one farm is purged at most.
    static let purgeInterval: Duration = .seconds(3_600)

    init(directory: DataDirectory, maxClockSkewMilliseconds: Int64, limit: Int, retention: Duration? = nil) {
        self.directory = directory
        self.maxClockSkewMilliseconds = maxClockSkewMilliseconds
        self.limit = max(1, limit)
        self.retention = retention
    }

    /// The stores open now.
    var openReplicas: [Replica] { state.withLock { $0.open.values.map(\.replica) } }

    /// Purges `replica`'s tombstones older than ``retention``.
    func purge(_ replica: Replica) async throws -> PurgeReport {
        guard let retention else { return PurgeReport() }
        let now = replica.configuration.wallClock()
        let report = try await replica.purge(receivedBefore: Timestamp(milliseconds: now.milliseconds - retention.wholeMilliseconds))
        if let farm = replica.farmID { state.withLock { $0.purgedAt[farm] = now.milliseconds } }
        return report
    }

    /// Purges a store that was just opened unless it was purged within ``purgeInterval``.
    private func purgeIfDue(_ replica: Replica, farm: String) async throws {
        guard retention != nil else { return }
        let now = replica.configuration.wallClock().milliseconds
        var last = state.withLock { $0.purgedAt[farm] }
        if last == nil, let stored = try await replica.lastPurge()?.milliseconds {
            last = stored
            state.withLock { $0.purgedAt[farm] = stored }
        }
        if let last, now - last < Self.purgeInterval.wholeMilliseconds { return }
        _ = try await purge(replica)
    }

    /// How many farm stores are held open now.
    var openCount: Int { state.withLock { $0.open.count } }

    /// The replica of `farm`, created empty if the farm is new.
    func replica(_ farm: String) async throws -> Replica {
        try Self.checkFarmID(farm)
        let lookup = state.withLock { state -> Lookup in
            if let replica = take(farm, from: &state) { return .open(replica) }
            if let task = state.opening[farm] { return .opening(task) }
            let task = Task { try await self.open(farm) }
            state.opening[farm] = task
            return .opening(task)
        }
        switch lookup {
        case .open(let replica): return replica
        case .opening(let task): return try await task.value
        }
    }

    /// Refuses a farm id no store may hold.
    static func checkFarmID(_ farm: String) throws {
        guard DataDirectory.isValidFarmID(farm) else {
            throw APIError(.badRequest, "bad-farm", "a farm id is 1 to 64 letters, digits, '.', '_' or '-'")
        }
    }

    private enum Lookup {
        case open(Replica)
        case opening(Task<Replica, any Error>)
    }

    /// Opens `farm`'s store, once however many requests ask at the same moment, and lets go of the
    /// idle stores it makes room for.
    private func open(_ farm: String) async throws -> Replica {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "server"
        configuration.farmID = farm
        configuration.role = .server
        configuration.maxClockSkewMilliseconds = maxClockSkewMilliseconds
        configuration.checkpointOnClose = false
        let opened: Replica
        do {
            opened = try await Replica.open(path: directory.farmReplica(farm), configuration: configuration)
            // Before any request reads it: a cursor the purge makes too old must get its 410 now.
            try await purgeIfDue(opened, farm: farm)
        } catch {
            state.withLock { $0.opening[farm] = nil }
            throw error
        }
        let idle = state.withLock { state -> [Replica] in
            state.opening[farm] = nil
            state.tick += 1
            state.open[farm] = Entry(replica: opened, lastUse: state.tick)
            return evict(&state)
        }
        for store in idle { store.closeInBackground() }
        return opened
    }

    private func take(_ farm: String, from state: inout State) -> Replica? {
        state.tick += 1
        guard let entry = state.open[farm] else { return nil }
        state.open[farm]?.lastUse = state.tick
        return entry.replica
    }

    /// Takes out the least recently used stores beyond ``limit`` that no request holds. One that is
    /// in use stays until a later call finds it idle, so requests for a farm always share one store.
    private func evict(_ state: inout State) -> [Replica] {
        guard state.open.count > limit else { return [] }
        var idle: [Replica] = []
        for farm in state.open.sorted(by: { $0.value.lastUse < $1.value.lastUse }).map(\.key) {
            guard state.open.count > limit else { break }
            guard let lastUse = state.open[farm]?.lastUse, var candidate = state.open.removeValue(forKey: farm)?.replica else { continue }
            if isKnownUniquelyReferenced(&candidate) {
                idle.append(candidate)
            } else {
                state.open[farm] = Entry(replica: candidate, lastUse: lastUse)
            }
        }
        return idle
    }
}
