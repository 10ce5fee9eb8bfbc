import EggloguCore
import EggloguJSON
import EggloguProtocol
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

@Suite(.ownThreads) struct DeltaProtocolTests {
    func record(_ id: String, _ n: Int, at t: Timestamp = Timestamp(milliseconds: 1_750_000_000_000), origin: String = "d1") -> JSONValue {
        ["id": .string(id), "n": .number(JSONNumber(n)), "_updatedAt": .string(t.iso8601), "_syncOrigin": .string(origin)]
    }

    func push(
        _ server: TestServer,
        token: String,
        since: String?,
        _ changes: [(String, [JSONValue])],
        device: String = "d1"
    ) async throws -> (Int, JSONObject) {
        let body = PushRequest(
            farmID: "farm-1",
            deviceID: device,
            since: since,
            changes: changes.map { CollectionChanges(collection: $0.0, records: $0.1) }
        )
        let (status, json) = try await server.request(.POST, "/api/v1/sync/delta", token: token, body: body.json.serialized())
        return (status, json?.objectValue ?? [:])
    }

    @Test func pushAnswersWithWhatOthersChangedButNotWithTheDevicesOwnVersions() async throws {
        try await TestServer.with { server in
            let t1 = try await server.token(device: "d1")
            let t2 = try await server.token(device: "d2")
            let (status, first) = try await push(server, token: t1, since: nil, [("flocks", [record("a", 1), record("b", 1)])])
            #expect(status == 200)
            #expect(first["accepted"] == 2)
            #expect(first["changes"] == [])
            let cursor = try #require(first["cursor"]?.stringValue)
            #expect(Cursor(cursor)?.seq == 2, "the two records are not echoed, but the cursor covers them")
            let (_, second) = try await push(server, token: t2, since: nil, [("flocks", [record("c", 1, origin: "d2")])], device: "d2")
            let ids = second["changes"]?.arrayValue?.flatMap { $0.objectValue?["records"]?.arrayValue ?? [] }.compactMap {
                $0.objectValue?["id"]?.stringValue
            }
            #expect(ids == ["a", "b"])
            let (_, third) = try await push(server, token: t1, since: cursor, [])
            let back = third["changes"]?.arrayValue?.first?.objectValue
            #expect(back?["collection"] == "flocks")
            #expect(back?["records"]?.arrayValue?.map { $0.objectValue?["id"] } == ["c"])
        }
    }

    @Test func aLosingPushIsSupersededAndTheWinnerComesBack() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            let later = Timestamp(milliseconds: 1_750_000_000_100)
            let (_, first) = try await push(server, token: t, since: nil, [("flocks", [record("a", 2, at: later, origin: "d2")])])
            let cursor = first["cursor"]!.stringValue!
            let (_, second) = try await push(server, token: t, since: cursor, [("flocks", [record("a", 1)])])
            #expect(second["accepted"] == 0)
            #expect(second["rejected"] == [["collection": "flocks", "id": "a", "reason": "superseded"]])
            let groups = second["changes"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let winner = groups.first { $0["collection"] == "flocks" }?["records"]?.arrayValue?.first?.objectValue
            #expect(winner?["n"] == 2)
            #expect(groups.contains { $0["collection"] == "_conflictArchive" }, "the concurrent loser is archived")
        }
    }

    @Test func pushingTheSameVersionTwiceAssignsNoNewSequenceNumber() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            let (_, first) = try await push(server, token: t, since: nil, [("flocks", [record("a", 1)])])
            let (_, again) = try await push(server, token: t, since: nil, [("flocks", [record("a", 1)])])
            #expect(first["cursor"] == again["cursor"])
            #expect(again["changes"] == [])
        }
    }

    @Test func pagesAreKeysetPaginatedWithTombstonesAndConflictEntries() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            let base = Timestamp(milliseconds: 1_750_000_000_000)
            let records = (0..<25).map { record("r\($0)", $0, at: base) }
            _ = try await push(server, token: t, since: nil, [("flocks", records)])
            var deleted = record("r3", 3, at: base.adding(milliseconds: 10)).objectValue!
            deleted["_deletedAt"] = .string(base.adding(milliseconds: 10).iso8601)
            _ = try await push(server, token: t, since: nil, [("flocks", [.object(deleted)])])
            let t2 = try await server.token(device: "d2")
            _ = try await push(
                server,
                token: t2,
                since: nil,
                [("flocks", [record("r4", 99, at: base.adding(milliseconds: 5), origin: "d2")])],
                device: "d2"
            )
            var since: String? = nil
            var seen: [String] = []
            var pages = 0
            while true {
                let query = "/api/v1/sync/delta?farmId=farm-1&limit=10" + (since.map { "&since=\($0)" } ?? "")
                let (status, json) = try await server.request(.GET, query, token: t)
                #expect(status == 200)
                let page = try SyncResponse(json: try #require(json))
                pages += 1
                for group in page.changes {
                    seen += group.records.map { "\(group.collection)/\($0.objectValue!["id"]!.stringValue!)" }
                    if group.collection == "flocks" {
                        for r in group.records where r.objectValue?["id"] == "r3" {
                            #expect(r.objectValue?["_deletedAt"] != .null)
                        }
                    }
                }
                since = page.cursor.description
                if !page.hasMore { break }
            }
            #expect(Set(seen).count == seen.count, "no change twice")
            #expect(seen.filter { $0.hasPrefix("flocks/") }.count == 25)
            #expect(seen.contains { $0.hasPrefix("_conflictArchive/") })
            #expect(pages == 3)
        }
    }

    @Test func anISOTimeSinceMeansReceivedAtOrAfterIt() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            _ = try await push(server, token: t, since: nil, [("flocks", [record("old", 1)])])
            try await Task.sleep(for: .milliseconds(20))
            let cut = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601
            try await Task.sleep(for: .milliseconds(20))
            _ = try await push(
                server,
                token: try await server.token(device: "d2"),
                since: nil,
                [("flocks", [record("new", 1, origin: "d2")])],
                device: "d2"
            )
            let (_, json) = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1&since=\(cut)", token: t)
            let page = try SyncResponse(json: try #require(json))
            #expect(page.changes.flatMap(\.records).compactMap { $0.objectValue?["id"]?.stringValue } == ["new"])
        }
    }

    /// A cursor of this database's epoch but beyond its newest change (a copy restored without a
    /// new epoch) is refused inside the read or write that would use it: 410, nothing merged.
    @Test func aCursorBeyondTheNewestChangeNeedsAResync() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            let first = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1", token: t)
            let cursor = try #require(first.json?.objectValue?["cursor"]?.stringValue)
            let epoch = try #require(cursor.split(separator: ":").first)
            let pull = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1&since=\(epoch):99", token: t)
            #expect(pull.status == 410)
            #expect(pull.json?.objectValue?["error"] == "resync-required")
            let body: JSONValue = [
                "farmId": "farm-1", "deviceId": "d1", "since": .string("\(epoch):99"),
                "changes": [["collection": "flocks", "records": [["id": "f1", "_updatedAt": "2026-01-01T00:00:00.000Z"]]]],
            ]
            let push = try await server.request(.POST, "/api/v1/sync/delta", token: t, body: body.serialized())
            #expect(push.status == 410)
            let after = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1", token: t)
            #expect(after.json?.objectValue?["changes"] == [], "the refused push merged nothing")
        }
    }

    @Test func aCursorFromAnotherDatabaseNeedsAResync() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            let (status, json) = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1&since=0123456789abcdef:5", token: t)
            #expect(status == 410)
            #expect(json?.objectValue?["error"] == "resync-required")
        }
    }

    @Test func healthAndMetrics() async throws {
        try await TestServer.with { server in
            let t = try await server.token(device: "d1")
            _ = try await push(server, token: t, since: nil, [("flocks", [record("a", 1)]), ("bad..name", [record("x", 1)])])
            let health = try await server.request(.GET, "/healthz")
            #expect(health.status == 200 && health.json?.objectValue?["status"] == "ok")
            #expect((health.json?.objectValue?["freeBytes"]?.numberValue?.intValue ?? 0) > 0)
            var request = HTTPClientRequestBuilder.get(server.url + "/metrics")
            let text = try await request.text()
            #expect(text.contains(#"egglogu_sync_requests_total{endpoint="push",outcome="ok"} 1"#))
            #expect(text.contains("egglogu_sync_records_merged_total 1"))
            #expect(text.contains("egglogu_sync_records_rejected_total 1"))
            #expect(text.contains(#"egglogu_sync_head_sequence{farm="farm-1"} 1"#))
        }
    }
}
