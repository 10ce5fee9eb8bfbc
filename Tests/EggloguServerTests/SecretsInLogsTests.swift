import AsyncHTTPClient
import EggloguAppEmulator
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The server and the agent at trace level, the page on with a password, broker passwords, tokens
/// and the app's secret in use, and a reload each: no log line of either holds any secret.
@Suite(.ownThreads) struct SecretsInLogsTests {
    func send(_ method: NIOHTTP1.HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil) async throws -> (Int, JSONObject?)
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), (try? JSONParser().parse(Array(bytes.readableBytesView)))?.objectValue)
    }

    @Test func noSecretReachesALogLineAtAnyLevel() async throws {
        let dir = TemporaryDirectory()
        let brokerPassword = "broker-pw-\(UUID().uuidString.prefix(12))"
        let serverBrokerPassword = "server-pw-\(UUID().uuidString.prefix(12))"
        let pagePassword = "page-pw-\(UUID().uuidString.prefix(12))"
        let appSecret = "app-secret-\(UUID().uuidString)"
        let broker = try Broker(users: ["gw@farm-s": brokerPassword, "egglogu-sync-server": serverBrokerPassword])
        try broker.start()
        let serverPort = Broker.freePort()
        let pagePort = Broker.freePort()
        let data = dir.file("server")
        let server = ChildService(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", data, "--port", "\(serverPort)", "--mqtt-host", "127.0.0.1", "--mqtt-port", "\(broker.port)",
                "--mqtt-username", "egglogu-sync-server", "--mqtt-password-file", try dir.writeSecret(serverBrokerPassword, to: "server-mqtt"),
                "--app-jwt-secret-file", try dir.writeSecret(appSecret, to: "app-secret"),
            ],
            environment: ["EGGLOGU_SYNC_LOG_LEVEL": "trace"],
            in: dir
        )
        try await offPool { try server.start(waitingFor: "listening on") }
        let token = try await offPool {
            try Subprocess.run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", "farm-s", "--device", "gw"], in: dir).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let config = dir.file("gw.conf")
        try """
        EGGLOGU_REPLICA=gw.sqlite
        EGGLOGU_DEVICE_ID=gw
        EGGLOGU_FARM_ID=farm-s
        EGGLOGU_SERVER_URL=http://127.0.0.1:\(serverPort)
        EGGLOGU_TOKEN_FILE=\(try dir.writeSecret(token, to: "gw.token"))
        EGGLOGU_MQTT_HOST=127.0.0.1
        EGGLOGU_MQTT_PORT=\(broker.port)
        EGGLOGU_MQTT_USERNAME=gw@farm-s
        EGGLOGU_MQTT_PASSWORD_FILE=\(try dir.writeSecret(brokerPassword, to: "gw-mqtt"))
        EGGLOGU_HTTP_LISTEN=127.0.0.1:\(pagePort)
        EGGLOGU_HTTP_PASSWORD_FILE=\(try dir.writeSecret(pagePassword, to: "page-pw"))
        EGGLOGU_LOG_LEVEL=trace
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = ChildService("egglogu-agent", ["run", "--config", config], in: dir)
        try await offPool { try agent.start() }

        let page = "http://127.0.0.1:\(pagePort)"
        let auth = [("Authorization", "Bearer " + pagePassword)]
        #expect(await eventually(timeout: 30) { (try? await send(.GET, page + "/api/status", headers: auth).0) == 200 })
        #expect(try await send(.GET, page + "/api/status", headers: [("Authorization", "Bearer wrong-\(pagePassword)")]).0 == 401)
        let csrf = try #require(try await send(.GET, page + "/api/session", headers: auth).1?["csrfToken"]?.stringValue)
        let restore = try await send(
            .POST,
            page + "/api/restore",
            headers: auth + [("X-CSRF-Token", csrf), ("Content-Type", "application/json")],
            body: #"{"collection":"flocks","id":"none"}"#
        )
        #expect(restore.0 == 404)
        #expect(
            await eventually(timeout: 20) {
                (try? await send(.GET, page + "/api/status", headers: auth).1?["service"]?.objectValue?["mode"]) == "realtime"
            }
        )

        let appToken = AppTokens.sign(["sub": "u1", "org": "farm-s", "type": "access", "exp": 9_999_999_999], secret: Array(appSecret.utf8))
        let legacy = try await send(
            .POST,
            "http://127.0.0.1:\(serverPort)/api/v1/sync",
            headers: [("Authorization", "Bearer " + appToken)],
            body: #"{"data":{"flocks":[{"id":"from-the-app"}]}}"#
        )
        #expect(legacy.0 == 200)
        #expect(
            await eventually(timeout: 20) {
                (try? await send(.GET, page + "/api/status", headers: auth).1?["collections"]?.objectValue?["flocks"]) != nil
            }
        )

        server.send(SIGHUP)
        agent.send(SIGHUP)
        try await Task.sleep(for: .seconds(2))
        let outputs = try await offPool { [agent.stop(), server.stop()] }
        let logs = outputs.compactMap { $0.map { $0.stdout + $0.stderr } }.joined(separator: "\n")
        #expect(logs.split(separator: "\n").count > 50, "trace logging was on: \(logs.prefix(500))")
        let jwtSecret = try String(contentsOfFile: data + "/jwt-secret", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(jwtSecret.count >= 32)
        for (name, secret) in [
            ("server's JWT secret", jwtSecret), ("page password", pagePassword), ("CSRF token", csrf), ("agent's broker password", brokerPassword),
            ("server's broker password", serverBrokerPassword), ("app secret", appSecret), ("device token", token), ("app token", appToken),
        ] {
            let leaks = logs.split(separator: "\n").filter { $0.contains(secret) }
            #expect(leaks.isEmpty, "the \(name) is in the logs: \(leaks.prefix(3))")
        }
    }
}
