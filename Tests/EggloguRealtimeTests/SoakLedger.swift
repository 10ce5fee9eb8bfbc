import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import Foundation

/// The soak's random writers and what they were told: every version a device acknowledged.
struct SoakLedger {
    /// A version a device committed and reported back.
    struct Acknowledged {
        let device: String
        let id: String
        let version: RecordVersion
    }

    static let collection = "flocks"
    static let ids = (0..<24).map { "soak-\($0)" }

    private(set) var versions: [Acknowledged] = []
    /// Writes refused (the replica busy or its disk full, the server away): not acknowledged.
    var refused = 0
    /// Writes whose version a merge replaced before it could be read back, by writer.
    private(set) var unverified: [String: Int] = [:]
    /// The last resolution (by its stamp) of each conflict this run resolved, by entry id.
    private(set) var resolutions: [String: ConflictEntry.Resolution] = [:]
    /// How far each device's wall clock is off, in milliseconds (a clock jump).
    var clockOffsets: [String: Int64] = [:]

    /// One random write on `device`: a put (a create, an edit, or a restore of a deleted record),
    /// a delete, an import of the app's blob with one record edited, or the resolution of a conflict.
    mutating func write(_ n: Int, on device: String, fixture: RealtimeFixture, random: inout FixtureRandom) async throws {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = device
        let offset = clockOffsets[device] ?? 0
        configuration.wallClock = { Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) + offset) }
        let replica = try await Replica.open(path: fixture.replicaPath(device), configuration: configuration)
        let id = Self.ids[random.below(Self.ids.count)]
        switch random.below(20) {
        case 0..<13:
            _ = try await replica.put(Self.collection, ["id": .string(id), "name": .string("w\(n)"), "by": .string(device)])
            try await readBack(id, on: device, from: replica) { !$0.isDeleted && $0.content["name"] == .string("w\(n)") }
        case 13..<17:
            guard (try? await replica.delete(Self.collection, id: id)) == .deleted else { return }
            try await readBack(id, on: device, from: replica) { $0.isDeleted }
        case 17:
            // The app's blob, exported, edited as the app would, and imported again.
            guard case .object(var blob) = try JSONParser().parse(try await replica.exportBlob()),
                case .array(var records)? = blob[Self.collection],
                let index = records.firstIndex(where: { $0.objectValue?["id"] == .string(id) }),
                case .object(var record) = records[index]
            else { return }
            record["name"] = .string("i\(n)")
            records[index] = .object(record)
            blob[Self.collection] = .array(records)
            _ = try await replica.importBlob(JSONValue.object(blob).serialized())
            try await readBack(id, on: device, from: replica) { !$0.isDeleted && $0.content["name"] == .string("i\(n)") }
        default:
            guard let entry = try await replica.conflicts().randomElement(using: &random) else { return }
            let keep = random.below(2) == 0
            let choice: ConflictEntry.Resolution.Choice = keep ? .keepMine : .acceptTheirs
            let (resolved, republished) = try await replica.resolve(entry.id, choice: choice)
            if let resolution = resolved.resolution, resolutions[entry.id].map({ Self.isLater(resolution, than: $0) }) ?? true {
                resolutions[entry.id] = resolution
            }
            if let republished { versions.append(Acknowledged(device: device, id: entry.recordID, version: republished)) }
        }
    }

    /// The order in which resolutions of one entry join: the later stamp, then the device, then the choice.
    static func isLater(_ a: ConflictEntry.Resolution, than b: ConflictEntry.Resolution) -> Bool {
        (a.at, a.by, a.choice.rawValue) > (b.at, b.by, b.choice.rawValue)
    }

    /// Counts a write of `writer` whose version was replaced before it could be read back.
    mutating func noteUnverified(by writer: String) {
        unverified[writer, default: 0] += 1
    }

    /// Notes a version as acknowledged by `device` (a browser's, read back from the server).
    mutating func acknowledge(_ version: RecordVersion, by device: String) {
        versions.append(Acknowledged(device: device, id: version.id, version: version))
    }

    private mutating func readBack(
        _ id: String,
        on device: String,
        from replica: Replica,
        matching isOurs: (RecordVersion) -> Bool
    ) async throws {
        let value = try await replica.get(Self.collection, id: id, includeDeleted: true)
        guard let version = try? RecordVersion(record: value), version.info.origin == device, isOurs(version) else {
            noteUnverified(by: device)
            return
        }
        versions.append(Acknowledged(device: device, id: id, version: version))
    }

    /// What became of each acknowledged version, checked against the final state of `replica`.
    ///
    /// A version is accounted for when it is the winner or the winner saw it (its vector includes
    /// it), when it is archived as a conflict's loser or such a loser saw it, when a later version
    /// that is accounted for saw it, when a version that is accounted for and that it never saw
    /// holds the same content (the merge keeps one of them without a conflict), when the winner
    /// holds the same content, when it is a deletion that a concurrent deletion stands for (two
    /// deletions never conflict), or when such a deletion saw it.
    ///
    /// - Returns: one line per version unaccounted for.
    func audit(_ replica: Replica) async throws -> [String] {
        var final: [String: RecordVersion] = [:]
        for value in try await replica.get(Self.collection, includeDeleted: true).arrayValue ?? [] {
            let version = try RecordVersion(record: value)
            guard final[version.id] == nil else { return ["\(version.id) is stored twice"] }
            final[version.id] = version
        }
        let archived = try await replica.conflicts(includeResolved: true)
        var problems: [String] = []
        for (id, acknowledged) in Dictionary(grouping: versions, by: \.id) {
            guard let winner = final[id]?.info else {
                problems.append("\(id): gone, though \(acknowledged.count) versions of it were acknowledged")
                continue
            }
            // What survives of the record's history: the winner and every archived loser.
            var accounted = [winner] + archived.filter { $0.recordID == id }.map(\.loser.info)
            func covered(_ v: VersionInfo) -> Bool {
                accounted.contains { a in
                    a.isSameVersion(as: v) || a.vector.includes(origin: v.origin, updatedAt: v.updatedAt)
                        // Equal content that v never saw: the merge keeps one of two such versions without a
                        // conflict (two devices keeping the same archived version, say).
                        || (a.contentHash == v.contentHash && a.isDeleted == v.isDeleted
                            && !v.vector.includes(origin: a.origin, updatedAt: a.updatedAt))
                }
            }
            // A deletion that a concurrent deletion stands for (two deletions never conflict).
            func stoodIn(_ v: VersionInfo) -> Bool {
                v.isDeleted
                    && acknowledged.contains { other in
                        let o = other.version.info
                        return o.isDeleted && !o.isSameVersion(as: v) && covered(o)
                            && !o.vector.includes(origin: v.origin, updatedAt: v.updatedAt)
                    }
            }
            // Versions a covered version saw are covered too, back to the first; so are the versions
            // a stood-in deletion saw: its device deleted them itself.
            var pending = acknowledged.map(\.version.info)
            var progress = true
            while progress {
                progress = false
                let reached = pending.filter { covered($0) || stoodIn($0) }
                accounted += reached
                progress = !reached.isEmpty
                pending.removeAll { v in reached.contains { $0.isSameVersion(as: v) } }
            }
            for v in pending {
                if v.contentHash == winner.contentHash && v.isDeleted == winner.isDeleted { continue }
                let device = acknowledged.first { $0.version.info.isSameVersion(as: v) }?.device ?? "?"
                problems.append(
                    "\(id): \(device)'s \(v.isDeleted ? "deletion" : "version") of \(v.updatedAt) is lost: "
                        + "the winner (\(winner.origin), \(winner.updatedAt)) never saw it and no conflict holds it\n"
                        + "  winner: \(describe(winner))\n"
                        + acknowledged.map { "  acknowledged by \($0.device): \(describe($0.version.info))" }.joined(separator: "\n") + "\n"
                        + archived.filter { $0.recordID == id }.map {
                            "  archived: loser \(describe($0.loser.info)) / winner \(describe($0.winner.info))"
                        }.joined(separator: "\n")
                )
            }
        }
        return problems
    }
}
