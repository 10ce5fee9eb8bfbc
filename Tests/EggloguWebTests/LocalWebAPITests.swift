import EggloguAgentService
import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestTraits
import Foundation
import Testing

@Suite(.ownThreads) struct LocalWebAPITests {
    @Test func statusIsTheSameDocumentAsStatusJSON() async throws {
        let harness = try await WebHarness()
        try await harness.deleteVsEdit()
        try await harness.withWeb { web in
            let answer = try await web.get("/api/status")
            #expect(answer.status == 200 && answer.isJSON)
            // Free bytes move with whatever else writes to the disk; everything else must match.
            #expect(answer.json.map { withoutFreeBytes(.object($0)) } == withoutFreeBytes(try await harness.b.status().json))
            #expect(answer.json?["disk"]?.objectValue?["freeBytes"]?.numberValue != nil)
        }
    }

    @Test func conflictsListAndShowBothVersionsFieldByField() async throws {
        let harness = try await WebHarness()
        let id = try await harness.deleteVsEdit()
        try await harness.withWeb { web in
            let list = try await web.get("/api/conflicts")
            #expect(list.status == 200 && list.json?["unresolved"] == 1)
            let views = list.json?["conflicts"]?.arrayValue ?? []
            #expect(views.count == 1)
            let view = try #require(views.first?.objectValue)
            #expect(view["id"]?.stringValue == id && view["kind"] == "delete-vs-edit" && view["recordId"] == "f1")
            #expect(view["mine"]?.objectValue?["deleted"] == false && view["mine"]?.objectValue?["by"]?.stringValue == harness.b.deviceID)
            #expect(view["theirs"]?.objectValue?["deleted"] == true && view["theirs"]?.objectValue?["by"]?.stringValue == harness.a.deviceID)
            let fields = (view["fields"]?.arrayValue ?? []).compactMap(\.objectValue)
            let name = try #require(fields.first { $0["field"] == "name" })
            #expect(name["mine"] == "Barn 1 (edited)" && name["theirs"] == "Barn 1" && name["differs"] == true)
            #expect(fields.first { $0["field"] == "id" }?["differs"] == false)

            let one = try await web.get("/api/conflicts/\(id.prefix(8))")
            #expect(one.status == 200 && one.json?["id"]?.stringValue == id)
            #expect(one.json?["entry"]?.objectValue?["loser"] != nil)
        }
    }

    @Test func keepMineRestoresTheRecordPushesAtOnceAndASecondResolveIs409() async throws {
        let harness = try await WebHarness()
        let id = try await harness.deleteVsEdit()
        try await harness.withWeb { web in
            let csrf = try await web.csrf()
            let resolved = try await web.post("/api/conflicts/\(id)/resolve", body: #"{"choice":"keep-mine"}"#, csrf: csrf)
            #expect(resolved.status == 200)
            #expect(resolved.json?["republished"] == "restored")
            #expect(resolved.json?["conflict"]?.objectValue?["resolution"]?.objectValue?["choice"] == "keep-mine")
            #expect(harness.localChanges == 1)
            await #expect(try harness.b.get("flocks", id: "f1").objectValue?["_deletedAt"] == .null)
            let sequence = try await harness.b.status().sequence

            let again = try await web.post("/api/conflicts/\(id)/resolve", body: #"{"choice":"accept-theirs"}"#, csrf: csrf)
            #expect(again.status == 409 && again.error == "already-resolved" && again.isJSON)
            await #expect(try harness.b.status().sequence == sequence)
            #expect(harness.localChanges == 1)
            #expect(try await web.get("/api/conflicts").json?["unresolved"] == 0)
            #expect(harness.monitor.events.first?.kind == "resolved")
        }
        try await harness.sync()
        for replica in [harness.a, harness.server] {
            let record = try await replica.get("flocks", id: "f1").objectValue
            #expect(record?["_deletedAt"] == .null && record?["name"] == "Barn 1 (edited)")
            await #expect(try replica.conflicts().isEmpty)
        }
    }

    @Test func acceptTheirsDropsTheLocalVersion() async throws {
        let harness = try await WebHarness()
        let id = try await harness.deleteVsEdit()
        try await harness.withWeb { web in
            let answer = try await web.post("/api/conflicts/\(id)/resolve", body: #"{"choice":"accept-theirs"}"#, csrf: try await web.csrf())
            #expect(answer.status == 200 && answer.json?["republished"] == .null)
        }
        try await harness.sync()
        for replica in [harness.a, harness.b] {
            await #expect(try replica.get("flocks", id: "f1").objectValue?["_deletedAt"] != .null)
            await #expect(try replica.conflicts().isEmpty)
        }
    }

    @Test func badRequestsGetJSONErrorsAndChangeNothing() async throws {
        let harness = try await WebHarness()
        let id = try await harness.deleteVsEdit()
        let before = try await harness.b.status().sequence
        try await harness.withWeb { web in
            let csrf = try await web.csrf()
            let resolve = "/api/conflicts/\(id)/resolve"
            let cases: [(String, String, Int, String)] = [
                (resolve, #"{"choice":"keep-mine""#, 400, "malformed-json"),
                (resolve, "not json", 400, "malformed-json"),
                (resolve, #"["keep-mine"]"#, 400, "bad-request"),
                (resolve, #"{"choice":"mine"}"#, 400, "bad-choice"),
                (resolve, #"{"choice":5}"#, 400, "bad-choice"),
                (resolve, "{}", 400, "bad-choice"),
                (resolve, String(repeating: "[", count: 5_000), 400, "too-deep"),
                (resolve, #"{"choice":"keep-mine","pad":""# + String(repeating: "x", count: 20_000) + #""}"#, 413, "payload-too-large"),
                ("/api/conflicts/ffffffffffff/resolve", #"{"choice":"keep-mine"}"#, 404, "not-found"),
                ("/api/conflicts/ab/resolve", #"{"choice":"keep-mine"}"#, 400, "bad-request"),
                ("/api/restore", #"{"collection":"flocks","id":"nope"}"#, 404, "not-found"),
                ("/api/restore", #"{"id":"f1"}"#, 400, "bad-request"),
                ("/api/restore", #"{"collection":"flocks","id":7}"#, 400, "bad-request"),
                ("/api/nothing", "{}", 404, "not-found"),
            ]
            for (path, body, status, code) in cases {
                let answer = try await web.post(path, body: body, csrf: csrf)
                #expect(answer.status == status && answer.error == code, "\(path) \(body.prefix(40))")
                #expect(answer.isJSON && answer.json?["message"]?.stringValue?.isEmpty == false)
            }
            for path in ["/api/conflicts/ffffffffffff", "/api/nothing", "/nothing", "/api/deleted?since=soon", "/api/deleted?limit=0"] {
                let answer = try await web.get(path)
                #expect(answer.isJSON && (answer.status == 404 || answer.status == 400), "\(path)")
            }
            let noToken = try await web.post(resolve, body: #"{"choice":"keep-mine"}"#, csrf: nil)
            #expect(noToken.status == 403 && noToken.error == "csrf")
            let wrongToken = try await web.post(resolve, body: #"{"choice":"keep-mine"}"#, csrf: csrf + "0")
            #expect(wrongToken.status == 403 && wrongToken.error == "csrf")
        }
        await #expect(try harness.b.status().sequence == before)
        await #expect(try harness.b.conflicts().count == 1)
        #expect(harness.localChanges == 0)
    }

    @Test func pollingAnUnchangedListCostsABodiless304() async throws {
        let harness = try await WebHarness()
        let id = try await harness.deleteVsEdit()
        try await harness.withWeb { web in
            for path in ["/api/conflicts", "/api/deleted?since=7d"] {
                let first = try await web.get(path)
                let tag = try #require(first.headers.first(name: "etag"))
                #expect(first.headers.first(name: "cache-control") == "private, no-cache")
                let again = try await web.get(path, headers: [("If-None-Match", tag)])
                #expect(again.status == 304 && again.body.isEmpty, "\(path)")
            }
            let tag = try #require(try await web.get("/api/conflicts").headers.first(name: "etag"))
            _ = try await web.post("/api/conflicts/\(id)/resolve", body: #"{"choice":"keep-mine"}"#, csrf: try await web.csrf())
            let changed = try await web.get("/api/conflicts", headers: [("If-None-Match", tag)])
            #expect(changed.status == 200 && changed.json?["unresolved"] == 0)
            #expect(changed.headers.first(name: "etag") != tag)
            #expect(try await web.get("/api/status").headers.first(name: "cache-control") == "no-store")
        }
    }

    @Test func recentlyDeletedRecordsCanBeRestored() async throws {
        let harness = try await WebHarness()
        try await harness.b.put("flocks", ["id": "f7", "name": "Old barn"])
        try await harness.b.delete("flocks", id: "f7")
        try await harness.withWeb { web in
            let list = try await web.get("/api/deleted?since=1d&limit=10")
            let entry = try #require(list.json?["deleted"]?.arrayValue?.first?.objectValue)
            #expect(entry["collection"] == "flocks" && entry["id"] == "f7" && entry["record"]?.objectValue?["name"] == "Old barn")
            let csrf = try await web.csrf()
            let restored = try await web.post("/api/restore", body: #"{"collection":"flocks","id":"f7"}"#, csrf: csrf)
            #expect(restored.status == 200 && restored.json?["outcome"] == "restored")
            let again = try await web.post("/api/restore", body: #"{"collection":"flocks","id":"f7"}"#, csrf: csrf)
            #expect(again.json?["outcome"] == "already-live")
            #expect(harness.localChanges == 1)
            #expect(try await web.get("/api/deleted").json?["deleted"]?.arrayValue?.isEmpty == true)
        }
        await #expect(try harness.b.get("flocks", id: "f7").objectValue?["_deletedAt"] == .null)
    }

    @Test func metricsCoverTheAgentsHealth() async throws {
        let harness = try await WebHarness()
        try await harness.deleteVsEdit()
        try await harness.b.put("flocks", ["id": "queued"])
        harness.monitor.requestFinished(.init(kind: .push, outcome: "unavailable"))
        harness.monitor.requestFinished(.init(kind: .pull, outcome: "ok"))
        try await harness.withWeb { web in
            let answer = try await web.get("/metrics")
            #expect(answer.status == 200 && answer.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let text = answer.body
            for line in [
                "egglogu_agent_queued_changes 1.0", "egglogu_agent_unresolved_conflicts 1.0",
                #"egglogu_agent_pushes_total{outcome="unavailable"} 1"#, #"egglogu_agent_pulls_total{outcome="ok"} 1"#,
                "egglogu_agent_notices_received_total 0", "egglogu_agent_broker_connected 0.0",
                "egglogu_agent_last_sync_age_seconds -1.0", "egglogu_agent_propagation_delay_seconds_count 0",
            ] {
                #expect(text.contains(line), "missing \(line)")
            }
        }
    }

    @Test func thePageIsServedWithAStrictPolicyAndNeverInjectsMarkup() async throws {
        let harness = try await WebHarness()
        try await harness.withWeb { web in
            let page = try await web.get("/")
            #expect(page.status == 200 && page.headers.first(name: "content-type")?.hasPrefix("text/html") == true)
            #expect(page.headers.first(name: "content-security-policy")?.contains("script-src 'self'") == true)
            #expect(page.body.contains(#"src="/app.js""#) && page.body.contains("viewport"))
            let script = try await web.get("/app.js")
            #expect(script.status == 200 && script.headers.first(name: "content-type")?.hasPrefix("text/javascript") == true)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                #expect(!script.body.contains(sink), "app.js uses \(sink)")
            }
            #expect(try await web.get("/app.css").status == 200)
        }
    }
}

private func withoutFreeBytes(_ status: JSONValue) -> JSONValue {
    guard var object = status.objectValue, var disk = object["disk"]?.objectValue else { return status }
    disk["freeBytes"] = nil
    object["disk"] = .object(disk)
    return .object(object)
}
