import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// Random writers on three `egglogu-agent run` services while agents, the server and the broker
/// are killed and restarted at random; then everything heals and every acknowledged write is
/// accounted for (``SoakLedger/audit(_:)``). `EGGLOGU_SOAK_SECONDS` sets how long faults go on
/// (default 40, what CI runs); `EGGLOGU_SOAK_SEED` replays a run's choices of writes and faults (its
/// timing is the machine's): a failure prints its seed.
@Suite(.serialized, .ownThreads) struct SoakTests {
    static let devices = ["gw-1", "gw-2", "gw-3"]

    @Test func everyAcknowledgedWriteSurvivesKillsAndRestarts() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["EGGLOGU_SOAK_SECONDS"].flatMap(Double.init) ?? 40
        let seed = environment["EGGLOGU_SOAK_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var random = FixtureRandom(seed: seed)
        let fixture = try RealtimeFixture()
        defer { fixture.stopAll() }
        // gw-2's replica lives on a disk of its own, which fills up now and then (root only).
        let disk = SmallDisk.isAvailable ? try SmallDisk(megabytes: 24) : nil
        if let disk { fixture.replicaLocations["gw-2"] = disk.file("gw-2.sqlite") }
        // The agents reach the server through a proxy that resets, stalls, half-closes or answers 500.
        let proxy = try FaultProxy(to: fixture.serverPort)
        defer { proxy.stop() }
        fixture.agentServerURL = proxy.url
        for device in Self.devices { try fixture.startAgent(device, pollInterval: 2) }
        let apps = try await SoakApps(fixture: fixture)
        var ledger = SoakLedger()
        var faults: [String: Int] = [:]
        var nextFault = Date().addingTimeInterval(2)
        let end = Date().addingTimeInterval(seconds)
        var write = 0
        while Date() < end {
            let writer = random.below(Self.devices.count + SoakApps.users.count)
            write += 1
            do {
                if writer < Self.devices.count {
                    try await ledger.write(write, on: Self.devices[writer], fixture: fixture, random: &random)
                } else {
                    try await apps.write(write, by: SoakApps.users[writer - Self.devices.count], ledger: &ledger, random: &random)
                }
            } catch {
                // A write refused (the replica busy past its timeout) is not acknowledged: nothing to account for.
                ledger.refused += 1
            }
            try await Task.sleep(for: .milliseconds(20 + random.below(60)))
            if Date() >= nextFault {
                let kind = try await Self.inject(fixture: fixture, disk: disk, proxy: proxy, ledger: &ledger, random: &random)
                faults[kind, default: 0] += 1
                nextFault = Date().addingTimeInterval(1.5 + Double(random.below(2_500)) / 1_000)
            }
        }

        // Heal: everything running, then wait until every replica holds the same data.
        try Self.heal(fixture)
        var exports: [[UInt8]] = []
        let healed = await fixture.waitUntil(timeout: 90) {
            exports = []
            for device in Self.devices {
                guard let replica = try? await fixture.replica(device), let blob = try? await replica.exportBlob() else { return false }
                exports.append(blob)
            }
            return Set(exports).count == 1
        }
        let report = "seed \(seed), \(write) writes, faults \(faults.sorted { $0.key < $1.key })"
        try #require(healed != nil, "replicas did not converge after healing; \(report)\n\(fixture.logs)")

        // The server holds the same: a new device's first sync exports it byte for byte.
        let token = try Subprocess.run(
            "egglogu-sync-server",
            ["token", "--data-dir", fixture.directory.file("server"), "--farm", "farm-rt", "--device", "gw-check"],
            in: fixture.directory
        )
        try fixture.directory.writeSecret(token.stdout, to: "gw-check.token")
        let check = try Subprocess.run(
            "egglogu-agent",
            [
                "sync", "--replica", fixture.directory.file("check.sqlite"), "--device-id", "gw-check", "--farm-id", "farm-rt",
                "--server-url", fixture.serverURL, "--token-file", fixture.directory.file("gw-check.token"),
            ],
            in: fixture.directory
        )
        #expect(check.status == 0, "\(check.stderr)")
        let fromServer = try await Replica.open(path: fixture.directory.file("check.sqlite")).exportBlob()
        #expect(fromServer == exports.first, "the server's data differs from the devices'; \(report)")

        for file in Self.devices.map(fixture.replicaPath) + [fixture.directory.file("check.sqlite")] + Self.serverFiles(fixture) {
            let integrity = try Subprocess.run("/usr/bin/sqlite3", [file, "PRAGMA integrity_check"], in: fixture.directory)
            #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(file): \(integrity.stdout)")
        }
        let replica = try await fixture.replica("gw-1")
        let problems = try await ledger.audit(replica)
        #expect(problems.isEmpty, "\(report)\n\(problems.prefix(20).joined(separator: "\n"))")
        print(
            "soak: \(report); \(ledger.versions.count) acknowledged versions checked, \(ledger.refused) writes refused, "
                + "\(ledger.unverified) not read back, "
                + "\(try await replica.conflicts(includeResolved: true).count) conflicts archived"
        )
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
    }

    /// One fault, chosen at random; returns its name.
    static func inject(
        fixture: RealtimeFixture,
        disk: SmallDisk?,
        proxy: FaultProxy,
        ledger: inout SoakLedger,
        random: inout FixtureRandom
    ) async throws -> String {
        switch random.below(6) {
        case 0:
            let device = devices[random.below(devices.count)]
            fixture.agents[device]?.send(SIGKILL)
            _ = fixture.agents[device]?.stop(graceful: false)
            // Up to 5 s away, while the writers go on writing into its replica: a gateway offline.
            try await Task.sleep(for: .milliseconds(200 + random.below(4_800)))
            try fixture.startAgent(device, pollInterval: 2)
            return "agent kill -9"
        case 1:
            fixture.server.send(SIGKILL)
            _ = fixture.server.stop(graceful: false)
            try await Task.sleep(for: .milliseconds(200 + random.below(1_500)))
            try fixture.startServer()
            return "server kill -9"
        case 2:
            fixture.broker.kill()
            try await Task.sleep(for: .milliseconds(500 + random.below(2_500)))
            try fixture.broker.start()
            return "broker stop/start"
        case 3:
            // Within the 5 minutes of skew the server accepts: further ahead waits for the server's clock.
            let offset = Int64(random.below(480_001)) - 240_000
            ledger.clockOffsets["gw-3"] = offset
            return offset >= 0 ? "clock jump forward (gw-3)" : "clock jump back (gw-3)"
        case 4:
            let fault = [FaultProxy.Fault.reset, .stall, .error500, .halfClose][random.below(4)]
            proxy.set(fault)
            try await Task.sleep(for: .milliseconds(300 + random.below(2_700)))
            proxy.set(.none)
            return "network: \(fault.rawValue)"
        default:
            guard let disk else { return "disk full (skipped: not root)" }
            try disk.fill()
            try await Task.sleep(for: .milliseconds(500 + random.below(2_500)))
            disk.release()
            return "disk full (gw-2)"
        }
    }

    static func heal(_ fixture: RealtimeFixture) throws {
        // The proxy's faults end when each fault does; the broker, server and agents may be down.
        if !Broker.accepts(fixture.broker.port) { try fixture.broker.start() }
        if !fixture.server.isRunning { try fixture.startServer() }
        for device in devices where fixture.agents[device]?.isRunning != true { try fixture.startAgent(device, pollInterval: 2) }
    }

    static func serverFiles(_ fixture: RealtimeFixture) -> [String] {
        let root = fixture.directory.file("server")
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return files.filter { $0.hasSuffix(".sqlite") }.map { root + "/" + $0 }
    }
}

extension FixtureRandom {
    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int {
        Int.random(in: 0..<bound, using: &self)
    }
}
