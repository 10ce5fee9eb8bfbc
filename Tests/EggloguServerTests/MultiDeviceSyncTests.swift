import EggloguAgentSync
import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguSyncClient
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

@Suite(.ownThreads) struct MultiDeviceSyncTests {
    /// Syncs every agent until a whole round moves nothing.
    func settle(_ agents: [TestAgent]) async throws {
        for _ in 0..<5 {
            var moved = 0
            for agent in agents {
                let summary = try await agent.sync()
                moved += summary.pushed + summary.pulled
            }
            if moved == 0 { return }
        }
        Issue.record("the agents did not settle")
    }

    @Test func twoAgentsAndALegacyDeviceConvergeAcrossTwentyCollections() async throws {
        try await TestServer.with { server in
            let lab = ReplicaLab()
            let a = try await TestAgent.make("agent-a", in: lab, server: server)
            let b = try await TestAgent.make("agent-b", in: lab, server: server)
            let farm = FarmGenerator(size: .scaled(dailyProduction: 1_500), seed: 5)
            _ = try await a.replica.importBlob(farm.bytes())
            try await settle([a, b])

            let collections = try await a.replica.status().collections.filter { $0.value.live >= 3 }.keys
                .filter {
                    CollectionName.kind(of: $0) == .records
                        || CollectionName.kind(of: $0).map { if case .nestedRecords = $0 { true } else { false } } == true
                }
                .sorted()
            #expect(collections.count >= 20)
            for (n, collection) in collections.enumerated() {
                let ids = try await a.replica.get(collection).arrayValue!.compactMap { $0.objectValue?["id"]?.stringValue }
                try await a.replica.put(collection, try edited(a.replica, collection, ids[0], note: "edited on A"))
                if n % 2 == 0 { try await b.replica.put(collection, try edited(b.replica, collection, ids[0], note: "edited on B")) }
                if n % 3 == 0 { try await b.replica.delete(collection, id: ids[1]) } else { try await a.replica.delete(collection, id: ids[1]) }
                if n % 4 == 0 {
                    try await a.replica.put(collection, try edited(a.replica, collection, ids[1], note: "edited after a delete elsewhere"))
                }
            }
            try await b.replica.put("flocks", ["name": "created on B"])

            // A device on the current app: a full blob, then the entity shape.
            let legacy = try await server.token(device: "legacy-phone")
            var blob = try JSONParser().parse(farm.bytes()).objectValue!
            var flocks = blob["flocks"]!.arrayValue!
            flocks.append(["id": "legacyflock01", "name": "from the old app"])
            blob["flocks"] = .array(flocks)
            #expect(try await server.request(.POST, "/api/v1/sync", token: legacy, body: JSONValue.object(blob).serialized()).status == 200)
            let entityPush: JSONValue = [
                "last_synced_at": nil,
                "data": [
                    "production": [["id": "legacyprod001", "date": "2026-03-09", "eggsCollected": 4100]],
                    "clients": [["id": "legacyclnt001", "name": "Feria"]],
                ],
            ]
            let answer = try await server.request(.POST, "/api/v1/sync", token: legacy, body: entityPush.serialized())
            #expect(answer.status == 200)
            #expect(answer.json?.objectValue?["synced"] == 2)
            #expect(answer.json?.objectValue?["server_changes"]?.objectValue?["production"]?.arrayValue?.isEmpty == false)

            try await settle([a, b])
            let exportA = try await a.replica.exportBlob()
            let exportB = try await b.replica.exportBlob()
            #expect(exportA == exportB)
            await #expect(try a.replica.conflicts(includeResolved: true) == b.replica.conflicts(includeResolved: true))
            await #expect(try !a.replica.conflicts().isEmpty)
            let exported = try JSONParser().parse(exportA).objectValue!
            #expect(exported["flocks"]?.arrayValue?.contains { $0.objectValue?["id"] == "legacyflock01" } == true)
            #expect(exported["dailyProduction"]?.arrayValue?.contains { $0.objectValue?["id"] == "legacyprod001" } == true)
            #expect(exported["clients"]?.arrayValue?.contains { $0.objectValue?["id"] == "legacyclnt001" } == true)
            #expect(exported["flocks"]?.arrayValue?.contains { $0.objectValue?["name"] == "created on B" } == true)
            #expect(exported["reservations"] == [], "empty collections travel through the layout")
            await #expect(try a.replica.status().unpushed == 0)
            await #expect(try b.replica.status().unpushed == 0)
            await a.close()
            await b.close()
        }
    }

    func edited(_ replica: Replica, _ collection: String, _ id: String, note: String) async throws -> JSONValue {
        var record = try await replica.get(collection, id: id).objectValue!
        record["syncNote"] = .string(note)
        return .object(record)
    }

    @Test func aTwentyThousandRecordFarmSyncsThroughPagesOf500() async throws {
        try await TestServer.with { server in
            let lab = ReplicaLab()
            let a = try await TestAgent.make("agent-a", in: lab, server: server)
            let b = try await TestAgent.make("agent-b", in: lab, server: server)
            _ = try await a.replica.importBlob(FarmGenerator(size: .scaled(dailyProduction: 12_000), seed: 2).bytes())
            let total = try await a.replica.headSequence()
            #expect(total >= 20_000)
            let pushed = try await a.sync()
            #expect(pushed.pushed == Int(total))
            let pulled = try await b.sync()
            #expect(pulled.pulled == Int(total))
            await #expect(try a.replica.exportBlob() == b.replica.exportBlob())
            await #expect(try b.replica.unpushed(limit: 1).isEmpty)
            await a.close()
            await b.close()
        }
    }

    @Test func interleavedPushesAndPullsNeverSkipOrDuplicateAChange() async throws {
        try await TestServer.with { server in
            let lab = ReplicaLab()
            let agents = [
                try await TestAgent.make("agent-a", in: lab, server: server, pageSize: 7),
                try await TestAgent.make("agent-b", in: lab, server: server, pageSize: 7),
                try await TestAgent.make("agent-c", in: lab, server: server, pageSize: 7),
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, agent) in agents.enumerated() {
                    group.addTask {
                        for round in 0..<25 {
                            for k in 0..<3 {
                                try await agent.replica.put(
                                    "flocks",
                                    [
                                        "id": .string("f\((round * 3 + k + n) % 20)"), "by": .string(agent.replica.deviceID),
                                        "round": .number(JSONNumber(round)),
                                    ]
                                )
                                try await agent.replica.put("logbook", ["id": .string("\(agent.replica.deviceID)-\(round)-\(k)")])
                            }
                            try await agent.sync()
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await settle(agents)
            let reference = try await agents[0].replica.exportBlob()
            for agent in agents {
                if try await agent.replica.exportBlob() != reference {
                    let mine = await Dictionary(
                        uniqueKeysWithValues: try agent.replica.changes(after: 0, limit: 100_000).changes.map {
                            ("\($0.collection)/\($0.id)", $0.body)
                        }
                    )
                    let theirs = await Dictionary(
                        uniqueKeysWithValues: try agents[0].replica.changes(after: 0, limit: 100_000).changes.map {
                            ("\($0.collection)/\($0.id)", $0.body)
                        }
                    )
                    for key in Set(mine.keys).union(theirs.keys).sorted() where mine[key] != theirs[key] {
                        print("DIFF \(agent.replica.deviceID) \(key)\n  mine:   \(mine[key] ?? "-")\n  theirs: \(theirs[key] ?? "-")")
                    }
                }
                await #expect(try agent.replica.exportBlob() == reference)
                await #expect(try agent.replica.get("logbook").arrayValue?.count == 225)
            }
            for agent in agents { await agent.close() }
        }
    }

    @Test func aRestoreFromBackupForcesAResyncThatLosesNothing() async throws {
        let lab = ReplicaLab()
        let first = lab.directory.file("server-1")
        let restored = lab.directory.file("server-restored")
        let state = try await TestServer.with(dataDirectory: first) { server in
            let a = try await TestAgent.make("agent-a", in: lab, server: server)
            let b = try await TestAgent.make("agent-b", in: lab, server: server)
            _ = try await a.replica.importBlob(FarmGenerator(size: .small, seed: 9).bytes())
            try await settle([a, b])
            try await server.directory.backup(to: restored)
            for n in 0..<5 { try await a.replica.put("flocks", ["id": .string("after-backup-\(n)")]) }
            try await b.replica.put("clients", ["id": "b-after-backup"])
            try await settle([a, b])
            await a.close()
            await b.close()
            return try await a.replica.exportBlob()
        }
        try await TestServer.with(dataDirectory: restored) { server in
            let a = try await TestAgent.make("agent-a", in: lab, server: server)
            let b = try await TestAgent.make("agent-b", in: lab, server: server)
            #expect(try await a.sync().resynced)
            #expect(try await b.sync().resynced)
            try await settle([a, b])
            await #expect(try a.replica.exportBlob() == state)
            await #expect(try b.replica.exportBlob() == state)
            let c = try await TestAgent.make("agent-c", in: lab, server: server)
            try await c.sync()
            await #expect(try c.replica.exportBlob() == state, "the restored server has everything again")
            for agent in [a, b, c] { await agent.close() }
        }
    }

    @Test func theTokenIsRenewedAfterTwoThirdsOfItsLifeAndStoredWhereItWasRead() async throws {
        try await TestServer.with { server in
            let lab = ReplicaLab()
            let file = lab.directory.file("agent.token")
            let old = try await server.token(device: "agent-a", lifetime: 90, issuedAt: Date().addingTimeInterval(-61))
            try (old + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let store = try TokenStore(file: file)
            #expect(store.isDueForRenewal())
            var configuration = ReplicaConfiguration()
            configuration.deviceID = "agent-a"
            let replica = try await Replica.open(path: lab.directory.file("a.sqlite"), configuration: configuration)
            let client = try EggloguSyncClient.SyncClient(configuration: .init(serverURL: server.url))
            let summary = try await AgentSync(replica: replica, farm: "farm-1", transport: client, token: store).sync()
            await client.shutdown()
            #expect(summary.renewed && summary.renewalPersisted)
            let stored = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(stored != old)
            #expect(try await server.authority.verify(stored).subject == "agent-a")
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(!TokenStore(token: stored, origin: .ephemeral).isDueForRenewal())
        }
    }
}
