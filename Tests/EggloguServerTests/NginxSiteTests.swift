import EggloguAppEmulator
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Testing

/// deploy/nginx/egglogu-sync.conf in a real nginx: the sync routes reach our server, everything
/// else the backend.
@Suite(.ownThreads) struct NginxSiteTests {
    @Test func theSyncRoutesGoToTheServerAndEverythingElseToTheBackend() async throws {
        try await StandInBackend.with { backend in
            try await TestServer.with(configure: LegacyEndpointTests.trustingTheApp) { server in
                let nginx = try Nginx(syncPort: server.port, backendPort: backend.port)
                try await offPool { try nginx.start() }
                let proxy = TestServer(port: nginx.port, directory: server.directory, authority: server.authority)
                let app = AppTokens.access(user: "u1", org: "farm-1")
                let device = try await server.token(device: "gateway")

                for path in ["/api/v1/sync", "/api/v1/sync/"] {
                    let answer = try await proxy.request(.POST, path, token: app, body: Array("{}".utf8))
                    #expect(answer.status == 200, "\(path)")
                    #expect(answer.json?.objectValue?["server_now"] != nil, "\(path)")
                }
                let refused = try await proxy.request(.POST, "/api/v1/sync", token: "expired", body: Array("{}".utf8))
                #expect(refused.status == 401 && refused.json?.objectValue?["detail"] != nil)
                let pull = try await proxy.request(.GET, "/api/v1/sync/delta?farmId=farm-1&limit=10", token: device)
                #expect(pull.status == 200 && pull.json?.objectValue?["cursor"] != nil)
                let renew = try await proxy.request(.POST, "/api/v1/auth/renew", token: device)
                #expect(renew.status == 200 && renew.json?.objectValue?["token"] != nil)

                for path in ["/api/v1/auth/refresh", "/api/v1/auth/login", "/api/v1/farms", "/api/v1/syncx", "/healthz", "/metrics"] {
                    let answer = try await proxy.request(.POST, path, body: Array(#"{"refresh_token":"x"}"#.utf8))
                    let body = answer.json?.objectValue
                    #expect(body?["backend"] == true || body?["detail"] == "Invalid refresh token", "\(path) reached \(answer)")
                }
                #expect(nginx.errorLog.contains("[emerg]") == false)
                try await offPool { nginx.stop() }
            }
        }
    }
}
