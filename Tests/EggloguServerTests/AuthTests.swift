import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguServer
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import GRDB
import JWTKit
import Testing

@Suite(.ownThreads) struct AuthTests {
    let pull = "/api/v1/sync/delta?farmId=farm-1"

    func expectError(_ result: (status: Int, json: JSONValue?), _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, sourceLocation: sourceLocation)
        #expect(result.json?.objectValue?["error"]?.stringValue == code, sourceLocation: sourceLocation)
        #expect(result.json?.objectValue?["message"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
    }

    @Test func missingMalformedAndForgedTokensGet401() async throws {
        try await TestServer.with { server in
            expectError(try await server.request(.GET, pull), 401, "unauthorized")
            expectError(try await server.request(.GET, pull, token: "not-a-jwt"), 401, "unauthorized")
            let other = try await TokenAuthority(secret: Array("another-secret-of-at-least-32-bytes!!".utf8))
            let forged = try await other.mint(subject: "d1", farms: ["farm-1"], lifetime: 600).token
            expectError(try await server.request(.GET, pull, token: forged), 401, "unauthorized")
        }
    }

    @Test func expiredTokensGet401() async throws {
        try await TestServer.with { server in
            let expired = try await server.token(device: "d1", lifetime: 60, issuedAt: Date().addingTimeInterval(-120))
            let result = try await server.request(.GET, pull, token: expired)
            expectError(result, 401, "unauthorized")
            #expect(result.json?.objectValue?["message"] == "the token has expired")
        }
    }

    @Test func aFarmNotInTheClaimsGets403() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "d1", farms: ["farm-2"])
            expectError(try await server.request(.GET, pull, token: token), 403, "forbidden")
            let push: JSONValue = ["farmId": "farm-1", "deviceId": "d1", "since": nil, "changes": []]
            expectError(try await server.request(.POST, "/api/v1/sync/delta", token: token, body: push.serialized()), 403, "forbidden")
        }
    }

    @Test func revocationTakesEffectAtOnceAndANewTokenWorksAgain() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "d1")
            #expect(try await server.request(.GET, pull, token: token).status == 200)
            try await DeviceRegistry.open(path: server.directory.serverDatabase).revoke(farm: "farm-1", device: "d1")
            expectError(try await server.request(.GET, pull, token: token), 401, "unauthorized")
            expectError(try await server.request(.POST, "/api/v1/auth/renew", token: token, body: []), 401, "unauthorized")
            try await Task.sleep(for: .milliseconds(5))
            let fresh = try await server.token(device: "d1")
            #expect(try await server.request(.GET, pull, token: fresh).status == 200)
        }
    }

    /// Device ids are unique per farm: revoking farm A's gw1 leaves farm B's gw1, and the same
    /// device's other farms, alone; a renewal never brings the revoked farm back.
    @Test func revocationIsPerFarm() async throws {
        try await TestServer.with { server in
            let gwA = try await server.token(device: "gw1", farms: ["farm-a"])
            let gwB = try await server.token(device: "gw1", farms: ["farm-b"])
            let both = try await server.token(device: "roamer", farms: ["farm-a", "farm-b"])
            let registry = try await DeviceRegistry.open(path: server.directory.serverDatabase)
            try await registry.revoke(farm: "farm-a", device: "gw1")
            try await registry.revoke(farm: "farm-a", device: "roamer")
            func pull(_ farm: String, _ token: String) async throws -> Int {
                try await server.request(.GET, "/api/v1/sync/delta?farmId=\(farm)", token: token).status
            }
            #expect(try await pull("farm-a", gwA) == 401)
            #expect(try await pull("farm-b", gwB) == 200, "farm B's gw1 is another device")
            #expect(try await pull("farm-a", both) == 401)
            #expect(try await pull("farm-b", both) == 200)
            let renewed = try #require(
                try await server.request(.POST, "/api/v1/auth/renew", token: both, body: []).json?.objectValue?["token"]?.stringValue
            )
            #expect(try await server.authority.verify(renewed).farms == ["farm-b"])
        }
    }

    @Test func aRegistryOfBeforeKeepsItsRevocationsForEveryFarm() async throws {
        let lab = ReplicaLab()
        let path = lab.directory.file("server.sqlite")
        let old = try DatabaseQueue(path: path)
        try await old.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1');
                    CREATE TABLE device (farm TEXT NOT NULL, device TEXT NOT NULL, last_seen REAL, PRIMARY KEY (farm, device)) WITHOUT ROWID;
                    CREATE TABLE revocation (device TEXT PRIMARY KEY NOT NULL, revoked_at REAL NOT NULL) WITHOUT ROWID;
                    INSERT INTO revocation VALUES ('gw1', \(Date().timeIntervalSince1970));
                    """
            )
        }
        try old.close()
        let registry = try await DeviceRegistry.open(path: path)
        let before = Date().addingTimeInterval(-60)
        await #expect(try registry.isRevoked(farm: "farm-a", device: "gw1", issuedAt: before))
        await #expect(try registry.isRevoked(farm: "farm-z", device: "gw1", issuedAt: before))
        await #expect(try !registry.isRevoked(farm: "farm-a", device: "gw2", issuedAt: before))
        await #expect(try !registry.isRevoked(farm: "farm-a", device: "gw1", issuedAt: Date().addingTimeInterval(60)))
    }

    @Test func theDeviceNamedInAPushIsTheTokensAndServerIsReserved() async throws {
        try await TestServer.with { server in
            let token = try await server.token(device: "gw1")
            let forged: JSONValue = ["farmId": "farm-1", "deviceId": "gw2", "since": nil, "changes": []]
            expectError(try await server.request(.POST, "/api/v1/sync/delta", token: token, body: forged.serialized()), 403, "device-mismatch")
            let asServer: JSONValue = ["farmId": "farm-1", "deviceId": "server", "since": nil, "changes": []]
            expectError(try await server.request(.POST, "/api/v1/sync/delta", token: token, body: asServer.serialized()), 403, "device-mismatch")
            let serverToken = try await server.token(device: "server")
            expectError(try await server.request(.GET, pull, token: serverToken), 403, "reserved-device")
            let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601
            let push: JSONValue = [
                "farmId": "farm-1", "deviceId": "gw1", "changes": [["collection": "flocks", "records": [["id": "f1", "_updatedAt": .string(now)]]]],
            ]
            #expect(try await server.request(.POST, "/api/v1/sync/delta", token: token, body: push.serialized()).status == 200)
            let replica = try await Replica.open(path: server.directory.farmReplica("farm-1"))
            await #expect(
                try replica.get("flocks", id: "f1").objectValue?["_syncOrigin"] == "gw1",
                "a record without an origin gets the token's device"
            )
        }
    }

    @Test func renewalTradesAValidTokenForAFreshOneWithTheSameClaims() async throws {
        try await TestServer.with { server in
            let token = try await server.token(
                device: "d1",
                farms: ["farm-1", "farm-7"],
                lifetime: 90 * 86_400,
                issuedAt: Date().addingTimeInterval(-80 * 86_400)
            )
            let result = try await server.request(.POST, "/api/v1/auth/renew", token: token, body: [])
            #expect(result.status == 200)
            let fresh = try #require(result.json?.objectValue?["token"]?.stringValue)
            let claims = try await server.authority.verify(fresh)
            #expect(claims.subject == "d1")
            #expect(claims.farms == ["farm-1", "farm-7"])
            #expect(abs(claims.expiresAt.timeIntervalSince(claims.issuedAt) - 90 * 86_400) < 1)
            #expect(claims.expiresAt > Date().addingTimeInterval(89 * 86_400))
            #expect(try await server.request(.GET, pull, token: fresh).status == 200)
        }
    }

    @Test func anExternalES256IssuerIsTrustedThroughItsPublicKey() async throws {
        let directory = TemporaryDirectory()
        let key = ES256PrivateKey()
        let file = directory.file("issuer-a.pem")
        try key.publicKey.pemRepresentation.write(toFile: file, atomically: true, encoding: .utf8)
        let authority = try await TokenAuthority(secret: TestServer.secret, publicKeyFiles: [file])
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: "issuer-a")
        struct Claims: JWTPayload {
            var sub: SubjectClaim
            var farms: [String]
            var exp: ExpirationClaim
            var iat: IssuedAtClaim
            var jti: IDClaim
            func verify(using algorithm: some JWTAlgorithm) async throws { try exp.verifyNotExpired() }
        }
        let token = try await keys.sign(
            Claims(sub: "user-9", farms: ["farm-1"], exp: .init(value: Date().addingTimeInterval(600)), iat: .init(value: Date()), jti: "j1"),
            kid: "issuer-a"
        )
        #expect(try await authority.verify(token).subject == "user-9")
        let other = JWTKeyCollection()
        await other.add(ecdsa: ES256PrivateKey(), kid: "issuer-a")
        let forged = try await other.sign(
            Claims(sub: "user-9", farms: ["farm-1"], exp: .init(value: Date().addingTimeInterval(600)), iat: .init(value: Date()), jti: "j2"),
            kid: "issuer-a"
        )
        await #expect(throws: APIError.self) { try await authority.verify(forged) }
    }

    @Test func shortHMACSecretsAreRefused() async {
        await #expect(throws: ServerSetupError.self) { try await TokenAuthority(secret: Array("short".utf8)) }
    }
}
