import EggloguAgentSync
import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import Testing

/// Three devices and a real server in one process, driven through the agent's own push and pull
/// (``AgentSync`` over ``InProcessTransport``) with real cursors, and what the devices made.
final class SyncWorld {
    let lab: SyncLab
    let clocks = [FakeClock(), FakeClock(), FakeClock()]
    let transports: [FaultyTransport]
    let devices: [LabDevice]
    /// Every version a device made, by record.
    private(set) var created: [RecordKey: [RecordVersion]] = [:]
    /// Per device, the position of the next notice in the server's list.
    private var heard = [0, 0, 0]
    /// Notices whose changes a device applied without a pull.
    private(set) var applied = 0

    init(backend: StoreBackend = .sqlite) async throws {
        lab = try await SyncLab(backend: backend)
        clocks[1].advance(milliseconds: 1_500)
        clocks[2].advance(milliseconds: -1_500)
        var transports: [FaultyTransport] = []
        var devices: [LabDevice] = []
        for n in 0..<3 {
            var made: FaultyTransport?
            devices.append(
                try await lab.device("dev\(n)", clock: clocks[n], pageSize: 2) { inner in
                    let faulty = FaultyTransport(inner)
                    made = faulty
                    return faulty
                }
            )
            transports.append(made!)
        }
        self.transports = transports
        self.devices = devices
    }

    /// Runs a history, lets every device sync until nothing moves, and checks that all replicas
    /// hold the same records and that no version was lost.
    ///
    /// - Returns: how many notices a device applied without a pull.
    @discardableResult
    static func check(_ history: [SyncOperation], backend: StoreBackend = .sqlite) async throws -> Int {
        let world = try await SyncWorld(backend: backend)
        for operation in history {
            try await world.perform(operation)
        }
        try await world.settle()
        try await world.expectConverged()
        try await world.expectNothingLost()
        return world.applied
    }

    func perform(_ operation: SyncOperation) async throws {
        switch operation {
        case .put(let d, let key, let value):
            let replica = devices[d].replica
            if key.collection == "farm" {
                try await replica.put("farm", [key.id: .number(JSONNumber(value))])
            } else {
                try await replica.put(key.collection, ["id": .string(key.id), "v": .number(JSONNumber(value))])
            }
            try await noteLocal(d, key)
        case .delete(let d, let key):
            guard (try? await devices[d].replica.delete(key.collection, id: key.id)) != nil else { return }
            try await noteLocal(d, key)
        case .restore(let d, let key):
            guard (try? await devices[d].replica.restore(key.collection, id: key.id)) != nil else { return }
            try await noteLocal(d, key)
        case .resolve(let d, let pick, let keepMine):
            let open = try await devices[d].replica.conflicts()
            guard !open.isEmpty else { return }
            let entry = open[pick % open.count]
            try await devices[d].replica.resolve(entry.id, choice: keepMine ? .keepMine : .acceptTheirs)
            try await noteLocal(d, RecordKey(collection: entry.collection, id: entry.recordID))
        case .sync(let d, let fault):
            transports[d].arm(fault)
            do {
                _ = try await devices[d].sync.sync()
            } catch let error as AgentSyncError where fault != .none && error.kind == .unavailable {
                // The fault this step asked for.
            }
            transports[d].arm(.none)
        case .tick(let d, let ms):
            clocks[d].advance(milliseconds: Int64(ms))
        case .hear(let d, let delivery):
            let published = lab.notices.payloads
            let position: Int
            switch delivery {
            case .next, .lost: position = heard[d]
            case .again: position = heard[d] - 1
            case .reordered: position = heard[d] + 1
            }
            guard published.indices.contains(position) else { return }
            if delivery == .next || delivery == .lost { heard[d] += 1 }
            if delivery == .lost { return }
            if case .applied = try await devices[d].sync.take(published[position]).outcome { applied += 1 }
            try await expectCursorHonest(d)
        }
    }

    /// A device's cursor never claims more than it holds: every change the server numbered up to
    /// it is on the device, or a version that includes it, or was merged into a local change not
    /// pushed yet. Checked against the SQLite server only.
    private func expectCursorHonest(_ d: Int) async throws {
        guard lab.storage == nil, let cursor = try await devices[d].replica.upstreamCursor(),
            let seq = cursor.split(separator: ":").last.flatMap({ Int64($0) })
        else { return }
        let server = try await lab.serverReplica()
        var mine: [String: String] = [:]
        for change in try await devices[d].replica.changes(after: 0, limit: 100_000).changes {
            mine["\(change.collection)/\(change.id)"] = change.body
        }
        let unpushed = Set(try await devices[d].replica.unpushed(after: 0, limit: 100_000).map { "\($0.collection)/\($0.id)" })
        for change in try await server.changes(after: 0, limit: 100_000).changes where change.seq <= seq {
            let held = mine["\(change.collection)/\(change.id)"]
            var covered = held == change.body || unpushed.contains("\(change.collection)/\(change.id)")
            if !covered, let held, let theirs = try? RecordVersion(record: try JSONParser().parse(change.body)),
                let ours = try? RecordVersion(record: try JSONParser().parse(held))
            {
                covered = Self.includes(ours, theirs) || Self.sameContent(ours, theirs)
            } else if !covered {
                covered = held != nil  // a conflict-archive entry: it only grows
            }
            #expect(covered, "dev\(d) is at \(cursor) without \(change.collection)/\(change.id) of seq \(change.seq)")
        }
    }

    private func noteLocal(_ device: Int, _ key: RecordKey) async throws {
        let version = try RecordVersion(record: try await devices[device].replica.get(key.collection, id: key.id))
        if created[key]?.contains(version) != true { created[key, default: []].append(version) }
    }

    /// Every device syncs, round after round, until a round moves nothing (at most eight).
    func settle() async throws {
        for _ in 0..<8 {
            var moved = 0
            for device in devices {
                let summary = try await device.sync.sync()
                moved += summary.pushed + summary.pulled
            }
            if moved == 0 { return }
        }
        Issue.record("the devices did not settle in eight rounds")
    }

    /// Every record of every replica, by collection and id, as stored JSON.
    private func everything(_ replica: Replica) async throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for change in try await replica.changes(after: 0, limit: 100_000).changes {
            out["\(change.collection)/\(change.id)"] = try JSONParser().parse(change.body)
        }
        return out
    }

    func expectConverged() async throws {
        let reference = try await everything(lab.serverReplica())
        for device in devices {
            let held = try await everything(device.replica)
            let differing = Set(held.keys).union(reference.keys).filter { held[$0] != reference[$0] }.sorted()
            let lines = differing.map { "  \($0): \(Self.brief(held[$0])) here, \(Self.brief(reference[$0])) on the server" }
            #expect(differing.isEmpty, Comment(rawValue: "\(device.name) differs from the server:\n" + lines.joined(separator: "\n")))
        }
    }

    /// `v=2 by dev1@…41.500Z`, `deleted by dev0@…`: what tells two versions apart.
    private static func brief(_ record: JSONValue?) -> String {
        guard let o = record?.objectValue else { return "nothing" }
        let stamp = "\(o["_syncOrigin"]?.stringValue ?? "?")@\(o["_updatedAt"]?.stringValue?.suffix(10) ?? "?")"
        if o["_deletedAt"] != nil && o["_deletedAt"] != .null { return "deleted by \(stamp)" }
        let fields = o.filter(keys: { !$0.hasPrefix("_") && $0 != "id" }).map { "\($0.key)=\($0.value.jsonText())" }
        return fields.joined(separator: ",") + " by " + stamp
    }

    /// Every version is the winner, an ancestor of it, or archived: its content survives in a
    /// version the replicas keep (the winner and both sides of archive entries) or in an ancestor
    /// of one. Versions compare by content, as merge does: two deletions never differ. A version
    /// with a kept descendant is kept too (an edit and the delete that followed it).
    func expectNothingLost() async throws {
        let server = try await lab.serverReplica()
        let archive = try await server.conflicts(includeResolved: true)
        for (key, versions) in created {
            let winner = try RecordVersion(record: try await server.get(key.collection, id: key.id))
            let entries = archive.filter { $0.collection == key.collection && $0.recordID == key.id }
            let holders = [winner] + entries.flatMap { [$0.loser, $0.winner] }
            let present = holders + versions.filter { version in holders.contains { Self.includes($0, version) } }
            var kept = versions.map { version in present.contains { Self.includes($0, version) || Self.sameContent($0, version) } }
            var changed = true
            while changed {
                changed = false
                for (i, version) in versions.enumerated() where !kept[i] {
                    if versions.indices.contains(where: { kept[$0] && $0 != i && Self.includes(versions[$0], version) }) {
                        kept[i] = true
                        changed = true
                    }
                }
            }
            for (i, version) in versions.enumerated() {
                #expect(kept[i], "version \(version.info.origin)@\(version.info.updatedAt) of \(key) was lost")
            }
        }
    }

    private static func includes(_ holder: RecordVersion, _ version: RecordVersion) -> Bool {
        holder.info.vector.includes(origin: version.info.origin, updatedAt: version.info.updatedAt)
    }

    private static func sameContent(_ a: RecordVersion, _ b: RecordVersion) -> Bool {
        if a.isDeleted || b.isDeleted { return a.isDeleted && b.isDeleted }
        return a.info.contentHash == b.info.contentHash
    }
}
