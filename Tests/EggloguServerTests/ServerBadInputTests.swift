import EggloguCore
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// Bad input gets a JSON error with the right status, never a 500, and the farm stays intact.
@Suite(.ownThreads) struct ServerBadInputTests {
    static let delta = "/api/v1/sync/delta"

    /// A body: JSON text, or `deep:N` for N opening brackets (kept short so the run's log stays readable).
    static func body(_ text: String) -> [UInt8] {
        guard text.hasPrefix("deep:"), let n = Int(text.dropFirst(5)) else { return Array(text.utf8) }
        return [UInt8](repeating: UInt8(ascii: "["), count: n)
    }

    @Test(arguments: [
        (#"{"farmId": "farm-1", "changes": [}"#, 400, "malformed-json"),
        ("deep:1000000", 400, "too-deep"),
        ("[1,2]", 400, "bad-request"),
        (#"{"farmId":"farm-1","deviceId":"d1","since":5}"#, 400, "bad-request"),
        (#"{"farmId":"farm-1","deviceId":"d1","since":"yesterday"}"#, 400, "bad-request"),
        (#"{"farmId":"farm-1","deviceId":"d1","changes":{"x":1}}"#, 400, "bad-request"),
        (#"{"farmId":"../etc","deviceId":"d1"}"#, 403, "forbidden"),
        (#"{"farmId":"farm-1","deviceId":"d1","since":"0000000000000000:1"}"#, 410, "resync-required"),
    ])
    func badPushBodies(body: String, status: Int, code: String) async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "d1")
            let result = try await server.request(.POST, Self.delta, token: token, body: Self.body(body))
            #expect(result.status == status)
            #expect(result.json?.objectValue?["error"]?.stringValue == code)
        }
    }

    @Test func bodiesOverTheLimitGet413() async throws {
        try await TestServer.with(configure: { $0.maxBodyBytes = 1 << 20 }) { server in
            let token = try await server.token(device: "d1")
            let big = Array(#"{"farmId":"farm-1","deviceId":"d1","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 2 << 20) + Array(#""}"#.utf8)
            let result = try await server.request(.POST, Self.delta, token: token, body: big)
            #expect(result.status == 413)
            #expect(result.json?.objectValue?["error"] == "payload-too-large")
        }
    }

    @Test func badRecordsAreRejectedOneByOneAndTheRestLands() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "d1")
            let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
            func record(_ id: String, _ t: Timestamp) -> JSONValue { ["id": .string(id), "_updatedAt": .string(t.iso8601)] }
            let body: JSONValue = [
                "farmId": "farm-1", "deviceId": "d1", "since": nil,
                "changes": [
                    [
                        "collection": "flocks",
                        "records": [
                            record("ok", now), record("future", now.adding(milliseconds: 600_000)), 7, ["name": "no id"],
                            ["id": "t", "_updatedAt": "noon"],
                        ],
                    ],
                    ["collection": "newFromNextAppVersion", "records": [record("n1", now)]],
                    ["collection": "bad..name", "records": [record("b1", now), record("b2", now)]],
                ],
            ]
            let result = try await server.request(.POST, Self.delta, token: token, body: body.serialized())
            #expect(result.status == 200)
            let answer = try #require(result.json?.objectValue)
            #expect(answer["accepted"] == 2)
            let reasons = answer["rejected"]?.arrayValue?.compactMap { $0.objectValue?["reason"]?.stringValue }
            #expect(reasons == ["timestamp-in-future", "not-object", "missing-id", "bad-timestamp", "bad-collection", "bad-collection"])
            let pull = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1", token: token)
            let ids = pull.json?.objectValue?["changes"]?.arrayValue?.flatMap { $0.objectValue?["records"]?.arrayValue ?? [] }
                .compactMap { $0.objectValue?["id"]?.stringValue }
            #expect(Set(ids ?? []) == ["ok", "n1"])
        }
    }

    @Test func aNulInsideAnIdNeverReachesTheKeyOfAnotherRecord() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "d1")
            let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601
            func push(_ records: [JSONValue], collection: String = "flocks") async throws -> JSONObject {
                let body: JSONValue = [
                    "farmId": "farm-1", "deviceId": "d1", "changes": [["collection": .string(collection), "records": .array(records)]],
                ]
                return try #require(try await server.request(.POST, Self.delta, token: token, body: body.serialized()).json?.objectValue)
            }
            _ = try await push([["id": "k", "name": "kept", "_updatedAt": .string(now)]])
            let later = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 1).iso8601
            let answer = try await push([
                ["id": "k\u{0}x", "name": "overwrite", "_updatedAt": .string(later)],
                ["id": .string(String(repeating: "y", count: 513)), "_updatedAt": .string(later)],
            ])
            #expect(answer["rejected"]?.arrayValue?.compactMap { $0.objectValue?["reason"]?.stringValue } == ["bad-id", "bad-id"])
            for name in ["<b>x</b>", "__proto__"] {
                #expect(
                    try await push([["id": "a", "_updatedAt": .string(later)]], collection: name)["rejected"]?.arrayValue?.first?.objectValue?[
                        "reason"
                    ] == "bad-collection"
                )
            }
            let pulled = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1", token: token)
            let records = pulled.json?.objectValue?["changes"]?.arrayValue?.flatMap { $0.objectValue?["records"]?.arrayValue ?? [] } ?? []
            #expect(records.count == 1 && records.first?.objectValue?["name"] == "kept")
        }
    }

    @Test func rejectionListsAreCappedWithTheRetryableOnesFirstAndCounted() async throws {
        try await TestServer.with(configure: { $0.maxListedRejections = 2 }) { server in
            let token = try await server.token(device: "d1")
            let future = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000)
            let records: [JSONValue] = [
                ["name": "no id"], 5, ["id": "x", "_updatedAt": "noon"], ["id": "f", "_updatedAt": .string(future.iso8601)], 6,
            ]
            let body: JSONValue = ["farmId": "farm-1", "deviceId": "d1", "changes": [["collection": "flocks", "records": .array(records)]]]
            let answer = try #require(try await server.request(.POST, Self.delta, token: token, body: body.serialized()).json?.objectValue)
            #expect(answer["rejected"]?.arrayValue?.count == 2)
            #expect(answer["rejected"]?.arrayValue?.first?.objectValue?["reason"] == "timestamp-in-future")
            #expect(answer["rejectedCount"] == 5)
        }
    }

    @Test func unknownRoutesAndBadQueriesAnswerJSON() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "d1")
            let missing = try await server.request(.GET, "/api/v2/whatever", token: token)
            #expect(missing.status == 404)
            #expect(missing.json?.objectValue?["error"] == "not-found")
            let limit = try await server.request(.GET, "/api/v1/sync/delta?farmId=farm-1&limit=0", token: token)
            #expect(limit.status == 400)
            let farm = try await server.request(.GET, "/api/v1/sync/delta", token: token)
            #expect(farm.status == 400)
        }
    }
}
