import AsyncHTTPClient
import EggloguAgentSync
import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import EggloguPostgres

/// The server on PostgreSQL: a database that goes away, a wrong URL, a failed or unknown migration,
/// and purges of farms no instance has open.
@Suite(.ownThreads) struct PostgresServerTests {
    let dir = TemporaryDirectory()

    struct Answer {
        let status: Int
        let json: JSONObject
        let retryAfter: String?
    }

    func call(_ url: String, token: String) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 1 << 20)
        let json = try JSONParser().parse(Array(buffer.readableBytesView)).objectValue ?? [:]
        return Answer(status: Int(response.status.code), json: json, retryAfter: response.headers.first(name: "Retry-After"))
    }

    @Test func theDatabaseGoingAwayGets503WithARetryHintAndNothingIsLost() async throws {
        let cluster = try PostgresServer.shared()
        let url = try cluster.createDatabase()
        let name = PostgresServer.databaseName(url)
        try await TestServer.with(database: url) { server in
            let lab = ReplicaLab()
            let agent = try await TestAgent.make("gw-1", in: lab, server: server)
            _ = try await agent.replica.put("flocks", ["id": "f1", "name": "first"])
            _ = try await agent.sync.sync()
            let token = try await server.token(device: "watcher")
            let pull = server.url + "/api/v1/sync/delta?farmId=farm-1"
            #expect(try await call(pull, token: token).status == 200)

            try cluster.psql("ALTER DATABASE \(name) ALLOW_CONNECTIONS false")
            try cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)'")
            let refused = try await call(pull, token: token)
            #expect(refused.status == 503)
            #expect(refused.json["error"] == "storage-unavailable")
            #expect(refused.retryAfter != nil, "a retry hint")
            _ = try await agent.replica.put("flocks", ["id": "f2", "name": "while away"])
            await #expect {
                try await agent.sync.sync()
            } throws: { error in
                (error as? AgentSyncError)?.kind == .unavailable
            }
            #expect(try await agent.replica.unpushedCount() == 1, "the agent keeps its change to push later")

            try cluster.psql("ALTER DATABASE \(name) ALLOW_CONNECTIONS true")
            var back = try await call(pull, token: token)
            for _ in 0..<50 where back.status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                back = try await call(pull, token: token)
            }
            #expect(back.status == 200)
            _ = try await agent.sync.sync()
            #expect(try await agent.replica.unpushedCount() == 0)
            let ids = try await call(pull, token: token).json["changes"]?.arrayValue?
                .filter { $0.objectValue?["collection"] == "flocks" }
                .flatMap { $0.objectValue?["records"]?.arrayValue ?? [] }
                .compactMap { $0.objectValue?["id"]?.stringValue }
            #expect(Set(ids ?? []) == ["f1", "f2"])
            await agent.client.shutdown()
        }
    }

    @Test func aDeviceIdPostgresCannotStoreIsRefusedNotRetried() async throws {
        try await TestServer.with(database: try PostgresServer.shared().createDatabase()) { server in
            let token = try await server.token(device: "gw\u{0}1")
            let answer = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1", token: token)
            #expect(answer.status == 403)
            #expect(answer.json?.objectValue?["error"] == "bad-device")
        }
    }

    @Test func theLegacyRouteSaysPlainlyThatItIsNotServedFromPostgres() async throws {
        try await TestServer.with(database: try PostgresServer.shared().createDatabase()) { server in
            let token = try await server.token(device: "phone")
            let answer = try await server.request(.POST, "/api/v1/sync", token: token, body: Array(#"{"last_synced_at": null, "data": {}}"#.utf8))
            #expect(answer.status == 501)
            #expect(answer.json?.objectValue?["error"] == "legacy-unsupported")
            #expect(answer.json?.objectValue?["detail"]?.stringValue?.contains("PostgreSQL") == true)
        }
    }

    @Test(arguments: [
        ("postgres://127.0.0.1/db", "names no user"),
        ("mysql://u@127.0.0.1/db", "must start with postgres://"),
        ("postgres://u@127.0.0.1/", "names no database"),
        ("postgres://u@127.0.0.1/db?sslmode=sometimes", "sslmode=sometimes"),
        ("postgres://u@127.0.0.1:99999/db", "port 99999"),
    ])
    func aWrongDatabaseURLIsNamedAtStartUp(_ url: String, _ reason: String) throws {
        let run = try Subprocess.run(
            "egglogu-sync-server",
            ["serve", "--data-dir", dir.file("data"), "--port", "0", "--database", url],
            in: dir
        )
        #expect(run.status == 78)
        #expect(run.stderr.contains("EGGLOGU_SYNC_DATABASE"), "\(run.stderr)")
        #expect(run.stderr.contains(reason), "\(run.stderr)")
    }

    @Test func anUnreachableDatabaseStopsTheStartWithoutShowingThePassword() throws {
        let port = Broker.freePort()
        let run = try Subprocess.run(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", dir.file("data"), "--port", "0", "--database",
                "postgres://app:hunter22@127.0.0.1:\(port)/farms?sslmode=disable",
            ],
            in: dir
        )
        #expect(run.status == 69)
        #expect(run.stderr.contains("127.0.0.1:\(port)/farms"), "\(run.stderr)")
        #expect(!run.stderr.contains("hunter22") && !run.stdout.contains("hunter22"))
    }

    @Test func shippedMigrationsNeverChange() {
        let pinned = ["v1": "f1fedce0aaa03019519af470201febf8"]
        for migration in PostgresSchema.migrations {
            #expect(
                ContentHash.of(parts: migration.statements) == pinned[migration.identifier],
                "migration \(migration.identifier) changed after shipping"
            )
        }
    }

    @Test func configCheckShowsTheDatabaseWithoutItsPassword() throws {
        let file = dir.file("server.conf")
        try """
        EGGLOGU_SYNC_DATA_DIR=\(dir.file("data"))
        EGGLOGU_SYNC_DATABASE=postgres://app:hunter22@db.example:6432/farms?sslmode=require
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try Subprocess.run("egglogu-sync-server", ["config", "check", file, "--file-only"], in: dir)
        #expect(check.stdout.contains("database postgres://app:***@db.example:6432/farms"), "\(check.stdout)")
        #expect(!check.stdout.contains("hunter22") && !check.stderr.contains("hunter22"))
    }

    @Test func aFailedMigrationStopsTheServerWith78AndTheDatabaseUnchanged() throws {
        let cluster = try PostgresServer.shared()
        let url = try cluster.createDatabase()
        let name = PostgresServer.databaseName(url)
        // A table in the way of migration v1: its CREATE TABLE fails half-way through.
        try cluster.psql("CREATE TABLE record (x int)", database: name)
        let run = try Subprocess.run("egglogu-sync-server", ["serve", "--data-dir", dir.file("data"), "--port", "0", "--database", url], in: dir)
        #expect(run.status == 78)
        #expect(run.stderr.contains("migration v1 failed"), "\(run.stderr)")
        let tables = try cluster.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
            database: name
        )
        #expect(tables == "record", "nothing of the migration stayed: \(tables)")
    }

    @Test func aDatabaseOfANewerServerIsRefused() async throws {
        let cluster = try PostgresServer.shared()
        let url = try cluster.createDatabase()
        let minted = try Subprocess.run(
            "egglogu-sync-server",
            ["token", "--data-dir", dir.file("data"), "--database", url, "--farm", "f", "--device", "gw"],
            in: dir
        )
        #expect(minted.status == 0, "\(minted.stderr)")
        try cluster.psql("INSERT INTO egglogu_schema (identifier) VALUES ('v99')", database: PostgresServer.databaseName(url))
        let run = try Subprocess.run("egglogu-sync-server", ["serve", "--data-dir", dir.file("data"), "--port", "0", "--database", url], in: dir)
        #expect(run.status == 66)
        #expect(run.stderr.contains("v99"), "\(run.stderr)")
    }

    @Test func everyFarmIsPurgedWhenDueWhetherOrNotAnInstanceHasItOpen() async throws {
        let url = try PostgresURL(try PostgresServer.shared().createDatabase())
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let storage = try await PostgresStorage.open(url: url, logger: Logger(label: "test"), connectTimeout: .seconds(60))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await storage.runPool() }
            defer { group.cancelAll() }
            for farm in ["a", "b", "c"] { _ = try await storage.farm(farm) }
            _ = try await storage.farm("b").purge(receivedBefore: Timestamp(milliseconds: now - 1_000))
            let due = try await storage.farmsDueForPurge(every: .seconds(3_600), limit: 10)
            #expect(Set(due.compactMap(\.farmID)) == ["a", "c"], "b was purged just now")
            #expect(try await due.asyncMap { try await $0.lastPurge() }.allSatisfy { $0 == nil })
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
