import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// Random writers on three `egglogu-agent run` services and two app browsers while agents, server
/// instances and the broker are killed and restarted, links fail and partition, a clock jumps and a
/// disk fills, at random (``SoakLab``); then everything heals, and every acknowledged write is
/// accounted for (``SoakLedger/audit(_:)``) and every conflict predicted
/// (``SoakLedger/conflictProblems(_:)``). One run on a single SQLite instance, one on two instances
/// sharing PostgreSQL (without the browsers, whose route PostgreSQL servers do not serve yet).
/// `EGGLOGU_SOAK_SECONDS` sets how long faults go on in each (default 40, what CI runs);
/// `EGGLOGU_SOAK_SEED` replays a run's choices of writes and faults (its timing is the machine's):
/// a failure prints its seed.
@Suite(.serialized, .ownThreads) struct SoakTests {
    static let devices = SoakLab.devices

    @Test(arguments: StoreBackend.allCases)
    func everyAcknowledgedWriteSurvivesTheFaults(_ backend: StoreBackend) async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["EGGLOGU_SOAK_SECONDS"].flatMap(Double.init) ?? 40
        let seed = environment["EGGLOGU_SOAK_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var random = FixtureRandom(seed: seed)
        let lab = try SoakLab(backend: backend)
        defer { lab.stop() }
        let fixture = lab.fixture
        // PostgreSQL servers do not serve the app's legacy route yet (they answer 501): browsers
        // write only in the SQLite run.
        let apps = lab.database == nil ? try await SoakApps(fixture: fixture) : nil
        let users = apps == nil ? [] : SoakApps.users
        try lab.startAgents()
        var ledger = SoakLedger()
        var faults: [String: Int] = [:]
        // A fault ends on its own schedule, not the writers': a browser's sync waits for the
        // instance it needs, and the writers wait for the browser.
        var ending: Task<Void, any Error>?
        defer { ending?.cancel() }
        var nextFault = Date().addingTimeInterval(2)
        let end = Date().addingTimeInterval(seconds)
        var write = 0
        while Date() < end {
            let writer = random.below(Self.devices.count + users.count)
            write += 1
            do {
                if let apps, writer >= Self.devices.count {
                    try await apps.write(write, by: users[writer - Self.devices.count], ledger: &ledger, random: &random)
                } else {
                    try await ledger.write(write, on: Self.devices[writer], fixture: fixture, random: &random)
                }
            } catch {
                // A write refused (the replica busy or its disk full, the server away) is not
                // acknowledged: nothing to account for. A browser keeps its edit and sends it with
                // its next sync, so it may land all the same, unread.
                ledger.refused += 1
                if writer >= Self.devices.count { ledger.noteUnverified(by: users[writer - Self.devices.count]) }
            }
            try await Task.sleep(for: .milliseconds(20 + random.below(60)))
            if Date() >= nextFault {
                try await ending?.value
                let (kind, started) = try lab.inject(ledger: &ledger, random: &random)
                faults[kind, default: 0] += 1
                ending = started.map { fault in
                    Task {
                        try await Task.sleep(for: .milliseconds(max(0, Int(fault.until.timeIntervalSinceNow * 1_000))))
                        try fault.end()
                    }
                }
                nextFault = (started?.until ?? Date()).addingTimeInterval(1.5 + Double(random.below(2_500)) / 1_000)
            }
        }

        // Heal: everything running, then wait until every replica holds the same data.
        try await ending?.value
        try lab.heal()
        let healing = Date()
        var exports: [[UInt8]] = []
        let exportsAgree = { () async -> Bool in
            exports = []
            for device in Self.devices {
                guard let replica = try? await fixture.replica(device), let blob = try? await replica.exportBlob() else { return false }
                exports.append(blob)
            }
            return Set(exports).count == 1
        }
        // Notices heal a run within a second or two; what is still apart after 5 s waits for a
        // poll (a notice lost, a stalled link). That state is kept for the report.
        var slowHeal: String?
        var healed = await fixture.waitUntil(timeout: 5) { await exportsAgree() }
        if healed == nil {
            slowHeal = await Self.differences(fixture)
            healed = await fixture.waitUntil(timeout: 85) { await exportsAgree() }
        }
        let report = "\(backend), seed \(seed), \(write) writes, faults \(faults.sorted { $0.key < $1.key })"
        let differences = healed == nil ? await Self.differences(fixture) : ""
        try #require(
            healed != nil,
            "replicas did not converge after healing; \(report)\nafter 5 s:\n\(slowHeal ?? "")\nafter 90 s:\n\(differences)\n\(fixture.logs)"
        )

        // Every instance holds the same: a new device's first sync from each exports it byte for byte.
        var checks: [String] = []
        for instance in fixture.serverPorts.indices {
            let device = "gw-check-\(instance)"
            try fixture.directory.writeSecret(try fixture.mintToken(device), to: "\(device).token")
            let check = try Subprocess.run(
                "egglogu-agent",
                [
                    "sync", "--replica", fixture.directory.file("\(device).sqlite"), "--device-id", device, "--farm-id", "farm-rt",
                    "--server-url", fixture.serverURL(instance), "--token-file", fixture.directory.file("\(device).token"),
                ],
                in: fixture.directory
            )
            #expect(check.status == 0, "\(check.stderr)")
            let fromServer = try await Replica.open(path: fixture.directory.file("\(device).sqlite")).exportBlob()
            #expect(fromServer == exports.first, "instance \(instance)'s data differs from the devices'; \(report)")
            checks.append(fixture.directory.file("\(device).sqlite"))
        }

        for file in Self.devices.map(fixture.replicaPath) + checks + lab.serverFiles {
            let integrity = try Subprocess.run("/usr/bin/sqlite3", [file, "PRAGMA integrity_check"], in: fixture.directory)
            #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(file): \(integrity.stdout)")
        }

        // The conflict archive syncs like a collection: the same everywhere, resolutions included.
        let replica = try await fixture.replica("gw-1")
        let archive = try await replica.conflicts(includeResolved: true)
        let converged = await fixture.waitUntil(timeout: 30) {
            for file in Self.devices.map(fixture.replicaPath) + checks {
                guard let other = try? await Replica.openForReading(path: file).conflicts(includeResolved: true), other == archive else {
                    return false
                }
            }
            return true
        }
        #expect(converged != nil, "the conflict archives differ between devices; \(report)")

        let problems = try await ledger.audit(replica) + ledger.conflictProblems(archive)
        #expect(problems.isEmpty, "\(report)\n\(problems.prefix(20).joined(separator: "\n"))")
        let unresolved = archive.filter { !$0.isResolved }.count
        print(
            "soak: \(report); healed in \(String(format: "%.1f", Date().timeIntervalSince(healing))) s; "
                + "\(ledger.versions.count) acknowledged versions checked, \(ledger.refused) writes refused, "
                + "\(ledger.unverified.values.reduce(0, +)) not read back; \(archive.count) conflicts archived, "
                + "\(archive.count - unresolved) resolved, \(unresolved) unresolved, as predicted"
                + (slowHeal.map { "\nsoak: still apart 5 s after healing:\n\($0)" } ?? "")
        )
    }

    /// Each device's cursor and queue, and the records whose exports differ between devices (at
    /// most ten), for a run that did not converge.
    static func differences(_ fixture: RealtimeFixture) async -> String {
        var lines: [String] = []
        var records: [String: [String: String]] = [:]
        for device in devices {
            guard let replica = try? await fixture.replica(device), let status = try? await replica.status(),
                case .object(let blob)? = try? JSONParser().parse(await replica.exportBlob())
            else {
                lines.append("\(device): unreadable")
                continue
            }
            lines.append("\(device): cursor \(status.upstreamCursor ?? "-"), \(status.unpushed) unpushed, sequence \(status.sequence)")
            for (key, value) in blob {
                for record in value.arrayValue ?? [value] {
                    let id = record.objectValue?["id"]?.stringValue ?? ""
                    records["\(key)/\(id)", default: [:]][device] = String(decoding: record.serialized(), as: UTF8.self)
                }
            }
        }
        let differing = records.filter { Set($0.value.values).count > 1 || $0.value.count < devices.count }.sorted { $0.key < $1.key }
        for (key, byDevice) in differing.prefix(10) {
            lines.append("\(key) differs:")
            for device in devices { lines.append("  \(device): \(byDevice[device].map { String($0.prefix(400)) } ?? "absent")") }
        }
        return lines.joined(separator: "\n")
    }

    /// The audit can fail: a version that the final state never saw and no conflict holds is reported.
    @Test func theAuditReportsAVersionNothingAccountsFor() async throws {
        let directory = TemporaryDirectory()
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "gw-1"
        let replica = try await Replica.open(path: directory.file("audit.sqlite"), configuration: configuration)
        var ledger = SoakLedger()
        for name in ["first", "second"] {
            try await replica.put(SoakLedger.collection, ["id": "soak-1", "name": .string(name)])
            ledger.acknowledge(try RecordVersion(record: await replica.get(SoakLedger.collection, id: "soak-1")), by: "gw-1")
        }
        #expect(try await ledger.audit(replica).isEmpty)
        let stray = RecordVersion(
            id: "soak-1",
            content: ["id": "soak-1", "name": "never merged"],
            updatedAt: Timestamp(milliseconds: 1_700_000_000_000),
            origin: "gw-2",
            vector: VersionVector(["gw-2": Timestamp(milliseconds: 1_700_000_000_000)])
        )
        ledger.acknowledge(stray, by: "gw-2")
        let problems = try await ledger.audit(replica)
        #expect(problems.count == 1 && problems.first?.contains("gw-2's version") == true, "\(problems)")

        // Equal content stands in only for a version that never saw it: an edit back to the first
        // content, made on top of the first version and then dropped, is lost all the same.
        let first = try #require(ledger.versions.first?.version)
        let revert = RecordVersion(
            id: "soak-1",
            content: first.content,
            updatedAt: first.info.updatedAt.adding(milliseconds: 5),
            origin: "gw-3",
            vector: first.info.vector.advanced("gw-3", to: first.info.updatedAt.adding(milliseconds: 5))
        )
        var reverted = SoakLedger()
        for acknowledged in ledger.versions.prefix(2) { reverted.acknowledge(acknowledged.version, by: acknowledged.device) }
        reverted.acknowledge(revert, by: "gw-3")
        let dropped = try await reverted.audit(replica)
        #expect(dropped.count == 1 && dropped.first?.contains("gw-3's version") == true, "\(dropped)")
    }

    /// A device's edit that the device then deleted itself is accounted for when a concurrent
    /// deletion by another device wins (two deletions never conflict); an edit that no deletion saw
    /// is still reported. A CI run reported the first as lost.
    @Test func whatADeletionSawIsAccountedForWhenAConcurrentDeletionWins() async throws {
        let directory = TemporaryDirectory()
        func open(_ device: String) async throws -> Replica {
            var configuration = ReplicaConfiguration()
            configuration.deviceID = device
            return try await Replica.open(path: directory.file("\(device).sqlite"), configuration: configuration)
        }
        let (a, b) = (try await open("gw-1"), try await open("gw-2"))
        var ledger = SoakLedger()
        func acknowledge(_ replica: Replica, by device: String, _ id: String) async throws {
            ledger.acknowledge(try RecordVersion(record: await replica.get(SoakLedger.collection, id: id, includeDeleted: true)), by: device)
        }
        for id in ["soak-1", "soak-2"] {
            try await a.put(SoakLedger.collection, ["id": .string(id), "name": "a's edit"])
            try await acknowledge(a, by: "gw-1", id)
        }
        _ = try await a.delete(SoakLedger.collection, id: "soak-1")
        try await acknowledge(a, by: "gw-1", "soak-1")
        try await Task.sleep(for: .milliseconds(5))
        for id in ["soak-1", "soak-2"] {
            try await b.put(SoakLedger.collection, ["id": .string(id), "name": "b's edit"])
            _ = try await b.delete(SoakLedger.collection, id: id)
            try await acknowledge(b, by: "gw-2", id)
            let theirs = try await b.get(SoakLedger.collection, id: id, includeDeleted: true)
            _ = try await a.merge([(SoakLedger.collection, [theirs])])
        }
        #expect(try await a.get(SoakLedger.collection, id: "soak-1", includeDeleted: true).objectValue?["_syncOrigin"] == "gw-2")
        let problems = try await ledger.audit(a)
        // soak-2's edit on gw-1 lost to gw-2's deletion, which never saw it: the archive holds it.
        let archived = try await a.conflicts().map(\.recordID)
        #expect(archived == ["soak-2"], "\(archived)")
        #expect(problems.isEmpty, "\(problems)")

        // Without the archive entry, soak-2's edit is reported: no deletion of gw-1 saw it.
        var unarchived = SoakLedger()
        for acknowledged in ledger.versions where acknowledged.id == "soak-2" {
            unarchived.acknowledge(acknowledged.version, by: acknowledged.device)
        }
        let bare = try await open("gw-3")
        _ = try await bare.merge([(SoakLedger.collection, [try await b.get(SoakLedger.collection, id: "soak-2", includeDeleted: true)])])
        let reported = try await unarchived.audit(bare)
        #expect(reported.count == 1 && reported.first?.contains("gw-1's version") == true, "\(reported)")
    }

    /// The conflict check can fail: an entry whose winner saw its loser, a
    /// resolution nobody made, and a loser no write made are each reported.
    @Test func theConflictCheckReportsWhatTheHistoryDoesNotPredict() {
        func at(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: 1_700_000_000_000 + ms) }
        func version(_ name: String, _ origin: String, _ ms: Int64, saw seen: [String: Timestamp]) -> RecordVersion {
            RecordVersion(
                id: "soak-1",
                content: ["id": "soak-1", "name": .string(name)],
                updatedAt: at(ms),
                origin: origin,
                vector: VersionVector(seen.merging([origin: at(ms)]) { a, _ in a })
            )
        }
        let mine = version("mine", "gw-2", 10, saw: ["gw-1": at(0)])
        let theirs = version("theirs", "gw-3", 20, saw: ["gw-1": at(0)])
        let later = version("later", "gw-3", 30, saw: ["gw-2": at(10)])
        var ledger = SoakLedger()
        for v in [mine, theirs, later] { ledger.acknowledge(v, by: v.info.origin) }
        let concurrent = ConflictEntry(collection: SoakLedger.collection, winner: theirs, loser: mine)
        #expect(ledger.conflictProblems([concurrent]).isEmpty)

        let sequential = ConflictEntry(collection: SoakLedger.collection, winner: later, loser: mine)
        #expect(ledger.conflictProblems([sequential]).first?.contains("its winner saw") == true)
        let unasked = concurrent.resolved(.keepMine, at: at(40), by: "gw-1")
        #expect(ledger.conflictProblems([unasked]).first?.contains("never resolved it") == true)
        let stranger = version("stranger", "gw-1", 25, saw: [:])
        let unknown = ConflictEntry(collection: SoakLedger.collection, winner: theirs, loser: stranger)
        #expect(ledger.conflictProblems([unknown]).first?.contains("no write of this run") == true)
    }
}

extension FixtureRandom {
    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int {
        Int.random(in: 0..<bound, using: &self)
    }
}
