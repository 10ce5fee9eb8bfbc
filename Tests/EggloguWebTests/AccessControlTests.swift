import EggloguTestTraits
import Foundation
import Testing

@Suite(.ownThreads) struct AccessControlTests {
    static let paths = ["/", "/app.js", "/api/status", "/api/conflicts", "/api/session", "/metrics"]

    @Test func withAPasswordEveryRequestNeedsIt() async throws {
        let harness = try await WebHarness()
        let id = try await harness.deleteVsEdit()
        try await harness.withWeb(password: "correct horse") { web in
            for (index, path) in Self.paths.enumerated() {
                let anonymous = try await web.get(path)
                #expect(anonymous.status == 401 && anonymous.error == "unauthorized", "\(path)")
                #expect(anonymous.headers.first(name: "www-authenticate")?.hasPrefix("Basic realm=") == true)
                // Five wrong passwords are free; the sixth would lock this address out (LoginThrottleTests).
                guard index < 5 else { continue }
                let wrong = try await web.get(path, headers: [("Authorization", "Bearer correct horsf")])
                #expect(wrong.status == 401, "\(path)")
            }
            let bearer = [("Authorization", "Bearer correct horse")]
            let basic = [("Authorization", "Basic " + Data("farmer:correct horse".utf8).base64EncodedString())]
            #expect(try await web.get("/api/status", headers: bearer).status == 200)
            #expect(try await web.get("/api/status", headers: basic).status == 200)
            let refused = try await web.post(
                "/api/conflicts/\(id)/resolve",
                body: #"{"choice":"keep-mine"}"#,
                csrf: try await web.csrf(headers: basic)
            )
            #expect(refused.status == 401)
            let resolved = try await web.post(
                "/api/conflicts/\(id)/resolve",
                body: #"{"choice":"keep-mine"}"#,
                csrf: try await web.csrf(headers: basic),
                headers: basic
            )
            #expect(resolved.status == 200)
        }
    }

    @Test func beyondLoopbackWithoutAPasswordEverythingIs401() async throws {
        let harness = try await WebHarness()
        try await harness.withWeb(host: "0.0.0.0") { web in
            for path in Self.paths {
                let answer = try await web.get(path)
                #expect(answer.status == 401 && answer.isJSON, "\(path)")
                #expect(answer.json?["message"]?.stringValue?.contains("EGGLOGU_HTTP_PASSWORD_FILE") == true)
            }
        }
    }

    @Test func onLoopbackWithoutAPasswordOnlyLoopbackHostNamesAreServed() async throws {
        let harness = try await WebHarness()
        try await harness.withWeb { web in
            #expect(try await web.get("/api/status").status == 200)
            #expect(try await web.get("/api/status", headers: [("Host", "localhost:1")]).status == 200)
            let rebound = try await web.get("/api/status", headers: [("Host", "attacker.example:8787")])
            #expect(rebound.status == 403 && rebound.error == "forbidden-host")
            for host in ["127.attacker.example", "127.0.0.1.attacker.example:8787", "localhost.attacker.example", "[::1].example", "127.0.0.2", ""] {
                let bypass = try await web.get("/api/session", headers: [("Host", host)])
                #expect(bypass.status == 403 && bypass.error == "forbidden-host", "Host: \(host)")
            }
            #expect(try await web.get("/api/status", headers: [("Host", "[::1]:8787")]).status == 200)
        }
    }

    @Test func hostNamesTheOperatorConfiguredAreServedToo() async throws {
        let harness = try await WebHarness()
        try await harness.withWeb(hostNames: ["gateway.local"]) { web in
            let named = try await web.get("/api/status", headers: [("Host", "gateway.local:8787")])
            let capitals = try await web.get("/api/status", headers: [("Host", "Gateway.Local")])
            let longer = try await web.get("/api/status", headers: [("Host", "gateway.local.attacker.example")])
            #expect(named.status == 200 && capitals.status == 200)
            #expect(longer.status == 403)
        }
    }
}
