import EggloguAppEmulator
import EggloguCore
import EggloguJSON
import EggloguServer
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// `POST /api/v1/sync` as the app's web client and its backend know it: lenient parsing, the full
/// answer, `{"detail"}` errors, and the backend's own tokens.
@Suite(.ownThreads) struct LegacyEndpointTests {
    static func trustingTheApp(_ configuration: inout SyncServerConfiguration) {
        configuration.appTokens = AppTokenConfiguration(secret: AppTokens.secret)
    }

    func post(_ server: TestServer, _ body: JSONValue, token: String, path: String = "/api/v1/sync") async throws -> (status: Int, json: JSONObject) {
        let result = try await server.request(.POST, path, token: token, body: body.serialized())
        return (result.status, result.json?.objectValue ?? [:])
    }

    @Test func everyAnswerHasTheFieldsTheClientReadsAndTheFarmIsOneObject() async throws {
        try await TestServer.with(configure: Self.trustingTheApp) { server in
            let token = AppTokens.access(user: "u1", org: "farm-1")
            let push: JSONValue = [
                "last_synced_at": nil,
                "data": ["farms": [["name": "Granja", "capacity": 5000]], "flocks": [["id": "f1", "name": "Lote 1"]]],
            ]
            let first = try await post(server, push, token: token)
            #expect(first.status == 200)
            #expect(first.json["synced"] == 2, "one flock and the farm")
            #expect(first.json["conflicts"] == [] && first.json["conflict_count"] == 0)
            #expect(first.json["server_changes"] == [:], "its own records are not sent back")
            #expect(first.json["sync_cursor"]?.stringValue?.contains(":") == true)
            let now = try #require(first.json["server_now"]?.stringValue)

            let other = AppTokens.access(user: "u2", org: "farm-1")
            let login = try await post(server, ["last_synced_at": nil, "data": [:]], token: other)
            let changes = try #require(login.json["server_changes"]?.objectValue)
            #expect(changes["farms"] == [["name": "Granja", "capacity": 5000]], "one farm-shaped object without metadata")
            let flock = try #require(changes["flocks"]?.arrayValue?.first?.objectValue)
            #expect(flock["name"] == "Lote 1")
            #expect(flock[SyncField.contentHash]?.stringValue?.count == 32)
            #expect(flock[SyncField.updatedAt] != nil)

            let again = try await post(server, ["last_synced_at": .string(now), "data": [:]], token: token)
            #expect(again.json["server_changes"] == [:] && again.json["synced"] == 0)
            #expect(again.json["server_now"]?.stringValue != now, "each answer's server_now is its own")
        }
    }

    @Test(arguments: [
        #"{"last_synced_at": null}"#, #"{}"#, #"{"data": null}"#, #"{"last_synced_at": null, "data": {}, "client": "pwa 4.2"}"#,
        #"{"last_synced_at": "2026-03-10"}"#, #"{"last_synced_at": "2026-03-10T00:00:00"}"#, #"{"last_synced_at": "2026-03-10T00:00"}"#,
        #"{"last_synced_at": "2026-03-10T00:00:00+02:00"}"#, #"{"last_synced_at": "2026-03-10T00:00:00.123456Z"}"#,
        #"{"last_synced_at": "2026-03-10 00:00:00"}"#, #"{"last_synced_at": 1773100800}"#, #"{"last_synced_at": "1773100800"}"#,
        #"{"last_synced_at": 1773100800000.5}"#,
    ])
    func bodiesTheBackendTookAreTaken(body: String) async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "phone")
            let result = try await server.request(.POST, "/api/v1/sync/", token: token, body: Array(body.utf8))
            #expect(result.status == 200)
            #expect(result.json?.objectValue?["server_now"] != nil)
        }
    }

    @Test func unknownTopLevelKeysNeverTurnAPushIntoABlob() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "phone")
            let body: JSONValue = ["last_synced_at": nil, "app_version": "4.2", "data": ["flocks": [["id": "f1"]]]]
            #expect(try await post(server, body, token: token).json["synced"] == 1)
            let replica = try await Replica.open(path: server.directory.farmReplica("farm-1"))
            await #expect(try replica.get("flocks", id: "f1").objectValue?["id"] == "f1")
            await #expect(try replica.status().collections.keys.contains { $0.hasPrefix("data") } == false)
        }
    }

    @Test func theWholeBlobIsRecognisedOnlyByItsShape() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "old-phone")
            let blob: JSONValue = ["farm": ["name": "Granja"], "flocks": [["id": "f1"]], "clients": []]
            let result = try await post(server, blob, token: token)
            #expect(result.status == 200 && result.json["status"] == "ok")
        }
    }

    @Test(arguments: [
        (#"{"last_synced_at": null, "data": {"flocks": [}"#, 422, "malformed-json"),
        ("deep:100000", 422, "too-deep"),
        ("[1, 2]", 422, "unprocessable"),
        (#"{"data": [1]}"#, 422, "unprocessable"),
        (#"{"last_synced_at": "yesterday"}"#, 422, "unprocessable"),
        (#"{"last_synced_at": true}"#, 422, "unprocessable"),
        (#"{"last_synced_at": {"t": 1}}"#, 422, "unprocessable"),
    ])
    func malformedBodiesGet422WithADetailAndChangeNothing(body: String, status: Int, code: String) async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "phone")
            _ = try await post(server, ["data": ["flocks": [["id": "f1"]]]], token: token)
            let before = try ReplicaLab.fingerprint(path: server.directory.farmReplica("farm-1"))
            let result = try await server.request(.POST, "/api/v1/sync", token: token, body: ServerBadInputTests.body(body))
            #expect(result.status == status)
            #expect(result.json?.objectValue?["error"]?.stringValue == code)
            #expect(result.json?.objectValue?["detail"]?.stringValue?.isEmpty == false)
            #expect(try ReplicaLab.fingerprint(path: server.directory.farmReplica("farm-1")) == before)
        }
    }

    @Test func tooLargeBodiesGet413WithADetail() async throws {
        try await TestServer.with(configure: { $0.maxBodyBytes = 1 << 16 }) { server in
            let token = try await server.token(device: "phone")
            let big = Array(#"{"data":{"flocks":[{"id":"a","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 1 << 17) + Array(#""}]}}"#.utf8)
            let result = try await server.request(.POST, "/api/v1/sync", token: token, body: big)
            #expect(result.status == 413)
            #expect(result.json?.objectValue?["detail"] != nil)
        }
    }

    @Test func badRecordsAndEntitiesAreRejectedAloneAndNamed() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "phone")
            let body: JSONValue = [
                "last_synced_at": nil,
                "data": [
                    "flocks": [["name": "no id"], 5, ["id": "f1", "name": "fine"], ["id": 12, "name": "numeric"]],
                    "clients": "not a list", "gizmos": [["id": "g1"]],
                ],
            ]
            let result = try await post(server, body, token: token)
            #expect(result.status == 200)
            #expect(result.json["synced"] == 2)
            let lines = result.json["conflicts"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(lines.count == 4)
            #expect(result.json["conflict_count"] == 4)
            #expect(lines.contains("Unknown entity: gizmos"))
            #expect(lines.contains { $0.hasPrefix("clients: rejected") })
            #expect(lines.contains { $0.hasPrefix("flocks[0]: rejected (missing-id)") })
            #expect(lines.contains { $0.hasPrefix("flocks[1]: rejected (not-object)") })
            let replica = try await Replica.open(path: server.directory.farmReplica("farm-1"))
            await #expect(try replica.get("flocks").arrayValue?.count == 2)

            // The client saves its snapshot after a 200: the same delta is not sent again, and a later edit lands.
            let later = try await post(
                server,
                ["last_synced_at": result.json["server_now"]!, "data": ["flocks": [["id": 12, "name": "renamed"]]]],
                token: token
            )
            #expect(later.json["synced"] == 1)
            await #expect(try replica.get("flocks", id: "12").objectValue?["name"] == "renamed")
        }
    }

    @Test func theBackendsAccessTokensAreTrustedAndEveryBadOneIs401() async throws {
        try await TestServer.with(configure: Self.trustingTheApp) { server in
            func status(_ token: String, _ path: String = "/api/v1/sync") async throws -> (Int, JSONObject) {
                let result = try await server.request(.POST, path, token: token, body: Array("{}".utf8))
                return (result.status, result.json?.objectValue ?? [:])
            }
            let good = AppTokens.access(user: "u1", org: "farm-7")
            #expect(try await status(good).0 == 200)
            await #expect(try Replica.open(path: server.directory.farmReplica("farm-7")).farmID == "farm-7")

            let expired = AppTokens.access(user: "u1", org: "farm-7", lifetime: -120)
            let refresh = AppTokens.access(user: "u1", org: "farm-7", type: "refresh")
            var parts = good.split(separator: ".").map(String.init)
            parts[1] = AppTokens.base64URL(Array(#"{"sub":"u1","org":"farm-8","type":"access","exp":9999999999}"#.utf8))
            let tampered = parts.joined(separator: ".")
            let unsigned = AppTokens.base64URL(Array(#"{"alg":"none"}"#.utf8)) + "." + parts[1] + "."
            let otherSecret = AppTokens.sign(
                ["sub": "u1", "org": "farm-7", "type": "access", "exp": 9_999_999_999],
                secret: Array("another-secret".utf8)
            )
            for bad in [expired, refresh, tampered, unsigned, otherSecret, "not-a-jwt"] {
                let (code, body) = try await status(bad)
                #expect(code == 401, "\(body)")
                #expect(body["detail"]?.stringValue?.isEmpty == false)
            }
            let noFarm = AppTokens.access(user: "u1", org: nil)
            #expect(try await status(noFarm).0 == 403)
            #expect(try await status(good, "/api/v1/sync?farmId=farm-8").0 == 403)
            #expect(try await status(good, "/api/v1/sync/delta").0 == 401, "only the legacy endpoint trusts the backend")
            #expect(try await status(good, "/api/v1/auth/renew").0 == 401, "a backend token never becomes one of ours")
        }
    }

    @Test func withoutTheBackendsSecretItsTokensAre401() async throws {
        try await TestServer.with { server in
            let result = try await server.request(.POST, "/api/v1/sync", token: AppTokens.access(user: "u1", org: "farm-1"), body: Array("{}".utf8))
            #expect(result.status == 401)
            #expect(result.json?.objectValue?["detail"] != nil)
        }
    }

    @Test func theBackendsPublishedDefaultSecretIsRefused() throws {
        let lab = ReplicaLab()
        let file = try lab.directory.writeSecret(AppTokenConfiguration.publishedDefault + "\n", to: "app-secret")
        #expect(throws: ServerSetupError.self) { try AppTokenConfiguration.readSecret(file) }
        let short = try lab.directory.writeSecret("short-secret", to: "short")
        #expect(try AppTokenConfiguration.readSecret(short).isShort)
        var configuration = SyncServerConfiguration(dataDirectory: try DataDirectory(lab.directory.file("data"), create: true))
        configuration.appTokens = AppTokenConfiguration(secret: Array("short-secret".utf8))
        #expect(!"\(configuration)".contains("short-secret") && !String(reflecting: configuration).contains("short-secret"))
        #expect(!"\(configuration)".contains("115, 104"), "nor its bytes")
    }

    @Test func aLargeAnswerIsStreamedInPagesAndHoldsWhatASmallOneHolds() async throws {
        let records: [JSONValue] = (0..<25).map { ["id": .string("f\($0)"), "n": .number(JSONNumber($0))] }
        let clients: [JSONValue] = (0..<7).map { ["id": .string("c\($0)")] }
        let push: JSONValue = ["data": ["farms": [["name": "Granja"]], "flocks": .array(records), "clients": .array(clients)]]
        var answers: [JSONObject] = []
        for pageSize in [3, 2_000] {
            answers.append(
                try await TestServer.with(configure: { $0.legacyPageSize = pageSize }) { server in
                    let token = try await server.token(device: "phone")
                    #expect(try await post(server, push, token: token).json["synced"] == 33)
                    let other = try await server.token(device: "tablet")
                    let login = try await post(server, ["last_synced_at": nil], token: other)
                    #expect(login.status == 200)
                    return login.json
                }
            )
        }
        let (paged, whole) = (answers[0], answers[1])
        #expect(paged["server_changes"]?.objectValue?["flocks"]?.arrayValue?.count == 25)
        #expect(paged["server_changes"]?.objectValue?["clients"]?.arrayValue?.count == 7)
        #expect(paged["server_changes"]?.objectValue?["farms"] == [["name": "Granja"]])
        func ids(_ answer: JSONObject, _ entity: String) -> Set<String> {
            Set(answer["server_changes"]?.objectValue?[entity]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } ?? [])
        }
        #expect(ids(paged, "flocks") == ids(whole, "flocks") && ids(paged, "clients") == ids(whole, "clients"))
        #expect(paged["conflict_count"] == 0 && paged["sync_cursor"] != nil && paged["server_now"] != nil)
    }

    @Test func aPushOverTheRecordLimitIs413AndNamesIt() async throws {
        try await TestServer.with(configure: {
            $0.maxLegacyRecords = 10
            $0.maxRecordsPerPush = 10
        }) { server in
            let token = try await server.token(device: "phone")
            let many: JSONValue = .array((0..<11).map { ["id": .string("f\($0)")] })
            let legacy = try await post(server, ["data": ["flocks": many]], token: token)
            #expect(legacy.status == 413)
            #expect(legacy.json["detail"]?.stringValue?.contains("limit is 10") == true)
            let delta = try await server.request(
                .POST,
                "/api/v1/sync/delta",
                token: token,
                body: (["farmId": "farm-1", "deviceId": "phone", "changes": [["collection": "flocks", "records": many]]] as JSONValue).serialized()
            )
            #expect(delta.status == 413)
            #expect(delta.json?.objectValue?["error"] == "too-many-records")
            let blob = try await post(
                server,
                [
                    "farm": ["name": "Granja"], "flocks": .array(Array(many.arrayValue!.prefix(6))),
                    "finances": ["income": .array(Array(many.arrayValue!.prefix(5)))],
                ],
                token: token
            )
            #expect(
                blob.status == 413 && blob.json["detail"]?.stringValue?.contains("holds 11 records") == true,
                "a whole blob counts nested lists too"
            )
        }
    }

    /// A blob's sync metadata is taken at its word (it may delete or pin a version): a backend token
    /// is held by every user of the organisation, so it may not send one.
    @Test func aBackendTokenCannotPushAWholeBlob() async throws {
        try await TestServer.with(configure: Self.trustingTheApp) { server in
            let token = AppTokens.access(user: "u1", org: "farm-1")
            #expect(try await post(server, ["data": ["flocks": [["id": "f1", "name": "kept"]]]], token: token).status == 200)
            let before = try ReplicaLab.fingerprint(path: server.directory.farmReplica("farm-1"))
            let deleting: JSONValue = [
                "flocks": [
                    [
                        "id": "f1", "_updatedAt": "2026-11-30T00:00:00Z", "_deletedAt": "2026-11-30T00:00:00Z", "_syncOrigin": "gw",
                        "_syncVV": ["gw": "2026-11-30T00:00:00Z"],
                    ]
                ]
            ]
            let refused = try await post(server, deleting, token: token)
            #expect(refused.status == 403 && refused.json["detail"]?.stringValue?.contains("device token") == true)
            #expect(try ReplicaLab.fingerprint(path: server.directory.farmReplica("farm-1")) == before)
        }
    }

    @Test func aBrowserSessionFollowsItsAnswersAndNamesItsVersions() async throws {
        try await TestServer.with(configure: Self.trustingTheApp) { server in
            let token = AppTokens.access(user: "u1", org: "farm-1")
            let first = try await post(server, ["data": ["flocks": [["id": "f1"]]]], token: token)
            let next = try await post(server, ["last_synced_at": first.json["server_now"]!, "data": ["flocks": [["id": "f2"]]]], token: token)
            #expect(next.json["synced"] == 1)
            let other = try await post(server, ["data": ["flocks": [["id": "f3"]]]], token: token)
            #expect(other.json["synced"] == 1)
            let replica = try await Replica.open(path: server.directory.farmReplica("farm-1"))
            var origins: [String] = []
            for id in ["f1", "f2", "f3"] {
                origins.append(try await replica.get("flocks", id: id).objectValue![SyncField.origin]!.stringValue!)
            }
            #expect(origins[0] == origins[1], "one browser: one session along its chain of answers")
            #expect(origins[0] != origins[2], "another browser of the same user is told apart")
            #expect(origins.allSatisfy { $0.hasPrefix("web:u1/") })
        }
    }
}
