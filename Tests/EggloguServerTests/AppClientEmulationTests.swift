import EggloguAppEmulator
import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The app's own web client, emulated step by step from REAL_CLIENT.md, on the large fixture: two
/// browsers of one user, a fresh browser of another user and a gateway, all through the nginx site
/// in deploy/, with the EGGlogU backend's tokens and its refresh.
@Suite(.ownThreads) struct AppClientEmulationTests {
    /// The 16 record entities the client represents, with where they live in a blob.
    static let entities: [(entity: String, path: [String])] = [
        ("flocks", ["flocks"]), ("production", ["dailyProduction"]), ("vaccines", ["vaccines"]), ("medications", ["medications"]),
        ("outbreaks", ["outbreaks"]), ("stress_events", ["stressEvents"]), ("feed_purchases", ["feed", "purchases"]),
        ("feed_consumption", ["feed", "consumption"]), ("clients", ["clients"]), ("incomes", ["finances", "income"]),
        ("expenses", ["finances", "expenses"]), ("receivables", ["finances", "receivables"]), ("environment_readings", ["environment"]),
        ("checklist_items", ["checklist"]), ("logbook_entries", ["logbook"]), ("personnel", ["personnel"]),
    ]

    /// What the client can represent of a replica: each entity's live records by id, and the farm, without sync metadata.
    static func representable(_ replica: Replica) async throws -> (records: [String: [String: JSONValue]], farm: JSONValue) {
        let blob = try await JSONParser().parse(replica.exportBlob()).objectValue!
        var out: [String: [String: JSONValue]] = [:]
        for (entity, path) in entities {
            let value = path.count == 1 ? blob[path[0]] : blob[path[0]]?.objectValue?[path[1]]
            out[entity] = Dictionary(
                uniqueKeysWithValues: (value?.arrayValue ?? []).map { record in
                    (AppBrowserKey.id(record), record.withoutSyncMetadata)
                }
            )
        }
        return (out, blob["farm"]!.withoutSyncMetadata)
    }

    static func representable(_ browser: AppBrowser) -> [String: [String: JSONValue]] {
        var out: [String: [String: JSONValue]] = [:]
        for (entity, _) in entities {
            out[entity] = Dictionary(
                uniqueKeysWithValues: browser.records(entity).map { (AppBrowserKey.id(.object($0)), JSONValue.object($0).withoutSyncMetadata) }
            )
        }
        return out
    }

    static func farm(_ browser: AppBrowser) -> JSONValue {
        JSONValue.object(browser.farm).withoutSyncMetadata
    }

    /// Where a browser differs from the gateway: records it lacks, holds in addition, or holds otherwise.
    static func differences(
        _ browser: AppBrowser,
        _ gateway: Replica
    ) async throws -> (missing: Set<String>, extra: Set<String>, changed: Set<String>) {
        let theirs = representable(browser)
        let ours = try await representable(gateway).records
        var missing: Set<String> = []
        var extra: Set<String> = []
        var changed: Set<String> = []
        for (entity, _) in entities {
            let a = ours[entity] ?? [:]
            let b = theirs[entity] ?? [:]
            for (id, record) in a {
                if let other = b[id] { if other != record { changed.insert("\(entity)/\(id)") } } else { missing.insert("\(entity)/\(id)") }
            }
            for id in b.keys where a[id] == nil { extra.insert("\(entity)/\(id)") }
        }
        return (missing, extra, changed)
    }

    /// The server and the gateway run as the binaries operators run; only the backend is a stand-in.
    @Test(.timeLimit(.minutes(10)))
    func twoBrowsersAFreshOneAndAGatewayConvergeWithNothingLost() async throws {
        try await StandInBackend.with { backend in
            let dir = TemporaryDirectory()
            let data = dir.file("data")
            let secret = try dir.writeSecret(String(decoding: AppTokens.secret, as: UTF8.self), to: "app-jwt-secret")
            let server = ChildService(
                "egglogu-sync-server",
                ["serve", "--port", "0", "--data-dir", data, "--app-jwt-secret-file", secret],
                in: dir
            )
            // The children start niced, below the other tests of the run: they parse megabytes of JSON on two cores.
            try await niced { try server.start(waitingFor: "listening on") }
            let serverPort = try #require(
                server.stdout.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            )
            let nginx = try Nginx(syncPort: serverPort, backendPort: backend.port)
            try await niced { try nginx.start() }
            let apiBase = nginx.url + "/api/v1"

            let token = try await offPool {
                try Subprocess.run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", "farm-1", "--device", "gateway"], in: dir)
            }
            let tokenFile = try dir.writeSecret(token.stdout, to: "gateway.token")
            let replicaPath = dir.file("gateway.sqlite")
            func gatewayRuns(_ arguments: [String]) async throws {
                let result = try await niced {
                    try Subprocess.run(
                        "egglogu-agent",
                        arguments + ["--replica", replicaPath],
                        environment: [
                            "EGGLOGU_DEVICE_ID": "gateway", "EGGLOGU_FARM_ID": "farm-1", "EGGLOGU_SERVER_URL": nginx.url,
                            "EGGLOGU_TOKEN_FILE": tokenFile,
                        ],
                        in: dir
                    )
                }
                #expect(result.status == 0, "egglogu-agent \(arguments): \(result.stderr)")
            }
            func onGateway<T: Sendable>(_ body: (Replica) async throws -> T) async throws -> T {
                try await body(try await Replica.open(path: replicaPath))
            }
            func differences(_ browser: AppBrowser) async throws -> (missing: Set<String>, extra: Set<String>, changed: Set<String>) {
                try await Self.differences(browser, try await Replica.open(path: replicaPath))
            }
            let farmFile = dir.file("farm.json")
            try Data(FarmGenerator(size: .large, seed: 1).bytes()).write(to: URL(fileURLWithPath: farmFile))
            try await gatewayRuns(["import", farmFile])
            try await gatewayRuns(["sync"])
            let total = try await onGateway { try await Self.representable($0).records.values.reduce(0) { $0 + $1.count } }
            #expect(total > 14_000)
            let serverHead = { try await Replica.open(path: data + "/farms/farm-1.sqlite").headSequence() }

            func browser(_ user: String) -> AppBrowser {
                let tokens = backend.logIn(user: user, org: "farm-1")
                return AppBrowser(apiBase: apiBase, accessToken: tokens.access, refreshToken: tokens.refresh)
            }

            // Logins: the pull brings the whole farm and the farm profile; the echo changes nothing.
            let b1 = browser("user-1")
            try await b1.logIn()
            var head = try await serverHead()
            #expect(b1.lastAnswer?["synced"] == 0 && b1.lastAnswer?["conflict_count"] == 0, "the login echo is a no-op")
            #expect(try await differences(b1) == ([], [], []))
            #expect(try await onGateway { try await Self.representable($0).farm } == Self.farm(b1))
            let b2 = browser("user-1")
            try await b2.logIn()
            #expect(try await differences(b2) == ([], [], []))
            #expect(try await serverHead() == head, "two logins wrote nothing")

            func ids(_ entity: String) async -> [String] {
                b1.records(entity).map { AppBrowserKey.id(.object($0)) }.sorted()
            }
            let flocks = await ids("flocks")
            let (f1, f2, f3) = (flocks[0], flocks[1], flocks[2])
            let clients = await ids("clients")
            let production = await ids("production")

            // An edit on each side, a gateway delete, a farm rename.
            b1.edit("flocks", id: f1, [("currentCount", 4_321)])
            #expect(try await b1.sync()?["synced"] == 1)
            b2.edit("clients", id: clients[0], [("name", "Renamed on phone 2")])
            #expect(try await b2.sync()?["synced"] == 1)
            try await onGateway { replica in
                var produced = try await replica.get("dailyProduction", id: production[0]).objectValue!
                produced["eggsBroken"] = 99
                try await replica.put("dailyProduction", .object(produced))
                try await replica.delete("flocks", id: f3)
                try await replica.delete("dailyProduction", id: production[1])
            }
            try await gatewayRuns(["sync"])
            b1.editFarm([("name", "Granja Renombrada")])
            #expect(try await b1.sync()?["synced"] == 1)

            // A concurrent edit: phone 2 still holds f2 as it was before phone 1 renamed it.
            b1.edit("flocks", id: f2, [("name", "Lote renombrado")])
            try await b1.sync()
            b2.edit("flocks", id: f2, [("count", 1_234)])
            let clash = try #require(try await b2.sync())
            #expect(clash["conflict_count"] == 1)
            #expect(clash["conflicts"]?.arrayValue?.first?.stringValue?.hasPrefix("flocks/\(f2):") == true)
            #expect(b2.toasts == [1])

            // Phone 2 changes the capacity on a farm object that still has the old name.
            b2.editFarm([("capacity", 200_000)])
            #expect(try await b2.sync()?["conflict_count"] == 0)

            // An expired access token: 401, the client refreshes at the backend through nginx, and retries.
            b1.setAccessToken(AppTokens.access(user: "user-1", org: "farm-1", lifetime: -300))
            await b1.edit("logbook_entries", id: ids("logbook_entries")[0], [("text", "after a refresh")])
            #expect(try await b1.sync()?["synced"] == 1)
            #expect(b1.refreshes == 1 && backend.refreshCount == 1)

            // A hard delete on phone 2 is never sent: the record stays everywhere else.
            b2.hardDelete("clients", id: clients[1])
            await b2.edit("personnel", id: ids("personnel")[0], [("phone", "+56 9 0000 0000")])
            try await b2.sync()

            // Everyone catches up: the gateway pulls, the browsers reload, a new browser of another user logs in.
            try await gatewayRuns(["sync"])
            try await b1.logIn()
            try await b2.logIn()
            let b3 = browser("user-2")
            head = try await serverHead()
            try await b3.logIn()
            #expect(try await serverHead() == head, "a new browser's login echo writes nothing")

            let deleted: Set = ["flocks/\(f3)", "production/\(production[1])"]
            #expect(try await differences(b3) == ([], [], []), "records the gateway deleted reach no new browser")
            #expect(try await differences(b1) == ([], deleted, []), "a browser cannot apply deletions")
            #expect(try await differences(b2) == (["clients/\(clients[1])"], deleted, []))
            let farm = try await onGateway { try await Self.representable($0).farm }
            #expect(farm.objectValue?["name"] == "Granja Renombrada" && farm.objectValue?["capacity"] == 200_000)
            for phone in [b1, b2, b3] {
                #expect(Self.farm(phone) == farm, "the farm profile survives every login")
            }

            // The concurrent edit: one version live, the other archived, on the gateway as on the server.
            let (live, archive) = try await onGateway { (try await $0.get("flocks", id: f2).objectValue!, try await $0.conflicts()) }
            #expect(archive.count == 1, "\(archive.map { "\($0.collection)/\($0.recordID)" })")
            let versions = [live, archive.first?.loser.content ?? [:]]
            #expect(versions.contains { $0["name"] == "Lote renombrado" } && versions.contains { $0["count"] == 1_234 })
            #expect(b1.toasts.isEmpty && b3.toasts.isEmpty)
            print("app client emulation: \(total) records; login pull and echo of phone 3: \(b3.traffic)")
            try await offPool {
                nginx.stop()
                server.stop()
            }
        }
    }
}

/// How the tests key records: JavaScript's object-key text of the id.
enum AppBrowserKey {
    static func id(_ record: JSONValue) -> String {
        switch record.objectValue?["id"] {
        case .string(let s)?: s
        case .number(let n)?: n.intValue.map(String.init) ?? n.literal
        default: "?"
        }
    }
}
