import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import PropertyBased
import Testing

/// Random multi-device histories against real replicas: three devices and a server-like replica,
/// random edits, deletes, restores and resolutions, delivered in random order, duplicated, with
/// lost responses.
@Suite(.ownThreads) struct ConvergencePropertyTests {
    /// Histories per run: 60 by default, more with `EGGLOGU_PROPERTY_RUNS=2000 swift test ...`.
    static let runs = ProcessInfo.processInfo.environment["EGGLOGU_PROPERTY_RUNS"].flatMap(Int.init) ?? 60

    @Test func randomHistoriesConvergeWithoutLosingAVersion() async {
        await propertyCheck(count: Self.runs, input: Gen.int(in: 0...999_999).array(of: 5...70)) { steps in
            try World.check(history: steps)
        }
    }

    /// Shrunk histories that failed once, kept as fixed cases.
    @Test(arguments: [
        // dev0 and dev1 delete a field concurrently, then dev1 restores it.
        [397_908, 283_044, 915_876, 48_900, 372_979, 84]
    ])
    func historiesThatOnceFailed(steps: [Int]) throws {
        try World.check(history: steps)
    }

    @Test func sequentialHistoriesNeverConflictEvenWithTwoWritesInOnePush() async {
        await propertyCheck(count: max(40, Self.runs * 2 / 3), input: Gen.int(in: 0...999_999).array(of: 1...30)) { steps in
            let world = try World()
            for step in steps {
                let device = step % 3
                try world.write(device: device, step: step / 3)
                if (step / 7) % 2 == 0 {
                    world.clocks[device].advance(milliseconds: Int64(step % 5))
                    try world.write(device: device, step: step / 11)
                }
                try world.quiesce()
                #expect(try world.replicas.allSatisfy { try $0.conflicts(includeResolved: true).isEmpty })
            }
        }
    }
}

/// Three devices, a server, and the messages in flight between them.
final class World {
    enum Message {
        case push(device: Int, changes: [Change])
        case ack(device: Int, changes: [Change])
        case page(device: Int, changes: [Change], end: Int64)
    }

    let directory = TemporaryDirectory()
    let clocks = [FakeClock(), FakeClock(), FakeClock(), FakeClock()]
    let devices: [Replica]
    let server: Replica
    var replicas: [Replica] { devices + [server] }
    var inFlight: [Message] = []
    var cursors: [Int64] = [0, 0, 0]
    /// Per replica: record key → identities of the versions it has merged or made.
    var seen: [[String: Set<String>]] = Array(repeating: [:], count: 4)
    /// Every version a device made.
    var created: [String: [RecordVersion]] = [:]

    static let keys = ["flocks/r0", "flocks/r1", "flocks/r2", "farm/name"]

    /// Runs a history step by step, then syncs everything and checks convergence and that nothing was lost.
    static func check(history steps: [Int]) throws {
        let world = try World()
        for step in steps {
            try world.perform(step)
            try world.checkEqualSeenMeansEqualWinner()
        }
        try world.quiesce()
        try world.checkConverged()
        try world.checkNothingLost()
    }

    init() throws {
        let directory = directory
        func open(_ name: String, _ clock: FakeClock, server: Bool) throws -> Replica {
            var configuration = ReplicaConfiguration()
            configuration.deviceID = name
            configuration.wallClock = clock.reading
            configuration.role = server ? .server : .device
            return try Replica.open(path: directory.file(name + ".sqlite"), configuration: configuration)
        }
        let clocks = clocks
        clocks[1].advance(milliseconds: 1_500)
        clocks[2].advance(milliseconds: -1_500)
        devices = try (0..<3).map { try open("dev\($0)", clocks[$0], server: false) }
        server = try open("server", clocks[3], server: true)
    }

    static func identity(_ record: JSONValue) -> String {
        let o = record.objectValue!
        return "\(o["_syncOrigin"]!.stringValue!)@\(o["_updatedAt"]!.stringValue!)"
    }

    func perform(_ step: Int) throws {
        let device = (step / 12) % 3
        switch step % 12 {
        case 0...5: try write(device: device, step: step / 12)
        case 6: try resolve(device: device, step: step / 36)
        case 7:
            let batch = try devices[device].unpushed(limit: 1_000)
            if !batch.isEmpty { inFlight.append(.push(device: device, changes: batch)) }
        case 8:
            let page = try server.changes(after: cursors[device], limit: 1_000)
            inFlight.append(.page(device: device, changes: page.changes, end: page.cursor))
        case 9, 10:
            guard !inFlight.isEmpty else { return }
            try deliver(inFlight.remove(at: (step / 12) % inFlight.count), loseResponse: (step / 7) % 4 == 0)
        case 11:
            guard !inFlight.isEmpty else { return }
            inFlight.append(inFlight[(step / 12) % inFlight.count])
        default:
            clocks[device].advance(milliseconds: Int64(step % 3))
        }
        clocks[(step / 5) % 4].advance(milliseconds: Int64((step / 3) % 4))
    }

    /// An edit, delete or restore of one of a few records, with values from a small set so equal content happens.
    func write(device: Int, step: Int) throws {
        let replica = devices[device]
        let key = World.keys[step % World.keys.count]
        let (collection, id) = (String(key.split(separator: "/")[0]), String(key.split(separator: "/")[1]))
        let value = JSONValue.number(JSONNumber((step / 4) % 3))
        let current = try? replica.get(collection, id: id).objectValue
        if (step / 12) % 3 == 0, let current, current["_deletedAt"] == .null {
            try replica.delete(collection, id: id)
        } else if collection == "farm" {
            try replica.put("farm", ["name": value])
        } else {
            try replica.put(collection, ["id": .string(id), "v": value])
        }
        try recordLocal(device: device, collection: collection, id: id)
    }

    func resolve(device: Int, step: Int) throws {
        let open = try devices[device].conflicts()
        guard !open.isEmpty else { return }
        let entry = open[step % open.count]
        try devices[device].resolve(entry.id, choice: step % 2 == 0 ? .keepMine : .acceptTheirs)
        try recordLocal(device: device, collection: entry.collection, id: entry.recordID)
    }

    private func recordLocal(device: Int, collection: String, id: String) throws {
        let record = try devices[device].get(collection, id: id)
        let version = try RecordVersion(record: record)
        let key = "\(collection)/\(id)"
        if created[key]?.contains(version) != true { created[key, default: []].append(version) }
        seen[device][key, default: []].insert(World.identity(record))
    }

    func deliver(_ message: Message, loseResponse: Bool) throws {
        switch message {
        case .push(let device, let changes):
            try server.merge(Exchange.grouped(changes), options: RemoteMergeOptions(fromUpstream: false))
            note(changes, seenBy: 3)
            if !loseResponse { inFlight.append(.ack(device: device, changes: changes)) }
        case .ack(let device, let changes):
            try devices[device].markPushed(changes)
        case .page(let device, let changes, let end):
            try devices[device].merge(Exchange.grouped(changes))
            note(changes, seenBy: device)
            cursors[device] = max(cursors[device], end)
        }
    }

    private func note(_ changes: [Change], seenBy replica: Int) {
        for change in changes where change.collection != CollectionName.conflictArchive {
            let record = try! JSONParser().parse(change.body)
            seen[replica]["\(change.collection)/\(change.id)", default: []].insert(World.identity(record))
        }
    }

    /// Delivers everything in flight, then syncs every device until nothing moves.
    func quiesce() throws {
        while !inFlight.isEmpty {
            try deliver(inFlight.removeFirst(), loseResponse: false)
        }
        for _ in 0..<3 {
            for (n, device) in devices.enumerated() {
                let batch = try device.unpushed(limit: 10_000)
                try server.merge(Exchange.grouped(batch), options: RemoteMergeOptions(fromUpstream: false))
                note(batch, seenBy: 3)
                try device.markPushed(batch)
                let page = try server.changes(after: 0, limit: 100_000)
                try device.merge(Exchange.grouped(page.changes))
                note(page.changes, seenBy: n)
            }
        }
    }

    func winner(_ replica: Replica, _ key: String) throws -> JSONValue? {
        let parts = key.split(separator: "/").map(String.init)
        return try? replica.get(parts[0], id: parts[1])
    }

    func checkEqualSeenMeansEqualWinner() throws {
        for key in World.keys {
            for i in 0..<4 {
                for j in (i + 1)..<4 {
                    guard let s = seen[i][key], !s.isEmpty, s == seen[j][key] else { continue }
                    #expect(try winner(replicas[i], key) == winner(replicas[j], key), "\(key) differs between replicas \(i) and \(j) that saw the same versions")
                }
            }
        }
    }

    func checkConverged() throws {
        func everything(_ replica: Replica) throws -> [String: JSONValue] {
            var out: [String: JSONValue] = [:]
            for change in try replica.changes(after: 0, limit: 100_000).changes {
                out["\(change.collection)/\(change.id)"] = try JSONParser().parse(change.body)
            }
            return out
        }
        let reference = try everything(server)
        for device in devices {
            #expect(try everything(device) == reference)
        }
    }

    /// Every version is the winner, an ancestor of it, or archived: its content survives in a
    /// version the replicas keep (the winner and both sides of archive entries) or in an
    /// ancestor of one. Versions compare by content, as merge does: two deletions never differ.
    /// A version with a kept descendant is kept too (an edit and the delete that followed it).
    func checkNothingLost() throws {
        let archive = try server.conflicts(includeResolved: true)
        for (key, versions) in created {
            let winner = try RecordVersion(record: try #require(try self.winner(server, key)))
            let entries = archive.filter { "\($0.collection)/\($0.recordID)" == key }
            let holders = [winner] + entries.flatMap { [$0.loser, $0.winner] }
            let present = holders + versions.filter { version in holders.contains { includes($0, version) } }
            var kept = versions.map { version in present.contains { includes($0, version) || sameContent($0, version) } }
            var changed = true
            while changed {
                changed = false
                for (i, version) in versions.enumerated() where !kept[i] {
                    if versions.indices.contains(where: { kept[$0] && $0 != i && includes(versions[$0], version) }) {
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

    private func includes(_ holder: RecordVersion, _ version: RecordVersion) -> Bool {
        holder.info.vector.includes(origin: version.info.origin, updatedAt: version.info.updatedAt)
    }

    private func sameContent(_ a: RecordVersion, _ b: RecordVersion) -> Bool {
        if a.isDeleted || b.isDeleted { return a.isDeleted && b.isDeleted }
        return a.info.contentHash == b.info.contentHash
    }
}
