import EggloguAgentSync
import EggloguProtocol
import EggloguStore
import EggloguSyncClient
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The HTTP client's own lifetime.
@Suite(.ownThreads) struct SyncClientTests {
    /// A client dropped on a path that threw, without `shutdown()`: AsyncHTTPClient traps in debug
    /// builds when a running client is deinitialized, which took the whole test process down and hid
    /// the failure that threw.
    @Test func aClientDroppedWithoutShutdownReleasesItself() async throws {
        try await TestServer.with { server in
            let lab = ReplicaLab()
            var configuration = ReplicaConfiguration()
            configuration.deviceID = "gw-drop"
            let replica = try await Replica.open(path: lab.directory.file("a.sqlite"), configuration: configuration)
            try await replica.put("flocks", ["id": "f1"])
            let token = TokenStore(token: try await server.token(device: "gw-drop"), origin: .ephemeral)
            for _ in 0..<3 {
                // Each client holds a pooled connection to the server when it goes.
                let client = try SyncClient(configuration: .init(serverURL: server.url))
                _ = try await AgentSync(replica: replica, farm: "farm-1", transport: client, token: token).sync()
            }
            try await Task.sleep(for: .milliseconds(200))
            let after = try SyncClient(configuration: .init(serverURL: server.url))
            let summary = try await AgentSync(replica: replica, farm: "farm-1", transport: after, token: token).sync()
            await after.shutdown()
            #expect(summary.pushed == 0, "the first sync pushed the change already")
            #expect(try await replica.unpushedCount() == 0)
        }
    }

    /// A link that takes the request and answers nothing fails it after the read timeout, not the
    /// request's 60 s: the soak waited out such a stall before its replicas converged.
    @Test func aSilentLinkFailsTheRequestAfterTheReadTimeout() async throws {
        try await TestServer.with { server in
            let proxy = try FaultProxy(to: server.port)
            defer { proxy.stop() }
            proxy.set(.stall)
            var configuration = SyncClient.Configuration(serverURL: proxy.url)
            configuration.readTimeoutSeconds = 1
            let client = try SyncClient(configuration: configuration)
            let started = Date()
            let failure = await #expect(throws: SyncTransportError.self) {
                _ = try await client.pull(farm: "farm-1", since: nil, limit: 10, token: "none")
            }
            let elapsed = Date().timeIntervalSince(started)
            await client.shutdown()
            #expect(failure?.kind == .unavailable)
            #expect(elapsed >= 0.9 && elapsed < 30, "failed after \(elapsed) s")
        }
    }
}
